"""Server-rendered pages: the form with recent links, a stats page per link, and redirects."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from werkzeug.urls import iri_to_uri

from app import services
from app.links import CodeTaken
from app.validation import CODE_PATTERN
from app.web.forms import NewLinkForm

bp = Blueprint("web", __name__)
RECENT_ON_HOME = 10


@bp.get("/")
def home() -> str:
    return render_template("index.html", form=NewLinkForm(), recent=_recent())


@bp.post("/")
def create() -> Response | tuple[str, int]:
    form = NewLinkForm()
    if not form.validate_on_submit():
        return render_template("index.html", form=form, recent=_recent()), 400
    try:
        link = services.links().create(form.url.data, form.code.data)
    except CodeTaken:
        form.code.errors = [f"'{form.code.data}' is already taken"]
        return render_template("index.html", form=form, recent=_recent()), 409
    flash("Short link created.")
    return redirect(url_for("web.stats", code=link.code), 303)


@bp.get("/links/<code>")
def stats(code: str) -> str:
    link = services.links().get(code)
    if link is None:
        abort(404, description=f"No link with code '{code}'.")
    return render_template("link.html", link=link)


@bp.get("/<code>")
def follow(code: str) -> Response:
    # Anything that could never be a code is answered without touching cache or database.
    if not CODE_PATTERN.fullmatch(code):
        abort(404, description="No such link.")
    url = services.links().follow(code)
    if url is None:
        abort(404, description="No such link.")
    # A bare 302: clients follow Location, and skipping werkzeug's HTML body keeps the hot
    # path short. iri_to_uri makes international URLs valid header values.
    return Response(status=302, headers={"Location": iri_to_uri(url)})


def _recent() -> list:  # type: ignore[type-arg]
    return services.links().recent(page=1, per_page=RECENT_ON_HOME).items
