"""Headless Chromium for the browser tests: Debian's `chromium` and `chromium-driver` driven by
Selenium at their fixed paths (Selenium Manager is never asked, nothing is downloaded), one
browser per test module. Each page a test visits is saved as a screenshot under
.ci/artifacts/screenshots/ (CI keeps it as an artifact) and its console is read: an error there,
a Content-Security-Policy violation included, fails the test.

Where the browser is missing, the tests skip saying how to install it; in CI (CI=true), where
.ci/run installs it, they fail instead: a browser test that silently never runs proves nothing."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = ROOT / ".ci" / "artifacts" / "screenshots"
DESKTOP = (1280, 900)
PHONE = (390, 844)  # a current phone's viewport in CSS pixels
MAX_SHOT_HEIGHT = 6000  # a full-page screenshot stops there (a long article)

FLAGS = (
    "--headless=new",
    "--disable-gpu",  # no GPU here; software rendering without probing for one
    "--disable-dev-shm-usage",  # a container's /dev/shm is often 64 MB: Chromium crashes in it
    "--no-proxy-server",  # the tests reach 127.0.0.1 only, whatever proxy the environment names
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-default-apps", "--hide-scrollbars", "--lang=en-US",
    "--force-device-scale-factor=1", f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
)


def missing() -> list[str]:
    """What the browser tests need and this machine lacks."""
    lacking = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        lacking.append("selenium (pip install -e '.[test]')")
    return lacking


def need_browser() -> None:
    """Skip (fail in CI) when headless Chromium cannot be had, saying what is missing."""
    lacking = missing()
    if not lacking:
        return
    message = (f"browser tests need {', '.join(lacking)}: apt-get install chromium "
               "chromium-driver (.ci/run installs them as root)")
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI: {message}", pytrace=False)
    pytest.skip(message)


def start_chromium():
    """A headless Chromium through chromedriver, its console log kept for reading."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium refuses to start its sandbox as root
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    # --window-size counts the (invisible) browser frame: grow the window so that the page
    # itself gets DESKTOP
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    driver.set_window_size(2 * DESKTOP[0] - inner[0], 2 * DESKTOP[1] - inner[1])
    return driver


class Browser:
    """One test's view of the module's Chromium: visit pages, screenshot them, read the console."""

    def __init__(self, driver, prefix: str) -> None:
        self.driver = driver
        self.prefix = prefix
        self.shots: list[Path] = []
        self.on_ours = False  # the page shown is one of ours (its console is checked)

    def visit(self, url: str, shot: str, ours: bool = True) -> None:
        """Open `url`, screenshot it as `shot`; read the console (a page not `ours`, such as an
        outlet's, may log what it likes)."""
        self.driver.get(url)
        self.settled(shot, ours)

    def settled(self, shot: str, ours: bool = True) -> None:
        """After a navigation (a click, a form): the screenshot, then the console, which must
        hold no error if the page is `ours`."""
        self.screenshot(shot)
        self.on_ours = ours
        self.check_console()

    def check_console(self) -> None:
        errors = self.console_errors()
        if self.on_ours:
            page = urlsplit(self.driver.current_url)
            assert not errors, f"console errors on {page.path}?{page.query}:\n" + "\n".join(errors)

    def console_errors(self) -> list[str]:
        """The console's errors since the last read (CSP violations, failed loads, exceptions)."""
        return [entry["message"] for entry in self.driver.get_log("browser")
                if entry["level"] == "SEVERE"]

    def screenshot(self, name: str) -> Path:
        """The whole page (up to MAX_SHOT_HEIGHT) as .ci/artifacts/screenshots/PREFIX-NAME.png."""
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics["cssContentSize"]
        width = self.driver.execute_script("return window.innerWidth")
        clip = {"x": 0, "y": 0, "width": max(width, 1), "scale": 1,
                "height": min(max(size["height"], 1), MAX_SHOT_HEIGHT)}
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True, "clip": clip})
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.prefix}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        self.shots.append(path)
        return path

    @contextmanager
    def phone(self) -> Iterator[None]:
        """The pages as a phone shows them: its viewport width, touch, the page's meta viewport."""
        width, height = PHONE
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": True})
        try:
            yield
        finally:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@pytest.fixture(scope="module")
def chromium() -> Iterator:
    """One Chromium for the test module (starting one takes about a second and 150 MB)."""
    need_browser()
    driver = start_chromium()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(chromium, request) -> Iterator[Browser]:
    """The module's Chromium for one test; the test fails if a page of ours logged an error."""
    chromium.get("about:blank")
    chromium.get_log("browser")  # what an earlier test left
    name = f"{request.module.__name__.removeprefix('test_')}-{request.node.name[5:45]}"
    view = Browser(chromium, re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-"))
    yield view
    view.check_console()  # what the last page logged after its screenshot
