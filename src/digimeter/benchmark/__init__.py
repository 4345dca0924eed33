"""Benchmarks and gaps: where a unit stands against the leaders, why, and what it would take.

* :func:`rankings` -- a unit's rank and percentile in every bundled index and ranking (UN EGDI and its
  components, World Bank GTMI and its components, IMD WDCR and its factors, ``digital-nation`` and any
  user spec), with the rank correlation between rankings and what each one measures.
* :func:`peers` -- peer groups (UN subregion / WB region, income group, nearest by GDP per capita PPP,
  a custom list); :func:`frontier` -- distance to the leader, the top-5 mean, the top-25 threshold and
  the peer mean, in score and in each indicator's natural unit.
* :func:`gap` -- the contribution of each pillar and indicator to the score gap between a unit and a
  reference, exact for arithmetic means (effective weight x normalised gap, weights rescaled for
  missing data as the build does) and Shapley values for other aggregations; waterfall-ready.
* :func:`what_it_takes` -- the least (optionally cost-weighted) improvement that lifts a unit to a
  target rank or score under plausible bounds (observed pace from a similar level x years to the
  deadline; the indicator's valid range), solved with :mod:`scipy.optimize` and verified by rebuilding.
* :func:`strengths` -- indicators where a unit is furthest above / below its peers' median.

References
----------
Shapley, L. S. (1953), A value for n-person games, in Contributions to the Theory of Games II,
https://doi.org/10.1515/9781400881970-018 ; Castro, Gomez & Tejada (2009), Polynomial calculation of
the Shapley value based on sampling, https://doi.org/10.1016/j.cor.2008.04.004 ;
OECD/JRC (2008), Handbook on Constructing Composite Indicators, https://doi.org/10.1787/9789264043466-en

Modules: :mod:`~digimeter.benchmark.published` (published rankings and specs side by side, agreement,
why they differ, pillar extremes, history), :mod:`~digimeter.benchmark.peer_groups` (peer groups,
frontier distance, strengths and weaknesses), :mod:`~digimeter.benchmark.gaps` (gap decomposition,
waterfall), :mod:`~digimeter.benchmark.improvement` (pace, what it takes to reach a rank or score) and
:mod:`~digimeter.benchmark.unit_tree` (the index's tree for one unit, by :mod:`digimeter.stages.tree`);
:func:`shapley` lives in :mod:`digimeter.stats.shapley`. No module is named after a function it exports
(``import digimeter.benchmark.peers as m`` would give the function).
"""

from __future__ import annotations

from ..stats.shapley import shapley
from .published import (BASIS_NOTES, RANKINGS, REASONS, THEMES, Published, Rankings, differences, main_reason,
                        percentile_of_rank, pillar_extremes, rank_history, ranking_methods, rankings)
from .peer_groups import PEER_KINDS, frontier, peer_list, peers, strengths
from .gaps import gap, waterfall
from .improvement import Plan, pace, what_it_takes
from .unit_tree import evaluate_unit
from .improvement import normaliser

__all__ = ["evaluate_unit", "normaliser", "RANKINGS", "Rankings", "rankings", "differences", "pillar_extremes", "rank_history", "main_reason",
           "ranking_methods", "THEMES", "peers", "frontier", "gap", "waterfall", "shapley", "what_it_takes",
           "Plan", "pace", "strengths", "percentile_of_rank", "Published", "BASIS_NOTES", "REASONS", "PEER_KINDS",
           "peer_list"]
