"""The dashboard's response models (its OpenAPI schema) and the error responses every operation lists."""

from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, Field


class TableOut(BaseModel):
    title: str
    rows: list[dict[str, Any]]


class ChartOut(BaseModel):
    title: str
    spec: dict[str, Any] = Field(description="a Vega-Lite specification")


class SectionOut(BaseModel):
    id: str
    title: str
    available: bool
    paragraphs: list[str]
    missing: list[str]
    key_numbers: dict[str, Any]
    tables: dict[str, TableOut]
    charts: dict[str, ChartOut]
    blocks: dict[str, str]


class PageOut(BaseModel):
    ok: bool = True
    page: str
    unit: str
    unit_name: str
    lang: str
    spec: str
    scenario: Optional[str] = None
    regional: Optional[str] = Field(None, description="regions page: the regional indicator or spec shown")
    regional_choices: Optional[list[dict[str, Any]]] = Field(
        None, description="regions page: what can be shown, the default first (the shipped regional "
                          "spec where one exists, then the regional indicators, best covered first)")
    sections: list[SectionOut]


class BuildOut(BaseModel):
    ok: bool = True
    spec: str
    year: int
    unit: Optional[str] = None
    unit_rank: Optional[int] = None
    n_ranked: int
    table: list[dict[str, Any]]
    import_report: Optional[str] = None


class ErrorOut(BaseModel):
    ok: bool = False
    error: str
    errors: list[dict[str, Any]]
    status: int


ERRORS = {400: {"model": ErrorOut}, 404: {"model": ErrorOut}, 413: {"model": ErrorOut}, 422: {"model": ErrorOut},
          500: {"model": ErrorOut}}
