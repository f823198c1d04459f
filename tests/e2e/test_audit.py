"""
Who looked (issue 8, item 6): reads of members' personal data go to the
audit log (who, what, when; never the content), each member sees who has
seen their details, and administrators search the whole log at
/admin/audit.
"""

import re
import time

import pytest

from factories import DAY, bearer, cli_at, cli_token
from ratify_server import RatifyServer
from smtp_capture import smtp  # noqa: F401  (the smtp fixture)
from test_members import approve_all, confirm, first_login, join


@pytest.fixture
def site(tmp_path, smtp):
    srv = RatifyServer(tmp_path / "ratify",
                       serve_args=("--smtp", f"smtp://127.0.0.1:{smtp.port}",
                                   "--mail-from", "coalition@example.org"))
    srv.start()
    yield srv
    srv.stop_and_check()


def query(site, sql, *args):
    # A read: the audit rows are what this file checks (the ids, roles and
    # subjects stored, and that no name or address is in any column);
    # /admin/audit and /profile/views show only part of each row. The
    # entries themselves are all made through pages, the API and the CLI.
    return site.query(sql, *args)


def person_id(site, email):
    return query(site, "SELECT id FROM people WHERE email = ?", email)[0][0]


def user_id(site, email):
    return query(site, "SELECT id FROM users WHERE email = ?", email)[0][0]


def reads_of(site, email):
    """(action, reader's user id, actor_role) of every read naming the person."""
    return query(site, "SELECT a.action, a.user_id, a.actor_role FROM audit_log a "
                       "JOIN audit_subjects s ON s.entry_id = a.id WHERE a.kind = 'read' "
                       "AND s.subject_type = 'person' AND s.subject_id = ? ORDER BY a.id",
                 person_id(site, email))


def members(site, smtp, *people, iso3="ARG"):
    """Joins, confirms and approves people [(name, email, listing)]; returns
    the coordinator (a namespace) and their logged-in client."""
    for n, (name, email, listing) in enumerate(people):
        assert join(site, name=name, email=email, listing=listing, iso3=iso3).status_code == 200
        confirm(site, smtp, email, n + 1)
    coordinator = site.member("coordinator", countries=[iso3])
    client = site.login_user(coordinator)
    approve_all(site, client, len(people))
    return coordinator, client


def assert_no_content(site, *secrets):
    """No name, address or other content in any audit row."""
    rows = query(site, "SELECT * FROM audit_log") + query(site, "SELECT * FROM audit_subjects")
    text = repr(rows).lower()
    for s in secrets:
        assert s.lower() not in text, f"{s!r} is in the audit log"


def test_a_coordinators_read_is_logged_and_the_member_sees_it(site, smtp):
    coordinator, coord = members(site, smtp, ("Hana Hidden", "hana@example.org", "hidden"))
    before = len(reads_of(site, "hana@example.org"))
    page = coord.get("/admin/members", params={"status": "active"}).text
    assert "hana@example.org" in page
    reads = reads_of(site, "hana@example.org")
    assert len(reads) == before + 1
    assert reads[-1] == ("membership applications viewed", user_id(site, coordinator.email),
                         "coordinator")
    assert_no_content(site, "hana@example.org", "Hana Hidden")

    hana = first_login(site, smtp, "hana@example.org", 2)
    profile = hana.get("/profile").text
    assert "Who has seen your details" in profile
    # Coordinators answer for what they read: named (no display name: the address).
    assert coordinator.email in profile and "membership applications viewed" in profile
    full = hana.get("/profile/views").text
    assert full.count(coordinator.email) == len(reads)
    assert "kept for a year" in full
    # Seeing yourself is not a read.
    hana.get("/members")
    hana.get("/profile")
    assert len(reads_of(site, "hana@example.org")) == len(reads)
    # In Spanish, the action is in words from the catalogue.
    es = hana.get("/profile/views", headers={"Accept-Language": "es"}).text
    assert "solicitudes de adhesión consultadas" in es


