"""``riskgrade reviews``: grade reviews (申诉/复核) from the command line: list, approve, reject, acting as a
registry user (``--as``) under the same rules as the console (service/reviews.py)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .common import HomeOpt, err, out, settings

AsOpt = Annotated[str, typer.Option("--as", help="the registry user who decides (a provincial administrator)")]


def _state(home):
    from ..service.state import open_state

    s = settings(home)
    return open_state(s.home, s.database_url)


def _run(fn):
    from ..errors import RiskgradeError
    from ..service.errors import Refused

    try:
        return fn()
    except Refused as e:
        raise RiskgradeError(e.message) from None


def reviews_list(
    state: Annotated[Optional[str], typer.Option("--state", help="pending, approved or rejected")] = None,
    user: AsOpt = "admin",
    home: HomeOpt = None,
) -> None:
    """Grade reviews in the user's region, newest first, with the counts by state."""
    from ..service import reviews

    st = _state(home)
    found = _run(lambda: reviews.listing(st, reviews.acting(st, user), state, 1, 200, via="cli"))
    c = found["counts"]
    err.print(f"pending {c['pending']}, approved {c['approved']}, rejected {c['rejected']}")
    for r in found["rows"]:
        out.print(f"{r['id']}\t{r['uscc']}\t{r['as_of']}\t{r['from_grade']}->{r['to_grade']}\t{r['state']}\t"
                  f"{r['proposed_by']}\t{r['decided_by'] or ''}\t{r['reason']}", highlight=False)


def reviews_approve(review_id: int, user: AsOpt, note: Annotated[str, typer.Option("--note")] = "",
                    home: HomeOpt = None) -> None:
    """Approve a pending grade review: the next `riskgrade publish` of its month carries it."""
    from ..service import reviews

    st = _state(home)
    r = _run(lambda: reviews.decide(st, reviews.acting(st, user), review_id, True, note, via="cli"))
    err.print(f"review {r['id']}: approved ({r['uscc']} {r['from_grade']} -> {r['to_grade']})")


def reviews_reject(review_id: int, user: AsOpt, note: Annotated[str, typer.Option("--note", help="why")],
                   home: HomeOpt = None) -> None:
    """Reject a pending grade review with a note."""
    from ..service import reviews

    st = _state(home)
    r = _run(lambda: reviews.decide(st, reviews.acting(st, user), review_id, False, note, via="cli"))
    err.print(f"review {r['id']}: rejected")


def register(app: typer.Typer) -> None:
    reviews_app = typer.Typer(help="Grade reviews (申诉/复核): list, approve, reject.", no_args_is_help=True)
    app.add_typer(reviews_app, name="reviews")
    reviews_app.command("list")(reviews_list)
    reviews_app.command("approve")(reviews_approve)
    reviews_app.command("reject")(reviews_reject)
