"""
A home for each role, and staff told when work arrives (issue 14): the
visitor's home (counts, the ask for their country from the browser's
language or the chooser, Join), the language chooser, a member's next
action and drafts, the coordinators' and the secretariat's work queues
with counts that move, the coordinator's email when an application in their
country is confirmed (at once, or in a daily digest), the confirmation
after approving, /admin, and admins adding users from the web with an
emailed link on the public address.
"""

import html
import re
import time

import pytest

from factories import DAY, Factory, cli_at, mail_count, mailed_link, next_mail_to
from ratify_server import RatifyServer, scrape_csrf
from smtp_capture import SmtpCapture, smtp  # noqa: F401  (the smtp fixture)
from test_events import create_event
from test_letters import write_ratify_letter

PUBLIC = "http://ratify.example.org:8443"


@pytest.fixture
def site(tmp_path, smtp):
    srv = RatifyServer(tmp_path / "ratify",
                       serve_args=("--smtp", f"smtp://127.0.0.1:{smtp.port}",
                                   "--public-url", PUBLIC))
    srv.start()
    srv.factory = Factory(srv, smtp)
    yield srv
    srv.stop_and_check()


def main(page):
    return page[page.index("<main"):page.index("</main>")]


def queue(page, href):
    """The count shown on the home's work queue that links to href."""
    m = re.search(r'<a href="' + re.escape(html.escape(href)) +
                  r'"><span class="count">(\d+)</span>', page)
    assert m, f"no queue for {href}:\n{main(page)}"
    return int(m.group(1))


def test_a_visitor_sees_the_counts_the_ask_for_their_country_and_join(site):
    c = site.client()
    page = c.get("/", headers={"Accept-Language": "es-AR,es;q=0.9"}).text
    body = main(page)
    assert '<html lang="es"' in page
    assert 'href="/countries/ARG">Argentina</a>' in body  # the region of es-AR
    assert 'href="/join"' in body and 'href="/login"' in body
    assert re.search(r'class="big-number">\d+</strong> Estados parte', body)
    # The chooser (a GET form) picks another country; a bad code is ignored.
    body = main(c.get("/", params={"country": "KEN"}).text)
    assert 'href="/countries/KEN">Kenya</a>' in body
    assert '<option value="KEN" selected>Kenya</option>' in body
    r = c.get("/", params={"country": "<x>"})
    assert r.status_code == 200 and "/countries/<" not in r.text
    # No region, no choice: no ask, the chooser only.
    body = main(c.get("/", headers={"Accept-Language": "fr"}).text)
    assert "/countries/" not in body.split('id="home-country"')[0].split("home-ask")[1]


def test_a_visitor_switches_language(site):
    c = site.client()
    r = c.get("/language", params={"lang": "fr", "next": "/countries"})
    assert r.status_code == 303 and r.headers["Location"] == "/countries"
    assert "lang=fr" in r.headers["Set-Cookie"]
    page = c.get("/", headers={"Accept-Language": "es"}).text
    assert '<html lang="fr"' in page  # the choice wins over the browser's
    assert '<option value="fr" selected>Français</option>' in page
    # Only a local path; an unknown language is refused.
    r = c.get("/language", params={"lang": "es", "next": "//evil.example"})
    assert r.status_code == 303 and r.headers["Location"] == "/"
    assert c.get("/language", params={"lang": "xx"}).status_code == 400


def test_a_member_lands_on_their_next_action_and_drafts(site):
    member = site.factory.member("AGO")
    page = main(member.client.get("/").text)
    assert 'href="/letters/new?country=AGO"' in page and "Write to your government" in page
    assert "Ratify the OP-ICESCR, which it has already signed." in page
    assert 'href="/meetings/new?country=AGO"' in page and 'href="/events/new"' in page
    assert member.client.get("/meetings/new?country=AGO").status_code == 200
    assert "No letter waiting to be sent." in page
    assert "Work waiting for you" not in page  # no queues for members
    path = write_ratify_letter(member.client)
    page = main(member.client.get("/").text)
    assert f'href="{path}"' in page and "(Angola)" in page
    # Someone else's draft is not on this member's home.
    other = site.factory.member("AGO")
    page = main(other.client.get("/").text)
    assert f'href="{path}"' not in page and "Nothing is waiting for you." in page
    # An invitation to a seminar waits for its answer.
    seminar = create_event(member.client)
    page = member.client.get(f"/events/{seminar}").text
    r = member.client.post(f"/events/{seminar}/invite", data={
        "csrf_token": scrape_csrf(page), "invitees": f"Other <{other.email}>, ngo"})
    assert r.status_code == 303, r.text[:2000]
    page = main(other.client.get("/").text)
    assert f'href="/events/{seminar}">Expert seminar on the OP-ICESCR</a>' in page


