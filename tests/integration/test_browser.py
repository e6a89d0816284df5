"""A real browser (Debian's chromium, driven by Playwright) creates a link and follows it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.support.need import ensure_debian_packages

CHROMIUM = "/usr/bin/chromium"
# Flags for a sandboxed, offline machine: no background calls home, no GPU, root allowed.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def served_app(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    ensure_debian_packages("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def test_create_a_link_through_the_form_and_follow_it(browser, served_app: str) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    page.goto(f"{served_app}/")
    # The target is the app's own health page under another name (a link to the host the page
    # was served from would be refused): the test never leaves this machine.
    target = served_app.replace("127.0.0.1", "localhost")
    page.fill("input[name=url]", f"{target}/healthz")
    page.fill("input[name=code]", "browser")
    page.click("button[type=submit]")
    page.wait_for_url(f"{served_app}/links/browser")
    assert "Short link created." in page.content()
    assert page.text_content("#clicks") == "0"

    page.click("#short-url")
    page.wait_for_url(f"{target}/healthz")
    assert '"status":"ok"' in page.content().replace(" ", "")

    page.goto(f"{served_app}/links/browser")
    assert page.text_content("#clicks") == "1"
    page.close()


def test_the_form_shows_errors_in_the_page(browser, served_app: str) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    page.goto(f"{served_app}/")
    page.fill("input[name=url]", "javascript:alert(1)")
    page.click("button[type=submit]")
    assert "must be an http:// or https:// URL" in page.content()
    page.close()
