"""
The treaty record kept current from the UN Treaty Collection, with a person
in the loop (issue 11 item 3): `ratify untc check --url URL` against a local
HTTP server serving the shipped UNTC page (data/untc/icescr_op.html), the
same page with one planted ratification, and broken pages. Every difference
waits in the review queue; only an administrator's Apply (with CSRF) writes
it, with an audit line naming the UNTC page. A broken page or an
unreachable server changes nothing, and the administrators see why on
/admin/untc and by email (captured by a real SMTP server).
"""

import datetime
import html
import http.server
import re
import threading

import pytest

from ratify_server import REPO, RatifyServer, free_port, scrape_csrf
from smtp_capture import smtp  # noqa: F401  (the smtp fixture)

FIXTURE = (REPO / "data" / "untc" / "icescr_op.html").read_text(encoding="utf-8")
SHIPPED_AS_OF = "2026-02-03"

# Chile signed the Protocol on 24 Sep 2009 and is not a party on the page.
CHILE_ROW = "<td>Chile<br></td>\n\t\t<td>24 Sep\t 2009 <br></td>\n\t\t<td>&nbsp;</td>"
CHILE_RATIFIED = "<td>Chile<br></td>\n\t\t<td>24 Sep\t 2009 <br></td>\n\t\t<td>15 Jan\t 2026 <br></td>"
PARTIES_RE = re.compile(r"(Parties :\s+)31\b")
SIGNATORIES_RE = re.compile(r"(Signatories :\s+)46\b")


def planted_ratification(update_header=True):
    """The page with Chile's ratification on 15 Jan 2026; with the header's
    party count raised to match, or left at 31 (a page that does not add up)."""
    assert CHILE_ROW in FIXTURE, "the fixture changed: Chile's row is not where it was"
    page = FIXTURE.replace(CHILE_ROW, CHILE_RATIFIED)
    if update_header:
        page, n = PARTIES_RE.subn(r"\g<1>32", page)
        assert n == 1
    return page


def chile_gone():
    """The page without Chile's row, and one signatory fewer in the header."""
    start = FIXTURE.index(CHILE_ROW)
    row_start = FIXTURE.rindex("<tr", 0, start)
    row_end = FIXTURE.index("</tr>", start) + len("</tr>")
    page = FIXTURE[:row_start] + FIXTURE[row_end:]
    page, n = SIGNATORIES_RE.subn(r"\g<1>45", page)
    assert n == 1
    return page


def argentina_declares():
    """The page with Argentina (a party since 2011, no declarations) among
    the declarations under articles 10 and 11, in Belgium's words."""
    start = FIXTURE.index('<tr align="left" valign="top">',
                          FIXTURE.index("dgDecUnderArticle"))
    end = FIXTURE.index("</tr>", start) + len("</tr>")
    belgium = FIXTURE[start:end]
    assert ">Belgium</div>" in belgium
    argentina = (belgium.replace("Kingdom of Belgium", "Argentine Republic")
                 .replace("Belgium", "Argentina").replace("_ctl02_", "_ctl99_"))
    return FIXTURE[:end] + argentina + FIXTURE[end:]


