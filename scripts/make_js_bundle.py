"""Write src/digimeter/data/js/vega-bundle.js: Vega, Vega-Lite and vega-embed as one script, from vl-convert
(offline; the wheel carries the libraries), followed by vega-interpreter, Vega's CSP-compliant expression
interpreter, so the report and the dashboard run under a Content-Security-Policy without 'unsafe-eval'.

vega-interpreter (an ES module, with its one dependency vega-util) is installed from the npm registry
into a temporary folder and bundled by esbuild into one classic script that sets
``window.vegaExpressionInterpreter`` (vl-convert's bundle does not expose Vega's own modules). Needs
``npm`` on the PATH; neither the tests nor the product run this.

    python scripts/make_js_bundle.py

Run after upgrading vl-convert-python, then update NOTICE.md.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import vl_convert as vlc

OUT = Path(__file__).resolve().parents[1] / "src" / "digimeter" / "data" / "js" / "vega-bundle.js"
#: the vega-interpreter release that goes with Vega 6 (vega-util 2), and the bundler
PACKAGES = ("vega-interpreter@2.3.2", "esbuild@0.24.2")
ENTRY = "import { expressionInterpreter } from 'vega-interpreter';\n" \
        "window.vegaExpressionInterpreter = expressionInterpreter;\n"


def interpreter_script() -> tuple[str, str]:
    """(versions, the classic script) of vega-interpreter and vega-util, bundled by esbuild."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "package.json").write_text('{"name": "digimeter-js", "private": true}', encoding="utf-8")
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", *PACKAGES], cwd=d, check=True)
        (d / "entry.js").write_text(ENTRY, encoding="utf-8")
        subprocess.run([str(d / "node_modules" / ".bin" / "esbuild"), "entry.js", "--bundle", "--format=iife",
                        "--minify", "--legal-comments=none", "--outfile=out.js"], cwd=d, check=True)
        versions = ", ".join(f"{p} {json.loads((d / 'node_modules' / p / 'package.json').read_text())['version']}"
                             for p in ("vega-interpreter", "vega-util"))
        return versions, (d / "out.js").read_text(encoding="utf-8")


if __name__ == "__main__":
    js = vlc.javascript_bundle()
    versions, interp = interpreter_script()
    js = js.rstrip() + f"\n/* {versions} (BSD-3-Clause), bundled by esbuild; see NOTICE.md */\n" + interp.strip() + "\n"
    assert "</script" not in js
    OUT.write_text(js, encoding="utf-8")
    print(f"wrote {OUT} ({len(js)} bytes): vega {vlc.get_vega_version()}, vega-embed {vlc.get_vega_embed_version()}, "
          f"{versions}")
