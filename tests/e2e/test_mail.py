"""
Outgoing mail, end to end: `ratify serve --smtp ... --mail-from ...` against
a real SMTP server (smtp_capture.py).

Messages are queued the way an operator testing the SMTP set-up queues
them, with `ratify mail send` (mail_queue() and its checks, from another
process: the sender thread polls every second and sees what another
process committed), so bodies and subjects can be ones no page's message
has (dot lines, long lines, two scripts). `ratify mail retry` and the
"retry now" button of /admin/mail skip a backoff. The tests check what
arrives over SMTP, the row afterwards (read through RatifyServer.query:
attempts, backoff, last_error), and that the server log and `ratify mail
list` never name a recipient or a subject: these messages carry one-time
links and the names of people at risk. A row with a header smuggled into
its address cannot be made through the product; the sender's defence
against one is tests/unit/test_mail.c's.
"""

import email.utils
import html
import re
import time

import pytest

from ratify_server import SLOW, RatifyServer, scrape_csrf
from smtp_capture import smtp  # noqa: F401  (pytest fixture)

FROM = "ratify@example.org"
WAIT = 10 * SLOW


class MailServer(RatifyServer):
    """A RatifyServer whose mail settings come only from its arguments, not
    from RATIFY_SMTP_* or RATIFY_MAIL_FROM in the test runner's environment."""

    def env(self):
        env = super().env()
        for name in ("RATIFY_SMTP_URL", "RATIFY_SMTP_USER", "RATIFY_SMTP_PASSWORD",
                     "RATIFY_MAIL_FROM"):
            env.pop(name, None)
        return env


def serve_with_smtp(workdir, url):
    return MailServer(workdir, serve_args=("--smtp", url, "--mail-from", FROM)).start()


@pytest.fixture
def mail_server(tmp_path, smtp):  # noqa: F811  (the fixture imported above)
    srv = serve_with_smtp(tmp_path / "ratify", smtp.url)
    yield srv
    srv.stop_and_check()


# ---- the queue, through the command line ----

QUEUED_RE = re.compile(r"^Message (\d+) queued", re.M)
COLUMNS = ("id", "to_addr", "subject", "created_at", "attempts", "next_attempt_at", "sent_at",
           "last_error")


def queue(srv, to, subject, body):
    """`ratify mail send` with the body on stdin; returns the message's id."""
    p = srv.cli("mail", "send", "--to", to, "--subject", subject, input=body)
    assert p.returncode == 0, p.stderr
    return int(QUEUED_RE.search(p.stdout).group(1))


def row(srv, mail_id):
    """The message's row (a read: no page shows created_at to the second)."""
    found = srv.query_one(f"SELECT {', '.join(COLUMNS)} FROM mail_queue WHERE id = ?", mail_id)
    assert found, f"no message {mail_id}"
    return dict(zip(COLUMNS, found))


def make_due_now(srv, mail_id):
    """Skips the backoff as an operator does: `ratify mail retry ID`."""
    p = srv.cli("mail", "retry", str(mail_id))
    assert p.returncode == 0, p.stderr
    assert f"Message {mail_id} is due now" in p.stdout


def listed(srv, mail_id):
    """The line of `ratify mail list` for mail_id, split in columns."""
    p = srv.cli("mail", "list")
    assert p.returncode == 0, p.stderr
    for line in p.stdout.splitlines()[1:]:
        if line.split()[0] == str(mail_id):
            return line
    raise AssertionError(f"message {mail_id} not in:\n{p.stdout}")


