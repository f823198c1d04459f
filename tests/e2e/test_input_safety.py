"""
Text from outside (issue 8): every text a request carries is checked as
UTF-8 without control characters at the boundary, and nothing a request
sends may stop the server. The requests here once aborted the process
(POST /login with email=%C3%28 killed it through json_build).
"""

import socket

import pytest

from ratify_server import raw_exchange, scrape_csrf

# Overlong, truncated, surrogate and plain invalid sequences, percent-encoded.
BAD = ["%C3%28", "%FF%FE", "%C0%AF", "%ED%A0%80", "%F4%90%80%80", "%00", "a%01b", "%7F"]


def post_raw_form(client, path, body):
    """POSTs an already-encoded urlencoded body (requests would re-encode a
    dict of str)."""
    return client.post(path, data=body.encode(),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})


def alive(site):
    r = site.client().get("/api/v1/status")
    return r.status_code == 200


@pytest.mark.parametrize("bad", BAD)
def test_login_with_invalid_text_is_400_and_the_server_stays_up(server, bad):
    c = server.client()
    token = scrape_csrf(c.get("/login").text)
    r = post_raw_form(c, "/login", f"csrf_token={token}&email={bad}&password=x")
    assert r.status_code == 400, r.text[:500]
    assert "UTF-8" in r.text
    assert alive(server)


@pytest.mark.parametrize("field", ["name", "email", "languages", "kind", "org_name", "website"])
def test_join_with_invalid_text_in_any_field_is_400(server, field):
    c = server.client()
    token = scrape_csrf(c.get("/join").text)
    fields = {"csrf_token": token, "kind": "individual", "name": "Ana", "email": "a@example.org",
              "iso3": "ARG", "consent_store": "1", "not_government": "1"}
    fields[field] = "x%C3%28y"
    body = "&".join(f"{k}={v}" for k, v in fields.items())
    r = post_raw_form(c, "/join", body)
    assert r.status_code == 400
    assert alive(server)


def test_the_message_is_in_the_users_language(server):
    c = server.client()
    token = scrape_csrf(c.get("/login").text)
    r = c.post("/login", data=f"csrf_token={token}&email=%FF".encode(),
               headers={"Content-Type": "application/x-www-form-urlencoded",
                        "Accept-Language": "es"})
    assert r.status_code == 400
    assert 'lang="es"' in r.text
    assert "UTF-8" in r.text and "caracteres" in r.text


def test_invalid_text_in_query_and_path_is_400(server):
    c = server.client()
    for path in ["/countries?status=%C3%28", "/countries/%FF%FEA", "/members?q=%ED%A0%80",
                 "/login?next=/%0Aforged", "/api/v1/countries?region=%C0%AF"]:
        r = c.get(path)
        assert r.status_code == 400, (path, r.status_code)
    assert alive(server)


def test_invalid_text_in_a_multipart_name_or_value_is_400(server):
    c = server.client()
    token = scrape_csrf(c.get("/login").text)
    boundary = "XyZ"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\n").encode()
    body += b"\xc3\x28\r\n" + f"--{boundary}--\r\n".encode()
    r = c.post("/login", data=body,
               headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 400
    assert alive(server)


def test_invalid_text_in_a_json_body_is_400(server):
    admin = server.member("admin")
    p = server.cli("token", "add", "t", "--scope", "write")
    assert p.returncode == 0, p.stderr
    token = p.stdout.split()[-1]
    assert len(token) == 64, p.stdout
    c = server.client()
    for body in [b'{"email": "a\\u0000b@example.org", "name": "x"}',
                 b'{"email": "\xc3\x28@example.org"}', b'{"na\\u0001me": "x"}']:
        r = c.post("/api/v1/memberships", data=body,
                   headers={"Authorization": f"Bearer {token}",
                            "Content-Type": "application/json"})
        assert r.status_code == 400, (body, r.status_code, r.text[:300])
    assert admin and alive(server)


def test_a_header_that_is_not_utf8_text_is_400(server):
    for value in [b"\xff\xfe", b"a\x7fb", b"\xc0\xaf"]:
        data, _ = raw_exchange(server.port, b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: " + value
                               + b"\r\nConnection: close\r\n\r\n")
        assert data.startswith(b"HTTP/1.1 400"), data[:200]
    assert alive(server)


def test_the_access_log_never_holds_a_raw_newline_from_the_path(server):
    c = server.client()
    c.get("/nothing%0Aforged-line%0D")
    log = server.wait_for_log("forged-line")
    assert "\nforged-line" not in log
    assert "?forged-line?" in log
