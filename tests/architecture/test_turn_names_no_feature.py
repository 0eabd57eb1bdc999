"""The turn's pipeline loops over its features and names none of them (bot/conversation/
features.py): its steps import no feature's package and hold no `parts.<feature>` branch."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
STEPS = ("opening.py", "running.py", "finishing.py", "parts.py", "contributors.py",
         "features.py")
# What a step may not import: the features' folders and the packages behind them. (The
# grounded answer, bot/grounding, is what every step shares.)
FEATURE_MODULES = ("bot.features",)
FEATURE_NAMES = {"knowledge", "tools", "vision", "documents", "extras", "hosted", "images",
                 "desk", "voice", "search", "seen_images"}


def imports_of(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


def feature_branches(tree: ast.AST) -> list[str]:
    """`parts.knowledge`, `self._parts.tools`, `turn.tools`, ...: a step reaching for a
    feature by name, in the parts or in the turn's state."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in FEATURE_NAMES:
            owner = node.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if name in ("parts", "_parts", "turn", "opening"):
                found.append(f"line {node.lineno}: {name}.{node.attr}")
    return found


def test_the_turns_steps_import_no_feature() -> None:
    wrong = []
    for step in STEPS:
        tree = ast.parse((BOT / "conversation" / step).read_text())
        wrong += [f"{step}: {module}" for module in imports_of(tree)
                  if module.startswith(FEATURE_MODULES)]
    assert not wrong, "a step names a feature; give the feature a hook instead:\n" + "\n".join(
        wrong)


def test_no_module_of_the_conversation_branches_on_a_feature_of_the_parts() -> None:
    wrong = []
    for path in sorted((BOT / "conversation").glob("*.py")):
        wrong += [f"{path.name} {hit}" for hit in feature_branches(ast.parse(path.read_text()))]
    assert not wrong, "\n".join(wrong)


def test_the_checks_see_what_they_look_for() -> None:
    """The scans above find what they are for (a check that cannot fail is a defect)."""
    branchy = ast.parse("if parts.tools is not None:\n    x = self._parts.vision\n"
                        "turn.tools.waiting = ()\n")
    assert feature_branches(branchy) == ["line 1: parts.tools", "line 2: _parts.vision",
                                         "line 3: turn.tools"]
    importing = ast.parse(
        "from bot.features.vision.turn import VisionFeature\nimport bot.features.tools")
    assert [m for m in imports_of(importing) if m.startswith(FEATURE_MODULES)] == [
        "bot.features.vision.turn", "bot.features.tools"]


# The tool loop's state, kept in its own slot (bot/features/tools/turnpart.py: ToolTurn).
TOOL_LOOP_FIELDS = {"waiting", "limit_reached", "resumed", "continued"}


def test_the_turns_state_has_no_field_named_after_a_feature() -> None:
    """A feature keeps its state in a slot of its own (`TurnState.part`), not in a field; the
    slots go on to the result (`TurnResult.parts`)."""
    from dataclasses import fields

    from bot.conversation.features import Opening
    from bot.conversation.turn import TurnState
    from bot.conversation.types import TurnResult

    named = [f"{kind.__name__}.{f.name}" for kind in (TurnState, Opening, TurnResult)
             for f in fields(kind) if f.name in FEATURE_NAMES | TOOL_LOOP_FIELDS]
    assert not named, named


# The turn's grounding, kept in its own slot (bot/grounding/turn.py: Grounded) and read off
# the result by `grounded_of`: the answer's sources and "not found" are not the core's fields.
GROUNDING_FIELDS = {"grounded", "grounding", "sources", "not_found", "abstained"}


def test_the_turns_state_and_result_keep_the_grounding_in_its_slot() -> None:
    """The knowledge base's and file search's grounding travels as its own part of the turn
    (`turn.part(Grounded)`, `grounded_of(result)`), not as fields of the core's types."""
    from dataclasses import fields

    from bot.conversation.features import Opening, Verdict
    from bot.conversation.turn import TurnState
    from bot.conversation.types import TurnResult
    from bot.grounding.turn import Grounded

    named = [f"{kind.__name__}.{f.name}" for kind in (TurnState, Opening, TurnResult, Verdict)
             for f in fields(kind) if f.name in GROUNDING_FIELDS]
    assert not named, named
    # The check sees what it looks for: the slot itself has those fields.
    assert {f.name for f in fields(Grounded)} >= GROUNDING_FIELDS - {"grounded"}
