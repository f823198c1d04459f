"""
End-to-end tests of Ratify's foundation against the real binary: pages,
first login, login and sessions, throttling, CSRF, size limits, routing
errors, security headers, caching, permissions, languages, escaping, and the
command line (backup, check, user, help, version) and shutdown.
"""

import html
import json
import re
import signal
import socket
import threading
import time

import pytest

from factories import past_server
from ratify_server import (
    HTTP_TIMEOUT,
    REPO,
    SLOW,
    RatifyServer,
    assert_security_headers,
    parse_responses,
    raw_exchange,
    read_one_response,
    same_page,
    scrape_csrf,
    unique_email,
)

MAX_BODY = 1024 * 1024
FORM = "application/x-www-form-urlencoded"
WRONG_LOGIN_MESSAGE = "The email or password is not right."


def po_translation(lang, msgid):
    """The msgstr for msgid in po/LANG.po (simple one-line entries)."""
    text = (REPO / "po" / f"{lang}.po").read_text(encoding="utf-8")
    m = re.search(r'^msgid "' + re.escape(msgid) + r'"\nmsgstr "(.+)"$', text, re.M)
    assert m, f"po/{lang}.po has no translation for {msgid!r}"
    return m.group(1)


def html_lang_dir(page):
    m = re.search(r'<html lang="([^"]*)" dir="([^"]*)"', page)
    assert m, "no <html lang dir> in:\n" + page[:500]
    return m.group(1), m.group(2)


def set_cookie_lines(response):
    return response.raw.headers.getlist("Set-Cookie")


def cookie_line(response, name):
    lines = [c for c in set_cookie_lines(response) if c.split("=", 1)[0].strip() == name]
    assert len(lines) == 1, f"expected one Set-Cookie for {name}: {set_cookie_lines(response)}"
    return lines[0]


def cookie_attributes(line):
    parts = [p.strip() for p in line.split(";")]
    return {p.split("=", 1)[0].lower(): (p.split("=", 1)[1] if "=" in p else True) for p in parts[1:]}


def login_form_post(client, email, password, token=None, **extra):
    data = {"email": email, "password": password, "csrf_token": token or client.csrf("/login")}
    data.update(extra)
    return client.post("/login", data=data)


def raw_request(server, text, **kwargs):
    data, closed = raw_exchange(server.port, text.encode("latin-1"), **kwargs)
    responses, _ = parse_responses(data)
    return responses, closed, data


# ---------------------------------------------------------------- pages


def test_home_page_has_lang_and_dir(server):
    c = server.client()
    r = c.get("/")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert "charset=utf-8" in r.headers["Content-Type"].lower()
    assert html_lang_dir(r.text) == ("en", "ltr")
    assert 'href="/login"' in r.text
    assert '<link rel="stylesheet" href="/static/style.css' in r.text
    assert_security_headers(r.headers, "GET /")


def test_head_request_has_no_body(server):
    r = server.client().head("/")
    assert r.status_code == 200
    assert r.content == b""


def test_status_api(server):
    r = server.client().get("/api/v1/status")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    data = r.json()
    assert data["name"] == "ratify"
    assert data["version"] == source_version()
    assert data["schema_version"] >= 1


# ---------------------------------------------------------------- first login


def test_first_login_through_the_link_printed_by_init(server):
    c = server.client()
    link = server.init_welcome
    r = c.get(link)
    assert r.status_code == 200, r.text
    assert 'type="password"' in r.text
    token = scrape_csrf(r.text)
    password = "first admin password 1"
    r = c.post(link, data={"password": password, "confirm": password, "csrf_token": token})
    assert r.status_code == 303, r.text
    # An admin chooses a password, then must enrol a second factor before
    # reaching anything else.
    assert r.headers["Location"] == "/account/two-factor"
    assert c.cookies.get("session")
    r = c.get("/account")
    assert r.status_code == 303 and r.headers["Location"] == "/account/two-factor"
    server.enrol(c, server.admin_email)
    r = c.get("/account")
    assert r.status_code == 200
    assert server.admin_email in r.text
    me = c.get("/api/v1/me").json()["account"]
    assert me["email"] == server.admin_email
    assert me["role"] == "admin"
    # The link is single use.
    other = server.client()
    assert other.get(link).status_code == 404
    r = other.post(link, data={"password": "another password 2", "confirm": "another password 2",
                               "csrf_token": other.csrf("/login")})
    assert r.status_code == 404
    # And the password chosen through it works for a normal login.
    server.login(server.admin_email, password)