def wait_for_row(srv, mail_id, done, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        r = row(srv, mail_id)
        if done(r):
            return r
        if time.monotonic() > deadline:
            pytest.fail(f"mail {mail_id} did not reach the expected state: {r}", pytrace=False)
        time.sleep(0.05)


def server_output(srv):
    """Everything the server wrote: the log (stderr) and stdout."""
    out = srv.stdout_path.read_text(errors="replace") if srv.stdout_path.exists() else ""
    return srv.log() + out


def assert_not_in_output(srv, *secrets):
    text = server_output(srv)
    for s in secrets:
        assert s not in text, f"the server's output names {s!r}:\n{text[-3000:]}"


def assert_wire_format(raw):
    """7-bit, CRLF everywhere, no line over 78 characters."""
    assert raw.endswith(b"\r\n")
    for line in raw[:-2].split(b"\r\n"):
        assert b"\n" not in line and b"\r" not in line, f"bare CR or LF in {line!r}"
        assert len(line) <= 78, f"line of {len(line)} characters: {line!r}"
        assert all(b < 0x80 for b in line), f"8-bit data on the wire: {line!r}"


# ---- the tests ----

TOKEN = "7f3a9c0e5b1d48a6b2c4e8f01a3d5c7e9b0f2a4c6e8d1b3f5a7c9e0d2b4f6a8c"
SUBJECT = "Confirmación de su solicitud — تأكيد طلب العضوية"
BODY = (
    "Estimada Amina Al-Sayed,\n"
    "\n"
    "Para confirmar su solicitud, abra este enlace (válido 48 horas):\n"
    f"https://ratify.example.org/join/confirm/{TOKEN}?lang=es&from=mail\n"
    "\n"
    "عزيزتي أمينة، شكراً لانضمامك إلى التحالف من أجل التصديق على البروتوكول الاختياري.\n"
    ".Esta línea empieza con un punto\n"
    ".\n"
    "a=b, c==d, =41 y un signo final =\n"
    "From the coalition's secretariat\n"
    + "una línea muy larga " * 12 + "fin\n"
)


def test_message_arrives_with_headers_and_body(mail_server, smtp):  # noqa: F811
    to = "amina.defensora@example.net"
    mail_id = queue(mail_server, to, SUBJECT, BODY)
    [m] = smtp.wait_for(1, timeout=WAIT)

    assert m.mail_from == FROM
    assert m.rcpt_tos == [to]
    msg = m.msg
    assert msg["From"] == FROM
    assert msg["To"] == to
    assert msg["Subject"] == SUBJECT
    assert msg["MIME-Version"] == "1.0"
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    assert msg["Content-Transfer-Encoding"] == "quoted-printable"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert re.fullmatch(rf"<{mail_id}\.[0-9a-f]{{16}}@example\.org>", msg["Message-ID"])
    r = wait_for_row(mail_server, mail_id, lambda r: r["sent_at"] is not None)
    date = email.utils.parsedate_to_datetime(msg["Date"])
    assert date.utcoffset().total_seconds() == 0
    assert int(date.timestamp()) == r["created_at"]
    assert m.msg.get_content() == BODY
    assert_wire_format(m.raw)
    # The subject went out RFC 2047-encoded, the body quoted-printable.
    assert b"Subject: =?UTF-8?B?" in m.raw
    assert TOKEN.encode() in m.raw.replace(b"=\r\n", b"")

    assert r["attempts"] == 0
    assert r["last_error"] == ""
    assert r["sent_at"] >= r["created_at"]
    mail_server.wait_for_log(f"mail {mail_id} sent")
    assert f"mail {mail_id} sent" in mail_server.log()
    assert_not_in_output(mail_server, to, "amina", "Amina", "example.net", SUBJECT,
                         "Confirmaci", TOKEN)


def test_each_recipient_gets_its_own_message(mail_server, smtp):  # noqa: F811
    people = [(f"member{i}@example.org", f"Welcome, member {i}", f"Hello {i}.\n")
              for i in range(1, 4)]
    ids = [queue(mail_server, *p) for p in people]
    got = smtp.wait_for(3, timeout=WAIT)
    assert sorted(m.rcpt_tos for m in got) == [[p[0]] for p in people]
    for (to, subject, body), mail_id in zip(people, ids):
        [m] = smtp.messages_to(to)
        assert m.msg["Subject"] == subject
        assert m.msg.get_content() == body
        r = wait_for_row(mail_server, mail_id, lambda r: r["sent_at"] is not None)
        assert r["attempts"] == 0
    time.sleep(1.5)
    assert len(smtp.messages) == 3
    assert_not_in_output(mail_server, "member1@", "Welcome, member")


def test_the_command_line_refuses_what_mail_queue_refuses(tmp_path):
    srv = MailServer(tmp_path / "ratify")
    p = srv.cli("init")
    assert p.returncode == 0, p.stderr
    for to, subject, body, why in [
        ("victim@example.org\r\nBcc: spy@evil.example", "Hi", "x\n", "not a valid email"),
        ("Ana <ana@example.org>", "Hi", "x\n", "not a valid email"),
        ("ana@example.org", "Hi\nBcc: spy@evil.example", "x\n", "one line"),
        ("ana@example.org", "S" * 1001, "x\n", "too long"),
        ("ana@example.org", "Hi", "escape \x1b[31m\n", "UTF-8 text"),
    ]:
        p = srv.cli("mail", "send", "--to", to, "--subject", subject, input=body)
        assert p.returncode == 2 and why in p.stderr, (to, subject, p.stderr)
    assert srv.cli("mail", "send", "--to", "ana@example.org", input="x").returncode == 2
    assert srv.query("SELECT count(*) FROM mail_queue") == [(0,)]
    p = srv.cli("mail", "retry", "999")
    assert p.returncode == 3 and "no message 999" in p.stderr
    assert srv.cli("mail", "retry", "x").returncode == 2


def test_outage_keeps_the_message_and_it_arrives_later(tmp_path, smtp):  # noqa: F811
    smtp.stop()  # the SMTP server is down; its port refuses connections
    srv = serve_with_smtp(tmp_path / "ratify", smtp.url)
    try:
        to = "persona.en.riesgo@example.net"
        before = int(time.time())
        mail_id = queue(srv, to, SUBJECT, BODY)
        r = wait_for_row(srv, mail_id, lambda r: r["attempts"] >= 1)
        assert r["attempts"] == 1
        assert r["sent_at"] is None
        assert r["last_error"], "no last_error after a failed attempt"
        assert "@" not in r["last_error"]
        assert r["next_attempt_at"] >= before + 30  # the first backoff: 30 s
        assert f"mail {mail_id} failed (attempt 1): " in srv.log()
        line = listed(srv, mail_id)
        assert line.split()[1:3] == ["failing", "1"] and r["last_error"] in line
        assert to not in line and "persona" not in line

        # The operator retries before the server is back: a second failure,
        # and the backoff doubles.
        at = int(time.time())
        make_due_now(srv, mail_id)
        r = wait_for_row(srv, mail_id, lambda r: r["attempts"] >= 2)
        assert r["attempts"] == 2 and r["next_attempt_at"] >= at + 60

        smtp.start()  # back, on the same port
        time.sleep(2)
        assert smtp.messages == [], "sent before the backoff expired"
        assert row(srv, mail_id)["attempts"] == 2

        # An administrator sees it on /admin/mail and presses "retry now".
        admin = srv.login_user(srv.member("admin"))
        page = admin.get("/admin/mail")
        assert page.status_code == 200
        entry = html.unescape(page.text.split(f'id="mail-{mail_id}"')[1].split("</tr>")[0])
        assert to in entry and "Failed; will be tried again" in entry
        assert r["last_error"] in entry and "Retry now" in entry
        assert "Estimada" not in page.text and TOKEN not in page.text  # never the body
        r = admin.post(f"/admin/mail/{mail_id}/retry", data={"csrf_token": scrape_csrf(page.text)})
        assert r.status_code == 303 and r.headers["Location"] == f"/admin/mail?retried={mail_id}"
        [m] = smtp.wait_for(1, timeout=WAIT)
        assert m.rcpt_tos == [to]
        assert m.msg["Subject"] == SUBJECT
        assert m.msg.get_content() == BODY
        r = wait_for_row(srv, mail_id, lambda r: r["sent_at"] is not None)
        assert r["attempts"] == 2
        srv.wait_for_log(f"mail {mail_id} sent")
        page = admin.get(f"/admin/mail?retried={mail_id}").text
        assert "The message will be tried again now." in page
        entry = page.split(f'id="mail-{mail_id}"')[1].split("</tr>")[0]
        assert ">Sent<" in entry and "Retry now" not in entry
        # Sent: nothing left to retry, on the page or the command line.
        r = admin.post(f"/admin/mail/{mail_id}/retry", data={"csrf_token": scrape_csrf(page)})
        assert r.status_code == 409 and "cannot be tried again" in r.text
        p = srv.cli("mail", "retry", str(mail_id))
        assert p.returncode == 4 and "sent or given up" in p.stderr
        assert listed(srv, mail_id).split()[1] == "sent"
        # Who queued and who retried is in the audit log. (The page's read
        # is logged with the people it names; this recipient is nobody's.)
        actions = [a for (a,) in srv.query("SELECT action FROM audit_log ORDER BY id")]
        assert actions.count("mail retried") == 2  # the command line's, the admin's
        assert "mail queued" in actions
        assert_not_in_output(srv, to, "persona", SUBJECT, "Confirmaci", TOKEN)
    finally:
        srv.stop_and_check()


def test_without_smtp_messages_stay_queued(tmp_path):
    srv = MailServer(tmp_path / "ratify").start()
    try:
        mail_id = queue(srv, "queued@example.org", "Stays here", "Body\n")
        time.sleep(2.5)
        r = row(srv, mail_id)
        assert r["attempts"] == 0
        assert r["sent_at"] is None
        assert r["last_error"] == ""
        assert listed(srv, mail_id).split()[1:3] == ["waiting", "0"]
        assert srv.log().count("mail: no --smtp configured; messages stay queued") == 1
    finally:
        srv.stop_and_check()
