"""Index specs (layer L2): the YAML description of an index (:mod:`digimeter.spec.index`) and the
plan a spec resolves into once (:mod:`digimeter.spec.plan`).

``from digimeter.spec import load_spec, parse_spec, IndexSpec ...`` keeps working: the public names
of :mod:`digimeter.spec.index` are re-exported here.
"""

from .index import (STAGES, WEIGHT_METHODS, WEIGHT_SETTINGS, IndexSpec, Node, UnitFilter, load_spec,
                    node_directions, parse_spec, shipped_specs)

__all__ = ["STAGES", "WEIGHT_METHODS", "WEIGHT_SETTINGS", "IndexSpec", "Node", "UnitFilter", "load_spec",
           "node_directions", "parse_spec", "shipped_specs"]
