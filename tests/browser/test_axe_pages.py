"""
Every main page, for a visitor and for an administrator, in the four
languages at 390 and 1366 px (issue 14, "browser-tested accessibility" and
"phone first"): axe-core finds no critical or serious violation, and the
page never scrolls sideways (a wide table scrolls inside itself, and can be
reached with the keyboard to do so).
"""

from conftest import axe_violations
from ratify_server import session_cookie

PUBLIC = ["/", "/countries", "/countries/AGO", "/countries/ARG", "/treaties/op-icescr",
          "/friends", "/calendar", "/join", "/login", "/countries/AGO/position"]
ADMIN = ["/", "/admin", "/admin/users", "/admin/upr", "/admin/untc", "/admin/outcomes",
         "/admin/outcomes/report", "/admin/assistance", "/admin/members", "/admin/letters",
         "/admin/audit", "/admin/mail", "/admin/model-letters", "/admin/steering-committee",
         "/admin/tokens", "/admin/import", "/admin/members/import", "/admin/members/export",
         "/gatherings", "/gatherings/new", "/meetings", "/letters", "/members", "/groups",
         "/account", "/assistance", "/assistance/new", "/events/new", "/calendar"]


def sideways(driver):
    inner, scroll = driver.execute_script(
        "return [document.documentElement.clientWidth, document.documentElement.scrollWidth]")
    return scroll > inner


def test_every_main_page_passes_axe_and_fits(fresh_server, browser):
    admin = fresh_server.login_user(fresh_server.member("admin"))
    problems = []
    try:
        for width in (390, 1366):
            browser.set_window_size(width, 900)
            for lang in ("en", "es", "fr", "ar"):
                browser.get(fresh_server.url("/"))
                browser.delete_all_cookies()
                browser.add_cookie({"name": "lang", "value": lang, "path": "/"})
                for who, urls in (("visitor", PUBLIC), ("admin", ADMIN)):
                    if who == "admin":
                        browser.add_cookie({"name": "session", "value": session_cookie(admin),
                                            "path": "/"})
                    for url in urls:
                        browser.get(fresh_server.url(url))
                        where = f"{url} as {who}, {lang}, {width} px"
                        problems += [f"{where}: {v}" for v in axe_violations(browser)]
                        if sideways(browser):
                            problems.append(f"{where}: scrolls sideways")
    finally:
        browser.set_window_size(1280, 900)
    assert not problems, "\n".join(problems[:40])
