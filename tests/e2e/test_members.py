"""
Members (issue 4): joining through the form, confirming by the link in a
real email caught by a real SMTP server, moderation by the country's
coordinator, the new member's first login, the directory's listing rules,
hostile input, and erasure.
"""

import re

import pytest

from factories import application_id, bearer, cli_token, mailed_link
from ratify_server import RatifyServer, db_tables, scrape_csrf
from smtp_capture import SmtpCapture, smtp  # noqa: F401  (the smtp fixture)

LINK_RE = re.compile(r"https?://[^\s]+/(join/confirm|welcome)/([0-9a-f]{64})")


@pytest.fixture
def site(tmp_path, smtp):
    srv = RatifyServer(tmp_path / "ratify",
                       serve_args=("--smtp", f"smtp://127.0.0.1:{smtp.port}",
                                   "--mail-from", "coalition@example.org"))
    srv.start()
    yield srv
    srv.stop_and_check()


def api(site, what, **params):
    """GET /api/v1/WHAT with a read token: the JSON."""
    r = site.client().get(f"/api/v1/{what}", params=params,
                          headers=bearer(cli_token(site, "read")))
    assert r.status_code == 200, r.text
    return r.json()


def org_id(contact):
    """The organisation whose profile form the contact's /profile shows."""
    (org,) = re.findall(r'action="/profile/organisations/(\d+)"', contact.get("/profile").text)
    return int(org)


def body_of(message):
    return SmtpCapture.body(message)


def link_in(message, kind):
    for m in LINK_RE.finditer(body_of(message)):
        if m.group(1) == kind:
            return "/" + m.group(1) + "/" + m.group(2)
    raise AssertionError(f"no {kind} link in:\n{body_of(message)}")


def join(site, client=None, **fields):
    c = client or site.client()
    token = scrape_csrf(c.get("/join").text)
    form = {"csrf_token": token, "kind": "individual", "name": "Ana Pérez",
            "email": "ana@example.org", "iso3": "AGO", "listing": "hidden",
            "not_government": "1", "consent_store": "1"}
    form.update(fields)
    return c.post("/join", data=form)


def confirm(site, smtp, email, count):
    # count: the messages sent so far, before staff notifications (issue 14)
    # joined them; the link is waited for by address instead.
    path = mailed_link(smtp, email, "join/confirm")
    c = site.client()
    token = scrape_csrf(c.get(path).text)
    r = c.post(path, data={"csrf_token": token})
    assert r.status_code == 200 and "Your email address is confirmed" in r.text
    return path


def approve_all(site, coordinator_client, expected):
    page = coordinator_client.get("/admin/members").text
    ids = re.findall(r'action="/admin/members/(\d+)/approve"', page)
    assert len(ids) == expected, page
    for i in ids:
        token = scrape_csrf(coordinator_client.get("/admin/members").text)
        r = coordinator_client.post(f"/admin/members/{i}/approve", data={"csrf_token": token})
        assert r.status_code == 303, r.text
    return ids


def first_login(site, smtp, email, count, password="a long new password 42"):
    path = mailed_link(smtp, email, "welcome")
    c = site.client()
    token = scrape_csrf(c.get(path).text)
    r = c.post(path, data={"csrf_token": token, "password": password, "confirm": password})
    assert r.status_code == 303 and r.headers["Location"] == "/account"
    return c


def test_join_as_an_organisation_end_to_end(site, smtp):
    r = join(site, kind="organisation", name="Ana Pérez", email="Ana@Example.org",
             org_name="Mosaiko", org_type="human_rights_ngo", website="https://mosaiko.example",
             listing="public", groups=["legal"], languages=["pt", "en"])
    assert r.status_code == 200 and "Check your email" in r.text
    # Unconfirmed applications are not shown to the coordinators.
    coord = site.login_user(site.member("coordinator", countries=["AGO"]))
    assert "Mosaiko" not in coord.get("/admin/members").text
    confirm(site, smtp, "ana@example.org", 1)
    page = coord.get("/admin/members").text
    assert "Mosaiko" in page and "ana@example.org" in page
    approve_all(site, coord, 1)
    member = first_login(site, smtp, "ana@example.org", 2)
    assert "Mosaiko" in member.get("/members").text  # listed publicly, so visible
    profile = member.get("/profile").text
    assert "Ana Pérez" in profile and "Mosaiko" in profile
    assert [m["status"] for m in api(site, "memberships")["items"]] == ["active"]
    # A read: no name or address in any stored audit column.
    actions = [a for (a,) in site.query("SELECT action FROM audit_log ORDER BY id")]
    assert "membership applied" in actions and "membership approved" in actions
    assert not site.query("SELECT 1 FROM audit_log WHERE object LIKE '%ana@%' "
                          "OR detail LIKE '%ana@%' OR detail LIKE '%Ana%'")