def test_the_coordinator_is_emailed_and_the_queue_counts_move(site, smtp):
    coord_user = site.member("coordinator", countries=["AGO"])
    coord = site.login_user(coord_user)
    admin = site.factory.admin
    assert queue(coord.get("/").text, "/admin/members") == 0
    before = mail_count(smtp, coord_user.email)
    email = site.factory.applicant("AGO", name="Ana Applicant")
    mail = next_mail_to(smtp, coord_user.email, before)
    assert mail.msg["Subject"] == "An application waits for you"
    text = SmtpCapture.body(mail)
    assert "Angola" in text and f"{PUBLIC}/admin/members" in text
    assert "Ana Applicant" not in text and email not in text  # the page says who, after login
    assert queue(coord.get("/").text, "/admin/members") == 1
    assert queue(admin.get("/").text, "/admin/members") == 1
    # An application elsewhere is not this coordinator's, nor emailed to them.
    site.factory.applicant("KEN")
    assert queue(coord.get("/").text, "/admin/members") == 1
    assert queue(admin.get("/").text, "/admin/members") == 2
    # Approving says what happened and shows what is left.
    mid = re.search(r'action="/admin/members/(\d+)/approve"', coord.get("/admin/members").text)
    r = coord.post(f"/admin/members/{mid.group(1)}/approve",
                   data={"csrf_token": scrape_csrf(coord.get("/admin/members").text)})
    assert r.status_code == 303 and "approved=" in r.headers["Location"]
    page = coord.get(r.headers["Location"]).text
    assert "Ana Applicant: now a member." in page
    assert queue(coord.get("/").text, "/admin/members") == 0
    assert mail_count(smtp, coord_user.email) == before + 1


def test_the_secretariat_sees_requests_for_support_and_admin_queues(site, smtp):
    admin = site.factory.admin
    member = site.factory.member("AGO")
    page = admin.get("/").text
    assert queue(page, "/admin/assistance?status=new") == 0
    assert queue(page, "/admin/upr") >= 0 and queue(page, "/admin/untc") == 0
    r = member.client.post("/assistance", data={
        "csrf_token": member.client.csrf("/assistance/new"), "kind": "international_expert",
        "country": "AGO", "subject": "An expert for our seminar",
        "details": "A seminar with judges in Luanda.", "due_on": "2099-03-01"})
    assert r.status_code == 303, r.text[:2000]
    rid = re.search(r"/assistance/(\d+)", r.headers["Location"]).group(1)
    assert queue(admin.get("/").text, "/admin/assistance?status=new") == 1
    # Nothing waits for the member until the secretariat answers.
    assert "Nothing is waiting for you." in member.client.get("/").text
    page = admin.get(f"/assistance/{rid}").text
    r = admin.post(f"/assistance/{rid}/messages",
                   data={"csrf_token": scrape_csrf(page), "body": "Which dates suit you?"})
    assert r.status_code == 303, r.text[:2000]
    page = main(member.client.get("/").text)
    assert f'href="/assistance/{rid}">An expert for our seminar</a>' in page
    # A coordinator has no secretariat queue; a member no queue at all.
    coord = site.login_user(site.member("coordinator", countries=["AGO"]))
    assert "/admin/assistance?status=new" not in coord.get("/").text
    # /admin lists every administration page, with counts.
    page = admin.get("/admin").text
    for href in ("/admin/users", "/admin/members/import", "/admin/members/export",
                 "/admin/model-letters", "/admin/tokens", "/admin/audit", "/admin/untc",
                 "/admin/upr", "/admin/assistance", "/admin/mail"):
        assert f'href="{href}"' in page, href
    page = coord.get("/admin").text
    assert 'href="/admin/members"' in page and 'href="/admin/users"' not in page


