"""Build an index: a spec and the store's values to scores and ranks (DESIGN.md, layer L6).

Modules, each importing only those listed after it: :mod:`~digimeter.build.core` reads the store for a
spec (:func:`build`, :func:`build_panel`, :func:`panel_scores`), :mod:`~digimeter.build.regional` the
regional index (:func:`regional_index`, a regional spec over one layout), :mod:`~digimeter.build.pipeline`
the pure stages from a panel to scores (:func:`prepare`, :func:`normalise_stage`, :func:`compute`) and
:mod:`~digimeter.build.index` the result (:class:`Index`, :class:`Audit`, :func:`audit_index`; its
``rebuild`` and ``variant`` call the pipeline on use). The names are re-exported here, so
``from digimeter.build import build`` keeps its address.
"""

from __future__ import annotations

from .core import build, build_panel, panel_scores
from .index import Audit, Index, audit_index
from .pipeline import Prepared, compute, normalise_stage, prepare
from .regional import RegionalIndex, regional_index

__all__ = ["Audit", "Index", "Prepared", "audit_index", "build", "build_panel", "compute", "normalise_stage",
           "panel_scores", "prepare", "RegionalIndex", "regional_index"]