def test_directory_reads_name_coordinators_but_not_members(site, smtp):
    _, _ = members(site, smtp, ("Vera Visible", "vera@example.org", "members"),
                   ("Paz Public", "paz@example.org", "public"),
                   ("Ana Reader", "ana@example.org", "members"))
    ana = first_login(site, smtp, "ana@example.org", 6)
    page = ana.get("/members").text
    assert "Vera Visible" in page and "Paz Public" in page
    # One entry for the page view, naming Vera; Paz is public, so anyone could
    # see her without logging in and the view leaves nothing to report.
    entry = query(site, "SELECT id, detail FROM audit_log WHERE action = 'members directory "
                        "viewed' ORDER BY id DESC LIMIT 1")
    assert entry and entry[0][1] == "1"
    subjects = query(site, "SELECT subject_type, subject_id FROM audit_subjects "
                           "WHERE entry_id = ?", entry[0][0])
    assert subjects == [("person", person_id(site, "vera@example.org"))]
    vera = first_login(site, smtp, "vera@example.org", 6)
    views = vera.get("/profile/views").text
    assert "members directory viewed" in views
    assert "ana@example.org" not in views and "Ana Reader" not in views
    assert re.search(r"</strong>: Member, members directory viewed", views), views


def test_exports_are_logged_for_every_member(site, smtp, tmp_path):
    members(site, smtp, ("Eva Export", "eva@example.org", "hidden"),
            ("Olga Org", "olga@example.org", "hidden"))
    admin_user = site.member("admin")
    admin = site.login_user(admin_user)
    r = admin.get("/admin/members/export.csv")
    assert r.status_code == 200 and "eva@example.org" in r.text
    web = query(site, "SELECT id, user_id, actor_role FROM audit_log "
                      "WHERE action = 'members exported' ORDER BY id DESC LIMIT 1")[0]
    assert web[1:] == (user_id(site, admin_user.email), "admin")
    people = {p for (p,) in query(site, "SELECT subject_id FROM audit_subjects WHERE entry_id = ? "
                                        "AND subject_type = 'person'", web[0])}
    assert people == {person_id(site, "eva@example.org"), person_id(site, "olga@example.org")}
    out = tmp_path / "members.csv"
    p = site.cli("export", "members", "--out", str(out))
    assert p.returncode == 0, p.stderr
    cli = query(site, "SELECT id, user_id, actor_role FROM audit_log "
                      "WHERE action = 'members exported' ORDER BY id DESC LIMIT 1")[0]
    assert cli[0] != web[0] and cli[1:] == (None, "cli")
    assert ("members exported", None, "cli") in reads_of(site, "eva@example.org")
    eva = first_login(site, smtp, "eva@example.org", 4)
    views = eva.get("/profile/views").text
    assert views.count("members exported") == 2 and "Command line" in views
    assert_no_content(site, "eva@example.org", "Eva Export", "olga@example.org")


