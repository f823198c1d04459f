"""
Every page, in the four languages at 360 and 1366 px (issue 14,
"browser-tested accessibility" and "phone first"): axe-core finds no
critical or serious violation, and the page never scrolls sideways (a wide
table scrolls inside itself, and can be reached with the keyboard to do so).

The main pages are seen by a visitor, a member, a coordinator and an
administrator (each one's home and the pages its menu links to), and the
pages of one object by whom may see them: a letter (draft and sent), a
meeting (planned and closed), an event and an invitee's answer page, a
gathering and its model letter, a request for support and its drafts, the
submission kept from them, a working group, a member's profile, the
questions before deleting, the links mailed to people (confirm, welcome,
invitation), the second-factor step of logging in, and the UNTC and UPR
review queues with rows in them. The test fails first if a GET page of
src/feat/routes.def is visited by no one.

One server and one browser for all of it (it runs in CI on two cores).
"""

import csv
import io
import re
from urllib.parse import urlsplit

from factories import api_sign_up, mail_site, mailed_link, next_mail_to  # noqa: F401
from ratify_server import REPO, scrape_csrf, session_cookie
from smtp_capture import SmtpCapture, smtp  # noqa: F401  (the smtp fixture)
from test_events import RSVP_RE, create_event, text_part
from test_member_io import Forms, post_form
from test_untc_check import Pages, argentina_declares, planted_ratification

from conftest import axe_violations, preload_axe

PUBLIC = ["/", "/countries", "/countries/AGO", "/countries/ARG", "/treaties/op-icescr",
          "/friends", "/calendar", "/join", "/login", "/countries/AGO/position",
          "/password/reset"]
MEMBER = ["/", "/account", "/account/two-factor", "/profile", "/profile/views",
          "/profile/close", "/letters", "/letters/new?country=AGO", "/meetings",
          "/meetings/new?country=AGO", "/groups", "/members", "/assistance",
          "/assistance/new", "/gatherings", "/events/new", "/countries/AGO/targets",
          "/countries/AGO"]
COORDINATOR = ["/", "/admin", "/admin/members", "/admin/letters", "/countries/AGO",
               "/countries/AGO/coalition", "/countries/AGO/targets", "/friends"]
ADMIN = ["/", "/admin", "/admin/users", "/admin/upr", "/admin/untc", "/admin/outcomes",
         "/admin/outcomes/report", "/admin/assistance", "/admin/members", "/admin/letters",
         "/admin/audit", "/admin/mail", "/admin/model-letters", "/admin/steering-committee",
         "/admin/tokens", "/admin/import", "/admin/members/import", "/admin/members/export",
         "/gatherings", "/gatherings/new", "/meetings", "/letters", "/members", "/groups",
         "/account", "/assistance", "/assistance/new", "/events/new", "/calendar"]
MENU_RE = re.compile(r'<nav aria-label="[^"]*" class="menu-wide">(.*?)</nav>', re.S)
HREF_RE = re.compile(r'href="(/[^"]*)"')


def sideways(driver):
    inner, scroll = driver.execute_script(
        "return [document.documentElement.clientWidth, document.documentElement.scrollWidth]")
    return scroll > inner


def ok(client, path):
    r = client.get(path)
    assert r.status_code == 200, f"{path}: {r.status_code}\n{r.text[:2000]}"
    return r.text


def posted(r, status=303):
    assert r.status_code == status, r.text[:3000]
    return r.headers.get("Location")


def menu_links(client):
    """The pages the menu of the home page links to, as client sees it."""
    links = HREF_RE.findall(MENU_RE.search(ok(client, "/")).group(1))
    return [u.replace("&amp;", "&") for u in links if not u.startswith("/static/")]


def one(pattern, text):
    found = re.findall(pattern, text)
    assert found, pattern
    return found[0]


