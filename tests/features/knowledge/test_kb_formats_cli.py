"""PDF and DOCX files in KB_PATH through `python -m bot kb sync` and `kb search`, as an admin
runs them: found with their page or heading, and files without text reported, not dropped."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.documents import encrypted_pdf_bytes, scanned_pdf_bytes
from tests.fakes.yandex.server import FakeFoundationModels
from tests.features.knowledge.conftest import FIXTURE_KB
from tests.features.knowledge.test_eval_fixture import environment, fmbot


def hits(out: str) -> list[str]:
    return [line for line in out.splitlines() if re.match(r"\d+\. similarity", line)]


@pytest.mark.slow
async def test_pdf_and_docx_are_found_and_unreadable_ones_are_reported(
    fm: FakeFoundationModels, tmp_path: Path
) -> None:
    docs = tmp_path / "kb"
    shutil.copytree(FIXTURE_KB, docs)
    (docs / "scans").mkdir()
    (docs / "scans" / "contract-scan.pdf").write_bytes(scanned_pdf_bytes())
    (docs / "scans" / "salaries.pdf").write_bytes(encrypted_pdf_bytes())
    (docs / "scans" / "broken.docx").write_bytes(b"PK\x03\x04 cut short")
    env = environment(fm, tmp_path, KB_PATH=str(docs))
    code, out, err = await fmbot("kb", "sync", env=env)
    assert code == 0, err
    assert "files: 42 (39 indexed, 0 unchanged, 0 removed)" in out
    assert "  scans/contract-scan.pdf: no text (scanned?)" in out.splitlines()
    assert "  scans/salaries.pdf: password-protected" in out.splitlines()
    assert "  scans/broken.docx: not a readable DOCX (damaged?)" in out.splitlines()

    code, out, _ = await fmbot("kb", "search", "discount for 200 units bulk order", env=env)
    assert code == 0
    assert "shop/bulk-orders.pdf  Corporate and bulk orders > Volume discounts > p. 1" in (
        hits(out)[0])
    code, out, _ = await fmbot("kb", "search", "daily allowance abroad", env=env)
    top = hits(out)[0]
    assert "helpdesk/travel-policy.docx  Business travel policy > Business travel > Daily " \
           "allowance" in top
    assert "| Abroad | 60 EUR |" in out  # the table, as a Markdown table
    code, out, _ = await fmbot("kb", "search", "Где взять гарнитуру для созвонов?", env=env)
    assert "it/videozvonki.pdf  Видеоконференции > Переговорная гарнитура > p. 2" in hits(out)[0]

    # The scan stays reported on every sync (it is never stored), the rest is unchanged.
    code, out, _ = await fmbot("kb", "sync", env=env)
    assert "files: 42 (0 indexed, 39 unchanged, 0 removed)" in out
    assert "  scans/contract-scan.pdf: no text (scanned?)" in out.splitlines()
