"""Browser tests: Playwright (sync API) driving Debian's Chromium against ``live_server``.

Every page a test opens is watched: a console error (a Content-Security-Policy violation
is one), an uncaught script error, a request that fails, or a sub-resource answered with
an error status is recorded, and ``BrowserSession.assert_clean()`` fails on any of them.

``axe_session`` is the same with axe-core (vendored in ``vendor/``) for
``assert_accessible()``. Injecting axe needs a context that bypasses the page's
Content-Security-Policy, so CSP violations go unseen there: journeys that check for them
use ``browser_session``, whose context enforces the policy.

Without /usr/bin/chromium the tests are skipped with the reason, except when ``CI=true``:
CI must run them, so there they fail instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, expect, sync_playwright

from tests.factories import DEFAULT_PASSWORD

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
AXE_SCRIPT = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2 at levels A and AA (UI.md: "WCAG 2.2 AA rules"). axe has no
# wcag22a tag: 2.2's new level A criteria have no automated rule.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


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

    def __init__(self, page: Page, base_url: str, *, csp_bypassed: bool = False) -> None:
        self.page = page
        self.base_url = base_url.rstrip("/")
        self.csp_bypassed = csp_bypassed
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
        # A request the browser itself cancelled because the page moved on (a click on
        # "Sign out" while the favicon loads) is not a fault of the page.
        if request.failure and "ERR_ABORTED" in request.failure:
            return
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

    def sign_in(self, user, password: str = DEFAULT_PASSWORD) -> None:
        """Log in through the sign-in page, as a person would: when the portal does not
        recognise this browser, enter the security code it sent by text or email."""
        page = self.page
        self.goto("/account/login/")
        emails_before, texts_before = len(mail.outbox), _sent_texts()
        page.get_by_label("User ID").fill(user.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        signed_in = page.get_by_role("banner").get_by_text(user.get_full_name())
        code = page.get_by_label("Security code")
        expect(signed_in.or_(code)).to_be_visible()
        if code.is_visible():
            code.fill(_sent_code(emails_before, texts_before))
            page.get_by_role("button", name="Continue").click()
        expect(signed_in).to_be_visible()

    def assert_clean(self, *, expected: tuple[str, ...] = ()) -> None:
        """No console errors, CSP violations, script errors or failed loads so far.

        ``expected`` names problems the test caused on purpose (each a substring of the
        report, such as "401 for fetch"): each must have happened, and nothing else."""
        problems, self.problems = self.problems, []
        unexpected = [problem for problem in problems if not any(part in problem for part in expected)]
        missing = [part for part in expected if not any(part in problem for problem in problems)]
        assert (unexpected, missing) == ([], [])

    def assert_accessible(self) -> None:
        """axe-core finds no WCAG 2.2 A/AA violation on the page as it is now."""
        if not self.csp_bypassed:
            pytest.fail("assert_accessible() needs the axe_session fixture (the CSP blocks axe)", pytrace=False)
        if not self.page.evaluate("() => typeof window.axe === 'object'"):
            self.page.add_script_tag(path=AXE_SCRIPT)
        results = self.page.evaluate(
            "options => window.axe.run(document, options)",
            {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]},
        )
        if results["violations"]:
            width = (self.page.viewport_size or {}).get("width")
            pytest.fail(describe_violations(self.page.url, width, results["violations"]), pytrace=False)

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


def _sent_texts() -> set[Path]:
    folder = Path(settings.SMS_FILE_PATH)
    return set(folder.iterdir()) if folder.is_dir() else set()


def _sent_code(emails_before: int, texts_before: set[Path]) -> str:
    """The one-time code in the text or email sent since the counts were taken (the live
    server shares this process, so its locmem outbox and SMS folder are ours)."""
    messages = [email.body for email in mail.outbox[emails_before:]]
    messages += [path.read_text() for path in sorted(_sent_texts() - texts_before)]
    codes = [found.group(1) for message in messages if (found := re.search(r"\b(\d{6})\b", message))]
    assert codes, f"no security code was sent; messages: {messages}"
    return codes[-1]


def describe_violations(url: str, width: int | None, violations: list[dict[str, Any]]) -> str:
    """axe's results as a person reads them: rule, impact, what to fix, where."""
    count = sum(len(violation["nodes"]) for violation in violations)
    lines = [f"axe-core found {count} problem(s) on {url} at {width} px:"]
    for violation in violations:
        lines.append("")
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']}")
        lines.append(f"  {violation['helpUrl']}")
        for node in violation["nodes"]:
            html = " ".join(node["html"].split())
            lines.append(f"  - at {' '.join(map(str, node['target']))}")
            lines.append(f"    html: {html[:200]}")
            for summary_line in (node.get("failureSummary") or "").splitlines():
                lines.append(f"    {summary_line.strip()}")
    return "\n".join(lines)


def _open_session(browser: Browser, live_server, **context_options: Any) -> Iterator[BrowserSession]:
    context = browser.new_context(viewport=DESKTOP, locale="en-US", timezone_id="America/New_York", **context_options)
    context.set_default_timeout(10_000)
    try:
        yield BrowserSession(context.new_page(), live_server.url, csp_bypassed=context_options.get("bypass_csp", False))
    finally:
        context.close()


@pytest.fixture
def browser_session(browser: Browser, live_server) -> Iterator[BrowserSession]:
    yield from _open_session(browser, live_server)


@pytest.fixture
def axe_session(browser: Browser, live_server) -> Iterator[BrowserSession]:
    """A tab that can run axe. Its context ignores the page's CSP (axe is injected as an
    inline script), so it cannot catch CSP violations: browser_session does that."""
    yield from _open_session(browser, live_server, bypass_csp=True)