def make_objects(site, smtp):
    """Everything the pages of one object need, made the way people make
    it. Returns {role: [paths]}, {role: cookies} and {path: the selector of
    a text in a left-to-right language}."""
    admin = site.login_user(site.member("admin"))
    coord = site.login_user(site.member("coordinator", countries=("AGO",)))
    member = site.factory.member("AGO", kind="organisation", organisation="Mosaiko",
                                 org_type="human_rights_ngo")
    mc = member.client
    urls = {"visitor": [], "member": [], "coordinator": [], "admin": []}

    # A letter, a draft and one marked sent.
    letters = []
    for _ in range(2):
        page = ok(mc, "/letters/new?country=AGO")
        model = one(r'<option value="(\d+)">[^<]+\(en\)</option>', page)
        letters.append(posted(mc.post("/letters", data={
            "csrf_token": scrape_csrf(page), "country": "AGO", "model": model,
            "sender": "Mosaiko"})))
    posted(mc.post(letters[1] + "/sent", data={
        "csrf_token": scrape_csrf(ok(mc, letters[1])), "sent_on": "2026-10-01",
        "sent_via": "post", "remind_weeks": "8", "visibility": "country"}))
    urls["member"] += letters + [letters[0] + "/edit"]

    # A government contact and two meetings with it: planned, closed.
    page = ok(coord, "/countries/AGO/targets")
    posted(coord.post("/countries/AGO/targets", data={
        "csrf_token": scrape_csrf(page), "kind": "ministry",
        "name": "Ministério das Relações Exteriores", "title": "Ministro", "language": "pt",
        "email": "gabinete@mirex.gov.ao"}))
    page = ok(coord, "/countries/AGO/targets")
    target_delete = one(r'href="(/countries/AGO/targets/\d+/delete)"', page)
    meetings = []
    for _ in range(2):
        page = ok(coord, "/meetings/new?country=AGO")
        meetings.append(posted(coord.post("/meetings", data={
            "csrf_token": scrape_csrf(page), "country": "AGO", "meeting_on": "2026-12-10",
            "meeting_time": "10:30", "time_zone": "Africa/Luanda", "place": "Luanda",
            "goal": "Ask for ratification.", "target": one(r'name="target" value="(\d+)"', page),
            "lang": "pt", "visibility": "country"})))
    page = ok(coord, meetings[1])
    owner = one(r'<select id="followup_user"[^>]*>.*?<option value="(\d+)"', page.replace(
        "\n", " "))
    posted(coord.post(meetings[1] + "/outcome", data={
        "csrf_token": scrape_csrf(page), "version": "1", "said": "The file is with the Council.",
        "agreements": "A draft decree by January.", "report": "Open.",
        "public_summary": "A constructive meeting.", "followup_user": owner,
        "followup_due": "2026-12-20", "followup_done": "1", "visibility": "country"}))
    posted(coord.post(meetings[1] + "/close", data={"csrf_token": scrape_csrf(page)}))
    urls["coordinator"] += meetings + [target_delete]

    # A treaty action and a domestic step, to ask before deleting them.
    token = scrape_csrf(ok(coord, "/countries/AGO"))
    posted(coord.post("/countries/AGO/stages", data={
        "csrf_token": token, "instrument": "op-icescr", "stage": "cabinet_approval",
        "date": "2026-02-03", "evidence": "Council of ministers, communique 12",
        "visibility": "public"}))
    posted(admin.post("/countries/AGO/actions", data={
        "csrf_token": scrape_csrf(ok(admin, "/countries/AGO")), "instrument": "op-icescr", "kind": "signature",
        "date": "2026-11-01"}))
    page = ok(admin, "/countries/AGO")
    urls["admin"] += [one(r'href="(/countries/AGO/actions/\d+/delete)"', page),
                      one(r'href="(/countries/AGO/stages/\d+/delete)"', page)]

    # What a state did among the Friends, and a position statement.
    page = ok(admin, "/friends")
    posted(admin.post("/friends/actions", data={
        "csrf_token": scrape_csrf(page), "iso3": "ARG", "kind": "announce",
        "date": "2026-03-02", "forum": "Human Rights Council, 61st session", "target": "AGO",
        "summary": "Urged its neighbours to ratify.", "source_url": "https://example.org/s"}))
    page = ok(admin, "/countries/AGO/position")
    posted(admin.post("/countries/AGO/position/statements", data={
        "csrf_token": scrape_csrf(page), "date": "2025-03-02",
        "forum": "Universal Periodic Review, fourth cycle, interactive dialogue in Geneva",
        "summary": "Said that ratification is under careful study.", "visibility": "public",
        "source_url": "https://example.org/upr"}))
    urls["admin"] += [one(r'href="(/friends/actions/\d+/delete)"', ok(admin, "/friends")),
                      one(r'href="(/countries/AGO/position/statements/\d+/delete)"',
                          ok(admin, "/countries/AGO/position"))]

    # A gathering with Angola, attended by the member, and its model letter.
    page = ok(admin, "/gatherings/new")
    gathering = posted(admin.post("/gatherings", data={
        "csrf_token": scrape_csrf(page), "kind": "hrc_session",
        "title": "Human Rights Council, sixty-first regular session", "starts_on": "2099-02-23",
        "ends_on": "2099-04-02", "place": "Palais des Nations, Geneva",
        "states": "Angola, Argentina, Portugal", "under_review": ""}))
    posted(mc.post(gathering + "/attend", data={"csrf_token": scrape_csrf(ok(mc, gathering)),
                                                "approach": ["AGO", "PRT"]}))
    urls["member"] += [gathering, gathering + "/letter/AGO", gathering + "/letter/PRT"]
    # Letters in a left-to-right language read left to right in Arabic too.
    ltr = {letters[0]: "pre.letter-text", letters[0] + "/edit": "#body",
           letters[1]: "pre.letter-text",
           gathering + "/letter/AGO": "pre.letter-text"}

    # A seminar, public, with one invitee: the event, its editing, the answer page.
    event = "/events/%d" % create_event(coord, agenda="Adjudication of ESCR.\nNext steps.")
    posted(coord.post(event + "/invite", data={
        "csrf_token": scrape_csrf(ok(coord, event)),
        "invitees": "Ana Dias <ana.dias@example.org>, academic"}))
    rsvp = "/rsvp/" + RSVP_RE.search(text_part(next_mail_to(smtp, "ana.dias@example.org",
                                                             0))).group(1)
    urls["visitor"] += [event, rsvp]
    ltr.update({event: "h2 + p.pre", rsvp: "h2 + p.pre"})
    urls["coordinator"] += [event, event + "/edit"]

    # A request for support on a submission, its drafts, the submission kept.
    request = posted(mc.post("/assistance", data={
        "csrf_token": mc.csrf("/assistance/new"), "kind": "submission_drafting",
        "country": "AGO", "subject": "Our UPR stakeholder report on the right to housing",
        "details": "Forced evictions in Luanda.", "due_on": "2099-03-01"}))
    for client, body in ((mc, "Forced evictions in Luanda, first draft."),
                         (admin, "Forced evictions in Luanda: 2,000 families (revised).")):
        posted(client.post(request + "/drafts", data={
            "csrf_token": scrape_csrf(ok(client, request + "/drafts")), "body": body,
            "note": "figures from the housing ministry"}))
    submission = posted(mc.post(request + "/final", data={
        "csrf_token": scrape_csrf(ok(mc, request + "/drafts")),
        "title": "Angola: stakeholder report, 4th UPR cycle", "kind": "upr_stakeholder",
        "visibility": "country"}))
    urls["member"] += [request, request + "/drafts", request + "/drafts?version=1", submission]
    ltr.update({request: "p.pre", submission: "pre.letter-text"})
    urls["admin"] += [request]

    # A working group the member belongs to.
    posted(admin.post("/groups", data={"csrf_token": admin.csrf("/groups"),
                                       "slug": "food-rights", "name": "Right to food",
                                       "description": "Article 11 and the right to food."}))
    posted(mc.post("/groups/food-rights/join", data={"csrf_token": mc.csrf("/groups")}))
    urls["member"] += ["/groups/food-rights", "/groups/food-rights/leave"]
    urls["admin"] += ["/groups/food-rights"]

    # Someone on the steering committee, and the question before removing them.
    page = ok(admin, "/admin/steering-committee")
    posted(admin.post("/admin/steering-committee", data={
        "csrf_token": scrape_csrf(page), "email": site.member("member").email}))
    urls["admin"] += [one(r'href="(/admin/steering-committee/\d+/remove)"',
                          ok(admin, "/admin/steering-committee"))]

    # The organisation's contact invites a colleague: the invitation link.
    page = ok(mc, "/profile")
    org = one(r"/profile/organisations/(\d+)/invite", page)
    posted(mc.post(f"/profile/organisations/{org}/invite", data={
        "csrf_token": scrape_csrf(page), "email": "colleague@example.org", "role": "staff",
        "title": "Paralegal"}))
    body = SmtpCapture.body(next_mail_to(smtp, "colleague@example.org", 0))
    urls["visitor"] += [one(r"https?://[^\s]+(/invitations/[0-9a-f]+)", body)]

    # Someone signed up (the confirmation page) and someone added (welcome).
    api_sign_up(site, site.factory.token, name="Applicant", email="applicant@example.org",
                country="AGO")
    urls["visitor"] += [mailed_link(smtp, "applicant@example.org", "join/confirm"),
                        site.add_user("member").welcome]

    # Another treaty's page.
    urls["visitor"] += [f"/treaties/{slug}" for (slug,) in site.query(
        "SELECT slug FROM instruments WHERE slug <> 'op-icescr' ORDER BY id")[:1]]

    # An API token to revoke, and a finished import of two members.
    page = ok(admin, "/admin/tokens")
    posted(admin.post("/admin/tokens", data={"csrf_token": scrape_csrf(page),
                                             "name": "CRM sync", "scope": "write"}), 200)
    urls["admin"] += [one(r'href="(/admin/tokens/\d+/revoke)"', ok(admin, "/admin/tokens"))]
    text = io.StringIO()
    w = csv.writer(text)
    w.writerow(["Full name", "E-mail", "Country"])
    w.writerow(["Imported Ines", "ines@example.org", "ARG"])
    w.writerow(["Imported Iris", "iris@example.org", "nowhere"])
    r = post_form(admin, Forms(ok(admin, "/admin/members/import")).with_step("map"),
                  files={"file": ("members.csv", text.getvalue().encode(), "text/csv")})
    r = post_form(admin, Forms(r.text).with_step("preview"))
    urls["admin"] += [posted(post_form(admin, Forms(r.text).with_step("apply")))]

    # Rows in the UNTC review queue.
    served = Pages()
    try:
        for body in (planted_ratification(), argentina_declares()):
            p = site.cli("untc", "check", "--url", served.serve("/untc.html", body))
            assert p.returncode == 0, p.stderr
    finally:
        served.stop()
    assert site.scalar("SELECT count(*) FROM untc_changes WHERE state = 'pending'") >= 2

    # Someone half logged in (the second-factor step), afresh each time: it
    # lasts five minutes.
    def half_logged_in():
        half = site.client()
        page = ok(half, "/login")
        r = half.post("/login", data={"csrf_token": scrape_csrf(page),
                                      "email": site.admin_user.email,
                                      "password": site.admin_user.password})
        assert posted(r) == "/login/code"
        return {"pending": half.cookies.get("pending")}
    urls["pending"] = ["/login/code"]

    for role, client in (("member", mc), ("coordinator", coord), ("admin", admin)):
        urls[role] = list(dict.fromkeys(menu_links(client) + urls[role]))
    cookies = {"visitor": {}, "pending": half_logged_in,
               "member": {"session": session_cookie(mc)},
               "coordinator": {"session": session_cookie(coord)},
               "admin": {"session": session_cookie(admin)}}
    return urls, cookies, ltr


