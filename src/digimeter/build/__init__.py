"""Build an index: a spec and the store's values to scores and ranks (DESIGN.md, layer L6).

:mod:`digimeter.build.core` holds the pipeline (:func:`build`, :func:`build_panel`, :func:`prepare`,
:func:`compute`, :class:`Index`, :func:`audit_index`); :mod:`digimeter.build.regional` the regional index
(:func:`regional_index`, a regional spec over one layout). The names are re-exported here, so
``from digimeter.build import build`` keeps its address.
"""

from __future__ import annotations

from .core import (Audit, Index, Prepared, audit_index, build, build_panel, compute, normalise_stage,
                   panel_scores, prepare)
from .regional import RegionalIndex, regional_index

__all__ = ["Audit", "Index", "Prepared", "audit_index", "build", "build_panel", "compute", "normalise_stage",
           "panel_scores", "prepare", "RegionalIndex", "regional_index"]
