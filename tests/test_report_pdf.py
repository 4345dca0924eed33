"""`digimeter report --pdf`: report.html printed by headless Chromium. Pages 1-3 are turned into PNGs under
test-artifacts/ (pdftoppm, Debian's poppler-utils); the page count follows the print CSS (every section starts a
page) and no page is blank."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from test_report import assert_not_blank, shared_report

ARTIFACTS = Path(os.environ.get("DIGIMETER_ARTIFACTS") or Path(__file__).parents[1] / "test-artifacts")


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if not exe:
        pytest.fail(f"{name} is not installed: `make test` installs poppler-utils as root; otherwise "
                    "sudo apt-get install poppler-utils")
    return exe


@pytest.fixture(scope="module")
def made(tmp_path_factory, template_store_path):
    return shared_report(tmp_path_factory, template_store_path)


def test_report_pdf_pages(made, tmp_path):
    from digimeter.pdf import print_pdf

    rep, written, _ = made
    html = tmp_path / "report.html"                      # a private copy: the shared folder is read by others
    shutil.copyfile(written["html"], html)
    pdf = print_pdf(html, tmp_path / "report.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    info = subprocess.run([_tool("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    # print CSS: every section starts on a new page, so at least one page per section; charts are not split
    assert len(rep.sections) <= pages <= 4 * len(rep.sections) + 20, pages
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("report-pdf-*.png"):
        old.unlink()
    subprocess.run([_tool("pdftoppm"), "-f", "1", "-l", "3", "-r", "60", "-png", str(pdf),
                    str(ARTIFACTS / "report-pdf")], check=True, timeout=120)
    first = sorted(ARTIFACTS.glob("report-pdf-*.png"))
    assert len(first) == 3, first
    # every page, at low resolution: none blank
    subprocess.run([_tool("pdftoppm"), "-r", "12", "-png", str(pdf), str(tmp_path / "p")], check=True, timeout=120)
    every = sorted(tmp_path.glob("p-*.png"))
    assert len(every) == pages
    for png in first + every:
        assert_not_blank(png)


def test_report_cli_pdf_needs_chromium(monkeypatch, tmp_path):
    from digimeter.errors import DigimeterError
    from digimeter.pdf import print_pdf

    html = tmp_path / "r.html"
    html.write_text("<p>x</p>", encoding="utf-8")
    monkeypatch.setenv("DIGIMETER_CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(DigimeterError) as e:
        print_pdf(html, tmp_path / "r.pdf")
    assert e.value.to_dict()["errors"][0]["field"] == "chromium"