def test_directory_respects_listing_choices(site, smtp):
    people = [("Visible Vera", "vera@example.org", "members"),
              ("Hidden Hana", "hana@example.org", "hidden"),
              ("Public Paz", "paz@example.org", "public")]
    for n, (name, email, listing) in enumerate(people):
        assert join(site, name=name, email=email, listing=listing, iso3="ARG").status_code == 200
        confirm(site, smtp, email, n + 1)
    coord = site.login_user(site.member("coordinator", countries=["ARG"]))
    approve_all(site, coord, 3)
    vera = first_login(site, smtp, "vera@example.org", 6)
    directory = vera.get("/members").text
    assert "Visible Vera" in directory and "Public Paz" in directory
    assert "Hidden Hana" not in directory
    assert "more members match but chose not to be listed" in directory
    filtered = vera.get("/members", params={"country": "AGO"}).text
    assert "Public Paz" not in filtered
    # A hidden member sees themself, as the rule's author would.
    hana = first_login(site, smtp, "hana@example.org", 6)
    assert "Hidden Hana" in hana.get("/members").text
    # An admin sees everyone through moderation, not the directory's rules.
    admin = site.login_user(site.member("admin"))
    assert "Hidden Hana" in admin.get("/admin/members", params={"status": "active"}).text


def test_a_coordinator_cannot_approve_outside_their_countries(site, smtp):
    join(site, email="ben@example.org", iso3="BEN")
    confirm(site, smtp, "ben@example.org", 1)
    other = site.login_user(site.member("coordinator", countries=["GHA"]))
    assert "ben@example.org" not in other.get("/admin/members").text
    mid = application_id(site.login_user(site.member("admin")), "ben@example.org")
    token = scrape_csrf(other.get("/admin/members").text)
    r = other.post(f"/admin/members/{mid}/approve", data={"csrf_token": token})
    # Not theirs to see, so not found (visibility before rights, issue 8).
    assert r.status_code == 404
    member = site.login_user(site.member())
    assert member.get("/admin/members").status_code == 403
    assert [m["status"] for m in api(site, "memberships")["items"]] == ["pending"]


def test_decline_with_a_reason_emails_the_applicant(site, smtp):
    join(site, email="dan@example.org", iso3="ARG")
    confirm(site, smtp, "dan@example.org", 1)
    coord = site.login_user(site.member("coordinator", countries=["ARG"]))
    page = coord.get("/admin/members").text
    (mid,) = re.findall(r'action="/admin/members/(\d+)/decline"', page)
    token = scrape_csrf(page)
    r = coord.post(f"/admin/members/{mid}/decline", data={"csrf_token": token, "reason": ""})
    assert r.status_code == 400
    r = coord.post(f"/admin/members/{mid}/decline",
                   data={"csrf_token": token, "reason": "We could not verify the organisation."})
    assert r.status_code == 303
    smtp.wait_for_to("dan@example.org", 2)
    assert "We could not verify the organisation." in body_of(smtp.messages_to("dan@example.org")[-1])


def test_duplicate_email_never_overwrites_or_reveals(site, smtp):
    first = join(site, name="Original Name", email="dup@example.org")
    smtp.wait_for(1)
    second = join(site, name="Someone Else", email="DUP@example.org", iso3="FRA")
    assert second.status_code == first.status_code == 200
    main = lambda html: html[html.index("<main"):html.index("</main>")]
    assert main(first.text) == main(second.text)
    smtp.wait_for(2)
    notice = smtp.messages_to("dup@example.org")[-1]
    assert "already registered" in body_of(notice)
    assert "/join/confirm/" not in body_of(notice)
    people = api(site, "people")["items"]
    assert [(p["name"], p["country"]) for p in people] == [("Original Name", "AGO")]