def test_welcome_link_is_single_use(server):
    user = server.add_user("member")  # no password: only the link
    c = server.client()
    r = c.get(user.welcome)
    assert r.status_code == 200
    password = "a welcome password"
    r = c.post(user.welcome, data={"password": password, "confirm": password,
                                   "csrf_token": scrape_csrf(r.text)})
    assert r.status_code == 303
    assert r.headers["Location"] == "/account"
    r = server.client().get(user.welcome)
    assert r.status_code == 404
    assert_security_headers(r.headers, "404 welcome")
    server.login(user.email, password)


def test_welcome_form_errors_keep_the_link_valid(server):
    user = server.add_user("member")
    c = server.client()
    token = scrape_csrf(c.get(user.welcome).text)
    r = c.post(user.welcome, data={"password": "short", "confirm": "short", "csrf_token": token})
    assert r.status_code == 400
    assert 'aria-invalid="true"' in r.text
    r = c.post(user.welcome, data={"password": "long enough password", "confirm": "something else",
                                   "csrf_token": token})
    assert r.status_code == 400
    assert "confirm-error" in r.text
    assert not c.cookies.get("session")
    # Nothing was used up: the link still works.
    r = c.post(user.welcome, data={"password": "long enough password",
                                   "confirm": "long enough password", "csrf_token": token})
    assert r.status_code == 303


def test_unknown_welcome_token_is_404(server):
    r = server.client().get("/welcome/" + "0" * 64)
    assert r.status_code == 404


# ---------------------------------------------------------------- login


def test_login_sets_a_safe_session_cookie(server):
    user = server.member()
    c = server.client()
    r = login_form_post(c, user.email, user.password)
    assert r.status_code == 303
    assert r.headers["Location"] == "/"
    line = cookie_line(r, "session")
    value = line.split(";", 1)[0].split("=", 1)[1]
    assert re.fullmatch(r"[0-9a-f]{64}", value), line
    attrs = cookie_attributes(line)
    assert attrs.get("httponly") is True, line
    assert str(attrs.get("samesite", "")).lower() == "lax", line
    assert attrs.get("path") == "/", line
    assert "max-age" not in attrs and "expires" not in attrs, "the session cookie should not persist"
    # The pre-session cookie is dropped at login.
    pre = cookie_line(r, "presession")
    assert cookie_attributes(pre).get("max-age") == "0", pre
    r = c.get("/account")
    assert r.status_code == 200
    assert user.email in r.text


def test_login_redirects_only_to_local_next(server):
    user = server.member()
    c = server.client()
    r = login_form_post(c, user.email, user.password, next="/account")
    assert r.status_code == 303
    assert r.headers["Location"] == "/account"
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        c = server.client()
        r = login_form_post(c, user.email, user.password, next=evil)
        assert r.status_code == 303
        assert r.headers["Location"] == "/", evil


def test_new_session_token_at_each_login(server):
    user = server.member()
    c = server.client()
    planted = "ab" * 32  # a session id fixed by an attacker before login
    c.cookies.set("session", planted, domain="127.0.0.1", path="/")
    server.login_user(user, c)
    first = c.cookies.get("session")
    assert first and first != planted
    # Logging in again from the same browser issues another token and ends
    # the old session.
    token = scrape_csrf(c.get("/account").text)
    r = login_form_post(c, user.email, user.password, token=token)
    assert r.status_code == 303
    second = c.cookies.get("session")
    assert second and second != first
    assert c.get("/account").status_code == 200
    stale = server.client()
    stale.cookies.set("session", first, domain="127.0.0.1", path="/")
    r = stale.get("/account")
    assert r.status_code == 303
    assert r.headers["Location"].startswith("/login")


def test_wrong_password_shows_the_form_again(server):
    user = server.member()
    c = server.client()
    r = login_form_post(c, user.email, "not the password at all")
    assert r.status_code == 400
    assert r.headers["Content-Type"].startswith("text/html")
    assert f'value="{user.email}"' in r.text
    assert WRONG_LOGIN_MESSAGE in html.unescape(r.text)
    assert 'role="alert"' in r.text
    assert "not the password at all" not in r.text
    assert not c.cookies.get("session")
    assert_security_headers(r.headers, "400 login")


def test_unknown_email_answers_like_a_wrong_password(server):
    user = server.member()
    c = server.client()
    token = c.csrf("/login")
    unknown = unique_email("nobody")
    wrong = login_form_post(c, user.email, "wrong password here", token=token)
    missing = login_form_post(c, unknown, "wrong password here", token=token)
    assert wrong.status_code == missing.status_code == 400
    assert (same_page(wrong.text).replace(user.email, "EMAIL")
            == same_page(missing.text).replace(unknown, "EMAIL"))
    assert sorted(h.lower() for h in wrong.headers if h.lower() not in ("date", "x-request-id")) == \
        sorted(h.lower() for h in missing.headers if h.lower() not in ("date", "x-request-id"))


