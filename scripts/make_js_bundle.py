"""Write src/digimeter/data/js/vega-bundle.js: Vega, Vega-Lite and vega-embed as one script, from vl-convert
(offline; the wheel carries the libraries). Run after upgrading vl-convert-python, then update NOTICE.md."""

from pathlib import Path

import vl_convert as vlc

OUT = Path(__file__).resolve().parents[1] / "src" / "digimeter" / "data" / "js" / "vega-bundle.js"

if __name__ == "__main__":
    js = vlc.javascript_bundle()
    assert "</script" not in js
    OUT.write_text(js, encoding="utf-8")
    print(f"wrote {OUT} ({len(js)} bytes): vega {vlc.get_vega_version()}, vega-embed {vlc.get_vega_embed_version()}")