class Pages:
    """A local HTTP server serving pages by path, set by the test."""

    def __init__(self):
        self.pages = {}
        pages = self.pages

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802  (http.server's name)
                body = pages.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                data = body.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def serve(self, path, body):
        self.pages[path] = body
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def pages():
    p = Pages()
    yield p
    p.stop()


@pytest.fixture
def site(tmp_path, smtp):  # noqa: F811  (the fixture imported above)
    srv = RatifyServer(tmp_path / "ratify",
                       serve_args=("--smtp", smtp.url, "--mail-from", "ratify@example.org"))
    srv.start()
    yield srv
    srv.stop_and_check()


def check(site, url, *extra):
    return site.cli("untc", "check", "--url", url, *extra)


def actions(site):
    """The Protocol's whole record, to compare before and after."""
    return site.query("SELECT iso3, kind, article, action_date, source_url FROM treaty_actions "
                      "WHERE instrument_id = 2 ORDER BY iso3, kind, article")


def queue(site):
    return site.query("SELECT id, iso3, kind, article, change_kind, old_date, new_date, state, "
                      "untc_text, source_url FROM untc_changes ORDER BY id")


def as_of(site):
    return site.scalar("SELECT status_as_of FROM instruments WHERE id = 2")


def chile_status(site):
    r = site.client().get("/api/v1/countries/CHL")
    assert r.status_code == 200
    return r.json()["country"]["status"]


def admin_client(site):
    admin = site.member("admin")
    return admin, site.login_user(admin)


def today():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")


def test_the_shipped_page_queues_nothing(site, pages):
    before = actions(site)
    p = check(site, pages.serve("/icescr_op.html", FIXTURE))
    assert p.returncode == 0, p.stderr
    assert "op-icescr: 0 difference(s), 0 newly queued" in p.stdout
    assert queue(site) == []
    assert actions(site) == before
    assert site.query("SELECT outcome, queued FROM untc_checks") == [("ok", 0)]
    assert as_of(site) == today()  # the record is UNTC's as at the last successful check


def test_a_planted_ratification_is_queued_once_and_applied_only_after_review(site, pages):
    before = actions(site)
    url = pages.serve("/planted.html", planted_ratification())
    p = check(site, url)
    assert p.returncode == 0, p.stderr
    assert "1 difference(s), 1 newly queued" in p.stdout
    assert re.search(r"new\s+CHL ratification\s+- -> 2026-01-15", p.stdout), p.stdout
    [(cid, iso3, kind, article, change, old, new, state, text, source)] = queue(site)
    assert (iso3, kind, article, change, old, new, state) == (
        "CHL", "ratification", "", "new", "", "2026-01-15", "pending")
    assert text == "Chile | 24 Sep 2009 | 15 Jan 2026" and source == url
    # Queued is not applied.
    assert actions(site) == before
    assert chile_status(site) == "signatory"

    # A second run finds the same difference and queues nothing new.
    p = check(site, url)
    assert "1 difference(s), 0 newly queued" in p.stdout
    assert len(queue(site)) == 1

    # The administrator sees the difference with the UNTC text beside it.
    admin, c = admin_client(site)
    r = c.get("/admin/untc")
    assert r.status_code == 200
    section = r.text[r.text.index(f'id="change-{cid}"'):]
    section = section[:section.index("</section>")]
    assert "Chile" in section and "15 January 2026" in section
    assert "Chile | 24 Sep 2009 | 15 Jan 2026" in html.unescape(section)
    assert html.escape(url) in section

    # Only admins, and only with the CSRF token.
    coordinator = site.member("coordinator", countries=["CHL"])
    assert site.login_user(coordinator).get("/admin/untc").status_code == 403
    r = c.post(f"/admin/untc/{cid}/apply", data={})
    assert r.status_code == 403
    assert queue(site)[0][7] == "pending" and actions(site) == before

    r = c.post(f"/admin/untc/{cid}/apply", data={"csrf_token": scrape_csrf(section)})
    assert r.status_code == 303 and r.headers["Location"] == "/admin/untc?done=applied"
    assert queue(site)[0][7] == "applied"
    after = actions(site)
    assert set(after) - set(before) == {("CHL", "ratification", "", "2026-01-15", url)}
    assert set(before) - set(after) == set()
    assert chile_status(site) == "party"
    [(action, obj, detail)] = site.query(
        "SELECT action, object, detail FROM audit_log WHERE action LIKE 'UNTC%'")
    assert action == "UNTC change applied" and obj == "country CHL"
    assert "OP-ICESCR ratification" in detail and "2026-01-15" in detail and url in detail

    # Applied once: again is a conflict, and the page now agrees with the record.
    r = c.post(f"/admin/untc/{cid}/apply", data={"csrf_token": scrape_csrf(section)})
    assert r.status_code == 409
    assert "0 difference(s)" in check(site, url).stdout
    assert "The change was applied" in c.get("/admin/untc?done=applied").text


def test_a_rejected_change_changes_nothing_and_is_not_queued_again(site, pages):
    before = actions(site)
    url = pages.serve("/planted.html", planted_ratification())
    assert check(site, url).returncode == 0
    [row] = queue(site)
    admin, c = admin_client(site)
    token = scrape_csrf(c.get("/admin/untc").text)
    r = c.post(f"/admin/untc/{row[0]}/reject", data={"csrf_token": token})
    assert r.status_code == 303
    assert queue(site)[0][7] == "rejected"
    assert actions(site) == before and chile_status(site) == "signatory"
    assert site.scalar("SELECT count(*) FROM audit_log WHERE action = 'UNTC change rejected' "
                       "AND object = 'country CHL'") == 1
    # The same page again: the difference is found but stays rejected.
    p = check(site, url)
    assert "1 difference(s), 0 newly queued" in p.stdout
    assert len(queue(site)) == 1
    # Another date on the page is another change: queued for review.
    other = planted_ratification().replace("15 Jan\t 2026", "16 Jan\t 2026")
    assert "1 newly queued" in check(site, pages.serve("/other.html", other)).stdout
    assert [q[6] for q in queue(site)] == ["2026-01-15", "2026-01-16"]


def test_a_vanished_row_and_a_changed_date_are_queued(site, pages):
    before = actions(site)
    page = chile_gone().replace("<td>23 Jun\t 2014 <br></td>", "<td>24 Jun\t 2014 <br></td>", 1)
    url = pages.serve("/changed.html", page)
    p = check(site, url)
    assert p.returncode == 0, p.stderr
    got = {(q[1], q[2], q[4], q[5], q[6]) for q in queue(site)}
    assert got == {("CHL", "signature", "vanished", "2009-09-24", ""),
                   ("CPV", "ratification", "changed", "2014-06-23", "2014-06-24")}
    assert actions(site) == before
    admin, c = admin_client(site)
    token = scrape_csrf(c.get("/admin/untc").text)
    for q in queue(site):
        assert c.post(f"/admin/untc/{q[0]}/apply", data={"csrf_token": token}).status_code == 303
    after = actions(site)
    assert ("CHL", "signature", "", "2009-09-24") not in [a[:4] for a in after]
    assert ("CPV", "ratification", "", "2014-06-24", url) in after
    assert chile_status(site) == "none"
    assert "0 difference(s)" in check(site, url).stdout


def test_a_new_declaration_is_queued_per_article_and_changes_the_ask(site, pages):
    def argentina():
        return site.client().get("/api/v1/countries/ARG").json()["country"]

    assert argentina()["ask"] == "declare"
    url = pages.serve("/declares.html", argentina_declares())
    p = check(site, url)
    assert p.returncode == 0, p.stderr
    assert "2 difference(s), 2 newly queued" in p.stdout
    rows = queue(site)
    assert [(q[1], q[2], q[3], q[4], q[5], q[6]) for q in rows] == [
        ("ARG", "declaration", "10", "new", "", "2011-10-24"),
        ("ARG", "declaration", "11", "new", "", "2011-10-24")]
    assert all("The Argentine Republic recognizes the competence" in q[8] for q in rows)
    assert argentina()["ask"] == "declare"
    admin, c = admin_client(site)
    page = c.get("/admin/untc").text
    assert "The Argentine Republic recognizes the competence" in page
    token = scrape_csrf(page)
    for q in rows:
        assert c.post(f"/admin/untc/{q[0]}/apply", data={"csrf_token": token}).status_code == 303
    assert argentina()["ask"] == "implement"


def assert_failure_is_harmless_and_loud(site, smtp, p, why, before, mails):  # noqa: F811
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert why in p.stderr and "nothing was changed" in p.stderr
    assert actions(site) == before
    assert queue(site) == []
    assert as_of(site) == SHIPPED_AS_OF
    outcome, reason = site.query("SELECT outcome, reason FROM untc_checks ORDER BY id DESC")[0]
    assert outcome == "failed" and why in reason
    # Every administrator gets an email saying why.
    got = smtp.wait_for(mails)
    for m in got[mails - 2:]:
        assert m.msg["Subject"] == "UNTC check failed: OP-ICESCR"
        body = smtp.body(m)
        assert why in body and "Nothing was changed" in body and "/admin/untc" in body
    assert {r for m in got[mails - 2:] for r in m.rcpt_tos} == {"admin@example.org",
                                                                 site.admin.email}
    return reason


def test_a_broken_page_or_no_server_changes_nothing_and_alerts_admins(site, pages, smtp):  # noqa: F811
    site.admin, c = admin_client(site)
    before = actions(site)
    cases = [
        # Counts that do not add up: a new ratification, the header not raised.
        (pages.serve("/broken.html", planted_ratification(update_header=False)),
         "the header says 46 and 31"),
        # A changed layout: the participants table is gone.
        (pages.serve("/layout.html", FIXTURE.replace("_tblgrid", "_newgrid")),
         "no participants table"),
        # A page that reads well but is another treaty's (the Covenant's).
        (pages.serve("/covenant.html",
                     (REPO / "data" / "untc" / "icescr.html").read_text(encoding="utf-8")),
         "46 of the 87 recorded actions are not on the page"),
        # Offline: nothing listens there.
        (f"http://127.0.0.1:{free_port()}/icescr_op.html", "cannot fetch the page"),
        # Not a page at all.
        (pages.serve("/elsewhere.html", "x").replace("/elsewhere.html", "/missing.html"),
         "HTTP 404"),
    ]
    for n, (url, why) in enumerate(cases):
        p = check(site, url)
        reason = assert_failure_is_harmless_and_loud(site, smtp, p, why, before, 2 * (n + 1))
        r = c.get("/admin/untc")
        assert r.status_code == 200
        alert = re.search(r'<p class="notice" role="alert" id="untc-failing-OP-ICESCR">(.*?)</p>',
                          r.text, re.S)
        assert alert and reason in html.unescape(alert.group(1))
    # A good check afterwards clears the warning.
    assert check(site, pages.serve("/icescr_op.html", FIXTURE)).returncode == 0
    assert 'role="alert" id="untc-failing' not in c.get("/admin/untc").text


def test_usage(site):
    assert site.cli("untc", "check", "--url", "file:///etc/passwd").returncode == 2
    assert site.cli("untc", "check", "--instrument", "nope").returncode == 3
    assert site.cli("untc", "frobnicate").returncode == 2


def test_the_daily_check_is_opt_in_and_daily(site, pages):
    # Off by default: an hourly pass checks nothing (it would fetch UNTC).
    assert site.cli("housekeeping").returncode == 0
    assert site.scalar("SELECT count(*) FROM untc_checks") == 0
    # On, but a check ran within the day: the pass leaves UNTC alone. (When
    # due, it checks every instrument's live page: not run here, offline.)
    assert check(site, pages.serve("/icescr_op.html", FIXTURE)).returncode == 0
    assert site.cli("housekeeping", "--untc-check", "daily").returncode == 0
    assert site.scalar("SELECT count(*) FROM untc_checks") == 1
    assert site.cli("housekeeping", "--untc-check", "weekly").returncode == 2


def test_a_change_is_not_applied_over_a_newer_record(site, pages):
    # Found by the check, then a coordinator records Chile's ratification
    # by hand with another date: applying the stale comparison is refused.
    url = pages.serve("/planted.html", planted_ratification())
    assert check(site, url).returncode == 0
    [row] = queue(site)
    coordinator = site.member("coordinator", countries=["CHL"])
    cc = site.login_user(coordinator)
    token = scrape_csrf(cc.get("/countries/CHL").text)
    r = cc.post("/countries/CHL/actions", data={"csrf_token": token, "instrument": "op-icescr",
                                                "kind": "ratification", "date": "2026-01-14"})
    assert r.status_code == 303, r.text[:2000]
    admin, c = admin_client(site)
    token = scrape_csrf(c.get("/admin/untc").text)
    r = c.post(f"/admin/untc/{row[0]}/apply", data={"csrf_token": token})
    assert r.status_code == 409
    assert "The record changed since this difference was found" in r.text
    assert queue(site)[0][7] == "pending"
    assert site.scalar("SELECT action_date FROM treaty_actions WHERE instrument_id = 2 "
                       "AND iso3 = 'CHL' AND kind = 'ratification'") == "2026-01-14"
    # Checking again finds the date difference as a change of its own.
    p = check(site, url)
    assert "1 newly queued" in p.stdout
    assert queue(site)[1][4:7] == ("changed", "2026-01-14", "2026-01-15")