def test_login_form_errors_keep_what_was_typed(server):
    c = server.client()
    r = login_form_post(c, "not-an-email", "")
    assert r.status_code == 400
    assert 'value="not-an-email"' in r.text
    assert 'aria-invalid="true"' in r.text


def test_sixth_failed_attempt_is_throttled_even_with_the_right_password(fresh_server):
    srv = fresh_server
    user = srv.member()
    bystander = srv.member()
    c = srv.client()
    for i in range(5):
        r = login_form_post(c, user.email, f"wrong password {i}")
        assert r.status_code == 400, f"attempt {i + 1}: {r.status_code}"
    r = login_form_post(c, user.email, user.password)
    assert r.status_code == 429
    assert not c.cookies.get("session")
    assert r.headers["Content-Type"].startswith("text/html")
    assert f'value="{user.email}"' in r.text
    assert_security_headers(r.headers, "429")
    # A fresh browser does not escape the account's counter...
    r = login_form_post(srv.client(), user.email, user.password)
    assert r.status_code == 429
    # ...but other accounts are not locked by it.
    srv.login_user(bystander)


# ---------------------------------------------------------------- logout


def test_logout_ends_the_session(server):
    user = server.member()
    c = server.login_user(user)
    old = c.cookies.get("session")
    token = scrape_csrf(c.get("/account").text)
    r = c.post("/logout", data={"csrf_token": token})
    assert r.status_code == 303
    assert r.headers["Location"] == "/"
    assert cookie_attributes(cookie_line(r, "session")).get("max-age") == "0"
    # The old cookie, replayed, no longer opens anything.
    replay = server.client()
    replay.cookies.set("session", old, domain="127.0.0.1", path="/")
    r = replay.get("/account")
    assert r.status_code == 303
    assert r.headers["Location"] == "/login?next=%2Faccount"
    r = replay.get("/api/v1/me")
    assert r.status_code == 401


def session_last_seen(site, email):
    """The last_seen of the user's session (None: no session)."""
    return site.query_one("SELECT s.last_seen FROM sessions s JOIN users u "
                          "ON u.id = s.user_id WHERE u.email = ?", email)


def logged_in_earlier(site, offset):
    """A new member who logged in on a server whose clock was offset
    seconds behind (so the session was made and last seen then), and a
    client of site holding that session."""
    user = site.member()
    with past_server(site, -offset) as old:
        session = old.login_user(user).cookies.get("session")
    c = site.client()
    c.cookies.set("session", session, domain="127.0.0.1", path="/")
    return user, c


def test_session_use_is_written_at_most_every_five_minutes(server):
    """A page view writes nothing unless the session was last seen over five
    minutes ago: most logged-in page views do not wait for a commit."""
    user, c = logged_in_earlier(server, 6 * 60)
    (stale,) = session_last_seen(server, user.email)
    assert stale <= int(time.time()) - 6 * 60
    assert c.get("/account").status_code == 200
    (seen,) = session_last_seen(server, user.email)
    assert seen >= int(time.time()) - 5
    user, c = logged_in_earlier(server, 120)
    (recent,) = session_last_seen(server, user.email)
    assert c.get("/account").status_code == 200
    assert session_last_seen(server, user.email) == (recent,)
    # Idle for more than eight hours: refused, and the row is gone.
    user, c = logged_in_earlier(server, 8 * 3600 + 10)
    assert session_last_seen(server, user.email) is not None
    r = c.get("/account")
    assert r.status_code == 303 and r.headers["Location"].startswith("/login")
    assert session_last_seen(server, user.email) is None


def test_logout_needs_post(server):
    c = server.login_user(server.member())
    r = c.get("/logout")
    assert r.status_code == 405
    assert c.get("/account").status_code == 200


# ---------------------------------------------------------------- CSRF


def test_login_post_without_csrf_token_is_403(server):
    user = server.member()
    c = server.client()
    c.get("/login")
    r = c.post("/login", data={"email": user.email, "password": user.password})
    assert r.status_code == 403
    assert not c.cookies.get("session")
    assert_security_headers(r.headers, "403")


def test_login_post_with_a_wrong_csrf_token_is_403(server):
    user = server.member()
    c = server.client()
    token = c.csrf("/login")
    forged = ("0" if token[0] != "0" else "1") + token[1:]
    r = login_form_post(c, user.email, user.password, token=forged)
    assert r.status_code == 403
    r = login_form_post(c, user.email, user.password, token="short")
    assert r.status_code == 403
    assert not c.cookies.get("session")


def test_csrf_token_of_another_browser_is_403(server):
    user = server.member()
    victim, attacker = server.client(), server.client()
    attacker_token = attacker.csrf("/login")
    victim.get("/login")  # the victim has a presession of its own
    assert victim.cookies.get("presession") != attacker.cookies.get("presession")
    r = login_form_post(victim, user.email, user.password, token=attacker_token)
    assert r.status_code == 403
    # Without any presession cookie a token is worth nothing either.
    r = login_form_post(server.client(), user.email, user.password, token=attacker_token)
    assert r.status_code == 403


