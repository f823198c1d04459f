"""
The members API (issue 4, item 8): tokens that admins issue with a scope,
pagination and filters, and sign-ups through the same function as the form.
"""

import re
import time

import pytest

from factories import import_people, past_server
from ratify_server import RatifyServer, scrape_csrf
from smtp_capture import SmtpCapture, smtp  # noqa: F401  (the smtp fixture)


@pytest.fixture
def site(tmp_path, smtp):
    srv = RatifyServer(tmp_path / "ratify",
                       serve_args=("--smtp", f"smtp://127.0.0.1:{smtp.port}"))
    srv.start()
    yield srv
    srv.stop_and_check()


def token(site, scope, name=None):
    p = site.cli("token", "add", name or f"test {scope}", "--scope", scope)
    assert p.returncode == 0, p.stderr
    return re.search(r"^([0-9a-f]{64})$", p.stdout, re.M).group(1)


def bearer(t):
    return {"Authorization": f"Bearer {t}"}


def seed_people(site, n):
    """n people (hidden, as imported), alternately in AGO and ARG."""
    import_people(site, [{"name": f"Person {i}", "email": f"p{i}@example.org",
                          "country": "ARG" if i % 2 else "AGO", "listing": "hidden"}
                         for i in range(n)])


def test_tokens_and_scopes(site, smtp):
    c = site.client()
    assert c.get("/api/v1/people").status_code == 401
    assert c.get("/api/v1/people", headers=bearer("0" * 64)).status_code == 401
    read = token(site, "read")
    r = c.get("/api/v1/people", headers=bearer(read))
    assert r.status_code == 200 and r.json()["total"] == 0
    # A read token cannot sign anyone up; a token opens no page outside the API.
    r = c.post("/api/v1/memberships", headers=bearer(read), json={"name": "x"})
    assert r.status_code == 403
    assert c.get("/admin/users", headers=bearer(read)).status_code in (303, 401)
    # Members' sessions get nothing; an admin's session reads.
    member = site.login_user(site.member())
    assert member.get("/api/v1/people").status_code == 403
    admin = site.login_user(site.member("admin"))
    assert admin.get("/api/v1/people").status_code == 200
    # A cookie POST still needs its CSRF token.
    assert admin.post("/api/v1/memberships", json={"name": "x"}).status_code == 403


def test_token_use_is_recorded_at_most_once_a_minute(site, smtp):
    """A token's use is written only when the last one recorded is over a
    minute old. The earlier uses are made on servers whose clock is behind
    (past_server), so the token's last_used is in the past."""
    names = {}

    def used(t):
        return site.scalar("SELECT last_used FROM api_tokens WHERE name = ?", names[t])

    for n in ("fresh", "recent", "stale"):
        names[token(site, "read", name=f"last used {n}")] = f"last used {n}"
    fresh, recent, stale = names
    c = site.client()
    assert c.get("/api/v1/people", headers=bearer(fresh)).status_code == 200
    assert used(fresh) >= int(time.time()) - 5  # the first use is recorded
    with past_server(site, -120) as old:
        assert old.client().get("/api/v1/people", headers=bearer(stale)).status_code == 200
    assert used(stale) <= int(time.time()) - 119
    assert c.get("/api/v1/people", headers=bearer(stale)).status_code == 200
    assert used(stale) >= int(time.time()) - 5
    # The last use 30 s ago (by the clock of the server that saw it): this
    # one is not written. Used on this server at once, before the minute is up.
    with past_server(site, -30) as old:
        assert old.client().get("/api/v1/people", headers=bearer(recent)).status_code == 200
        then = used(recent)
        assert then <= int(time.time()) - 29
        assert c.get("/api/v1/people", headers=bearer(recent)).status_code == 200
    assert used(recent) == then  # within the minute: nothing written