@pytest.mark.parametrize("fields,field,message", [
    ({"email": "not-an-email"}, "email", "Please enter a valid email address."),
    ({"consent_store": ""}, "consent_store", "We can only keep your application"),
    ({"not_government": ""}, "not_government", "not part of a government"),
    ({"name": "x" * 10000}, "name", "This is too long."),
    ({"iso3": "ZZZ"}, "iso3", "Please choose a country."),
])
def test_bad_input_shows_the_form_again(site, smtp, fields, field, message):
    r = join(site, **fields)
    assert r.status_code == 400
    assert message in r.text
    if field != "name":
        assert 'value="Ana Pérez"' in r.text  # what they typed is kept
    assert api(site, "people")["total"] == 0
    # A read: nothing queued for sending.
    assert site.query("SELECT count(*) FROM mail_queue") == [(0,)]


def test_a_mistake_keeps_every_tick_and_names_the_fields(site, smtp):
    """Issue 14 item 8: after one error the form comes back with the
    language ticks, the storage consent and the working groups as they were;
    the summary names each field wrong and links to it; the organisation's
    fields are marked invalid."""
    r = join(site, kind="organisation", email="not-an-email", org_name="", org_type="",
             website="ftp://x", languages=["pt", "fr"], groups=["legal"])
    assert r.status_code == 400
    html = r.text
    assert 'value="pt" checked' in html and 'value="fr" checked' in html
    assert 'value="en" checked' not in html
    assert re.search(r'name="consent_store" value="1" checked', html)
    assert re.search(r'name="groups" value="legal" checked', html)
    summary = re.search(r'<div class="error-summary"[^>]*>(.*?)</div>', html, re.S).group(1)
    for anchor, label in (("email", "Email"), ("org_name", "Name of the organisation"),
                          ("org_type", "Type of organisation"), ("website", "Website (optional)")):
        assert f'<a href="#{anchor}">{label}</a>' in summary, anchor
        assert f'id="{anchor}"' in html
    assert "Your name" not in summary  # only the fields that are wrong
    for field in ("org_name", "org_type", "website"):
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"[^>]*aria-describedby="{field}-error"',
                         html), field
        assert f'id="{field}-error"' in html
    # In Spanish the summary is in Spanish too.
    c = site.client()
    token = scrape_csrf(c.get("/join").text)
    r = c.post("/join", headers={"Accept-Language": "es"},
               data={"csrf_token": token, "kind": "individual", "name": "Ana",
                     "email": "x", "iso3": "AGO", "listing": "hidden"})
    assert r.status_code == 400 and "Corrige estos campos" in r.text


def test_working_groups_ticked_on_the_form_are_joined_on_approval(site, smtp):
    r = join(site, groups=["legal"], languages=["pt"])
    assert r.status_code == 200
    confirm(site, smtp, "ana@example.org", 1)
    # Not before approval: an applicant is not a member yet.
    assert site.scalar("SELECT count(*) FROM working_group_members") == 0
    coord = site.login_user(site.member("coordinator", countries=["AGO"]))
    approve_all(site, coord, 1)
    rows = site.query("SELECT g.slug, p.email FROM working_group_members m "
                      "JOIN working_groups g ON g.id = m.group_id "
                      "JOIN people p ON p.id = m.person_id")
    assert rows == [("legal", "ana@example.org")]
    member = first_login(site, smtp, "ana@example.org", 2)
    assert "Ana Pérez" in member.get("/groups/legal").text


