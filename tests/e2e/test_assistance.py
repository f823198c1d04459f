"""
Asking the coalition for support (issue 12, item 3): a member in Angola asks
for an international expert; the steering committee (named by an admin)
accepts, assigns, works on and closes it, with an email to the requester and
the secretariat at every step, never to the person who made the change; the
thread, its files (downloads only), who may see it (404 for anyone else),
transitions refused, a request declined with its reason, bad input.
"""

import html
import os
import re

import pytest

from factories import Factory, audit_entries, mail_count, next_mail_to, mail_site  # noqa: F401  (the fixture)
from ratify_server import RatifyServer, ratify_bin, scrape_csrf
from smtp_capture import SmtpCapture, smtp  # noqa: F401  (the smtp fixture)
from test_letters import write_ratify_letter

PDF = b"%PDF-1.4\nthe programme of the seminar\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def site(mail_site):
    return mail_site


@pytest.fixture
def people(site):
    """The requester (a member in Angola), an admin, a steering committee
    member (a plain account an admin named) and a member elsewhere."""
    admin_user = site.member("admin")
    admin = site.login_user(admin_user)
    requester = site.factory.member("AGO")
    elsewhere = site.factory.member("KEN")
    user = site.member("member")
    page = admin.get("/admin/steering-committee").text
    r = admin.post("/admin/steering-committee",
                   data={"csrf_token": scrape_csrf(page), "email": user.email})
    assert r.status_code == 303, r.text[:2000]
    assert user.email in admin.get("/admin/steering-committee").text
    # On the committee, a second factor is required: login() enrols it.
    committee = site.login_user(user)
    assert user.email in site.totp_secrets
    return dict(admin=admin, admin_email=admin_user.email,
                requester=requester, elsewhere=elsewhere, committee=committee,
                committee_email=user.email)


def ask(client, **fields):
    token = client.csrf("/assistance/new")
    files = fields.pop("files", None)
    data = {"csrf_token": token, "kind": "international_expert", "country": "AGO",
            "subject": "An expert on adjudication for our seminar",
            "details": "A seminar with judges in Luanda; we need an expert on ESCR cases.",
            "due_on": "2099-03-01", **fields}
    return client.post("/assistance", data=data, files=files)


def counts(smtp, *emails):
    return {e: mail_count(smtp, e) for e in emails}


def told(smtp, before, rid, *emails):
    """Each of emails got one new message about request rid: a link, never
    a file's content."""
    for e in emails:
        m = next_mail_to(smtp, e, before[e])
        assert m.msg["Subject"] == f"Request for support {rid}"
        body = SmtpCapture.body(m)
        assert f"/assistance/{rid}" in body
        assert "the programme of the seminar" not in body
        assert not m.msg.is_multipart()


def not_told(smtp, before, *emails):
    for e in emails:
        assert mail_count(smtp, e) == before[e], f"{e} was mailed about their own change"


def move(client, rid, **data):
    page = client.get(f"/assistance/{rid}").text
    return client.post(f"/admin/assistance/{rid}", data={"csrf_token": scrape_csrf(page), **data})


def state(site, rid):
    return site.scalar("SELECT status FROM assistance_requests WHERE id = ?", rid)