def test_a_coordinator_who_chose_the_digest_gets_one_email_a_day(site, smtp):
    coord_user = site.member("coordinator", countries=["AGO"])
    coord = site.login_user(coord_user)
    page = coord.get("/account").text
    assert 'name="mode" value="immediate" checked' in page
    r = coord.post("/account/notifications", data={"csrf_token": scrape_csrf(page),
                                                   "mode": "weekly"})
    assert r.status_code == 400
    r = coord.post("/account/notifications", data={"csrf_token": scrape_csrf(page),
                                                   "mode": "digest"})
    assert r.status_code == 303
    page = coord.get(r.headers["Location"]).text
    assert 'name="mode" value="digest" checked' in page and "Your choice is saved." in page
    before = mail_count(smtp, coord_user.email)
    site.factory.applicant("AGO")
    site.factory.applicant("AGO")
    time.sleep(1)  # the sender would have delivered an immediate email by now
    assert mail_count(smtp, coord_user.email) == before
    assert site.cli("housekeeping").returncode == 0
    digest = next_mail_to(smtp, coord_user.email, before)
    assert digest.msg["Subject"] == "Work waiting for you: your daily summary"
    assert "Angola: 2" in SmtpCapture.body(digest)
    assert f"{PUBLIC}/admin/members" in SmtpCapture.body(digest)
    assert site.scalar("SELECT count(*) FROM notification_items") == 0
    # Another one the same day waits for tomorrow's digest.
    site.factory.applicant("AGO")
    assert site.cli("housekeeping").returncode == 0
    time.sleep(1)
    assert mail_count(smtp, coord_user.email) == before + 1
    assert cli_at(site, DAY + 60, "housekeeping").returncode == 0
    # Queued a day ahead, so the server's sender (on today's clock) keeps
    # it for tomorrow: read from the queue.
    bodies = [b for (b,) in site.query("SELECT body FROM mail_queue WHERE to_addr = ? "
                                       "ORDER BY id", coord_user.email)]
    assert len(bodies) == before + 2 and "Angola: 1" in bodies[-1]
    assert site.scalar("SELECT count(*) FROM notification_items") == 0


def test_an_admin_adds_a_user_from_the_web(site, smtp):
    admin = site.factory.admin
    page = admin.get("/admin/users").text
    assert "ratify user add" not in page
    token = scrape_csrf(page)
    # Bad input: the form again with what was typed, nothing written.
    r = admin.post("/admin/users", data={"csrf_token": token, "email": "not an email",
                                         "role": "coordinator", "countries": "AGO"})
    assert r.status_code == 400 and 'value="not an email"' in r.text
    assert 'value="AGO"' in r.text
    r = admin.post("/admin/users", data={"csrf_token": token, "email": "cora@example.org",
                                         "role": "coordinator", "countries": ""})
    assert r.status_code == 400 and "A coordinator needs at least one country." in r.text
    r = admin.post("/admin/users", data={"csrf_token": token, "email": "cora@example.org",
                                         "role": "coordinator", "countries": "AGO XXX"})
    assert r.status_code == 400 and 'value="AGO XXX"' in r.text
    assert site.scalar("SELECT count(*) FROM users WHERE email = ?", "cora@example.org") == 0
    # Without the form's token: refused.
    r = admin.post("/admin/users", data={"email": "cora@example.org", "role": "member"})
    assert r.status_code == 403
    r = admin.post("/admin/users", data={"csrf_token": token, "email": "Cora@Example.org",
                                         "role": "coordinator", "countries": "ago, bra"})
    assert r.status_code == 303, r.text[:2000]
    page = admin.get(r.headers["Location"]).text
    assert "cora@example.org" in main(page) and "was emailed" in page
    assert site.query("SELECT c.iso3 FROM user_countries c JOIN users u ON u.id = c.user_id "
                      "WHERE u.email = ? ORDER BY c.iso3", "cora@example.org") == [("AGO",),
                                                                                  ("BRA",)]
    actor = site.query("SELECT a.user_id FROM audit_log a WHERE a.action = 'user added' "
                       "ORDER BY a.id DESC")[0][0]
    assert actor == site.scalar("SELECT id FROM users WHERE role = 'admin' AND email <> ? "
                                "ORDER BY id DESC", site.admin_email)
    mail = next_mail_to(smtp, "cora@example.org", 0)
    body = SmtpCapture.body(mail)
    assert f"{PUBLIC}/welcome/" in body  # the public address, not the listening one
    path = mailed_link(smtp, "cora@example.org", "welcome")
    c = site.client()
    r = c.post(path, data={"csrf_token": scrape_csrf(c.get(path).text),
                           "password": "cora's long password 1", "confirm": "cora's long password 1"})
    assert r.status_code == 303
    # A second time: the address is taken.
    r = admin.post("/admin/users", data={"csrf_token": token, "email": "cora@example.org",
                                         "role": "member", "countries": ""})
    assert r.status_code == 400 and "already exists" in r.text
    # The command line, run without --public-url, prints the address the
    # server was started with, not the listening port.
    p = site.cli("user", "add", "cli-added@example.org", "--role", "member")
    assert p.returncode == 0 and f"{PUBLIC}/welcome/" in p.stdout, p.stdout


