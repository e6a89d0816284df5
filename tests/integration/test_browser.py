"""A real browser (Debian's chromium, driven by Playwright) creates a link and follows it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.support.apt import ensure_debian_packages

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


def watched_page(browser) -> tuple[object, list[str]]:  # type: ignore[no-untyped-def]
    """A new page and the console messages it logs (a blocked resource or script shows there)."""
    page = browser.new_page()
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    return page, messages


def test_create_a_link_through_the_form_and_follow_it(browser, served_app: str) -> None:  # type: ignore[no-untyped-def]
    page, console = watched_page(browser)
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
    # The strict Content-Security-Policy blocked nothing the pages need.
    assert not [text for text in console if "Content Security Policy" in text], console


def test_the_result_page_shows_the_token_once_and_its_button_deletes(  # type: ignore[no-untyped-def]
    browser, served_app: str
) -> None:
    page, console = watched_page(browser)
    page.goto(f"{served_app}/")
    page.fill("input[name=url]", "https://example.com/to-delete")
    page.fill("input[name=code]", "deleteme")
    page.click("button[type=submit]")
    page.wait_for_url(f"{served_app}/links/deleteme")
    token = page.input_value("#manage-token")
    assert len(token) >= 43
    assert page.input_value("input[name=token]") == token  # the delete control carries it
    page.reload()
    assert page.locator("#manage-token").count() == 0  # shown once
    page.goto(f"{served_app}/links/deleteme")
    page.fill("input[name=token]", token)
    page.click("button.danger")
    page.wait_for_url(f"{served_app}/")
    assert "Link deleteme deleted" in page.content()
    page.goto(f"{served_app}/deleteme")
    assert "No such link" in page.content()
    page.close()
    assert not [text for text in console if "Content Security Policy" in text], console


def test_the_form_shows_errors_in_the_page(browser, served_app: str) -> None:  # type: ignore[no-untyped-def]
    page, _ = watched_page(browser)
    page.goto(f"{served_app}/")
    page.fill("input[name=url]", "javascript:alert(1)")
    page.click("button[type=submit]")
    assert "must be an http:// or https:// URL" in page.content()
    page.close()