NOT_PAGES = re.compile(r"^/api/|^/static/|\.(csv|xlsx|ics|pdf)$|/(file|pdf)$|^/calendar/feed/|"
                       r"/attachments/|^/language$|^/profile/export$")


# Texts that must keep a readable line (some 20 characters) on a phone,
# rather than one word a line in a squeezed table column.
READABLE = {"/admin/untc": ".untc-text"}
NARROW = ("return [...document.querySelectorAll(arguments[0])]"
          ".some(e => e.getBoundingClientRect().width < 150)")

# Every element the selector matches (one at least) is laid out left to
# right, or its first line starts at its left edge (a text in its own
# direction, line by line).
LEFT_TO_RIGHT = """
const each = [...document.querySelectorAll(arguments[0])];
return each.length > 0 && each.every(e => {
  const style = getComputedStyle(e);
  if (style.direction === "ltr") return true;
  const r = document.createRange();
  r.selectNodeContents(e);
  const first = r.getClientRects()[0];
  return !!first && first.left - e.getBoundingClientRect().left - parseFloat(style.paddingLeft)
      - parseFloat(style.borderLeftWidth) < 4;
});
"""

# The error page's heading is the HTTP status.
ERROR_PAGE = ("const h = document.querySelector('main h1');"
              "return !!h && /^[0-9]{3}$/.test(h.textContent.trim())")