def test_revoked_tokens_stop_working(site, smtp):
    admin = site.login_user(site.member("admin"))
    page = admin.get("/admin/tokens").text
    r = admin.post("/admin/tokens", data={"csrf_token": scrape_csrf(page), "name": "CRM sync",
                                          "scope": "read"})
    assert r.status_code == 200
    t = re.search(r'<code class="token">([0-9a-f]{64})</code>', r.text).group(1)
    assert site.client().get("/api/v1/memberships", headers=bearer(t)).status_code == 200
    assert t not in admin.get("/admin/tokens").text  # shown once only
    page = admin.get("/admin/tokens").text
    (tid,) = re.findall(r"<td>CRM sync</td>.*?href=\"/admin/tokens/(\d+)/revoke\"", page)
    # A read: the token itself must be nowhere in the table (only its hash);
    # no page or API shows what is stored.
    assert not site.query("SELECT 1 FROM api_tokens WHERE token_hash = ?", t)
    page = admin.get(f"/admin/tokens/{tid}/revoke").text  # asks first
    r = admin.post(f"/admin/tokens/{tid}/revoke", data={"csrf_token": scrape_csrf(page)})
    assert r.status_code == 303
    assert site.client().get("/api/v1/memberships", headers=bearer(t)).status_code == 401


def test_pagination_and_filters(site, smtp):
    seed_people(site, 7)
    t = token(site, "read")
    c = site.client()
    r = c.get("/api/v1/people", params={"per_page": 3}, headers=bearer(t)).json()
    assert r["total"] == 7 and len(r["items"]) == 3 and r["next"].endswith("page=2&per_page=3")
    last = c.get("/api/v1/people", params={"per_page": 3, "page": 3}, headers=bearer(t)).json()
    assert len(last["items"]) == 1 and "next" not in last
    arg = c.get("/api/v1/people", params={"country": "ARG"}, headers=bearer(t)).json()
    assert arg["total"] == 3 and {p["country"] for p in arg["items"]} == {"ARG"}
    for bad in ({"per_page": 0}, {"per_page": 1000}, {"page": "x"}, {"country": "argentina"}):
        r = c.get("/api/v1/people", params=bad, headers=bearer(t))
        assert r.status_code == 400 and "fields" in r.json()["error"], bad


def test_sign_up_through_the_api_is_the_join_form(site, smtp):
    w = token(site, "write")
    c = site.client()
    person = {"kind": "organisation", "name": "Lina", "email": "lina@example.org",
              "country": "KEN", "organisation": "Haki", "org_type": "lawyers_association",
              "listing": "members", "groups": ["legal"], "not_government": True,
              "consent_store": True}
    r = c.post("/api/v1/memberships", headers=bearer(w), json=person)
    assert r.status_code == 202, r.text
    smtp.wait_for(1)
    assert "/join/confirm/" in SmtpCapture.body(smtp.messages_to("lina@example.org")[-1])
    # The same answer for an address that exists; a notice goes to its owner.
    again = c.post("/api/v1/memberships", headers=bearer(w), json=person)
    assert again.status_code == 202 and again.json() == r.json()
    smtp.wait_for(2)
    # Validation is the form's: every field's message, 400, nothing written.
    r = c.post("/api/v1/memberships", headers=bearer(w),
               json={"name": "", "email": "nope", "country": "XXX"})
    assert r.status_code == 400
    fields = r.json()["error"]["fields"]
    assert {"name", "email", "iso3", "not_government", "consent_store"} <= set(fields)
    r = c.post("/api/v1/memberships", headers=bearer(w), data="[1, 2]",
               )
    assert r.status_code in (400, 415)
    r = c.post("/api/v1/memberships", headers={**bearer(w), "Content-Type": "application/json"},
               data="{not json")
    assert r.status_code == 400
    t = token(site, "read")
    ms = c.get("/api/v1/memberships", params={"country": "KEN"}, headers=bearer(t)).json()
    assert ms["total"] == 1 and ms["items"][0]["kind"] == "organisation"
    orgs = c.get("/api/v1/organisations", headers=bearer(t)).json()
    assert [o["name"] for o in orgs["items"]] == ["Haki"]
