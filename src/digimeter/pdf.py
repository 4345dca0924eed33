"""The report as PDF: ``report.html`` printed by headless Chromium (the Debian package), offline.

Chromium runs with a fresh profile, no network services, no sandbox (containers) and no GPU; the print CSS of
the report (:data:`digimeter.report.CSS`, ``@media print``) starts each section on a new page and keeps a
chart, a table row and a heading with what follows on one page.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import DigimeterError

__all__ = ["chromium", "print_pdf"]


class PdfError(DigimeterError):
    """Chromium is missing or could not print the page."""

    status = 500


def chromium() -> str:
    """The Chromium executable: ``$DIGIMETER_CHROMIUM``, else chromium, chromium-browser or google-chrome."""
    exe = os.environ.get("DIGIMETER_CHROMIUM")
    if exe:
        return exe
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise PdfError("no Chromium to print the PDF with", field="chromium",
                   fix="install Debian's chromium (sudo apt-get install chromium) or set DIGIMETER_CHROMIUM")


def print_pdf(html: str | Path, pdf: str | Path, *, timeout: float = 180) -> Path:
    """Print the HTML file ``html`` to ``pdf`` with headless Chromium; returns the PDF's path."""
    html, pdf = Path(html).resolve(), Path(pdf).resolve()
    if not html.is_file():
        raise PdfError(f"no such file: {html}", field="html", value=str(html))
    pdf.parent.mkdir(parents=True, exist_ok=True)
    tmp = pdf.with_name(pdf.name + ".part")
    tmp.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="digimeter-pdf-") as profile:
        cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
               "--disable-extensions", "--no-pdf-header-footer", f"--user-data-dir={profile}",
               f"--print-to-pdf={tmp}", html.as_uri()]
        try:
            run = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        except OSError as e:
            raise PdfError(f"cannot run Chromium ({cmd[0]}): {e.strerror or e}", field="chromium", value=cmd[0],
                           fix="install Debian's chromium (sudo apt-get install chromium) or set DIGIMETER_CHROMIUM") from None
        except subprocess.TimeoutExpired:
            raise PdfError(f"Chromium did not print {html.name} within {timeout:.0f} s", field="timeout") from None
    if run.returncode != 0 or not tmp.exists() or tmp.stat().st_size < 1000:
        tail = run.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        tmp.unlink(missing_ok=True)
        raise PdfError(f"Chromium could not print {html.name} (exit {run.returncode}): {' / '.join(tail)}",
                       field="chromium")
    tmp.replace(pdf)
    return pdf
