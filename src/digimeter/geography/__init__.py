"""Regional geography (DESIGN.md layer L4, above the store): layouts and the crosswalk between them,
reading values onto one layout, the registry of imported geography files, boundaries and maps.

- :mod:`~digimeter.geography.crosswalk`: :func:`load_crosswalk`, :func:`load_layouts`,
  :func:`infer_layout`, :func:`to_layout` (pure);
- :mod:`~digimeter.geography.maps`: :func:`load_geojson`, :func:`map_features`, boundary simplification
  (pure);
- :mod:`~digimeter.geography.registry`: :class:`Geography` and :func:`geography` (a country's
  crosswalk, layouts, boundaries and region groups, bundled or imported), :func:`geo_registry`;
- :mod:`~digimeter.geography.observations`: :func:`regional_observations` (a country's series read on
  one layout).
"""

from __future__ import annotations

from .crosswalk import (bundled_crosswalk_names, infer_layout, load_crosswalk, load_layouts, territories,
                        to_layout)
from .maps import (GEOMETRIES, count_points, has_bundled_boundaries, load_geojson, map_features,
                   simplify_collection, simplify_geometry)
from .observations import extensive_indicators, regional_observations
from .registry import (GEO_TABLE, GEO_TABLE_SQL, GROUP_PROPERTIES, Geography, crosswalk_layouts, geo_home,
                       geo_registry, geography)

__all__ = ["bundled_crosswalk_names", "infer_layout", "load_crosswalk", "load_layouts", "territories",
           "to_layout", "GEOMETRIES", "map_features", "count_points", "has_bundled_boundaries", "load_geojson",
           "simplify_collection", "simplify_geometry", "extensive_indicators", "regional_observations",
           "GEO_TABLE", "GEO_TABLE_SQL", "GROUP_PROPERTIES", "Geography", "crosswalk_layouts", "geo_home",
           "geo_registry", "geography"]
