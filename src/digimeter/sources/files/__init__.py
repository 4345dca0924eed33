"""Import a user's CSV or XLSX file into the store, atomically (layer L5 of DESIGN's layout).

Accepted layouts (detected from the header; the report says which one was found):

* **long**: ``unit, indicator, year, value`` (+ optional ``note``); ``iso3``, ``code``,
  ``country_code`` are accepted for ``unit``.
* **wide by indicator**: ``unit, year, <indicator codes...>``.
* **wide by year** (the World Bank layout): ``unit, indicator, <years...>``; World Bank files
  (``Country Name, Country Code, Indicator Name, Indicator Code, 1960, ...``, with their preamble
  lines) are read as they are downloaded.
* **units**: ``code, name, kind, parent`` (+ optional ``valid_from, valid_to, iso2, ...``), e.g. the
  regions of a country (``kind=region``, ``parent=<ISO3>``); ``name_<lang>`` columns (``name_ru``,
  ``name_kk``, ...) give names in other languages (the store's ``unit_names``).
* **indicators**: ``code, name, unit, higher_is_better, min_value, max_value``.

Indicator codes may be digimeter codes or publisher codes (``i99H``). New indicators can be declared in
a companion table: an XLSX sheet named ``indicators`` or a file ``<file>.indicators.csv`` beside a CSV
(likewise ``units`` / ``<file>.units.csv`` for new units). Everything is validated before anything is
written; every problem found (up to :data:`MAX_PROBLEMS`) is reported in one
:class:`~digimeter.errors.DataImportError` that names the file, row (the file's own line number, header
= row 1; the sheet for XLSX), column and the fix. All writes happen in one transaction.

The package is split by what its functions do:

* :mod:`~digimeter.sources.files.cells`: the :class:`Sheet` read from a file and what a cell means;
* :mod:`~digimeter.sources.files.read`: bytes, encodings, size limits (CSV, XLSX, companion tables);
* :mod:`~digimeter.sources.files.detect`: the delimiter, the header row and the layout;
* :mod:`~digimeter.sources.files.parse`: rows into units, indicators and tidy observations, validated
  against the store's catalogue with row and column in every problem;
* :mod:`~digimeter.sources.files.importer`: :func:`import_file`, the atomic import into the store.
"""

from .cells import (BLANKS, MIN_YEAR, UNIT_KINDS, Sheet, cell_text, is_blank, max_year, nonblank_rows, number_fix,
                    same_value, to_bool, to_number, to_year)
from .detect import (DESCRIPTIVE, FORM_NAMES, IND_FILE_COLS, INDICATOR_ALIASES, NAME_LANG, UNIT_ALIASES,
                     UNITS_FILE_COLS, YEAR_HEADER, Layout, find_layout, sniff_delimiter)
from .importer import import_file
from .parse import (IND_FILE_HINT, Catalogue, Obs, check_values, parse_data, parse_indicators, parse_units,
                    sheet_delim_hint)
from .read import (CSV_FIELD_LIMIT, SAVE_UTF8, XLSX_MAX_BYTES, XLSX_MAX_ROWS, check_csv_head, check_xlsx,
                   read_companions, read_csv, read_xlsx)

__all__ = [
    "import_file", "check_xlsx",
    # cells
    "MIN_YEAR", "UNIT_KINDS", "BLANKS", "max_year", "Sheet", "is_blank", "nonblank_rows", "to_number", "number_fix",
    "to_year", "cell_text", "to_bool", "same_value",
    # detect
    "UNIT_ALIASES", "INDICATOR_ALIASES", "DESCRIPTIVE", "NAME_LANG", "UNITS_FILE_COLS", "IND_FILE_COLS",
    "YEAR_HEADER", "Layout", "FORM_NAMES", "sniff_delimiter", "find_layout",
    # read
    "SAVE_UTF8", "XLSX_MAX_BYTES", "XLSX_MAX_ROWS", "CSV_FIELD_LIMIT", "read_csv", "check_csv_head", "read_xlsx",
    "read_companions",
    # parse
    "IND_FILE_HINT", "Catalogue", "parse_units", "parse_indicators", "Obs", "parse_data", "sheet_delim_hint",
    "check_values",
]