def test_script_in_every_field_is_escaped(site, smtp):
    evil = '<script>alert(1)</script>"\''
    r = join(site, kind="organisation", name=evil, org_name=evil, email="evil@example.org",
             org_type="other", listing="public", iso3="AGO")
    assert r.status_code == 200
    confirm(site, smtp, "evil@example.org", 1)
    coord = site.login_user(site.member("coordinator", countries=["AGO"]))
    page = coord.get("/admin/members").text
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;" in page
    approve_all(site, coord, 1)
    member = first_login(site, smtp, "evil@example.org", 2)
    for path in ("/members", "/profile"):
        html = member.get(path).text
        assert "<script>alert(1)" not in html, path
        assert "&lt;script&gt;" in html, path
    # A form that is refused shows the hostile value escaped too.
    r = join(site, name=evil, email="bad")
    assert r.status_code == 400 and "<script>alert(1)" not in r.text


def test_honeypot_and_rate_limit(site, smtp):
    r = join(site, homepage="http://spam.example", email="bot@example.org")
    assert r.status_code == 200 and "Check your email" in r.text
    assert api(site, "people")["total"] == 0
    for i in range(5):
        assert join(site, email=f"p{i}@example.org").status_code == 200
    r = join(site, email="p6@example.org")
    assert r.status_code == 429 and 'value="p6@example.org"' in r.text
    assert api(site, "people")["total"] == 5


def test_export_and_erasure_leave_no_personal_data(site, smtp):
    email = "erase.me@example.org"
    join(site, name="Erasable Person", email=email, iso3="ARG", groups=["legal"])
    confirm(site, smtp, email, 1)
    coord = site.login_user(site.member("coordinator", countries=["ARG"]))
    approve_all(site, coord, 1)
    member = first_login(site, smtp, email, 2)
    r = member.get("/profile/export")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    data = r.json()
    assert data["person"]["email"] == email and data["person"]["name"] == "Erasable Person"
    assert data["memberships"][0]["status"] == "active"
    # The profile links to the question (issue 14); the question has the
    # box to tick, the button and Cancel; without the tick it asks again.
    assert 'href="/profile/close"' in member.get("/profile").text
    page = member.get("/profile/close")
    assert page.status_code == 200 and "Close your account?" in page.text
    assert 'id="confirm-cancel"' in page.text
    token = scrape_csrf(page.text)
    r = member.post("/profile/close", data={"csrf_token": token})
    assert r.status_code == 400
    assert "Close your account?" in r.text and 'aria-invalid="true"' in r.text
    r = member.post("/profile/close", data={"csrf_token": token, "confirm": "1"})
    assert r.status_code == 200 and "Your account is closed" in r.text
    assert member.get("/profile").status_code in (303, 401)
    # The audit log keeps that it happened, without the person.
    assert api(site, "people")["total"] == 0
    admin = site.login_user(site.member("admin"))
    page = admin.get("/admin/audit",
                     params={"action": "account closed and personal data erased"}).text
    assert page.count("<td>account closed and personal data erased</td>") == 1
    # A read: the erased address and name are in no row of any table, not
    # only absent from what pages show.
    for table in db_tables(site.db):
        rows = repr(site.query(f'SELECT * FROM "{table}"'))
        assert email not in rows and "Erasable Person" not in rows, table
    # SQLite file format: nor in the database's files (secure_delete and the
    # checkpoint after an erasure), where a deleted row's bytes could stay.
    site.stop_and_check()
    for suffix in ("", "-wal", "-shm"):
        try:
            raw = open(site.db + suffix, "rb").read()
        except FileNotFoundError:
            continue
        for needle in (email.encode(), b"Erasable Person"):
            assert needle not in raw, f"{needle!r} is still in {site.db}{suffix}"


