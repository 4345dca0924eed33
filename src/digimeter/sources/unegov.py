"""UN E-Government Knowledgebase (publicadministration.un.org/egovkb): the "Data Center" CSV export.

One file per survey edition with the columns ``Survey Year, Country Name, E-Government Rank,
E-Government Index, E-Participation Index, Online Service Index, Human Capital Index,
Telecommunication Infrastructure Index``. Some copies in circulation carry renamed headers
(``Country, Rank, E_Index, E_Participation, Online_Service, Human_Capital, Tele_Infra``); both are
read (:data:`HEADER_ALIASES`), any other layout is refused with the columns it lacks.

Countries are given by name only; names are matched to ISO3 codes through the store's unit names
and :data:`NAME_ALIASES` (UN spellings). Unmatched names are reported, never guessed.
"""

from __future__ import annotations

import io
import re
import unicodedata

import pandas as pd

from ..errors import SourceError
from .http import Batch, Fetcher, Response

PUBLISHER = "UN DESA"
DATA_CENTER = "https://publicadministration.un.org/egovkb/en-us/Data-Center"
EXPORT_URL = "https://publicadministration.un.org/egovkb/Portals/egovkb/Documents/un/{year}-Survey/EGOV_DATA_{year}.csv"
LICENCE = "UN DESA E-Government Survey data; free to use with citation 'United Nations E-Government Survey <year>, UN DESA'"

# the export's column -> the catalogue's source_code (= the canonical export header)
HEADER_ALIASES = {
    "survey year": "Survey Year", "country name": "Country Name", "country": "Country Name",
    "e-government rank": "E-Government Rank", "rank": "E-Government Rank",
    "e-government index": "E-Government Index", "e_index": "E-Government Index",
    "e-participation index": "E-Participation Index", "e_participation": "E-Participation Index",
    "online service index": "Online Service Index", "online_service": "Online Service Index",
    "human capital index": "Human Capital Index", "human_capital": "Human Capital Index",
    "telecommunication infrastructure index": "Telecommunication Infrastructure Index",
    "tele_infra": "Telecommunication Infrastructure Index",
}
REQUIRED = ("Survey Year", "Country Name", "E-Government Index")

NAME_ALIASES = {
    "bosnia and herzegovina": "BIH", "brunei darussalam": "BRN", "democratic republic of the congo": "COD",
    "congo": "COG", "cabo verde": "CPV", "czech republic": "CZE", "czechia": "CZE",
    "micronesia federated states of": "FSM", "united kingdom of great britain and northern ireland": "GBR",
    "georgia country": "GEO", "iran islamic republic of": "IRN", "saint kitts and nevis": "KNA",
    "republic of korea": "KOR", "lao people s democratic republic": "LAO", "saint lucia": "LCA",
    "republic of moldova": "MDA", "democratic people s republic of korea": "PRK", "russian federation": "RUS",
    "sao tome and principe": "STP", "syrian arab republic": "SYR", "united republic of tanzania": "TZA",
    "united states of america": "USA", "saint vincent and the grenadines": "VCT", "viet nam": "VNM",
    "turkiye": "TUR", "turkey": "TUR", "cote d ivoire": "CIV", "north macedonia": "MKD",
    "the former yugoslav republic of macedonia": "MKD", "eswatini": "SWZ", "swaziland": "SWZ",
    "bolivia plurinational state of": "BOL", "venezuela bolivarian republic of": "VEN",
    "netherlands kingdom of the": "NLD", "gambia republic of the": "GMB", "gambia": "GMB",
    "bahamas": "BHS", "egypt": "EGY", "yemen": "YEM", "kyrgyzstan": "KGZ", "slovakia": "SVK",
}


def norm_name(x: str) -> str:
    x = unicodedata.normalize("NFKD", str(x)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", x.casefold().replace("&", " and ")).strip()


def parse(r: Response) -> pd.DataFrame:
    try:
        df = pd.read_csv(io.BytesIO(r.content), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise SourceError(f"{r.url}: the CSV cannot be read ({e})", field="body", fix="run the update again") from e
    rename = {c: HEADER_ALIASES.get(c.strip().casefold(), c.strip()) for c in df.columns}
    df = df.rename(columns=rename)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise SourceError(f"{r.url}: UN e-government export lacks column(s) {', '.join(missing)} "
                          f"(has {', '.join(df.columns)})", field=missing[0],
                          fix="the export format changed; add the new header to HEADER_ALIASES")
    return df


def name_map(store) -> dict[str, str]:
    u = store.query("SELECT code, name FROM units WHERE kind IN ('country', 'territory')")
    m = {norm_name(n): c for n, c in zip(u.name, u.code)}
    m.update(NAME_ALIASES)
    return m


def tidy(df: pd.DataFrame, codes: dict[str, str], names: dict[str, str]) -> tuple[pd.DataFrame, list[str]]:
    notes = []
    iso = df["Country Name"].map(lambda n: names.get(norm_name(n)))
    unmatched = sorted(set(df.loc[iso.isna(), "Country Name"].str.strip()))
    if unmatched:
        notes.append(f"{len(unmatched)} country names not matched to ISO3 codes (left out): {', '.join(unmatched[:10])}")
    year = pd.to_numeric(df["Survey Year"], errors="coerce")
    if year.isna().any():
        raise SourceError(f"Survey Year not a year: {df.loc[year.isna(), 'Survey Year'].iloc[0]!r}", field="Survey Year")
    parts = []
    for col, code in codes.items():
        if col not in df.columns:
            continue
        v = pd.to_numeric(df[col].str.strip().replace({"": None, "..": None}), errors="coerce")
        keep = v.notna() & iso.notna()
        parts.append(pd.DataFrame({"unit": iso[keep], "indicator": code, "year": year[keep].astype(int),
                                   "value": v[keep], "note": None}))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["unit", "indicator", "year", "value", "note"])
    dup = out.duplicated(["unit", "indicator", "year"], keep=False)
    if dup.any():
        d = out[dup].iloc[0]
        raise SourceError(f"two rows for {d.unit} {d.indicator} {d.year} (two names matched the same country?)",
                          field="Country Name", value=d.unit)
    return out, notes


def connector(fetcher: Fetcher, store, years: list[int] | None = None, *, url: str | None = None,
              on_page=None) -> list[Batch]:
    """One batch per survey edition (default: 2024)."""
    ind = store.query("SELECT code, source_code FROM indicators WHERE source = ? AND source_code IS NOT NULL",
                      [PUBLISHER])
    codes = dict(zip(ind.source_code, ind.code))
    names = name_map(store)
    batches = []
    years = years or [2024]
    for i, y in enumerate(years, 1):
        u = (url or EXPORT_URL).format(year=y)
        r = fetcher.get(u, publisher="unegov")
        df = parse(r)
        obs, notes = tidy(df, codes, names)
        eds = sorted(set(obs.year)) if len(obs) else [y]
        origin = {"origin_id": f"unegov:{'-'.join(map(str, eds))}:{r.sha256[:12]}", "publisher": PUBLISHER,
                  "dataset": "UN E-Government Survey (E-Government Knowledgebase Data Center export)",
                  "edition": ", ".join(map(str, eds)), "url": r.url, "repository": None, "licence": LICENCE,
                  "retrieved": r.retrieved, "sha256": r.sha256, "note": f"{len(df)} rows"}
        batches.append(Batch(source="unegov", observations=obs, origin=origin, skipped=notes))
        if on_page:
            on_page(i, len(years))
    return batches
