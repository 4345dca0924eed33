"""The report's sections, one builder per section (or per group): each takes the shared
:class:`~digimeter.report.model.ReportContext` and returns a :class:`~digimeter.report.model.Section`."""

from __future__ import annotations

from .gaps import gaps_section
from .headline import headline_section
from .methods import methods_section
from .profile import profile_section
from .rankings import rankings_section
from .regions import regions_section
from .robustness import robustness_section
from .targets import targets_section

#: ``(section id, builder)`` in the report's order (:data:`digimeter.report.SECTION_IDS`).
BUILDERS = (("headline", headline_section), ("rankings", rankings_section), ("profile", profile_section),
            ("gaps", gaps_section), ("regions", regions_section), ("targets", targets_section),
            ("robustness", robustness_section), ("methods", methods_section))

__all__ = ["BUILDERS", "gaps_section", "headline_section", "methods_section", "profile_section",
           "rankings_section", "regions_section", "robustness_section", "targets_section"]
