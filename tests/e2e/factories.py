"""
factories.py: test data made the way people and programs make it.

End-to-end tests never write SQL into the database: they make people,
memberships, organisations and the rest through the command line (`ratify
user add`, `token add`, `import members`), the API (`/api/v1/...` with a
token) or the pages (the join form, the emailed confirmation link, the
coordinator's approval, the welcome link). So they run unchanged on another
database, where there is no file to open, and they exercise the same code a
user does.

Time passing is simulated with RATIFY_TEST_NOW_OFFSET (seconds added to the
binary's clock, src/util.c now_seconds): `cli_at` runs a command, and
`PastServer` a short-lived second server on the same database, with that
clock.
"""

import pytest
import csv
import html
import re
import time
from contextlib import contextmanager
from types import SimpleNamespace

from ratify_server import SLOW, RatifyServer, scrape_csrf
from smtp_capture import SmtpCapture

LINK_RE = re.compile(r"https?://[^\s]+/(join/confirm|welcome)/([0-9a-f]{64})")
TOKEN_RE = re.compile(r"^([0-9a-f]{64})$", re.M)
DAY = 86400

_serial = iter(range(1, 1 << 30))


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


# ---- the command line ----


def cli_token(srv, scope="write", name=None):
    """`ratify token add NAME --scope SCOPE`: the token printed, once."""
    p = srv.cli("token", "add", name or f"factory {scope} {next(_serial)}", "--scope", scope)
    assert p.returncode == 0, p.stderr
    return TOKEN_RE.search(p.stdout).group(1)


def cli_at(srv, offset, *args):
    """`ratify ARGS` with the clock moved by offset seconds (the
    RATIFY_TEST_NOW_OFFSET test seam): housekeeping a year from now."""
    env = srv.env
    try:
        srv.env = lambda: {**env(), "RATIFY_TEST_NOW_OFFSET": str(int(offset))}
        return srv.cli(*args)
    finally:
        srv.env = env


def import_people(srv, rows, *extra):
    """`ratify import members FILE --apply` of rows (dicts of the import's
    own column names: name, email, country, listing, ...). People and their
    memberships, without accounts and without mail, as an imported
    spreadsheet leaves them. Returns the command's output."""
    path = srv.dir / f"factory-{next(_serial)}.csv"
    fields = list(dict.fromkeys(k for row in rows for k in row))
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    try:
        p = srv.cli("import", "members", str(path), "--apply", *extra, timeout=120 * SLOW)
    finally:
        path.unlink()
    assert p.returncode == 0, f"import failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
    assert " 0 rejected" in p.stdout, f"rows refused by the import:\n{p.stdout}"
    return p.stdout


# ---- the API ----


def api_sign_up(srv, token, **fields):
    """POST /api/v1/memberships: the join form's logic, without its rate
    limit per address. A confirmation link is mailed to the address."""
    person = {"kind": "individual", "listing": "members", "not_government": True,
              "consent_store": True, **fields}
    r = srv.client().post("/api/v1/memberships", headers=bearer(token), json=person)
    assert r.status_code == 202, r.text
    return r


# ---- mail ----


def mailed_link(smtp, email, kind, seen=(), timeout=10 * SLOW):
    """The newest /join/confirm/... or /welcome/... link mailed to email
    that is not in seen; waits for it."""
    deadline = time.monotonic() + timeout
    while True:
        for message in reversed(smtp.messages_to(email)):
            for m in LINK_RE.finditer(SmtpCapture.body(message)):
                path = f"/{m.group(1)}/{m.group(2)}"
                if m.group(1) == kind and path not in seen:
                    return path
        assert time.monotonic() < deadline, f"no {kind} link mailed to {email}"
        time.sleep(0.05)


def confirm_by_mail(srv, smtp, email):
    """Opens the emailed confirmation link and confirms, as the applicant."""
    path = mailed_link(smtp, email, "join/confirm")
    c = srv.client()
    r = c.post(path, data={"csrf_token": scrape_csrf(c.get(path).text)})
    assert r.status_code == 200, r.text[:2000]


# ---- the pages ----


def application_id(approver, email, status="pending"):
    """The id of email's application on /admin/members (as the approver sees
    it), read from its approve form."""
    page = approver.get("/admin/members", params={"status": status}).text
    for card in page.split('<article class="card">')[1:]:
        if f"<dd>{email}</dd>" in card:
            m = re.search(r'action="/admin/members/(\d+)/approve"', card)
            assert m, card
            return int(m.group(1))
    raise AssertionError(f"no application of {email} on /admin/members:\n{page[:3000]}")


def approve(approver, email):
    """Approves email's confirmed application on /admin/members; returns
    the membership id."""
    mid = application_id(approver, email)
    r = approver.post(f"/admin/members/{mid}/approve",
                      data={"csrf_token": scrape_csrf(approver.get("/admin/members").text)})
    assert r.status_code == 303, r.text[:2000]
    return mid