def uncovered(visited):
    """The GET routes of src/feat/routes.def that answer a page of HTML and
    that none of the visited paths matches: a new page is not forgotten."""
    visited = [v.split("?")[0] for v in visited]
    routes = re.findall(r'ROUTE\(GET,\s*"([^"]+)"',
                        (REPO / "src" / "feat" / "routes.def").read_text(encoding="utf-8"))
    missed = []
    for route in routes:
        if NOT_PAGES.search(route):
            continue
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(route)) + "$")
        if not any(pattern.match(v) for v in visited):
            missed.append(route)
    return missed


def test_every_page_passes_axe_and_fits(mail_site, smtp, browser):  # noqa: F811
    site = mail_site
    site.admin_user = site.member("admin")
    site.login_user(site.admin_user)  # enrols the second factor
    urls, cookies, ltr = make_objects(site, smtp)
    urls["visitor"] = PUBLIC + urls["visitor"]
    urls["member"] = list(dict.fromkeys(MEMBER + urls["member"]))
    urls["coordinator"] = list(dict.fromkeys(COORDINATOR + urls["coordinator"]))
    urls["admin"] = list(dict.fromkeys(ADMIN + urls["admin"]))
    missed = uncovered(p for paths in urls.values() for p in paths)
    assert not missed, f"GET pages of routes.def that no role visits here: {missed}"
    print({who: len(paths) for who, paths in urls.items()})
    problems = []
    preload_axe(browser)
    try:
        for width in (360, 1366):
            browser.set_window_size(width, 900)
            for lang in ("en", "es", "fr", "ar"):
                for who, paths in urls.items():
                    browser.get(site.url("/static/style.css"))
                    browser.delete_all_cookies()
                    browser.add_cookie({"name": "lang", "value": lang, "path": "/"})
                    jar = cookies[who]() if callable(cookies[who]) else cookies[who]
                    for name, value in jar.items():
                        browser.add_cookie({"name": name, "value": value, "path": "/"})
                    for url in paths:
                        browser.get(site.url(url))
                        where = f"{url} as {who}, {lang}, {width} px"
                        if browser.execute_script(ERROR_PAGE):
                            problems.append(f"{where}: an error page")
                            continue
                        if urlsplit(browser.current_url).path != urlsplit(url).path:
                            problems.append(f"{where}: sent to {browser.current_url}")
                            continue
                        problems += [f"{where}: {v}" for v in axe_violations(browser)]
                        if sideways(browser):
                            problems.append(f"{where}: scrolls sideways")
                        if url in READABLE and browser.execute_script(NARROW, READABLE[url]):
                            problems.append(f"{where}: {READABLE[url]} is too narrow to read")
                        if lang == "ar" and url in ltr and not browser.execute_script(
                                LEFT_TO_RIGHT, ltr[url]):
                            problems.append(f"{where}: a left-to-right text laid out right to left")
    finally:
        browser.set_window_size(1280, 900)
    assert not problems, "\n".join(problems[:60])
