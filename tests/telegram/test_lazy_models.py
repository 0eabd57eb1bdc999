"""aiogram imported through bot.telegram builds its models on first use, and every one of them
still builds and validates (a fresh interpreter: this test process imported aiogram eagerly);
on pydantic or aiogram versions the lazy import is not tested on, or when it fails, aiogram is
imported the plain way and the log says so once."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from bot.telegram.lazy_models import TESTED, untested

PROBE = textwrap.dedent(
    """
    import json
    import bot.telegram  # the lazy import
    assert bot.telegram.AIOGRAM_IMPORT == "lazy", bot.telegram.AIOGRAM_IMPORT
    from aiogram import methods, types
    from aiogram.methods import Response

    def models(module):
        names = module.__all__
        return [getattr(module, n) for n in names if hasattr(getattr(module, n), "model_rebuild")]

    all_types, all_methods = models(types), models(methods)
    built_at_import = sum(c.__pydantic_complete__ for c in all_types + all_methods)

    update = types.Update.model_validate({
        "update_id": 9,
        "message": {
            "message_id": 5, "date": 1700000000, "text": "hi",
            "chat": {"id": 7, "type": "private", "first_name": "A"},
            "from": {"id": 7, "is_bot": False, "first_name": "A"},
            "entities": [{"type": "bold", "offset": 0, "length": 2}],
            "reply_to_message": {"message_id": 4, "date": 1700000000,
                                 "chat": {"id": 7, "type": "private"}},
        },
    })
    sent = methods.SendMessage(
        chat_id=7, text="x",
        reply_markup=types.InlineKeyboardMarkup(
            inline_keyboard=[[types.InlineKeyboardButton(text="a", callback_data="b")]]
        ),
    )
    answer = Response[sent.__returning__].model_validate(
        {"ok": True, "result": {"message_id": 6, "date": 1700000001,
                                "chat": {"id": 7, "type": "private"}}}
    )
    unbuildable = [c.__name__ for c in all_types + all_methods if c.model_rebuild() is False]
    print(json.dumps({
        "models": len(all_types) + len(all_methods),
        "built_at_import": built_at_import,
        "entity": update.message.entities[0].type,
        "replied": update.message.reply_to_message.message_id,
        "sent": sent.model_dump(exclude_none=True)["text"],
        "answer_id": answer.result.message_id,
        "unbuildable": unbuildable,
    }))
    """
)


@pytest.mark.slow
def test_lazy_import_defers_every_model_and_each_still_builds() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    report = json.loads(out.strip().splitlines()[-1])
    assert report["models"] > 500
    # A handful (bases such as TelegramObject) may be complete; the bulk must wait for use.
    assert report["built_at_import"] < 10
    assert report["entity"] == "bold"
    assert report["replied"] == 4
    assert report["sent"] == "x"
    assert report["answer_id"] == 6
    assert report["unbuildable"] == []


@pytest.mark.slow
def test_lazy_import_leaves_pydantic_as_it_was() -> None:
    probe = textwrap.dedent(
        """
        from pydantic import BaseModel
        from pydantic._internal._model_construction import ModelMetaclass
        before = (vars(BaseModel)["model_rebuild"], vars(ModelMetaclass)["__new__"])
        import bot.telegram
        after = (vars(BaseModel)["model_rebuild"], vars(ModelMetaclass)["__new__"])
        class Later(BaseModel):
            x: "int"
        print(before == after, Later.__pydantic_complete__, Later(x="3").x)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.split() == ["True", "True", "3"]


@pytest.mark.slow
def test_run_and_check_paths_import_aiogram_lazily() -> None:
    """bot.wiring.operations and bot.checks must not import aiogram before bot.telegram does."""
    probe = textwrap.dedent(
        """
        import bot.wiring.operations, bot.checks, bot.wiring, bot.cli
        from aiogram.types import Message
        print(Message.__pydantic_complete__)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.strip() == "False"


def test_only_the_tested_versions_take_the_lazy_import() -> None:
    (low, high) = TESTED["pydantic"]
    assert untested(f"{low[0]}.{low[1]}.0", "3.31.0") is None
    assert untested(f"{high[0]}.{high[1]}.9", "3.31.2") is None
    assert untested(f"{high[0]}.{high[1] + 1}.0", "3.31.0") == (
        f"pydantic {high[0]}.{high[1] + 1}.0 is outside the tested "
        f"{low[0]}.{low[1]}-{high[0]}.{high[1]}"
    )
    assert untested("3.0.0", "3.31.0") is not None
    assert untested("2.13.0", "3.32.0") is not None
    assert untested("2.13.0", "unknown") is not None
    assert untested("2.13.0b1", "3.31.0") is None  # a pre-release of a tested minor


PLAIN = textwrap.dedent(
    """
    import logging, sys
    logging.basicConfig(stream=sys.stdout, format="%(levelname)s %(name)s %(message)s")
    {setup}
    import bot.telegram
    from aiogram.types import Message
    from aiogram.methods import SendMessage
    print("how", bot.telegram.AIOGRAM_IMPORT, Message.__pydantic_complete__,
          SendMessage.__pydantic_complete__, SendMessage(chat_id=1, text="x").text)
    """
)


def _plain_probe(setup: str) -> tuple[list[str], list[str]]:
    out = subprocess.run(
        [sys.executable, "-c", PLAIN.format(setup=setup)],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout
    lines = out.strip().splitlines()
    warnings = [line for line in lines if line.startswith("WARNING bot.telegram.lazy_models")]
    return next(line for line in lines if line.startswith("how ")).split(), warnings


@pytest.mark.slow
def test_an_untested_pydantic_gets_the_plain_import_and_one_warning() -> None:
    how, warnings = _plain_probe("import pydantic.version; pydantic.version.VERSION = '2.99.0'")
    assert how == ["how", "plain", "True", "True", "x"]  # every model built at import
    assert len(warnings) == 1
    assert "pydantic 2.99.0 is outside the tested" in warnings[0]


@pytest.mark.slow
def test_a_failing_lazy_import_falls_back_to_the_plain_one() -> None:
    # pydantic moving its internals is the likeliest way for the lazy import to break.
    how, warnings = _plain_probe(
        "from pydantic import BaseModel, RootModel\n"
        "import pydantic._internal._model_construction as m; del m.ModelMetaclass"
    )
    assert how == ["how", "plain", "True", "True", "x"]
    assert len(warnings) == 1
    assert "the lazy import failed (ImportError" in warnings[0]