def test_api_reads_name_the_token(site, smtp):
    members(site, smtp, ("Tia Token", "tia@example.org", "hidden"))
    p = site.cli("token", "add", "crm sync", "--scope", "read")
    token = re.search(r"^([0-9a-f]{64})$", p.stdout, re.M).group(1)
    r = site.client().get("/api/v1/people", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and "tia@example.org" in r.text
    entry = query(site, "SELECT a.actor_role, t.name FROM audit_log a JOIN api_tokens t "
                        "ON t.id = a.api_token_id WHERE a.action = 'people listed through the API'")
    assert entry == [("token", "crm sync")]
    assert ("people listed through the API", None, "token") in reads_of(site, "tia@example.org")
    assert_no_content(site, "tia@example.org", "Tia Token")


def test_the_admin_page_filters_and_pages(site, smtp):
    coordinator, coord = members(site, smtp, ("Fay Filter", "fay@example.org", "hidden"))
    coord.get("/admin/members", params={"status": "active"})
    admin = site.login_user(site.member("admin"))
    assert 'href="/admin/audit"' in admin.get("/admin").text  # linked from Administration
    page = admin.get("/admin/audit").text
    assert "membership applications viewed" in page and "membership approved" in page
    assert "fay@example.org" not in page and "Fay Filter" not in page
    # By action: only that action.
    page = admin.get("/admin/audit", params={"action": "membership approved"}).text
    assert "membership approved" in page
    assert "<td>membership applications viewed</td>" not in page
    # By kind: only reads.
    page = admin.get("/admin/audit", params={"kind": "read"}).text
    assert "<td>membership applications viewed</td>" in page
    assert "<td>membership approved</td>" not in page
    # By who: the coordinator's own entries only.
    page = admin.get("/admin/audit", params={"who": coordinator.email}).text
    assert "<td>membership approved</td>" in page and "<td>membership applied</td>" not in page
    page = admin.get("/admin/audit", params={"who": "nobody-like-this"}).text
    assert "No entries match." in page
    # By object type.
    page = admin.get("/admin/audit", params={"type": "memberships"}).text
    assert "<td>membership applications viewed</td>" in page
    assert "<td>membership approved</td>" not in page
    # By date: today has entries, tomorrow none.
    today = time.strftime("%Y-%m-%d", time.gmtime())
    tomorrow = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
    assert "membership approved" in admin.get("/admin/audit",
                                              params={"from": today, "to": today}).text
    assert "No entries match." in admin.get("/admin/audit", params={"from": tomorrow}).text
    # A bad date: 400, the message, and what was typed.
    r = admin.get("/admin/audit", params={"from": "2024-02-30"})
    assert r.status_code == 400 and "Please enter a real date between 1945 and 2100." in r.text and 'value="2024-02-30"' in r.text
    assert admin.get("/admin/audit", params={"action": "drop table"}).status_code == 400
    # By person: the reads of Fay.
    fay = person_id(site, "fay@example.org")
    page = admin.get("/admin/audit", params={"person": fay}).text
    assert "<td>membership applications viewed</td>" in page
    assert "<td>login</td>" not in page
    # Paged in SQL, newest first: 120 reads through the API, the first of
    # them by a token of its own.
    earliest = cli_token(site, "read", "earliest reader")
    later = cli_token(site, "read", "later reader")
    api = site.client()
    for i in range(120):
        r = api.get("/api/v1/people", headers=bearer(earliest if i == 0 else later))
        assert r.status_code == 200
    action = "people listed through the API"
    first = admin.get("/admin/audit", params={"action": action}).text
    assert first.count(f"<td>{action}</td>") == 50 and "page=2" in first
    assert "earliest reader" not in first
    third = admin.get("/admin/audit", params={"action": action, "page": 3}).text
    assert third.count(f"<td>{action}</td>") == 20 and "page=4" not in third
    assert third.count("earliest reader") == 1  # the oldest, last
    assert third.rindex("earliest reader") > third.rindex("later reader")
    # Translated in Spanish.
    es = admin.get("/admin/audit", headers={"Accept-Language": "es"}).text
    assert "solicitudes de adhesión consultadas" in es and "Registro de auditoría" in es


def test_only_admins_open_the_audit_log(site, smtp):
    assert site.client().get("/admin/audit").status_code in (303, 401, 403, 404)
    assert site.client().get("/admin/audit").status_code != 200
    for role, countries in (("member", ()), ("coordinator", ("ARG",))):
        c = site.login_user(site.member(role, countries=countries))
        assert c.get("/admin/audit").status_code in (403, 404)
        assert 'href="/admin/audit"' not in c.get("/").text


def test_reads_expire_after_a_year_and_changes_stay(site, smtp):
    members(site, smtp, ("Old Olivia", "olivia@example.org", "hidden"))
    assert reads_of(site, "olivia@example.org")
    # Housekeeping a year and a day from now (the clock's test seam).
    p = cli_at(site, 366 * DAY, "housekeeping")
    assert p.returncode == 0, p.stderr
    assert query(site, "SELECT count(*) FROM audit_log WHERE kind = 'read'") == [(0,)]
    assert query(site, "SELECT count(*) FROM audit_subjects") == [(0,)]
    assert query(site, "SELECT count(*) FROM audit_log WHERE action = 'membership approved'") \
        == [(1,)]
