"""Headless Chromium for the browser tests (tests/test_site.py, tests/test_jupyterlab_settings.py).

Playwright drives Debian's chromium (`apt-get install chromium`; Playwright's own browser
download is not used). Pages may fetch only from the loopback servers the tests start: any
other request is aborted and recorded, so a page that needs the network fails its test.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("DCGAN_CHROMIUM", "/usr/bin/chromium")


def require(ok: bool, reason: str) -> None:
    """Skip on a developer's machine; fail in CI (CI=true), whose setup installs the tools."""
    if ok:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (ci/setup.sh installs it)")
    pytest.skip(reason)


def require_browser() -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        require(False, "playwright is not installed: pip install -e '.[site]' (or bash ci/setup.sh)")
    require(Path(CHROMIUM).exists() or bool(shutil.which(CHROMIUM)),
            f"chromium is missing at {CHROMIUM}: apt-get install -y chromium")


@contextlib.contextmanager
def chromium():
    """A headless Chromium browser (Playwright's Browser)."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            # root has no user namespace sandbox in CI; /dev/shm may be small in containers.
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
        try:
            yield browser
        finally:
            browser.close()


class Watched:
    """A page of a fresh browser context that records console errors, page errors, failed
    and non-loopback requests, and HTTP error responses."""

    def __init__(self, browser, **context_args):
        self.context = browser.new_context(**context_args)
        self.problems: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(
            f"console error: {m.text} ({m.location.get('url', '')})"))
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        # ERR_ABORTED: a load the browser dropped because the page was left (or a request
        # aborted by _route, already recorded); a missing image shows as naturalWidth 0.
        self.page.on("requestfailed", lambda r: r.failure != "net::ERR_ABORTED" and
                     self.problems.append(f"request failed: {r.url} ({r.failure})"))
        self.page.on("response", lambda r: r.status >= 400 and self.problems.append(
            f"HTTP {r.status}: {r.url}"))

    def _route(self, route):
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            self.problems.append(f"off-machine request: {route.request.url}")
            route.abort()

    def take_problems(self) -> list[str]:
        problems, self.problems = self.problems, []
        return problems

    def close(self) -> None:
        self.context.close()


@contextlib.contextmanager
def serve(folder: Path):
    """Serve `folder` over HTTP on 127.0.0.1 (a free port) from a thread; yield its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
