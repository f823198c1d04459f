"""
Fixtures of the browser tests: the Ratify server fixtures shared with the
end-to-end tests (tests/e2e/ratify_server.py) and a headless Chromium
driven by chromedriver.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from ratify_server import (  # noqa: E402,F401  (fixtures)
    SLOW,
    RatifyServer,
    fresh_server,
    module_server,
    server,
    session_cookie,
)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium with a fresh profile, recording the console."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tmp_path_factory.mktemp("chromium-profile")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--window-size=1280,900", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(CHROMEDRIVER, log_path=str(profile.parent / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30 * SLOW)
    try:
        yield driver
    finally:
        driver.quit()


# ---- a server with mail, and a browser logged in to it ----


def started_site(tmp_path_factory, name):
    """A Ratify server of its own with a real SMTP capture and the data
    factory (tests/e2e/factories.py); yields it and stops both after."""
    from factories import Factory
    from smtp_capture import SmtpCapture
    base = tmp_path_factory.mktemp(name)
    capture = SmtpCapture(base / "smtp").start()
    srv = RatifyServer(base / "ratify",
                       serve_args=("--smtp", f"smtp://127.0.0.1:{capture.port}"))
    srv.start()
    srv.factory = Factory(srv, capture)
    try:
        yield srv
    finally:
        srv.stop_and_check()
        capture.stop()


def log_in(site, driver, client):
    """Hands client's session (logged in through the real forms) to the
    browser, and nothing else of an earlier one."""
    driver.get(site.url("/"))
    driver.delete_all_cookies()
    driver.add_cookie({"name": "session", "value": session_cookie(client), "path": "/"})


def log_in_as(site, driver, user):
    """Logs user in through the real forms (second factor included, see
    ratify_server.login) and hands the session to the browser."""
    log_in(site, driver, site.login_user(user))


def set_language(driver, lang):
    """Every request of the browser asks for lang (Accept-Language), as a
    browser set to that language does."""
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Accept-Language": lang}})


# ---- accessibility: axe-core in the page (issue 14) ----

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def preload_axe(driver):
    """Has every page the driver opens from now on load axe-core before its
    own scripts, parsed once: a test that checks hundreds of pages spends
    its time checking, not sending the 500 kB script again each time."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run scripts/install-deps (npm ci)")
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                           {"source": AXE.read_text(encoding="utf-8")})


def axe_violations(driver, impacts=("critical", "serious")):
    """Runs axe-core (installed from the npm registry by scripts/install-deps,
    pinned in package-lock.json) on the page the driver shows and returns
    the violations of those impacts as "rule: target" strings. Skips the
    test when axe-core is not installed."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run scripts/install-deps (npm ci)")
    if not driver.execute_script("return typeof axe === 'object'"):
        driver.execute_script(AXE.read_text(encoding="utf-8"))
    driver.set_script_timeout(60 * SLOW)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,"
        " targets: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))))"
        ".catch(e => done([{id: 'axe-error', impact: 'critical', targets: [String(e)]}]));")
    return ["%s (%s): %s" % (v["id"], v["impact"], ", ".join(v["targets"]))
            for v in result if v["impact"] in impacts]
