"""The dashboard's scripts, served from the package (no CDN): the Vega/Vega-Lite/vega-embed bundle and the
script that draws every chart of a page (:mod:`digimeter.interactive`)."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter
from fastapi.responses import Response

from ..interactive import EMBED_JS, bundle_js

#: script paths the pages load (``script-src 'self'``)
SCRIPTS = ("/assets/vega-bundle.js", "/assets/charts.js")

router = APIRouter()


def script(text: str) -> Response:
    """``text`` as a script the browser may keep for a day (with its ETag)."""
    etag = hashlib.sha256(text.encode()).hexdigest()[:16]
    return Response(text, media_type="text/javascript; charset=utf-8",
                    headers={"cache-control": "public, max-age=86400", "etag": f'"{etag}"'})


@router.get("/assets/vega-bundle.js", include_in_schema=False, name="asset_/assets/vega-bundle.js")
def vega_bundle():
    return script(bundle_js())


@router.get("/assets/charts.js", include_in_schema=False, name="asset_/assets/charts.js")
def charts_js():
    return script(EMBED_JS)