def test_coordinators_countries_by_name(site):
    """An admin names a coordinator's countries as people call them, in any
    language, and the list of users shows names, not codes (issue 14)."""
    admin = site.factory.admin
    token = scrape_csrf(admin.get("/admin/users").text)
    r = admin.post("/admin/users", data={"csrf_token": token, "email": "dora@example.org",
                                         "role": "coordinator",
                                         "countries": "Côte d'Ivoire, Brasil; argentine"})
    assert r.status_code == 303, r.text[:2000]
    assert site.query("SELECT c.iso3 FROM user_countries c JOIN users u ON u.id = c.user_id "
                      "WHERE u.email = ? ORDER BY c.iso3", "dora@example.org") == [
        ("ARG",), ("BRA",), ("CIV",)]
    row = next(line for line in admin.get("/admin/users").text.split("<tr>")
               if "dora@example.org" in line)
    for name in ("Argentina", "Brazil", "Côte d&#39;Ivoire"):
        assert name in row, row
    assert "ARG" not in row
    # A name that is no country: refused, as typed, nothing written.
    r = admin.post("/admin/users", data={"csrf_token": token, "email": "eve@example.org",
                                         "role": "coordinator", "countries": "Angola, Ruritania"})
    assert r.status_code == 400 and "separated by commas" in r.text
    assert 'value="Angola, Ruritania"' in r.text
    assert site.scalar("SELECT count(*) FROM users WHERE email = ?", "eve@example.org") == 0


def test_overdue_letters_and_proposed_corrections_reach_the_coordinator(site):
    coord = site.login_user(site.member("coordinator", countries=["AGO"]))
    elsewhere = site.login_user(site.member("coordinator", countries=["KEN"]))
    member = site.factory.member("AGO")
    page = coord.get("/").text
    assert queue(page, "/admin/letters") == 0
    assert queue(page, "/countries") == 0  # no correction: the link goes to the countries
    # A letter sent in January with a four-week reminder, and no answer.
    path = write_ratify_letter(member.client)
    page = member.client.get(path).text
    r = member.client.post(path + "/sent", data={
        "csrf_token": scrape_csrf(page), "sent_on": "2026-01-05", "sent_via": "post",
        "remind_weeks": "4", "visibility": "country"})
    assert r.status_code == 303
    assert site.cli("housekeeping").returncode == 0
    assert queue(coord.get("/").text, "/admin/letters") == 1
    assert queue(elsewhere.get("/").text, "/admin/letters") == 0
    # A correction a member proposes to a government contact.
    page = coord.get("/countries/AGO/targets").text
    r = coord.post("/countries/AGO/targets", data={
        "csrf_token": scrape_csrf(page), "kind": "ministry", "name": "Minister of Justice"})
    assert r.status_code == 303
    page = member.client.get("/countries/AGO/targets").text
    target = re.findall(r"/targets/(\d+)/correction", page)[0]
    r = member.client.post(f"/countries/AGO/targets/{target}/correction", data={
        "csrf_token": scrape_csrf(page), "correction": "The minister changed in March."})
    assert r.status_code == 303
    assert queue(coord.get("/").text, "/countries/AGO/targets") == 1
    assert queue(elsewhere.get("/").text, "/countries") == 0
