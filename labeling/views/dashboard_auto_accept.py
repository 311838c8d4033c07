"""The dashboard's auto-accept section (issue 17): the target, the catalog's statuses now and
per depth, the certified precision per top-level branch, the nodes still short of audit labels,
and how the auto-accepted share and the catch-all bound grew over model versions.

Figures are ``labeling.selectors.auto_accept``; charts are drawn as the rest of the dashboard's
(``labeling.views.charts``, ``templates/dashboard/_chart.html``); the section is
``templates/dashboard/_auto_accept.html``, included by the dashboard page.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from labeling.models import ModelVersion, Prediction, TaxonomyVersion
from labeling.roles import is_taxonomy_admin
from labeling.selectors import auto_accept as sel
from labeling.services.learning.auto_accept import DEFAULT_MAX_AUDIT_SHARE, audit_wanted
from labeling.views import charts
from labeling.views.charts import Chart, LineStyle

NOTHING_SCORED = "No item has a prediction yet."
NOTHING_ACCEPTED = "Nothing is auto-accepted yet."
AUTO_ACCEPT_OFF = "Auto-accept is off for this taxonomy version (no target precision)."
NOTHING_CERTIFIED = (
    "No model has been certified yet: a model is certified when its rescore is planned "
    "(after its promotion)."
)
NOT_CERTIFIED = (
    "Model #{pk} has not been certified yet: it is certified when its rescore is planned "
    "(after its promotion, or manage.py rescore)."
)
NEW_TARGET = (
    "Model #{pk} was certified at {old}; the target is now {new}: it takes effect at the next "
    "rescore (after the next promotion, or manage.py rescore)."
)
HISTORY_STYLES = {
    "auto-accepted": LineStyle(marker="circle"),
    "catch-all bound": LineStyle(dash="6 4", marker="square"),
}
DEPTH_STYLE = LineStyle(dash="2 3", marker="square")
STATUS_NAMES = dict(Prediction.Status.choices)  # auto_accepted -> auto-accepted


def pct(v: float | None, digits: int = 1) -> str:
    return "—" if v is None else f"{v:.{digits}%}"


def target_text(target: float | None) -> str:
    return "off" if target is None else f"{target:g}"


def status_chart(now: sel.CatalogStatus) -> Chart:
    names = [STATUS_NAMES[s] for s in sel.STATUSES]
    rows: list[list[Any]] = []
    for status, name in zip(sel.STATUSES, names, strict=True):
        rows.append([name, now.by_status[status], pct(now.share(status))])
        if status == Prediction.Status.AUTO_ACCEPTED:
            rows += [
                [f"… at depth {d}", n, pct(now.depth_share(d))]
                for d, n in now.auto_accepted_by_depth.items()
            ]
    chart = Chart(
        "catalog-status",
        "Catalog status now",
        f"Share of the {now.items:,} items with a prediction: labelled by a person, "
        "auto-accepted at a certified threshold, or waiting for review.",
        ["Status", "Items", "Share"],
        rows,
    )
    if not now.items:
        chart.empty = NOTHING_SCORED
        return chart
    series = {"share": [now.share(s) or 0.0 for s in sel.STATUSES]}
    return charts.bar_chart(chart, names, series, stacked=True, percent=True)


def accepted_depth_chart(now: sel.CatalogStatus, target: float | None) -> Chart:
    depths = list(now.auto_accepted_by_depth)
    accepted = now.by_status[Prediction.Status.AUTO_ACCEPTED]
    chart = Chart(
        "auto-accepted-by-depth",
        "Auto-accepted per depth",
        "Share of the catalog auto-accepted at each depth of the tree (an item is accepted at "
        "the deepest node of its predicted path that clears its threshold).",
        ["Accepted at", "Items", "Share of the catalog", "Share of the auto-accepted"],
        [
            [f"depth {d}", n, pct(now.depth_share(d)), pct(n / accepted if accepted else None)]
            for d, n in now.auto_accepted_by_depth.items()
        ],
    )
    if not depths:
        chart.empty = AUTO_ACCEPT_OFF if target is None else NOTHING_ACCEPTED
        return chart
    series = {"share": [now.depth_share(d) or 0.0 for d in depths]}
    return charts.bar_chart(
        chart, [f"depth {d}" for d in depths], series, stacked=True, percent=True
    )


def history_chart(version: TaxonomyVersion) -> Chart:
    points = sel.history(version=version)
    depths = sorted({d for p in points for d in p.auto_accepted_by_depth})
    chart = Chart(
        "auto-accept-history",
        "Auto-accept over model versions",
        "Per certified model: the share of the catalog its rescore left auto-accepted, overall "
        "and per depth, and the catch-all unit's certified lower bound on precision.",
        [
            "Model",
            "Status",
            "Labels",
            "Audit labels",
            "Target",
            "Auto-accepted",
            *(f"Depth {d}" for d in depths),
            "Catch-all bound",
            "Units certified",
        ],
        [
            [
                f"#{p.model_id}",
                p.status,
                p.label_count,
                p.n_audit,
                target_text(p.target),
                pct(p.share),
                *(pct(p.depth_share(d)) for d in depths),
                pct(p.catch_all_bound, 2),
                p.units_certified,
            ]
            for p in points
        ],
        xlabel="labels trained on",
    )
    chart.empty = "" if points else NOTHING_CERTIFIED
    series: dict[str, list[float | None]] = {"auto-accepted": [p.share for p in points]}
    series |= {f"depth {d}": [p.depth_share(d) for p in points] for d in depths}
    series["catch-all bound"] = [p.catch_all_bound for p in points]
    # Depth lines over the total, dotted with hollow squares: with one depth they coincide.
    styles = HISTORY_STYLES | {f"depth {d}": DEPTH_STYLE for d in depths}
    return charts.line_chart(chart, [float(p.label_count) for p in points], series, styles)


def certification_note(
    version: TaxonomyVersion, model: ModelVersion | None, cert: sel.Certification | None
) -> str:
    """What the section says about the active model's certification, when it is not plain."""
    if model is not None and cert is None:
        return NOT_CERTIFIED.format(pk=model.pk)
    if cert is not None and cert.target != version.target_precision:
        old, new = target_text(cert.target), target_text(version.target_precision)
        return NEW_TARGET.format(pk=cert.model_id, old=old, new=new)
    return ""


