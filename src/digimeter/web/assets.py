"""The dashboard's scripts, served from the package (no CDN): the Vega/Vega-Lite/vega-embed bundle and the
script that draws every chart of a page (:mod:`digimeter.interactive`)."""

from __future__ import annotations

import hashlib

from fastapi.responses import Response

from ..interactive import EMBED_JS, bundle_js

#: script paths the pages load (``script-src 'self'``)
SCRIPTS = ("/assets/vega-bundle.js", "/assets/charts.js")


def register(app) -> None:
    files = {"/assets/vega-bundle.js": bundle_js, "/assets/charts.js": lambda: EMBED_JS}

    def make(path, text_of):
        def asset():
            text = text_of()
            etag = hashlib.sha256(text.encode()).hexdigest()[:16]
            return Response(text, media_type="text/javascript; charset=utf-8",
                            headers={"cache-control": "public, max-age=86400", "etag": f'"{etag}"'})
        app.add_api_route(path, asset, methods=["GET"], include_in_schema=False, name=f"asset_{path}")

    for path, text_of in files.items():
        make(path, text_of)
