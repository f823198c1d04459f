"""
The international advocacy pages on a 360 px phone (issue 13): the Friends
of the Protocol, a country's UPR recommendations and position, a gathering
with its delegations, the UPR review queue and the outcomes across
countries fit the width; nothing scrolls sideways.
"""

from ratify_server import scrape_csrf, session_cookie


def fits(driver):
    inner, scroll = driver.execute_script(
        "return [document.documentElement.clientWidth, document.documentElement.scrollWidth]")
    return scroll <= inner, (inner, scroll)


def test_advocacy_pages_fit_a_phone(fresh_server, browser):
    server = fresh_server
    admin = server.login_user(server.member("admin"))
    page = admin.get("/countries/MKD/position").text
    r = admin.post("/countries/MKD/position/statements", data={
        "csrf_token": scrape_csrf(page), "date": "2025-03-02",
        "forum": "Universal Periodic Review, fourth cycle, interactive dialogue in Geneva",
        "summary": "Said that ratification of the Optional Protocol is under careful study.",
        "visibility": "public"})
    assert r.status_code == 303
    page = admin.get("/gatherings/new").text
    r = admin.post("/gatherings", data={
        "csrf_token": scrape_csrf(page), "kind": "hrc_session",
        "title": "Human Rights Council, sixty-first regular session", "starts_on": "2099-02-23",
        "ends_on": "2099-04-02", "place": "Palais des Nations, Geneva",
        "states": "North Macedonia, Argentina, Portugal, Democratic Republic of the Congo"})
    assert r.status_code == 303, r.text[:2000]
    gathering = r.headers["Location"]
    for width in (360, 1366):
        browser.set_window_size(width, 800)
        try:
            browser.get(server.url("/"))
            browser.add_cookie({"name": "session", "value": session_cookie(admin), "path": "/"})
            for url in ("/friends", "/countries/MKD", "/countries/MKD/position", gathering,
                        "/gatherings", "/admin/upr", "/admin/outcomes",
                        "/admin/outcomes/report"):
                browser.get(server.url(url))
                ok, sizes = fits(browser)
                assert ok, f"{url} overflows a {width} px screen: {sizes}"
        finally:
            browser.set_window_size(1280, 900)