def test_an_international_expert_from_new_to_done(site, smtp, people):
    requester, committee, admin = people["requester"], people["committee"], people["admin"]
    req, com, adm = requester.email, people["committee_email"], people["admin_email"]
    everyone = (req, com, adm)
    # The form, from the country page's link, preselects the country and kind.
    assert "/assistance/new?country=AGO" in requester.client.get("/countries/AGO").text
    form = requester.client.get("/assistance/new?country=AGO&kind=international_expert").text
    assert '<option value="AGO" selected>' in form
    assert '<option value="international_expert" selected>' in form
    # Asking: the secretariat is told, the requester is not.
    before = counts(smtp, *everyone)
    r = ask(requester.client, files={"attachment": ("../programme (draft).pdf", PDF,
                                                    "application/pdf")})
    assert r.status_code == 303, r.text[:2000]
    rid = int(re.fullmatch(r".*/assistance/(\d+)", r.headers["Location"]).group(1))
    assert state(site, rid) == "new"
    told(smtp, before, rid, com, adm)
    not_told(smtp, before, req)
    page = requester.client.get(f"/assistance/{rid}").text
    assert "An expert on adjudication for our seminar" in page
    assert "1 March 2099" in page
    # The requester reads themselves as "you", not as a stranger.
    assert "<dt>Asked by</dt><dd>you</dd>" in page
    assert "a member of the coalition" not in page
    # The committee lists it, filtered by kind, state and country.
    listed = committee.get("/admin/assistance?kind=international_expert&status=new&country=AGO")
    assert listed.status_code == 200 and f'href="/assistance/{rid}"' in listed.text
    assert f'href="/assistance/{rid}"' not in committee.get("/admin/assistance?status=done").text
    assert f'href="/assistance/{rid}"' not in committee.get("/admin/assistance?country=KEN").text
    # new -> accepted, by the committee member: the requester and the admin
    # are told.
    # Each reads it in their own language: the requester chose Spanish.
    rc = requester.client
    assert rc.post("/account", data={"csrf_token": scrape_csrf(rc.get("/account").text),
                                     "lang": "es"}).status_code == 303
    before = counts(smtp, *everyone)
    assert move(committee, rid, status="accepted").status_code == 303
    assert state(site, rid) == "accepted"
    told(smtp, before, rid, adm)
    not_told(smtp, before, com)
    mail = next_mail_to(smtp, req, before[req])
    assert mail.msg["Subject"] == f"Solicitud de apoyo {rid}"
    assert "La solicitud fue aceptada." in SmtpCapture.body(mail)
    assert "The request was accepted." in SmtpCapture.body(next_mail_to(smtp, adm, before[adm]))
    assert rc.post("/account", data={"csrf_token": scrape_csrf(rc.get("/account").text),
                                     "lang": "en"}).status_code == 303
    # Assigned to the committee member.
    page = committee.get(f"/assistance/{rid}").text
    (cid,) = re.findall(r'<option value="(\d+)"[^>]*>[^<]*' + re.escape(com), page)
    before = counts(smtp, *everyone)
    assert move(committee, rid, assignee=cid).status_code == 303
    assert site.scalar("SELECT assignee_id FROM assistance_requests WHERE id = ?", rid) == int(cid)
    told(smtp, before, rid, req, adm)
    # accepted -> in_progress, by the admin.
    before = counts(smtp, *everyone)
    assert move(admin, rid, status="in_progress").status_code == 303
    assert state(site, rid) == "in_progress"
    told(smtp, before, rid, req, com)
    not_told(smtp, before, adm)
    # The thread: the requester answers with a file; the committee replies.
    before = counts(smtp, *everyone)
    page = requester.client.get(f"/assistance/{rid}").text
    r = requester.client.post(f"/assistance/{rid}/messages",
                              data={"csrf_token": scrape_csrf(page),
                                    "body": "The seminar moved to the 12th."},
                              files={"attachment": ("photo.png", PNG, "image/png")})
    assert r.status_code == 303, r.text[:2000]
    told(smtp, before, rid, com, adm)
    not_told(smtp, before, req)
    page = committee.get(f"/assistance/{rid}").text
    before = counts(smtp, *everyone)
    r = committee.post(f"/assistance/{rid}/messages",
                       data={"csrf_token": scrape_csrf(page),
                             "body": "Professor X can come <b>on the 12th</b>."})
    assert r.status_code == 303
    told(smtp, before, rid, req, adm)
    page = requester.client.get(f"/assistance/{rid}").text
    assert "The seminar moved to the 12th." in page
    assert "Professor X can come &lt;b&gt;on the 12th&lt;/b&gt;." in page
    # in_progress -> done.
    before = counts(smtp, *everyone)
    assert move(committee, rid, status="done").status_code == 303
    assert state(site, rid) == "done"
    told(smtp, before, rid, req, adm)
    not_told(smtp, before, com)
    page = requester.client.get(f"/assistance/{rid}").text
    for words in ("asked for support", "accepted the request", "started work on the request",
                  "marked the request done", "assigned the request to"):
        assert words in page
    # Files: downloads only, under a sanitised name, to those who may see.
    ids = re.findall(r'href="/assistance/attachments/(\d+)"', page)
    assert len(ids) == 2
    f = requester.client.get(f"/assistance/attachments/{ids[0]}")
    assert f.status_code == 200 and f.content == PDF
    disposition = f.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    name = re.search(r'filename="([^"]*)"', disposition).group(1)
    assert re.fullmatch(r"[A-Za-z0-9._-]+\.pdf", name) and not name.startswith(".")
    assert f.headers["X-Content-Type-Options"] == "nosniff"
    assert f.headers["Content-Type"] == "application/pdf"
    assert committee.get(f"/assistance/attachments/{ids[1]}").content == PNG
    # done -> accepted is refused, and nothing changes.
    before = counts(smtp, *everyone)
    r = move(committee, rid, status="accepted")
    assert r.status_code == 409
    assert "This change is not possible" in html.unescape(r.text)
    assert state(site, rid) == "done"
    # Nobody else sees it: 404 for the page, its files and its thread.
    other = people["elsewhere"].client
    assert other.get(f"/assistance/{rid}").status_code == 404
    assert other.get(f"/assistance/attachments/{ids[0]}").status_code == 404
    token = scrape_csrf(other.get("/assistance").text)
    assert other.post(f"/assistance/{rid}/messages",
                      data={"csrf_token": token, "body": "hello"}).status_code == 404
    assert other.get("/admin/assistance").status_code == 403
    assert other.post(f"/admin/assistance/{rid}",
                      data={"csrf_token": token, "status": "declined",
                            "reason": "x"}).status_code == 403
    assert f'/assistance/{rid}"' not in other.get("/assistance").text
    assert site.client().get(f"/assistance/attachments/{ids[0]}").status_code in (303, 401)
    not_told(smtp, before, *everyone)
    # Reads by the committee are audited; the requester's own are not.
    views = audit_entries(admin, action="assistance request viewed")
    assert views and all(v[1] == f"Request for help {rid}" for v in views)
    assert audit_entries(admin, action="assistance file downloaded")


