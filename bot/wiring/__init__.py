"""The composition root: Settings -> objects, for `fmbot run` and `fmbot chat` (the other
commands build theirs in the CLI layer from the parts here).

With the config package and the command bodies, the only reader of Settings; what it builds
receives plain values and built collaborators (nothing is set on an object after it is built).
Resources are closed in reverse order of creation, whatever happens. By area: core.py (what
both front ends share), clients.py (the model clients), parts.py (tools, vision, media,
documents, knowledge), telegram.py (the Telegram front from plain values), operations.py
(coordination, metrics, telemetry, the outbox), preflight.py (what each command checks in its
settings first), run.py (`fmbot run`). The support desk and its learning loop are built by
the feature itself (bot/features/desk/build.py), called from here.
"""

from __future__ import annotations

from bot.features.desk.build import (
    build_desk,
    build_faq,
    build_gaps,
    build_insights,
    support_hours,
)
from bot.wiring.core import Core, FrontEnd, core, desk_state_of
from bot.wiring.parts import (
    build_documents,
    build_embedder,
    build_knowledge,
    build_media,
    build_tool_loop,
    build_toolbox,
    build_vision,
    start_toolbox_of,
    tool_environment,
)
from bot.wiring.run import BuiltBot, built_bot, lifecycle, run_bot

__all__ = [
    "BuiltBot",
    "Core",
    "FrontEnd",
    "build_desk",
    "build_documents",
    "build_embedder",
    "build_faq",
    "build_gaps",
    "build_insights",
    "build_knowledge",
    "build_media",
    "build_tool_loop",
    "build_toolbox",
    "build_vision",
    "built_bot",
    "core",
    "desk_state_of",
    "lifecycle",
    "run_bot",
    "start_toolbox_of",
    "support_hours",
    "tool_environment",
]
