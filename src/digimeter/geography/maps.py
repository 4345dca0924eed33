"""Boundaries and maps: the bundled GeoJSON of a layout, a choropleth's FeatureCollection, and the
simplification of very large boundary files for the web.

Pure functions of dicts and arrays (numpy only); the only file access is :func:`load_geojson`, which
reads the bundled boundaries under ``digimeter/data/geo``.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import DataError, NotFoundError

__all__ = ["GEOMETRIES", "load_geojson", "has_bundled_boundaries", "map_features", "simplify_geometry",
           "count_points", "simplify_collection"]

#: The geometries a region may have.
GEOMETRIES = ("Polygon", "MultiPolygon")


def load_geojson(layout: str) -> dict:
    """The bundled boundaries of one layout (``data/geo/<layout>.geojson``) as a dict."""
    try:
        f = resources.files("digimeter").joinpath("data", "geo", f"{layout}.geojson")
        with f.open("r", encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError as e:
        raise NotFoundError(f"no bundled boundaries for layout '{layout}'", value=layout,
                            fix="see digimeter/data/geo/README.md") from e


def has_bundled_boundaries(layout: str) -> bool:
    """True when digimeter ships the boundaries of ``layout`` (``data/geo/<layout>.geojson``)."""
    return resources.files("digimeter").joinpath("data", "geo", f"{layout}.geojson").is_file()


def map_features(geojson: Mapping, values, *, key: str = "unit", name: str = "value",
               extra: Mapping[str, Mapping[str, Any]] | None = None) -> dict:
    """A GeoJSON FeatureCollection with each feature's value in its properties (for a choropleth).

    Parameters
    ----------
    geojson : mapping
        A FeatureCollection whose features carry the unit code in ``properties[key]``
        (the bundled ones: :func:`load_geojson`).
    values : Series, mapping unit -> value, or DataFrame with columns ``unit`` and ``value``
    key : str
        Property holding the unit code.
    name : str
        Property to write the value into (``None``/null where a unit has no value).
    extra : mapping, optional
        unit -> {property: value} merged into the properties (e.g. rank, estimated flag).

    Returns
    -------
    dict
        A new FeatureCollection (the input is not modified), with ``value_min``/``value_max`` at the
        top level for a colour scale.
    """
    if isinstance(values, pd.DataFrame):
        vals = dict(zip(values["unit"], values["value"]))
    else:
        vals = dict(pd.Series(values, dtype=float).items())
    if geojson.get("type") != "FeatureCollection":
        raise DataError("not a GeoJSON FeatureCollection", field="type", value=geojson.get("type"))
    out = {"type": "FeatureCollection", "features": []}
    found = []
    for f in geojson["features"]:
        g = {"type": "Feature", "geometry": f["geometry"], "properties": dict(f.get("properties") or {})}
        code = g["properties"].get(key)
        if code is None:
            raise DataError("a feature has no unit code", field=key,
                            fix=f"give every feature a '{key}' property")
        v = vals.get(code)
        v = None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
        g["properties"][name] = v
        if v is not None:
            found.append(v)
        if extra and code in extra:
            g["properties"].update(extra[code])
        out["features"].append(g)
    out["value_min"] = min(found) if found else None
    out["value_max"] = max(found) if found else None
    return out


# --------------------------------------------------------------------------------------------------
# simplification
# --------------------------------------------------------------------------------------------------

def _rdp(pts, tol: float):
    """Ramer-Douglas-Peucker on one ring or line (n x 2 array), keeping its first and last point."""
    n = len(pts)
    if n < 3 or tol <= 0:
        return pts
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        a, b = stack.pop()
        if b <= a + 1:
            continue
        seg = pts[b] - pts[a]
        rel = pts[a + 1:b] - pts[a]
        L = float(np.hypot(*seg))
        d = (np.abs(seg[0] * rel[:, 1] - seg[1] * rel[:, 0]) / L) if L > 0 else np.hypot(rel[:, 0], rel[:, 1])
        k = int(np.argmax(d))
        if d[k] > tol:
            m = a + 1 + k
            keep[m] = True
            stack += [(a, m), (m, b)]
    return pts[keep]


def _ring_area(r) -> float:
    x, y = r[:, 0], r[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def simplify_geometry(geom: dict, tol: float, *, digits: int = 5) -> dict:
    """A (Multi)Polygon simplified ring by ring (Douglas-Peucker, tolerance ``tol`` in degrees),
    coordinates rounded to ``digits``; rings that collapse (fewer than 4 points) or holes smaller than
    ``tol``² are dropped, but each polygon keeps its outer ring.

    References
    ----------
    Douglas, D. H. & Peucker, T. K. (1973). Algorithms for the reduction of the number of points
    required to represent a digitized line or its caricature. *Cartographica* 10(2), 112-122.
    https://doi.org/10.3138/FM57-6770-U75U-7727
    """
    def poly(rings):
        out = []
        for j, r in enumerate(rings):
            a = np.asarray(r, dtype=float)[:, :2]
            s = _rdp(a, tol)
            if len(s) < 4 or (j > 0 and _ring_area(s) < tol * tol):
                if j == 0:   # keep the outer ring: its extreme points, closed
                    s = a[np.unique(np.r_[0, np.argmin(a[:, 0]), np.argmax(a[:, 1]), np.argmax(a[:, 0]),
                                          np.argmin(a[:, 1])])]
                    s = np.vstack([s, s[:1]])
                    if len(s) < 4:
                        s = a
                else:
                    continue
            out.append(np.round(s, digits).tolist())
        return out

    t = geom.get("type")
    if t == "Polygon":
        return {"type": "Polygon", "coordinates": poly(geom["coordinates"])}
    if t == "MultiPolygon":
        parts = [poly(p) for p in geom["coordinates"]]
        if len(parts) > 1:   # drop islands that are smaller than the tolerance, keep the largest
            areas = [_ring_area(np.asarray(p[0])) for p in parts]
            big = max(range(len(parts)), key=lambda i: areas[i])
            parts = [p for i, p in enumerate(parts) if i == big or areas[i] >= 4 * tol * tol]
        return {"type": "MultiPolygon", "coordinates": parts}
    return geom


def count_points(gj: dict) -> int:
    """Coordinates in a FeatureCollection of (Multi)Polygons."""
    n = 0
    for f in gj.get("features", []):
        g = f.get("geometry") or {}
        rings = [g["coordinates"]] if g.get("type") == "Polygon" else g.get("coordinates", [])
        n += sum(len(r) for p in rings for r in p) if g.get("type") in GEOMETRIES else 0
    return n


def simplify_collection(gj: dict, target: int = 20_000) -> tuple[dict, float]:
    """``gj`` simplified until it has at most about ``target`` coordinates; returns (collection,
    tolerance)."""
    tol, out = 0.0005, gj
    for _ in range(12):
        out = {**gj, "features": [{**f, "geometry": simplify_geometry(f["geometry"], tol)} for f in gj["features"]]}
        if count_points(out) <= target:
            break
        tol *= 2
    return out, tol