def test_password_reset_never_reveals_accounts(site, smtp):
    user = site.member()
    c = site.client()
    token = scrape_csrf(c.get("/password/reset").text)
    known = c.post("/password/reset", data={"csrf_token": token, "email": user.email})
    unknown = c.post("/password/reset", data={"csrf_token": token, "email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    main = lambda html: html[html.index("<main"):html.index("</main>")]
    assert main(known.text) == main(unknown.text)
    smtp.wait_for(1)
    assert smtp.messages_to("nobody@example.org") == []
    path = link_in(smtp.messages_to(user.email)[-1], "welcome")
    new = first_login(site, smtp, user.email, 1, password="brand new password 77")
    assert new.get("/account").status_code == 200
    assert c.get(path).status_code == 404  # single use


def test_organisation_profile_is_edited_by_its_contact(site, smtp):
    join(site, kind="organisation", email="contact@example.org", org_name="Old Name",
         org_type="trade_union", listing="members")
    confirm(site, smtp, "contact@example.org", 1)
    coord = site.login_user(site.member("coordinator", countries=["AGO"]))
    approve_all(site, coord, 1)
    contact = first_login(site, smtp, "contact@example.org", 2)
    org = org_id(contact)
    token = scrape_csrf(contact.get("/profile").text)
    r = contact.post(f"/profile/organisations/{org}",
                     data={"csrf_token": token, "name": "New Name", "org_type": "trade_union",
                           "website": "javascript:alert(1)", "listing": "public"})
    assert r.status_code == 400 and "A web address starts with https://" in r.text
    r = contact.post(f"/profile/organisations/{org}",
                     data={"csrf_token": token, "name": "New Name", "org_type": "trade_union",
                           "website": "https://union.example", "listing": "public"})
    assert r.status_code == 303
    assert "New Name" in contact.get("/profile").text
    # Someone else cannot.
    other = site.login_user(site.member())
    r = other.post(f"/profile/organisations/{org}",
                   data={"csrf_token": scrape_csrf(other.get("/account").text), "name": "Hijacked",
                         "org_type": "other", "listing": "public"})
    assert r.status_code in (403, 404)
    assert [o["name"] for o in api(site, "organisations")["items"]] == ["New Name"]


def test_a_membership_lapses_and_leaves_the_directory(site, smtp):
    join(site, name="Lapsing Lee", email="lee@example.org", listing="members", iso3="ARG")
    confirm(site, smtp, "lee@example.org", 1)
    coord = site.login_user(site.member("coordinator", countries=["ARG"]))
    (mid,) = approve_all(site, coord, 1)
    viewer = first_login(site, smtp, "lee@example.org", 2)
    assert "Lapsing Lee" in viewer.get("/members").text
    page = coord.get("/admin/members", params={"status": "active"}).text
    assert f'action="/admin/members/{mid}/status"' in page
    r = coord.post(f"/admin/members/{mid}/status", data={"csrf_token": scrape_csrf(page),
                                                         "status": "lapsed"})
    assert r.status_code == 303
    other = site.login_user(site.member("coordinator", countries=["GHA"]))
    r = other.post(f"/admin/members/{mid}/status", data={"csrf_token": scrape_csrf(page),
                                                         "status": "active"})
    assert r.status_code == 403
    assert "Lapsing Lee" not in viewer.get("/members").text
    assert [m["status"] for m in api(site, "memberships")["items"]] == ["lapsed"]


def test_imported_pending_members_reach_the_moderation_queue(site, smtp, tmp_path):
    path = tmp_path / "pending.csv"
    path.write_text("name,email,country,status\nImported Ines,ines@example.org,ARG,pending\n")
    p = site.cli("import", "members", str(path), "--apply")
    assert p.returncode == 0, p.stdout + p.stderr
    # An application still waiting for its email confirmation stays out.
    join(site, name="Unconfirmed Uma", email="uma@example.org", iso3="ARG")
    coord = site.login_user(site.member("coordinator", countries=["ARG"]))
    page = coord.get("/admin/members").text
    assert "Imported Ines" in page and "Unconfirmed Uma" not in page
    approve_all(site, coord, 1)
    smtp.wait_for_to("ines@example.org", 1)
    assert "/welcome/" in body_of(smtp.messages_to("ines@example.org")[-1])


def test_a_contact_invites_a_colleague(site, smtp):
    join(site, kind="organisation", email="lead@example.org", org_name="Haki Centre",
         org_type="lawyers_association", listing="members", iso3="KEN")
    confirm(site, smtp, "lead@example.org", 1)
    coord = site.login_user(site.member("coordinator", countries=["KEN"]))
    approve_all(site, coord, 1)
    lead = first_login(site, smtp, "lead@example.org", 2)
    org = org_id(lead)
    token = scrape_csrf(lead.get("/profile").text)
    r = lead.post(f"/profile/organisations/{org}/invite",
                  data={"csrf_token": token, "email": "Colleague@Example.org", "role": "staff",
                        "title": "Paralegal"})
    assert r.status_code == 303
    # Someone who is not the organisation's contact cannot invite.
    other = site.login_user(site.member())
    assert other.post(f"/profile/organisations/{org}/invite",
                      data={"csrf_token": scrape_csrf(other.get("/account").text),
                            "email": "x@example.org", "role": "staff"}).status_code in (403, 404)
    smtp.wait_for_to("colleague@example.org", 1)
    invitation = body_of(smtp.messages_to("colleague@example.org")[-1])
    assert "the coalition for the OP-ICESCR, on Ratify" in " ".join(invitation.split())
    link = re.search(r"/invitations/[0-9a-f]{64}", invitation).group(0)
    c = site.client()
    page = c.get(link)
    assert page.status_code == 200 and "Haki Centre" in page.text
    r = c.post(link, data={"csrf_token": scrape_csrf(page.text), "name": "Wanjiku",
                           "listing": "hidden"})
    assert r.status_code == 400 and "consent" in r.text  # no consent, nothing written
    r = c.post(link, data={"csrf_token": scrape_csrf(page.text), "name": "Wanjiku",
                           "listing": "hidden", "consent_store": "1"})
    assert r.status_code == 303 and r.headers["Location"].startswith("/welcome/")
    welcome = r.headers["Location"]
    w = c.get(welcome)
    r = c.post(welcome, data={"csrf_token": scrape_csrf(w.text), "password": "colleague pass 99",
                              "confirm": "colleague pass 99"})
    assert r.status_code == 303
    profile = c.get("/profile").text
    assert "Haki Centre" in profile and "Staff" in profile
    assert site.client().get(link).status_code == 404  # single use
    orgs = c.get("/profile/export").json()["organisations"]
    assert [(o["role"], o["title"]) for o in orgs] == [("staff", "Paralegal")]


def test_an_invited_member_with_an_account_accepts_after_logging_in(site, smtp):
    join(site, kind="organisation", email="lead2@example.org", org_name="Red Derechos",
         org_type="human_rights_ngo", listing="members", iso3="ARG")
    confirm(site, smtp, "lead2@example.org", 1)
    coord = site.login_user(site.member("coordinator", countries=["ARG"]))
    approve_all(site, coord, 1)
    lead = first_login(site, smtp, "lead2@example.org", 2)
    join(site, name="Existing Eva", email="eva@example.org", iso3="ARG")
    confirm(site, smtp, "eva@example.org", 3)
    approve_all(site, coord, 1)
    eva = first_login(site, smtp, "eva@example.org", 4)
    org = org_id(lead)
    lead.post(f"/profile/organisations/{org}/invite",
              data={"csrf_token": scrape_csrf(lead.get("/profile").text),
                    "email": "eva@example.org", "role": "contact"})
    smtp.wait_for_to("eva@example.org", 3)
    link = re.search(r"/invitations/[0-9a-f]{64}",
                     body_of(smtp.messages_to("eva@example.org")[-1])).group(0)
    stranger = site.login_user(site.member())
    page = stranger.get(link).text
    assert stranger.post(link, data={"csrf_token": scrape_csrf(page)}).status_code == 403
    page = eva.get(link).text
    assert eva.post(link, data={"csrf_token": scrape_csrf(page)}).status_code == 303
    assert "Red Derechos" in eva.get("/profile").text


def test_a_confirmation_link_confirms_once(site, smtp):
    join(site, name="Twice Tomas", email="tomas@example.org", iso3="ARG")
    smtp.wait_for(1)
    path = link_in(smtp.messages_to("tomas@example.org")[-1], "join/confirm")
    # Two tabs open on the link: the token is spent in the write, so the
    # second submission is refused and writes nothing.
    first, second = site.client(), site.client()
    forms = [scrape_csrf(first.get(path).text), scrape_csrf(second.get(path).text)]
    assert first.post(path, data={"csrf_token": forms[0]}).status_code == 200
    r = second.post(path, data={"csrf_token": forms[1]})
    assert r.status_code == 404 and "already used" in r.text
    assert site.query("SELECT count(*) FROM audit_log "
                      "WHERE action = 'membership confirmed'") == [(1,)]


def test_a_pending_application_changes_status_only_by_a_decision(site, smtp):
    join(site, name="Pending Paz", email="paz@example.org", iso3="ARG")
    confirm(site, smtp, "paz@example.org", 1)
    coord = site.login_user(site.member("coordinator", countries=["ARG"]))
    page = coord.get("/admin/members").text
    (mid,) = re.findall(r'action="/admin/members/(\d+)/approve"', page)
    r = coord.post(f"/admin/members/{mid}/status", data={"csrf_token": scrape_csrf(page),
                                                         "status": "active"})
    assert r.status_code == 409 and "has not been approved" in r.text
    assert site.query("SELECT status, decided_by FROM memberships") == [("pending", None)]
    assert site.query("SELECT count(*) FROM audit_log "
                      "WHERE action = 'membership status changed'") == [(0,)]


DIRECTORY_ROW = re.compile(r'<tr><th scope="row">(?:<a [^>]*>)?([^<]+)')
UNLISTED = re.compile(r"(\d+) more members match but chose not to be listed")


def directory_page(client, **params):
    """(names listed, unlisted count, has a next page) of one directory page."""
    r = client.get("/members", params=params)
    assert r.status_code == 200, r.text
    unlisted = UNLISTED.search(r.text)
    return (DIRECTORY_ROW.findall(r.text), int(unlisted.group(1)) if unlisted else 0,
            ">Next page<" in r.text)


def test_directory_pages_and_counts_only_what_the_viewer_may_see(site, tmp_path):
    # 160 imported members whose listings alternate, so that every page of
    # the query's order has rows the viewer may not see mixed in: public,
    # hidden, members, public ... A page holds 50 rows the viewer may see,
    # and the counts are of the whole match, not of a page.
    listings = ["public", "hidden", "members", "public"]
    rows = ["name,email,country,listing"]
    rows += [f"Member {i:03d},m{i:03d}@example.org,ARG,{listings[i % 4]}" for i in range(160)]
    path = tmp_path / "members.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    p = site.cli("import", "members", str(path), "--apply", timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    seen_by_members = [f"Member {i:03d}" for i in range(160) if listings[i % 4] != "hidden"]

    # The directory is for members: hidden listings are what they may not
    # see (one row in four, spread over every page of the query).
    member = site.login_user(site.member("member"))
    pages = [directory_page(member, page=n) for n in (1, 2, 3)]
    assert [len(names) for names, _, _ in pages] == [50, 50, 20]
    assert sum((names for names, _, _ in pages), []) == seen_by_members
    assert [u for _, u, _ in pages] == [40, 40, 40]
    assert [more for _, _, more in pages] == [True, True, False]
    # The pager keeps the filters: another country matches nobody.
    assert directory_page(member, country="AGO") == ([], 0, False)
    assert "country=ARG&amp;page=2" in member.get("/members", params={"country": "ARG"}).text

    # An administrator is shown everyone (hidden listings too): 4 pages.
    admin = site.login_user(site.member("admin"))
    names, unlisted, more = directory_page(admin, page=4)
    assert len(names) == 10 and unlisted == 0 and not more


def test_the_mail_queue_page_is_an_audited_read(site, smtp):
    """/admin/mail shows recipients: its view is logged with the people it
    names, by id."""
    assert join(site, name="Queue Quique", email="quique@example.org", iso3="ARG",
                ).status_code == 200
    admin = site.login_user(site.member("admin"))
    page = admin.get("/admin/mail").text
    assert "quique@example.org" in page
    pid = site.scalar("SELECT id FROM people WHERE email = ?", "quique@example.org")
    assert ("person", pid) in site.query(
        "SELECT s.subject_type, s.subject_id FROM audit_log a JOIN audit_subjects s "
        "ON s.entry_id = a.id WHERE a.action = 'mail queue viewed'")
