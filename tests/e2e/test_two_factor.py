"""
Two-factor sign-in (issue 8, item 5): enrolment with a QR code that decodes
to the otpauth:// URI, login with a code computed here from the secret
(RFC 6238), wrong and replayed codes refused, recovery codes single use,
admins and coordinators forced to enrol, members free to turn it off, reset
links that do not skip the code, API tokens unaffected, throttling, and
half-logins forgotten by housekeeping once past their time.
"""

import base64
import html
import re
import shutil
import subprocess

import pytest

from factories import cli_at
from ratify_server import (
    RatifyServer,
    assert_security_headers,
    current_step,
    scrape_csrf,
    session_cookie,
    totp,
)
from smtp_capture import SmtpCapture, smtp  # noqa: F401  (the smtp fixture)

QR_RE = re.compile(r'<img class="qr" src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
WRONG_CODE_ES = ("Este código no es correcto. Compruebe la hora de su teléfono y escriba el "
                 "código más reciente, o un código de recuperación.")
REPLAYED = "This code was already used. Wait for the next one."


def password_step(server, user, client=None, **headers):
    """POSTs the login form; returns (client, response) at the second step."""
    c = client or server.client()
    token = scrape_csrf(c.get("/login", headers=headers).text)
    r = c.post("/login", data={"email": user.email, "password": user.password,
                               "csrf_token": token}, headers=headers)
    assert r.status_code == 303, r.text[:2000]
    return c, r


def send_code(client, code, **headers):
    token = scrape_csrf(client.get("/login/code", headers=headers).text)
    return client.post("/login/code", data={"code": code, "csrf_token": token}, headers=headers)


def enrolled_member(server):
    user = server.member()
    c = server.login_user(user)
    server.enrol(c, user.email)
    return user


def logout(client):
    token = scrape_csrf(client.get("/account").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303


def test_enrol_then_log_in_with_a_code(server):
    user = server.member()
    c = server.login_user(user)  # a member: no second step yet
    page = c.get("/account/two-factor")
    assert page.status_code == 200
    assert_security_headers(page.headers, "enrolment")
    assert page.headers.get("Cache-Control") == "no-store"
    codes = server.enrol(c, user.email)
    assert len(set(codes)) == 10
    assert c.get("/api/v1/me").json()["account"]["two_factor"] is True
    logout(c)

    c, r = password_step(server, user)
    assert r.headers["Location"] == "/login/code"
    # The half-login is not a session: nothing needing a login opens.
    assert not session_cookie(c)
    r = c.get("/account")
    assert r.status_code == 303 and r.headers["Location"].startswith("/login")
    r = send_code(c, server.next_code(user.email))
    assert r.status_code == 303 and r.headers["Location"] == "/"
    assert session_cookie(c)
    assert c.get("/account").status_code == 200
    # The half-login was spent with it.
    assert c.get("/login/code").headers["Location"] == "/login"


def test_the_qr_code_decodes_to_the_otpauth_uri(server, tmp_path):
    assert shutil.which("zbarimg"), "zbarimg missing: scripts/install-deps installs zbar-tools"
    user = server.member()
    c = server.login_user(user)
    page = c.get("/account/two-factor").text
    secret = re.search(r'<code class="token secret">([A-Z2-7 ]+)</code>', page).group(1)
    png = tmp_path / "qr.png"
    png.write_bytes(base64.b64decode(QR_RE.search(page).group(1)))
    out = subprocess.run(["zbarimg", "--quiet", "--raw", str(png)], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    uri = out.stdout.strip()
    email = user.email.replace("@", "%40")
    assert uri == (f"otpauth://totp/Ratify:{email}?secret={secret.replace(' ', '')}"
                   "&issuer=Ratify&algorithm=SHA1&digits=6&period=30")
    # Reloading the page keeps the same secret: the app may have scanned it.
    again = c.get("/account/two-factor").text
    assert secret in again


def test_wrong_code_is_refused_in_the_users_language(server):
    user = enrolled_member(server)
    es = {"Accept-Language": "es"}
    c, _ = password_step(server, user, **es)
    right = totp(server.totp_secrets[user.email], current_step())
    wrong = f"{(int(right) + 1) % 1000000:06d}"
    r = send_code(c, wrong, **es)
    assert r.status_code == 400
    text = html.unescape(r.text)
    assert WRONG_CODE_ES in text
    assert 'name="code"' in r.text and 'aria-invalid="true"' in r.text
    assert not session_cookie(c)
    # Neither is something that is no code at all, nor an empty field.
    for bad in ("12345", "abcdefgh", "1234567890123"):
        assert send_code(c, bad).status_code == 400
    assert send_code(c, "").status_code == 400
    # The form still works after the refusals.
    r = send_code(c, server.next_code(user.email))
    assert r.status_code == 303 and session_cookie(c)


def test_a_code_is_accepted_once(server):
    user = enrolled_member(server)
    code = server.next_code(user.email)
    c, _ = password_step(server, user)
    assert send_code(c, code).status_code == 303
    # The same code again, from another browser that knows the password.
    other, _ = password_step(server, user)
    r = send_code(other, code)
    assert r.status_code == 400
    assert REPLAYED in html.unescape(r.text)
    assert not session_cookie(other)


def test_recovery_code_works_once(server):
    user = enrolled_member(server)
    spare = server.recovery_codes[user.email][3]
    c, _ = password_step(server, user)
    r = send_code(c, spare.upper().replace("-", " "))  # as typed from paper
    assert r.status_code == 303 and r.headers["Location"] == "/account/two-factor"
    page = c.get("/account/two-factor").text
    assert "Unused recovery codes: <strong>9</strong>" in page, page
    logout(c)
    c, _ = password_step(server, user)
    r = send_code(c, spare)
    assert r.status_code == 400 and not session_cookie(c)
    # Another one still works.
    r = send_code(c, server.recovery_codes[user.email][4])
    assert r.status_code == 303


def test_coordinator_is_forced_to_enrol(server):
    coord = server.member("coordinator", countries=("ARG",))
    c = server.client()
    token = c.csrf("/login")
    r = c.post("/login", data={"email": coord.email, "password": coord.password,
                               "csrf_token": token, "next": "/admin/members"})
    assert r.status_code == 303 and r.headers["Location"] == "/account/two-factor"
    # Nothing else opens: pages redirect, the API and forms are refused.
    for path in ("/", "/account", "/admin/members", "/countries/ARG"):
        r = c.get(path)
        assert r.status_code == 303 and r.headers["Location"] == "/account/two-factor", path
    assert c.get("/api/v1/me").status_code == 403
    page = c.get("/account/two-factor")
    assert page.status_code == 200 and QR_RE.search(page.text)
    assert "Your role requires two-factor sign-in" in html.unescape(page.text)
    r = c.post("/account", data={"display_name": "x", "csrf_token": scrape_csrf(page.text)})
    assert r.status_code == 403
    # A wrong first code shows the form again with the same key.
    secret = re.search(r'<code class="token secret">([A-Z2-7 ]+)</code>', page.text).group(1)
    step = current_step()
    near = {totp(secret, s) for s in range(step - 2, step + 3)}
    wrong = next(code for code in ("000000", "111111", "222222") if code not in near)
    r = c.post("/account/two-factor", data={"code": wrong, "csrf_token": scrape_csrf(page.text)})
    assert r.status_code == 400
    assert secret in r.text and 'aria-invalid="true"' in r.text
    server.enrol(c, coord.email)
    assert c.get("/admin/members").status_code == 200
    admin = server.login_user(server.member("admin"))
    users = admin.get("/api/v1/users").json()["users"]
    assert next(u for u in users if u["email"] == coord.email)["two_factor"] is True
    # A coordinator cannot turn it off.
    token = scrape_csrf(c.get("/account/two-factor").text)
    r = c.post("/account/two-factor/off", data={"confirm": coord.password, "csrf_token": token})
    assert r.status_code == 403
    assert c.get("/account/two-factor/off").status_code in (404, 405)
    # Its next login asks for the code.
    _, r = password_step(server, coord)
    assert r.headers["Location"] == "/login/code"


def test_member_turns_it_off_with_the_password(server):
    user = enrolled_member(server)
    c = server.login_user(user)
    token = scrape_csrf(c.get("/account/two-factor").text)
    r = c.post("/account/two-factor/off", data={"confirm": "not my password", "csrf_token": token})
    assert r.status_code == 400
    assert "This is neither your password nor a current code." in html.unescape(r.text)
    r = c.post("/account/two-factor/off", data={"confirm": user.password, "csrf_token": token})
    assert r.status_code == 303
    # A read: nothing of the second factor is left behind.
    uid = server.scalar("SELECT id FROM users WHERE email = ?", user.email)
    assert server.scalar("SELECT count(*) FROM two_factor WHERE user_id = ?", uid) == 0
    assert server.scalar("SELECT count(*) FROM recovery_codes WHERE user_id = ?", uid) == 0
    _, r = password_step(server, user)
    assert r.headers["Location"] == "/"


def test_new_recovery_codes_replace_the_old_ones(server):
    user = enrolled_member(server)
    old = server.recovery_codes[user.email]
    c = server.login_user(user)
    token = scrape_csrf(c.get("/account/two-factor").text)
    r = c.post("/account/two-factor/recovery",
               data={"confirm_codes": server.next_code(user.email), "csrf_token": token})
    assert r.status_code == 200
    new = re.findall(r"<code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code>", r.text)
    assert len(new) == 10 and not set(new) & set(old)
    c, _ = password_step(server, user)
    assert send_code(c, old[0]).status_code == 400
    assert send_code(c, new[0]).status_code == 303


def test_secrets_are_stored_sealed_and_codes_hashed(server):
    user = enrolled_member(server)
    secret = server.totp_secrets[user.email]
    raw = base64.b32decode(secret + "=" * (-len(secret) % 8))
    # A read: no secret or recovery code in the clear in the tables.
    stored = server.scalar("SELECT t.secret FROM two_factor t JOIN users u ON u.id = t.user_id "
                           "WHERE u.email = ?", user.email)
    hashes = [h for (h,) in server.query("SELECT code_hash FROM recovery_codes")]
    assert raw.hex() not in stored and secret not in stored
    for code in server.recovery_codes[user.email]:
        assert code not in hashes and code.replace("-", "") not in hashes
    assert secret not in server.log()


def test_api_tokens_are_unaffected(server):
    # An admin who never enrolled: a token issued on the command line works.
    p = server.cli("token", "add", "crm", "--scope", "read")
    token = re.search(r"^([0-9a-f]{64})$", p.stdout, re.M).group(1)
    r = server.client().get("/api/v1/people", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200


def test_wrong_codes_are_throttled(fresh_server):
    user = enrolled_member(fresh_server)
    c, _ = password_step(fresh_server, user)
    for _ in range(5):
        assert send_code(c, "000001" if totp(fresh_server.totp_secrets[user.email],
                                              current_step()) != "000001" else "000002"
                         ).status_code == 400
    r = send_code(c, fresh_server.next_code(user.email))
    assert r.status_code == 429
    assert "Too many failed attempts" in r.text
    assert not session_cookie(c)


def test_a_forged_or_missing_pending_cookie_goes_back_to_login(server):
    c = server.client()
    assert c.get("/login/code").headers["Location"] == "/login"
    c.cookies.set("pending", "ab" * 32, domain="127.0.0.1", path="/")
    assert c.get("/login/code").headers["Location"] == "/login"
    token = c.csrf("/login")
    r = c.post("/login/code", data={"code": "123456", "csrf_token": token})
    assert r.status_code == 303 and r.headers["Location"] == "/login"
    assert not session_cookie(c)


@pytest.fixture
def site(tmp_path, smtp):
    srv = RatifyServer(tmp_path / "ratify",
                       serve_args=("--smtp", f"smtp://127.0.0.1:{smtp.port}",
                                   "--mail-from", "coalition@example.org"))
    srv.start()
    yield srv
    srv.stop_and_check()


def test_a_reset_link_does_not_skip_the_code(site, smtp):
    user = enrolled_member(site)
    c = site.client()
    token = scrape_csrf(c.get("/password/reset").text)
    assert c.post("/password/reset", data={"csrf_token": token, "email": user.email}
                  ).status_code == 200
    smtp.wait_for(1)
    body = SmtpCapture.body(smtp.messages_to(user.email)[-1])
    path = re.search(r"/welcome/[0-9a-f]{64}", body).group(0)
    token = scrape_csrf(c.get(path).text)
    r = c.post(path, data={"csrf_token": token, "password": "reset password 123",
                           "confirm": "reset password 123"})
    assert r.status_code == 303 and r.headers["Location"] == "/login/code"
    assert not session_cookie(c)
    r = send_code(c, site.next_code(user.email))
    assert r.status_code == 303 and r.headers["Location"] == "/account"
    assert c.get("/account").status_code == 200


def test_reset_2fa_on_the_command_line(server):
    coord = server.member("coordinator", countries=("AGO",))
    c = server.login_user(coord)  # enrols
    p = server.cli("user", "reset-2fa", coord.email.upper())
    assert p.returncode == 0, p.stderr
    # Its sessions ended, and the next login enrols a new second factor.
    assert c.get("/account").status_code == 303
    c, r = password_step(server, coord)
    assert r.headers["Location"] == "/account/two-factor"
    assert server.cli("user", "reset-2fa", "nobody@example.org").returncode == 3
    assert server.cli("user", "reset-2fa").returncode == 2


def test_housekeeping_forgets_half_logins_past_their_time(server):
    """two_factor_expire, one of the hourly jobs: a half-login still in
    time stays; once PENDING_LOGIN_TTL (300 s) is past it is deleted, and
    its cookie leads back to the login form."""
    user = enrolled_member(server)
    c, _ = password_step(server, user)

    def pending():
        return server.scalar("SELECT count(*) FROM pending_logins p JOIN users u "
                             "ON u.id = p.user_id WHERE u.email = ?", user.email)

    assert pending() == 1
    p = server.cli("housekeeping")
    assert p.returncode == 0, p.stderr
    assert pending() == 1
    p = cli_at(server, 301, "housekeeping")
    assert p.returncode == 0, p.stderr
    assert pending() == 0
    assert c.get("/login/code").headers["Location"] == "/login"
