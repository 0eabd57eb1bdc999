"""Wrong Yandex settings (a retired IMAGE_MODEL among them) stop `fmbot run` before it polls,
in one line naming the variable (exit 2), as a missing setting does (the command run in this
process, tests/cli.py). Yandex not answering does not stop it: tests/e2e/test_yandex_away.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_bot_async
from tests.e2e.harness import E2E

pytestmark = [pytest.mark.timeout(120)]


@pytest.mark.parametrize(
    ("env", "served", "variable", "words"),
    [
        ({"YANDEX_API_KEY": "wrong-key"}, None, "YANDEX_API_KEY",
         "Yandex rejected the credentials (401"),
        ({"YANDEX_FOLDER_ID": "someone-elses-folder"}, None, "YANDEX_FOLDER_ID",
         "refused folder 'someone-elses-folder'"),
        ({"TEXT_MODEL": "yandexgpt-9000/latest"}, {"yandexgpt/latest"}, "TEXT_MODEL",
         "as unknown"),
        # Known without asking Yandex (its documented list): stops run as it stops check.
        ({"IMAGE_MODEL": "yandex-art/latest"}, None, "IMAGE_MODEL",
         "YandexART 2.0 was retired on 18 August 2026; Yandex recommends "
         "aliceai-image-art-3.0; set IMAGE_MODEL=aliceai-image-art-3.0"),
    ],
    ids=["key", "folder", "model", "retired-image-model"],
)
async def test_a_refused_setting_stops_run_before_it_polls(
    tmp_path: Path, env: dict[str, str], served: set[str] | None, variable: str, words: str
) -> None:
    async with E2E(tmp_path, extra_env=env) as e2e:
        if served is not None:
            e2e.fm.served_models = {f"gpt://{e2e.fm.folder_id}/{m}" for m in served}
        done = await run_bot_async(["run"], env=e2e.bot.env, cwd=tmp_path, merge_stderr=True)
        said = done.stdout
        assert done.returncode == 2, said
        lines = [line for line in said.splitlines() if line.startswith("fmbot:")]
        assert len(lines) == 1, said
        assert lines[0].startswith(f"fmbot: {variable}"), lines[0]
        assert words in lines[0]
        assert "Traceback" not in said
        assert not [c for c in e2e.tg.calls if c.method == "getUpdates"], "it never polled"