def test_logged_in_posts_need_the_sessions_token(server):
    alice = server.login_user(server.member())
    bob = server.login_user(server.member())
    bob_token = scrape_csrf(bob.get("/account").text)
    for data in ({"display_name": "x"}, {"display_name": "x", "csrf_token": "f" * 64},
                 {"display_name": "x", "csrf_token": bob_token}):
        r = alice.post("/account", data=data)
        assert r.status_code == 403, data
    # A pre-login token stops working once logged in.
    pre = server.client()
    pre_token = pre.csrf("/login")
    r = alice.post("/account", data={"display_name": "x", "csrf_token": pre_token})
    assert r.status_code == 403
    r = alice.post("/logout", data={})
    assert r.status_code == 403
    assert alice.get("/account").status_code == 200  # still logged in


def test_csrf_header_works_for_scripts(server):
    c = server.login_user(server.member())
    token = scrape_csrf(c.get("/account").text)
    r = c.post("/account", data={"display_name": "Via header"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 303
    assert c.get("/api/v1/me").json()["account"]["display_name"] == "Via header"


# ---------------------------------------------------------------- size limits


def test_declared_oversized_body_is_413_before_it_is_sent(server):
    req = ("POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           f"Content-Type: {FORM}\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n")
    responses, closed, data = raw_request(server, req)
    assert responses, data
    r = responses[0]
    assert r.status == 413, r
    assert closed, "the connection should be closed after a 413 sent before the body"
    assert_security_headers(r, "early 413")


def test_expect_100_continue_gets_413_instead_of_continue(server):
    req = ("POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           f"Content-Type: {FORM}\r\nContent-Length: {2 * MAX_BODY}\r\n"
           "Expect: 100-continue\r\n\r\n")
    responses, closed, data = raw_request(server, req)
    assert data.startswith(b"HTTP/1.1 413"), data[:200]
    assert b"100 Continue" not in data
    assert closed


def test_oversized_body_through_requests_is_413(server):
    c = server.client()
    token = c.csrf("/login")
    try:
        r = c.post("/login", data={"csrf_token": token, "email": "a@example.org",
                                   "password": "x" * (MAX_BODY + 10)})
    except Exception as e:  # the server may close before the body is all sent
        pytest.fail(f"no 413 answer, the client saw {e!r}")
    assert r.status_code == 413
    assert_security_headers(r.headers, "413")


def test_chunked_body_over_the_limit_is_413(server):
    head = ("POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: {FORM}\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    piece = b"a" * 65536
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(MAX_BODY // len(piece) + 2))
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=HTTP_TIMEOUT)
    try:
        try:
            sock.sendall(head + chunks + b"0\r\n\r\n")
        except OSError:
            pass  # the server may stop reading once over the limit
        r, data = read_one_response(sock, HTTP_TIMEOUT)
    finally:
        sock.close()
    assert r is not None, data[:300]
    assert r.status == 413, r
    assert_security_headers(r, "chunked 413")


def test_body_of_exactly_the_limit_is_read(server):
    c = server.client()
    token = c.csrf("/login")
    prefix = f"csrf_token={token}&email=a%40example.org&next=/&password="
    body = prefix + "p" * (MAX_BODY - len(prefix))
    assert len(body) == MAX_BODY
    r = c.post("/login", data=body, headers={"Content-Type": FORM})
    assert r.status_code != 413
    assert r.status_code == 400  # a password that long is refused as input


# ---------------------------------------------------------------- routing errors


def test_unknown_page_is_404_html(server):
    r = server.client().get("/no/such/page")
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<h1>404</h1>" in r.text
    assert_security_headers(r.headers, "404 html")


def test_unknown_api_path_is_a_json_error(server):
    r = server.client().get("/api/v1/nope")
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("application/json")
    err = r.json()["error"]
    assert err["status"] == 404
    assert err["message"]
    assert re.fullmatch(r"[0-9a-f]{16}", err["request_id"])
    assert err["request_id"] == r.headers["X-Request-Id"]
    assert_security_headers(r.headers, "404 json")


def allowed(response):
    return {m.strip().upper() for m in response.headers.get("Allow", "").split(",") if m.strip()}


def test_unsupported_method_is_405_with_allow(server):
    r = server.client().put("/", data="x")
    assert r.status_code == 405
    assert "GET" in allowed(r)
    assert_security_headers(r.headers, "405")


def methods_in_routes_def(path):
    """The methods routes.def serves path with (HEAD goes with GET)."""
    methods = {m for m, pattern, *_ in routes_from_source() if pattern == path}
    assert methods, f"{path} is not in routes.def"
    return methods | ({"HEAD"} if "GET" in methods else set())


def test_post_to_a_get_only_route_is_405_with_an_accurate_allow(server):
    r = server.client().post("/api/v1/status", data={"a": "b"})
    assert r.status_code == 405
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json()["error"]["status"] == 405
    # Allow lists the methods the resource supports (RFC 9110 15.5.6):
    # /api/v1/status is GET only, so POST must not be offered.
    assert allowed(r) == methods_in_routes_def("/api/v1/status"), r.headers.get("Allow")


def test_put_has_an_accurate_allow(server):
    for path in ("/", "/login"):
        r = server.client().put(path, data="x")
        assert r.status_code == 405
        assert allowed(r) == methods_in_routes_def(path), f"{path}: {r.headers.get('Allow')}"


def test_post_to_an_unknown_path_is_404_not_405(server):
    c = server.login_user(server.member())
    r = c.post("/account/does-not-exist", data={"csrf_token": scrape_csrf(c.get("/account").text)})
    assert r.status_code == 404


def test_json_body_on_a_form_route_is_415(server):
    c = server.client()
    token = c.csrf("/login")
    r = c.post("/login", data=json.dumps({"email": "a@example.org", "password": "x",
                                          "csrf_token": token}),
               headers={"Content-Type": "application/json"})
    assert r.status_code == 415
    assert_security_headers(r.headers, "415")


def test_multipart_login_is_accepted(server):
    user = server.member()
    c = server.client()
    token = c.csrf("/login")
    fields = {"email": (None, user.email), "password": (None, user.password),
              "csrf_token": (None, token)}
    r = c.post("/login", files=fields)
    assert r.status_code == 303, r.text[:500]


# ---------------------------------------------------------------- security headers


def _early_400(server):
    req = ("POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
           "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    responses, closed, data = raw_request(server, req)
    assert responses and responses[0].status == 400, data[:300]
    return responses[0]


def _early_413(server):
    req = f"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {10 * MAX_BODY}\r\n\r\n"
    responses, closed, data = raw_request(server, req)
    assert responses and responses[0].status == 413, data[:300]
    return responses[0]


def _logged_in(server):
    if not hasattr(server, "_headers_user"):
        server._headers_user = server.member()
    return server.login_user(server._headers_user)


RESPONSES = {
    "200 page": (200, lambda s: s.client().get("/")),
    "200 logged-in page": (200, lambda s: _logged_in(s).get("/account")),
    "303 redirect": (303, lambda s: s.client().get("/account")),
    "400 form": (400, lambda s: login_form_post(s.client(), "bad", "")),
    "401 api": (401, lambda s: s.client().get("/api/v1/me")),
    "403 csrf": (403, lambda s: s.client().post("/login", data={"email": "a@example.org"})),
    "404 page": (404, lambda s: s.client().get("/nope")),
    "405 method": (405, lambda s: s.client().delete("/")),
    "413 too large": (413, _early_413),
    "415 type": (415, lambda s: s.client().post("/login", data="{}",
                                                headers={"Content-Type": "application/json"})),
    "static file": (200, lambda s: s.client().get("/static/style.css")),
    "304 not modified": (304, lambda s: s.client().get(
        "/static/style.css",
        headers={"If-None-Match": s.client().get("/static/style.css").headers["ETag"]})),
    "api json": (200, lambda s: s.client().get("/api/v1/status")),
    "early 400 framing": (400, _early_400),
}


@pytest.mark.parametrize("kind", sorted(RESPONSES))
def test_security_headers_on_every_kind_of_response(server, kind):
    status, make = RESPONSES[kind]
    r = make(server)
    got = r.status_code if hasattr(r, "status_code") else r.status
    assert got == status
    assert_security_headers(r.headers if hasattr(r, "status_code") else r, kind)


def test_logged_in_pages_are_not_stored(server):
    c = server.login_user(server.member())
    for path in ("/account", "/api/v1/me", "/"):
        r = c.get(path)
        assert r.status_code == 200
        assert "no-store" in r.headers.get("Cache-Control", ""), path


# ---------------------------------------------------------------- static files


def test_static_file_etag_and_304(server):
    c = server.client()
    r = c.get("/static/style.css")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/css")
    etag = r.headers["ETag"]
    assert re.fullmatch(r'"[^"]+"', etag)
    cache = r.headers["Cache-Control"]
    assert "immutable" in cache and "max-age=31536000" in cache
    assert "presession" not in r.headers.get("Set-Cookie", "")
    r2 = c.get("/static/style.css", headers={"If-None-Match": etag})
    assert r2.status_code == 304
    assert r2.content == b""
    assert r2.headers["ETag"] == etag
    r3 = c.get("/static/style.css", headers={"If-None-Match": '"something-else"'})
    assert r3.status_code == 200
    assert r3.content == r.content


def test_static_files_stay_cacheable_for_logged_in_users(server):
    """A logged-in browser loads the same public stylesheet: it should get
    one Cache-Control, the immutable one, not a second one saying no-store
    (which wins and makes every page view fetch the stylesheet again)."""
    c = server.login_user(server.member())
    r = c.get("/static/style.css")
    assert r.status_code == 200
    values = r.raw.headers.getlist("Cache-Control")
    assert len(values) == 1, f"conflicting Cache-Control headers: {values}"
    assert "immutable" in values[0] and "no-store" not in values[0]


def test_unknown_or_hidden_static_files_are_404(server):
    c = server.client()
    for path in ("/static/nope.css", "/static/.hidden", "/static/..%2Fsrc%2Fmain.c",
                 "/static/../Makefile"):
        r = c.get(path)
        assert r.status_code == 404, path


# ---------------------------------------------------------------- account, API, permissions


def test_api_me_returns_what_the_account_page_shows(server):
    coord = server.member("coordinator", countries=("ARG", "BOL"))
    c = server.login_user(coord)
    page = html.unescape(c.get("/account").text)
    r = c.get("/api/v1/me")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    account = r.json()["account"]
    for field in ("email", "role", "display_name", "lang", "countries"):
        assert field in account, field
    assert account["email"] == coord.email
    assert account["role"] == "coordinator"
    # The page shows the same in people's words (issue 14): the role's name,
    # the countries' names.
    assert account["email"] in page
    assert "<dd>Coordinator</dd>" in page and "<dd>coordinator</dd>" not in page
    assert f'value="{account["display_name"]}"' in page


def test_coordinator_countries_appear_in_api_me(server):
    coord = server.member("coordinator", countries=("BOL", "ARG"))
    c = server.login_user(coord)
    me = c.get("/api/v1/me").json()["account"]
    assert me["countries"] == ["ARG", "BOL"]
    page = c.get("/account").text
    assert "Argentina, Bolivia" in page and "ARG BOL" not in page


def test_member_gets_403_on_admin_pages(server):
    c = server.login_user(server.member())
    r = c.get("/admin/users")
    assert r.status_code == 403
    assert r.headers["Content-Type"].startswith("text/html")
    r = c.get("/api/v1/users")
    assert r.status_code == 403
    assert r.json()["error"]["status"] == 403
    coord = server.login_user(server.member("coordinator", countries=("ARG",)))
    assert coord.get("/admin/users").status_code == 403


def test_admin_sees_the_user_list(server):
    admin = server.login_user(server.member("admin"))
    member = server.member()
    r = admin.get("/admin/users")
    assert r.status_code == 200
    assert member.email in r.text
    users = admin.get("/api/v1/users").json()["users"]
    assert member.email in [u["email"] for u in users]
    assert "password_hash" not in json.dumps(users)


def test_anonymous_account_page_redirects_to_login(server):
    r = server.client().get("/account")
    assert r.status_code == 303
    assert r.headers["Location"] == "/login?next=%2Faccount"
    assert_security_headers(r.headers, "303")


def test_anonymous_api_me_is_401_json(server):
    r = server.client().get("/api/v1/me")
    assert r.status_code == 401
    assert r.headers["Content-Type"].startswith("application/json")
    err = r.json()["error"]
    assert err["status"] == 401 and err["message"]
    assert "Location" not in r.headers


def test_account_post_saves_and_rejects_bad_language(server):
    c = server.login_user(server.member())
    token = scrape_csrf(c.get("/account").text)
    r = c.post("/account", data={"csrf_token": token, "display_name": "Ana", "lang": "xx"})
    assert r.status_code == 400
    assert c.get("/api/v1/me").json()["account"]["display_name"] != "Ana"
    r = c.post("/account", data={"csrf_token": token, "display_name": "Ana", "lang": ""})
    assert r.status_code == 303
    assert c.get("/api/v1/me").json()["account"]["display_name"] == "Ana"


# ---------------------------------------------------------------- languages


@pytest.mark.parametrize("header,lang", [("es", "es"), ("es-AR,es;q=0.9,en;q=0.5", "es"),
                                          ("fr-CH, fr;q=0.9", "fr"), ("de, fr;q=0.5", "fr")])
def test_accept_language_picks_the_language(server, header, lang):
    r = server.client().get("/", headers={"Accept-Language": header})
    assert r.status_code == 200
    assert html_lang_dir(r.text) == (lang, "ltr")
    text = html.unescape(r.text)
    assert po_translation(lang, "Log in") in text
    assert po_translation(lang, "Countries") in text


def test_arabic_is_right_to_left(server):
    r = server.client().get("/login", headers={"Accept-Language": "ar"})
    assert html_lang_dir(r.text) == ("ar", "rtl")
    assert po_translation("ar", "Log in") in html.unescape(r.text)


def test_unknown_language_falls_back_to_english(server):
    r = server.client().get("/", headers={"Accept-Language": "zz, xx;q=0.5"})
    assert html_lang_dir(r.text) == ("en", "ltr")


def test_profile_language_beats_the_browser(server):
    c = server.login_user(server.member())
    c.headers["Accept-Language"] = "es"
    r = c.get("/account")
    assert html_lang_dir(r.text)[0] == "es"
    r = c.post("/account", data={"csrf_token": scrape_csrf(r.text), "lang": "fr"})
    assert r.status_code == 303
    r = c.get("/account")
    assert html_lang_dir(r.text) == ("fr", "ltr")
    assert po_translation("fr", "Countries") in html.unescape(r.text)
    assert c.get("/api/v1/me").json()["account"]["lang"] == "fr"
    # The error pages follow the profile too.
    r = c.get("/nope")
    assert html_lang_dir(r.text)[0] == "fr"


# ---------------------------------------------------------------- escaping


HOSTILE = "<script>alert(1)</script>\"'"


def test_hostile_display_name_is_escaped(server):
    user = server.member()
    c = server.login_user(user)
    r = c.post("/account", data={"csrf_token": scrape_csrf(c.get("/account").text),
                                 "display_name": HOSTILE})
    assert r.status_code == 303
    assert c.get("/api/v1/me").json()["account"]["display_name"] == HOSTILE
    admin = server.login_user(server.member("admin"))
    for who, path in ((c, "/account"), (admin, "/admin/users")):
        page = who.get(path).text
        assert "<script>alert(1)" not in page, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path
        # The quotes cannot end an attribute or a string either.
        assert "&lt;/script&gt;\"" not in page and "&lt;/script&gt;'" not in page, path
        assert "&lt;/script&gt;&quot;" in page or "&lt;/script&gt;&#34;" in page, path
    users = admin.get("/api/v1/users").json()["users"]
    assert HOSTILE in [u["display_name"] for u in users]


# ---------------------------------------------------------------- backup and check


def test_backup_while_serving_and_writing(server, tmp_path):
    users = [server.member() for _ in range(3)]
    stop = threading.Event()
    errors, writes = [], []

    def writer():
        i = 0
        while not stop.is_set():
            try:
                u = users[i % len(users)]
                c = server.login_user(u)  # a session row and an audit row
                token = scrape_csrf(c.get("/account").text)
                r = c.post("/account", data={"csrf_token": token, "display_name": f"w{i}"})
                assert r.status_code == 303
                writes.append(i)
            except Exception as e:  # reported below
                errors.append(e)
                return
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        deadline = time.monotonic() + 10 * SLOW
        while not writes and time.monotonic() < deadline:
            time.sleep(0.01)
        backups = []
        for n in range(3):
            path = tmp_path / f"backup-{n}.db"
            p = server.cli("backup", str(path))
            assert p.returncode == 0, p.stderr
            backups.append(path)
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=30 * SLOW)
    assert not errors, errors
    assert writes, "the writer never wrote"
    for path in backups:
        p = server.cli("check", "--db", str(path), db=False)
        assert p.returncode == 0, p.stdout + p.stderr
        assert "integrity ok" in p.stdout
        p = server.cli("user", "list", "--db", str(path), db=False)
        assert p.returncode == 0, p.stderr
        for u in users:
            assert u.email in p.stdout


def test_check_on_the_live_database(server):
    server.login_user(server.member())
    p = server.cli("check")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "integrity ok" in p.stdout and "foreign keys ok" in p.stdout


def test_backup_of_a_missing_database_fails(server, tmp_path):
    p = server.cli("backup", str(tmp_path / "b.db"), "--db", str(tmp_path / "none.db"), db=False)
    assert p.returncode == 3
    assert server.cli("backup", db=True).returncode == 2


# ---------------------------------------------------------------- command line


def source_version():
    m = re.search(r'#define RATIFY_VERSION "([^"]+)"', (REPO / "src" / "base" / "version.h").read_text())
    return m.group(1)


def test_version(server):
    p = server.cli("version", db=False)
    assert p.returncode == 0
    assert source_version() in p.stdout
    assert p.stdout.startswith("ratify ")


def test_help(server):
    p = server.cli("help", db=False)
    assert p.returncode == 0
    for cmd in ("serve", "init", "user add", "user passwd", "backup", "check", "version"):
        assert cmd in p.stdout


def test_no_command_is_bad_usage(server):
    assert server.cli(db=False).returncode == 2


def test_unknown_command_exits_2(server):
    p = server.cli("frobnicate", db=False)
    assert p.returncode == 2
    assert "frobnicate" in p.stderr


def test_user_add_with_a_bad_email_exits_2(server):
    for email in ("not-an-email", "a@", "@example.org", "a b@example.org"):
        p = server.cli("user", "add", email, "--role", "member")
        assert p.returncode == 2, email
        assert p.stderr


def test_user_add_with_a_bad_role_exits_2(server):
    p = server.cli("user", "add", unique_email(), "--role", "emperor")
    assert p.returncode == 2
    p = server.cli("user", "add", unique_email())
    assert p.returncode == 2


def test_user_add_duplicate_email_exits_4(server):
    user = server.add_user("member")
    p = server.cli("user", "add", user.email, "--role", "admin")
    assert p.returncode == 4
    p = server.cli("user", "add", user.email.upper(), "--role", "member")
    assert p.returncode == 4, "emails are compared without case"


def test_user_add_with_a_bad_country_exits_2(server):
    email = unique_email("coord")
    for country in ("argentina", "ar", "AR1", ""):
        p = server.cli("user", "add", email, "--role", "coordinator", "--country", country)
        assert p.returncode == 2, country
    p = server.cli("user", "list")
    assert email not in p.stdout, "a refused user add must leave nothing behind"


def test_user_passwd_for_an_unknown_email_exits_3(server):
    p = server.cli("user", "passwd", unique_email("ghost"), input="a long enough password\n")
    assert p.returncode == 3


def test_user_passwd_rejects_a_short_password(server):
    user = server.add_user("member")
    p = server.cli("user", "passwd", user.email, input="short\n")
    assert p.returncode == 2


def test_user_passwd_ends_the_users_sessions(server):
    user = server.member()
    c = server.login_user(user)
    p = server.cli("user", "passwd", user.email, input="a brand new password\n")
    assert p.returncode == 0
    assert c.get("/account").status_code == 303
    server.login(user.email, "a brand new password")


def test_user_list_shows_users(server):
    user = server.member("coordinator", countries=("ARG",))
    p = server.cli("user", "list")
    assert p.returncode == 0
    line = next(l for l in p.stdout.splitlines() if l.startswith(user.email))
    assert "coordinator" in line and "ARG" in line and "set" in line


def routes_from_source():
    text = (REPO / "src" / "feat" / "routes.def").read_text()
    routes = re.findall(
        r'^ROUTE\(\s*(\w+)\s*,\s*"([^"]+)"\s*,\s*(\w+)\s*,\s*(\w+)\s*,\s*(\w+)\s*\)', text, re.M)
    assert routes, "no ROUTE lines in src/feat/routes.def"
    return routes


def test_help_routes_lists_every_route_in_routes_def(server):
    p = server.cli("help", "routes", db=False)
    assert p.returncode == 0
    printed = [line.split() for line in p.stdout.splitlines()[1:] if line.strip()]
    expected = [[method, path, perm, "yes" if csrf == "CSRF" else "no", handler]
                for method, path, handler, perm, csrf in routes_from_source()]
    assert printed == expected


# ---------------------------------------------------------------- shutdown


def test_sigterm_while_idle_exits_0_and_leaves_a_sound_database(tmp_path):
    srv = RatifyServer(tmp_path / "srv")
    srv.start()
    try:
        srv.login_user(srv.member())
    finally:
        code = srv.stop()
    assert code == 0, srv.log()[-3000:]
    assert "stopped" in srv.log()
    p = srv.cli("check")
    assert p.returncode == 0, p.stdout + p.stderr
    srv.stop_and_check()


def test_sigterm_lets_a_request_being_uploaded_finish(tmp_path):
    """A request whose body is still arriving when SIGTERM comes is in
    flight: the server should answer it before stopping, not drop it."""
    srv = RatifyServer(tmp_path / "srv")
    srv.start()
    try:
        user = srv.member()
        c = srv.client()
        token = c.csrf("/login")
        cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
        body = (f"email={user.email.replace('@', '%40')}&password={user.password.replace(' ', '+')}"
                f"&csrf_token={token}").encode()
        head = (f"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
                f"Content-Type: {FORM}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=HTTP_TIMEOUT)
        try:
            sock.sendall(head + body[:10])
            time.sleep(0.3 * SLOW)
            srv.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3 * SLOW)
            try:
                sock.sendall(body[10:])
            except OSError:
                pass
            r, data = read_one_response(sock, HTTP_TIMEOUT)
        finally:
            sock.close()
        assert r is not None, f"no answer to the request in flight (got {data[:200]!r})"
        assert r.status == 303, r
    finally:
        srv.stop_and_check()
