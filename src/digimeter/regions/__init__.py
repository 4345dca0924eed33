"""Regions: the divide between a country's regions, convergence, roll-up, layouts and maps.

The questions of the CLI, the report and the dashboard about a country's regions (DESIGN.md layer L7,
the analysis): :func:`region_report` (every region's value and rank plus the divide measures and the
roll-up check), :func:`divide_trend` (measures over time, sigma- and beta-convergence, and the verdict
sentence), :func:`map_data` (a FeatureCollection for a map) and what to show by default
(:func:`default_regional_subject`, :func:`regional_indicators`, and :func:`divide_indicator`, whose divide
is shown year by year with a regional score). They take the store as an argument and
never print; nothing here knows a country (codes, layouts, groups and boundaries come from data files).

They stand on lower layers, whose names are re-exported here so ``from digimeter.regions import X``
keeps working:

- :mod:`digimeter.stats.inequality`: the pure measures (Gini, Theil, CV, gap, people below,
  convergence, roll-up, :func:`divide`);
- :mod:`digimeter.geography`: layouts, the crosswalk and :func:`to_layout`, the registry of imported
  files and :func:`geography`, boundaries and :func:`map_features`, :func:`regional_observations`;
- :mod:`digimeter.panel.regional`: :func:`regional_panel`;
- :mod:`digimeter.build.regional`: :func:`regional_index` (a regional spec built by
  :func:`digimeter.build.compute` from that panel, so no region is left out).
"""

from __future__ import annotations

from ..build.regional import RegionalIndex, regional_index
from ..geography import (GEO_TABLE, GEO_TABLE_SQL, GROUP_PROPERTIES, Geography, bundled_crosswalk_names, map_features,
                         extensive_indicators, geo_home, geo_registry, geography, infer_layout, load_crosswalk,
                         load_geojson, load_layouts, regional_observations, to_layout)
from ..panel.regional import RegionalPanel, regional_panel
from ..stats.inequality import (BetaConvergence, TheilDecomposition, best_worst_gap, beta_convergence, cv, divide,
                                gini, population_below, rollup, sigma_convergence, theil, theil_decomposition)
from .report import (WEIGHTS_LABELS, RegionReport, declared_target, default_threshold, indicator_direction,
                     map_data, region_report, resolve_weights, threshold_for)
from .subjects import (default_regional_subject, divide_indicator, national_figures, regional_indicators,
                       regional_spec_for, resolve_subject)
from .trend import DivideTrend, divide_trend

__all__ = [
    "gini", "theil", "theil_decomposition", "TheilDecomposition", "cv", "best_worst_gap",
    "population_below", "sigma_convergence", "beta_convergence", "BetaConvergence", "rollup",
    "infer_layout", "to_layout", "map_features", "divide", "load_crosswalk", "load_layouts",
    "load_geojson",
    "Geography", "geography", "geo_home", "extensive_indicators", "regional_observations",
    "RegionalPanel", "regional_panel", "RegionalIndex", "regional_index", "regional_spec_for",
    "national_figures", "RegionReport", "region_report", "DivideTrend", "divide_trend", "map_data",
    "default_threshold", "GEO_TABLE", "GEO_TABLE_SQL", "GROUP_PROPERTIES", "geo_registry",
    "bundled_crosswalk_names", "resolve_weights", "declared_target", "WEIGHTS_LABELS", "regional_indicators",
    "default_regional_subject", "divide_indicator", "resolve_subject", "threshold_for", "indicator_direction",
]
