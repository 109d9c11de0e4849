"""The home page: the dashboard (grade shares and trend, migration, heat maps by area and industry), or the
first page the role may see."""

from __future__ import annotations

import functools
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ...contract import GRADES
from ...service import dashboard
from ...service.state import AppState, Principal
from ..common import NAV, Me, json_block, lang_of, render
from ..i18n import STRINGS
from ..names import HIGH, region_name, section_name

router = APIRouter(include_in_schema=False)


@router.get("/help")
def help_page(request: Request, me: Me) -> HTMLResponse:
    """The user guide (操作手册), Markdown shipped with the package, rendered without raw HTML."""
    return render(request, "help.html", me, manual=manual_html(lang_of(request)))


@functools.lru_cache(maxsize=2)
def manual_html(lang: str) -> str:
    from markdown_it import MarkdownIt

    folder = Path(__file__).resolve().parent.parent / "help"
    path = folder / ("manual-zh.md" if lang == "zh" else "manual-en.md")
    if not path.exists():
        path = folder / "manual-zh.md"
    return MarkdownIt("commonmark", {"html": False}).enable("table").render(path.read_text(encoding="utf-8"))


@router.get("/")
def home(request: Request, me: Me) -> Response:
    if not me.can("stats.read"):
        if me.can("audit.read"):  # an auditor lands on the audit log
            return RedirectResponse("/admin/audit", status_code=303)
        first = next((href for key, href, perm in NAV if me.can(perm)), None)
        if first:
            return RedirectResponse(first, status_code=303)
        return render(request, "welcome.html", me)
    return _dashboard(request, me, request.app.state.rg)


def _dashboard(request: Request, me: Principal, st: AppState) -> HTMLResponse:
    lang = lang_of(request)
    t = STRINGS[lang]
    prefix = me.user.region_prefix
    level = request.query_params.get("level") or ("city" if len(prefix) == 2 else "county")
    level = level if level in ("city", "county") else "city"
    width = 4 if level == "city" and len(prefix) < 4 else 6
    fig = dashboard.figures(st, me, width)
    if fig is None:
        return render(request, "dashboard.html", me, snap=None)
    months, snap, counts = fig["months"], fig["snapshot"], fig["counts"]
    ids = [i for _, i in months]
    grades = [g for g in GRADES if any(x[1] == g for x in counts)] or list(GRADES[:4])
    by = {(sid, g): (n, m) for sid, g, n, m in counts}
    current = [(g, *by.get((snap.id, g), (0, None))) for g in grades]
    total = sum(n for _, n, _ in current)
    trend_totals = {sid: sum(by.get((sid, g), (0,))[0] for g in grades) for sid in ids}
    trend = {"months": [a.isoformat()[:7] for a, _ in months],
             "series": [{"grade": g, "label": t[f"grade_{g}"],
                         "values": [round(by.get((sid, g), (0,))[0] / trend_totals[sid], 4) if trend_totals[sid] else 0
                                    for sid in ids]} for g in grades]}
    mig = {(f, to): n for f, to, n in fig["migration"]}
    heat_grade, heat_industry = _heat_maps(fig["cells"], grades, lang)
    data = {"shares": [{"grade": g, "label": t[f"grade_{g}"], "n": n} for g, n, _ in current], "trend": trend,
            "heat_grade": heat_grade, "heat_industry": heat_industry}
    return render(request, "dashboard.html", me, snap=snap, total=total, current=current, grades=grades, mig=mig,
                  mig_from=months[-2][0] if len(months) > 1 else None, level=level, heat_grade=heat_grade,
                  heat_industry=heat_industry, trend=trend, chart_json=json_block(data))


TOP_AREAS = 15  # rows a chart shows; the table under it lists every area
MIN_CELL = 30  # an area x industry cell with fewer entities is greyed: its share says little


def _heat_maps(cells, grades: list[str], lang: str) -> tuple[dict, dict]:
    """(areas by grade: a 100% bar per area, riskiest first; areas x industry sections: share of C/D/E).

    Colour means risk: grades keep their colours (A green .. D red), and in the area x industry map a
    darker cell is a higher share of grades C/D/E.  Both charts show the areas with the highest share of
    C/D/E first and at most ``TOP_AREAS`` of them; the tables under the charts hold every area.  Cells
    with fewer than ``MIN_CELL`` entities are greyed and carry no colour, and every label and tooltip
    gives the number of entities behind a share."""
    area_total: dict[str, int] = {}
    area_grade: dict[tuple[str, str], int] = {}
    sect: dict[tuple[str, str], list[int]] = {}
    for a, sc, g, n in cells:
        area_total[a] = area_total.get(a, 0) + n
        area_grade[(a, g)] = area_grade.get((a, g), 0) + n
        if sc:
            tot_hi = sect.setdefault((a, sc), [0, 0])
            tot_hi[0] += n
            tot_hi[1] += n if g in HIGH else 0

    def high(a: str) -> float:
        return sum(area_grade.get((a, g), 0) for g in HIGH) / area_total[a] if area_total[a] else 0.0

    areas = sorted(area_total, key=lambda a: (-high(a), a))
    names = [region_name(a) for a in areas]
    hg = {"x": grades, "y": names, "n": [area_total[a] for a in areas], "high": [round(high(a), 4) for a in areas],
          "top": min(TOP_AREAS, len(areas)),
          "data": [[xi, yi, round(area_grade.get((a, g), 0) / area_total[a], 4), area_grade.get((a, g), 0)]
                   for yi, a in enumerate(areas) for xi, g in enumerate(grades)]}
    top = areas[:TOP_AREAS]
    sections = sorted({sc for _, sc in sect})
    hi = {"x": [section_name(sc, lang).split(" ", 1)[-1] for sc in sections], "codes": sections,
          "y": [region_name(a) for a in top], "top": len(top), "areas": len(areas), "min_cell": MIN_CELL,
          "data": [[xi, yi, round(sect[(a, sc)][1] / sect[(a, sc)][0], 4) if sect[(a, sc)][0] >= MIN_CELL else None,
                    sect[(a, sc)][0]]
                   for yi, a in enumerate(top) for xi, sc in enumerate(sections) if (a, sc) in sect],
          "rows": [[region_name(a), sc, sect[(a, sc)][0], round(sect[(a, sc)][1] / sect[(a, sc)][0], 4)]
                   for a in areas for sc in sections if (a, sc) in sect]}
    hi["max"] = max((d[2] for d in hi["data"] if d[2] is not None), default=1) or 1
    return hg, hi
