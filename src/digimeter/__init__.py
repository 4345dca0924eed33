"""digimeter: how digital is a country and each of its regions, what holds it back,
and can it reach its digital targets in time?"""

__version__ = "0.1.0"