def test_declined_with_a_reason(site, smtp, people):
    requester, committee = people["requester"], people["committee"]
    req, com, adm = requester.email, people["committee_email"], people["admin_email"]
    before = counts(smtp, req, com, adm)
    r = ask(requester.client, kind="steering_presence", subject="A committee member in Luanda")
    assert r.status_code == 303
    rid = int(r.headers["Location"].rsplit("/", 1)[1])
    told(smtp, before, rid, com, adm)
    # Declining needs a reason: the form comes back, nothing changes.
    before = counts(smtp, req, com, adm)
    r = move(committee, rid, status="declined", reason="")
    assert r.status_code == 400
    assert "Please say why the request is declined." in html.unescape(r.text)
    assert state(site, rid) == "new"
    not_told(smtp, before, req, com, adm)
    r = move(committee, rid, status="declined",
             reason="No member of the committee can travel in March.")
    assert r.status_code == 303
    assert state(site, rid) == "declined"
    told(smtp, before, rid, req, adm)
    page = requester.client.get(f"/assistance/{rid}").text
    assert "No member of the committee can travel in March." in page
    assert "Declined" in page
    # A declined request stays declined.
    r = move(people["admin"], rid, status="in_progress")
    assert r.status_code == 409 and state(site, rid) == "declined"


def test_bad_input_is_refused_and_nothing_written(site, smtp, people):
    requester = people["requester"]
    before = counts(smtp, people["committee_email"], people["admin_email"])
    r = ask(requester.client, subject="", due_on="2001-01-01",
            details="Typed details <kept>",
            files={"attachment": ("x.html", b"<html><script>alert(1)</script>", "text/html")})
    assert r.status_code == 400
    text = html.unescape(r.text)
    assert "The file must be a PDF, PNG or JPEG." in text
    assert "The date has passed." in text
    assert "Typed details <kept>" in text
    assert "Typed details &lt;kept&gt;" in r.text
    r = ask(requester.client, kind="refusal_reply")
    assert r.status_code == 400
    r = ask(requester.client, country="XXX")
    assert r.status_code == 400 and "Choose a country from the list." in html.unescape(r.text)
    assert site.scalar("SELECT count(*) FROM assistance_requests") == 0
    assert site.scalar("SELECT count(*) FROM assistance_attachments") == 0
    not_told(smtp, before, people["committee_email"], people["admin_email"])
    # An empty message is refused too; without CSRF, nothing at all.
    r = ask(requester.client)
    rid = int(r.headers["Location"].rsplit("/", 1)[1])
    page = requester.client.get(f"/assistance/{rid}").text
    r = requester.client.post(f"/assistance/{rid}/messages",
                              data={"csrf_token": scrape_csrf(page), "body": " "})
    assert r.status_code == 400 and "Write a message or attach a file." in html.unescape(r.text)
    r = requester.client.post(f"/assistance/{rid}/messages", data={"body": "no token"})
    assert r.status_code == 403
    assert site.scalar("SELECT count(*) FROM assistance_messages WHERE request_id = ?", rid) == 1
    # A member cannot move their own request.
    r = requester.client.post(f"/admin/assistance/{rid}",
                              data={"csrf_token": scrape_csrf(page), "status": "done"})
    assert r.status_code == 403 and state(site, rid) == "new"


