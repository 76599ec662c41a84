"""Browser tests: Playwright (sync API) driving Debian's Chromium against ``live_server``.

Every page a test opens is watched: a console error (a Content-Security-Policy violation
is one), an uncaught script error, a request that fails, or a sub-resource answered with
an error status is recorded, and ``BrowserSession.assert_clean()`` fails on any of them.

Without /usr/bin/chromium the tests are skipped with the reason, except when ``CI=true``:
CI must run them, so there they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def chromium_path() -> str:
    if CHROMIUM.exists():
        return str(CHROMIUM)
    reason = f"Chromium not found at {CHROMIUM} (Debian package 'chromium'); browser tests need it."
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} CI=true, so they must run: install chromium in .ci/run.", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    # Module scope: Playwright's sync API keeps an asyncio event loop running in this
    # thread while it is started, which would break async tests elsewhere in the run;
    # tests of one module run together, so the loop ends with the module.
    with pytest.MonkeyPatch.context() as patch:
        # The same loop makes Django's async-unsafe guard refuse the ORM calls that the
        # test itself makes (factories, assertions). The test thread never runs async
        # code, and the live server answers from its own thread.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
            yield browser
            browser.close()


class BrowserSession:
    """One browser tab on the live server, with the problems its pages reported."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url.rstrip("/")
        self.problems: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught error on {page.url}: {error}"))
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)

    def _on_console(self, message: ConsoleMessage) -> None:
        # "Failed to load resource" repeats what the network listeners below report, and
        # is also logged for a page that answers 404 or 429 on purpose.
        if message.type == "error" and not message.text.startswith("Failed to load resource:"):
            self.problems.append(f"console error on {self.page.url}: {message.text}")

    def _on_request_failed(self, request: Request) -> None:
        self.problems.append(f"request failed: {request.method} {request.url} ({request.failure})")

    def _on_response(self, response: Response) -> None:
        # Pages themselves may answer 4xx on purpose (a 404 page, a 429 lockout); the
        # tests check those. Anything a page loads must succeed.
        if response.status >= 400 and response.request.resource_type != "document":
            self.problems.append(f"{response.status} for {response.request.resource_type} {response.url}")

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def goto(self, path: str) -> Response | None:
        return self.page.goto(self.url(path))

    def assert_clean(self) -> None:
        """No console errors, CSP violations, script errors or failed loads so far."""
        problems, self.problems = self.problems, []
        assert problems == []

    def screenshot(self, name: str) -> list[Path]:
        """Full-page screenshots at phone and desktop width, for people to look at."""
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        original = self.page.viewport_size
        paths = []
        for viewport in (PHONE, DESKTOP):
            self.page.set_viewport_size(viewport)
            path = SCREENSHOT_DIR / f"{name}-{viewport['width']}.png"
            self.page.screenshot(path=path, full_page=True)
            paths.append(path)
        if original is not None:
            self.page.set_viewport_size(original)
        return paths


@pytest.fixture
def browser_session(browser: Browser, live_server) -> Iterator[BrowserSession]:
    context = browser.new_context(viewport=DESKTOP, locale="en-US", timezone_id="America/New_York")
    context.set_default_timeout(10_000)
    try:
        yield BrowserSession(context.new_page(), live_server.url)
    finally:
        context.close()
