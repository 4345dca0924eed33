"""Panels: units x indicators for one year, the matrix a build starts from (DESIGN.md layer L5).

:mod:`digimeter.panel.national` reads countries' values as published (:class:`Panel`,
:func:`make_panel`, :func:`select_units`); :mod:`digimeter.panel.regional` reads a country's regions
on one layout (:func:`regional_panel`).
"""

from __future__ import annotations

from .national import Panel, make_panel, select_units
from .regional import RegionalPanel, regional_panel

__all__ = ["Panel", "make_panel", "select_units", "RegionalPanel", "regional_panel"]
