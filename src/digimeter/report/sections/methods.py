"""Methods and data: every source used, the input fingerprints and each index's spec."""

from __future__ import annotations

import pandas as pd

from ... import __version__
from ..model import ReportContext, Section


def methods_section(ctx: ReportContext) -> Section:
    _ = ctx._
    sec = Section("methods", _("Methods and data"))
    for ix in ctx.indices.values():
        ids = pd.unique(ix.panel.origins.to_numpy().ravel())
        ctx.used_origins.update(i for i in ids if isinstance(i, str))
    used = sorted(o for o in ctx.used_origins if o in ctx.origins.index)
    o = ctx.origins.loc[used].reset_index()
    cols = ["origin_id", "publisher", "dataset", "edition", "licence", "retrieved", "url", "repository", "sha256"]
    sec.tables["sources"] = o[cols]
    sec.table_titles["sources"] = _("Every source used in this report")
    fp = []
    for name, ix in ctx.indices.items():
        fp.append({"index": name, "year": ix.year, "spec_sha256": ix.fingerprints.get("spec"),
                   "panel_sha256": ix.fingerprints.get("panel"), "data_vintage": ix.fingerprints.get("data_vintage"),
                   "digimeter": ix.fingerprints.get("digimeter")})
        import yaml

        sec.blocks[f"spec_{name}"] = yaml.safe_dump(ix.spec.to_dict(), sort_keys=False, allow_unicode=True, width=100)
    sec.tables["fingerprints"] = pd.DataFrame(fp)
    sec.table_titles["fingerprints"] = _("Input fingerprints (SHA-256) of each index")
    from ...store import snapshot_fingerprint

    sec.key_numbers["sources"] = len(used)
    sec.key_numbers["digimeter"] = __version__
    main = ctx.indices[ctx.spec]
    lag = main.panel.lagged()
    sec.paragraphs.append(_("digimeter {version}; bundled data snapshot {snap}. Each index is rebuilt from the "
                            "store with its spec (below): the stages are screen, impute, treat, normalise and "
                            "aggregate, each with the method the spec names.").format(
        version=__version__, snap=snapshot_fingerprint()[:12]))
    if len(lag):
        sec.paragraphs.append(_("{n} values of {index} are older than {year} (the latest within {w} years is used).").format(
            n=len(lag), index=ctx.index_title(main), year=main.year, w=main.spec.year_window))
    if len(main.excluded):
        sec.paragraphs.append(_("{n} countries are not ranked on {index} for lack of data.").format(
            n=len(main.excluded), index=ctx.index_title(main)))
    if ctx.errors:
        sec.paragraphs.append(_("Analyses that failed while this report was made: {items}.").format(
            items="; ".join(f"{k}: {v}" for k, v in ctx.errors.items())))
    return sec