def branch_rows(cert: sel.Certification | None) -> list[list[Any]]:
    """Branch, audit items accepted, errors, observed precision, its 95% lower bound."""
    return [
        [b.name, b.n_accepted, b.n_errors, pct(b.precision, 2), pct(b.lower_bound, 2)]
        for b in (cert.branches if cert else [])
    ]


def need_rows(cert: sel.Certification | None) -> list[list[Any]]:
    """Node, audit items it has, needs, more audit labels, accepted through a pooled unit."""
    return [
        [n.name, n.have, n.need, n.extra_audit, "yes" if n.covered else "no"]
        for n in (cert.needs if cert else [])
    ]


def auto_accept_section(
    *, version: TaxonomyVersion, model: ModelVersion | None, history_of: TaxonomyVersion, user: Any
) -> dict[str, Any]:
    """The template context of the section: ``model`` is the dashboard's (active or stand-in),
    ``history_of`` the version whose models make the history (the learning curve's)."""
    now = sel.catalog_status_now()
    cert = sel.certification(model=model)
    share = float(settings.TAXOLOOP.get("MAX_AUDIT_SHARE", DEFAULT_MAX_AUDIT_SHARE))
    return {
        "target": version.target_precision,
        "on": version.target_precision is not None,
        "cert": cert,
        "note": certification_note(version, model, cert),
        "audit_wanted": audit_wanted(model),
        "max_audit_share": pct(share, 0),
        "can_edit": is_taxonomy_admin(user),
        "branches": branch_rows(cert),
        "needs": need_rows(cert),
        "charts": [
            status_chart(now),
            accepted_depth_chart(now, version.target_precision),
            history_chart(history_of),
        ],
    }