def decline(approver, email, reason="Not a member organisation of the coalition."):
    """Declines email's confirmed application on /admin/members."""
    mid = application_id(approver, email)
    r = approver.post(f"/admin/members/{mid}/decline",
                      data={"csrf_token": scrape_csrf(approver.get("/admin/members").text),
                            "reason": reason})
    assert r.status_code == 303, r.text[:2000]
    return mid


def welcome(srv, smtp, email, password):
    """Chooses a password through the emailed welcome link: a logged-in
    client."""
    path = mailed_link(smtp, email, "welcome")
    c = srv.client()
    r = c.post(path, data={"csrf_token": scrape_csrf(c.get(path).text),
                           "password": password, "confirm": password})
    assert r.status_code == 303, r.text[:2000]
    return c


class Factory:
    """Members of a running server as people become members: signed up
    (through the API, the join form's logic), confirmed by the emailed link,
    approved by an administrator on /admin/members, logged in through the
    welcome link. smtp is the SmtpCapture the server sends to."""

    def __init__(self, srv, smtp):
        self.srv, self.smtp = srv, smtp
        self._token = None
        self._admin = None

    @property
    def token(self):
        if self._token is None:
            self._token = cli_token(self.srv, "write", "factory")
        return self._token

    @property
    def admin(self):
        """A logged-in administrator (made with `ratify user add`) who
        approves the applications."""
        if self._admin is None:
            self._admin = self.srv.login_user(self.srv.member("admin"))
        return self._admin

    def applicant(self, iso3, name=None, email=None, **fields):
        """Signed up and confirmed, waiting for a decision. Returns the
        email."""
        n = next(_serial)
        email = email or f"member-{n}@example.org"
        api_sign_up(self.srv, self.token, name=name or f"Member {n}", email=email,
                    country=iso3, **fields)
        confirm_by_mail(self.srv, self.smtp, email)
        return email

    def member(self, iso3, name=None, email=None, approver=None, **fields):
        """An approved member of iso3 with an account, logged in: a
        namespace with email, password, name, membership (its id) and
        client. fields go to the sign-up (kind, organisation, org_type,
        listing, groups, ...)."""
        n = next(_serial)
        name = name or f"Member {n}"
        email = self.applicant(iso3, name=name, email=email, **fields)
        mid = approve(approver or self.admin, email)
        password = f"the password of member {n} 42"
        client = welcome(self.srv, self.smtp, email, password)
        person = client.get("/profile/export").json()["person"]["id"]
        return SimpleNamespace(email=email, password=password, name=name, membership=mid,
                               person_id=person, client=client, role="member")


# ---- a server in the past ----


class PastServer(RatifyServer):
    """A second `ratify serve` on srv's database whose clock is offset
    seconds away (negative: in the past), through RATIFY_TEST_NOW_OFFSET:
    what it records (a session, an audit entry) carries that time."""

    def __init__(self, srv, offset):
        super().__init__(srv.dir / f"past-{next(_serial)}", admin_email=srv.admin_email)
        self.db = srv.db
        self.offset = int(offset)

    def env(self):
        return {**super().env(), "RATIFY_TEST_NOW_OFFSET": str(self.offset)}


@contextmanager
def past_server(srv, offset):
    """with past_server(site, -8 * DAY) as old: old.login(...) ..."""
    old = PastServer(srv, offset)
    old.respawn()
    try:
        yield old
    finally:
        old.stop_and_check()


def mail_count(smtp, email):
    return len(smtp.messages_to(email))


def next_mail_to(smtp, email, before, timeout=10 * SLOW):
    """Waits for a message to email beyond the first `before` ones (from
    mail_count) and returns it."""
    deadline = time.monotonic() + timeout
    while True:
        messages = smtp.messages_to(email)
        if len(messages) > before:
            return messages[before]
        assert time.monotonic() < deadline, f"no new mail to {email} within {timeout}s"
        time.sleep(0.05)


# ---- the audit log, as an administrator reads it ----

AUDIT_ROW_RE = re.compile(r"<tr><td>([^<]*)</td><td>(.*?)</td><td>([^<]*)</td><td>([^<]*)</td>"
                          r"<td>([^<]*)</td></tr>", re.S)


def audit_entries(admin, **filters):
    """The rows of /admin/audit with filters (action=..., kind=..., who=...),
    every page, newest first: (action, about, details) as the page words
    them ("Working group legal", "person 5")."""
    rows, page = [], 1
    while True:
        r = admin.get("/admin/audit", params={**filters, "page": page})
        assert r.status_code == 200, r.text[:2000]
        rows += [tuple(html.unescape(g).strip() for g in m.groups()[2:])
                 for m in AUDIT_ROW_RE.finditer(r.text)]
        if f"page={page + 1}" not in r.text:
            return rows
        page += 1


@pytest.fixture
def mail_site(tmp_path, smtp):
    """A server of its own that sends its mail to the test's SMTP capture,
    with a Factory: for tests that read what people are told."""
    srv = RatifyServer(tmp_path / "ratify",
                       serve_args=("--smtp", f"smtp://127.0.0.1:{smtp.port}"))
    srv.start()
    srv.factory = Factory(srv, smtp)
    yield srv
    srv.stop_and_check()