@pytest.mark.skipif(not os.environ.get("RATIFY_OLD_BIN"),
                    reason="RATIFY_OLD_BIN: a binary from before schema/017_assistance.sql")
def test_requests_from_before_017_survive_the_upgrade(tmp_path, smtp, monkeypatch):
    """Requests made by a binary from before 017 (states open and assigned, a
    draft) come through the rebuild of assistance_requests with their ids,
    mapped states and drafts, and go on in the new workflow."""
    new_bin = ratify_bin()
    monkeypatch.setenv("RATIFY_BIN", os.environ["RATIFY_OLD_BIN"])
    site = RatifyServer(tmp_path / "ratify", serve_args=("--smtp", f"smtp://127.0.0.1:{smtp.port}"))
    site.start()
    site.factory = Factory(site, smtp)
    member = site.factory.member("AGO")
    writer = member.client
    path = write_ratify_letter(writer)
    token = scrape_csrf(writer.get(path).text)
    r = writer.post(path + "/responses",
                    data={"csrf_token": token, "received_on": "2026-11-15", "class": "refusal",
                          "reasons": ["cost"], "visibility": "country", "text": "No."})
    assert r.status_code == 303, r.text[:2000]
    (rid,) = [x["id"] for x in writer.get("/api/v1" + path).json()["letter"]["responses"]]
    for details in ("first", "second"):
        r = writer.post(f"/responses/{rid}/help", data={"csrf_token": token, "details": details})
        assert r.status_code == 303
    admin = site.factory.admin
    page = admin.get("/admin/assistance").text
    first = min(int(i) for i in re.findall(r'action="/admin/assistance/(\d+)"', page))
    r = admin.post(f"/admin/assistance/{first}",
                   data={"csrf_token": scrape_csrf(page), "status": "assigned",
                         "draft": "Dear Minister, the cost..."})
    assert r.status_code == 303
    old = site.query("SELECT id, status, draft FROM assistance_requests ORDER BY id")
    assert [s for _, s, _ in old] == ["assigned", "open"]
    site.stop_and_check()
    # The new binary migrates the same database.
    monkeypatch.setenv("RATIFY_BIN", new_bin)
    site.respawn()
    try:
        new = site.query("SELECT id, status, draft, kind FROM assistance_requests ORDER BY id")
        assert new == [(old[0][0], "accepted", "Dear Minister, the cost...", "refusal_reply"),
                       (old[1][0], "new", "", "refusal_reply")]
        writer = site.login_user(member)
        page = writer.get(f"/assistance/{first}").text
        assert "Dear Minister, the cost..." in page and "Accepted" in page
        admin = site.login_user(site.member("admin"))
        page = admin.get(f"/assistance/{first}").text
        r = admin.post(f"/admin/assistance/{first}",
                       data={"csrf_token": scrape_csrf(page), "status": "in_progress"})
        assert r.status_code == 303
        r = ask(writer)
        assert r.status_code == 303
        assert int(r.headers["Location"].rsplit("/", 1)[1]) > old[1][0]
    finally:
        site.stop_and_check()


def test_closing_the_account_deletes_the_requests(site, smtp, people):
    requester = people["requester"]
    r = ask(requester.client, files={"attachment": ("p.pdf", PDF, "application/pdf")})
    rid = int(r.headers["Location"].rsplit("/", 1)[1])
    page = people["committee"].get(f"/assistance/{rid}").text
    assert people["committee"].post(f"/assistance/{rid}/messages",
                                    data={"csrf_token": scrape_csrf(page),
                                          "body": "We will help."}).status_code == 303
    token = requester.client.csrf("/profile")
    r = requester.client.post("/profile/close", data={"csrf_token": token, "confirm": "1"})
    assert r.status_code == 200, r.text[:2000]
    for table in ("assistance_requests", "assistance_messages", "assistance_attachments"):
        assert site.scalar(f"SELECT count(*) FROM {table}") == 0
    assert people["committee"].get(f"/assistance/{rid}").status_code == 404
