"""Server-rendered pages: the form with this browser's links, a page per link, and redirects."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import Headers

from app import services
from app.credentials import is_admin
from app.fast_redirect import LOOKED_UP
from app.links import CodeTaken, LinkNotFound, NotOwner
from app.urls import legacy_location
from app.validation import CODE_PATTERN
from app.web import my_links
from app.web.forms import DeleteLinkForm, NewLinkForm

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

bp = Blueprint("web", __name__)


class StoredRedirect(Response):
    """A 302 whose Location goes out exactly as stored.

    Werkzeug would re-parse every Location (iri_to_uri), which costs time on the hot path and
    raises on a malformed URL made before targets were normalised: a 500 on every click. Stored
    targets are printable ASCII (app.urls), so they are valid header values as they are.
    """

    def get_wsgi_headers(self, environ: WSGIEnvironment) -> Headers:
        location = self.headers.pop("Location")
        headers = super().get_wsgi_headers(environ)
        headers["Location"] = location
        return headers


@bp.get("/")
def home() -> str:
    return _home(NewLinkForm())


@bp.post("/")
def create() -> ResponseReturnValue:
    form = NewLinkForm()
    if not form.validate_on_submit():
        return _home(form), 400
    try:
        created = services.links().create(form.url.data or "", form.code.data)  # url: required
    except CodeTaken:
        form.code.errors = [f"'{form.code.data}' is taken (codes are never reused)"]
        return _home(form), 409
    code = created.link.code
    my_links.remember(code)
    # Shown once, by the next page only: the session is a signed cookie of this browser's own.
    session["new_token"] = {"code": code, "token": created.manage_token}
    flash("Short link created.")
    return redirect(url_for("web.stats", code=code), 303)


@bp.get("/links/<code>")
def stats(code: str) -> Response:
    link = services.links().get(code)
    if link is None:
        abort(404, description=f"No link with code '{code}'.")
    new = session.get("new_token")
    token = None
    if isinstance(new, dict) and new.get("code") == code:
        token = session.pop("new_token")["token"]  # shown this once
    form = DeleteLinkForm(token=token)
    response = make_response(render_template("link.html", link=link, form=form, token=token))
    if token:
        response.headers["Cache-Control"] = "no-store"  # the token must not outlive this page
    return response


@bp.post("/links/<code>/delete")
def delete(code: str) -> ResponseReturnValue:
    link = services.links().get(code)
    if link is None:
        abort(404, description=f"No link with code '{code}'.")
    form = DeleteLinkForm()
    if not form.validate_on_submit():
        return render_template("link.html", link=link, form=form, token=None), 400
    token = form.token.data
    try:
        services.links().delete(code, token, admin=is_admin(token))
    except LinkNotFound:
        abort(404, description=f"No link with code '{code}'.")
    except NotOwner:
        form.token.errors = ["This is not the link's manage token."]
        return render_template("link.html", link=link, form=form, token=None), 403
    my_links.forget(code)
    flash(f"Link {code} deleted; its code stays reserved.")
    return redirect(url_for("web.home"), 303)


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for /favicon.ico whatever the page says; answer with the SVG icon."""
    folder = current_app.static_folder or ""
    return send_from_directory(folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400)


@bp.get("/<code>")
def follow(code: str) -> Response:
    # Anything that could never be a code is answered without touching cache or database.
    if not CODE_PATTERN.fullmatch(code):
        abort(404, description="No such link.")
    looked_up = request.environ.get(LOOKED_UP)
    if looked_up is not None and looked_up[0] == code:  # the WSGI layer has looked it up
        if looked_up[1] is not None:
            raise looked_up[1]
        abort(404, description="No such link.")
    url = services.links().follow(code)
    if url is None:
        abort(404, description="No such link.")
    # A bare 302: clients follow Location, and skipping werkzeug's HTML body keeps the hot
    # path short. Targets are stored in ASCII form (app.urls); only links made before that
    # was so may need encoding.
    location = url if url.isascii() else legacy_location(url)
    return StoredRedirect(status=302, headers={"Location": location})


def _home(form: NewLinkForm) -> str:
    return render_template("index.html", form=form, mine=services.links().live(my_links.codes()))
