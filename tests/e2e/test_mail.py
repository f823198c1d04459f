"""
Outgoing mail, end to end: `ratify serve --smtp ... --mail-from ...` against
a real SMTP server (smtp_capture.py).

SQLite-only (the whole file): these tests are of the sender thread and the
queue table themselves, so they queue mail the way mail_queue() does, by
inserting a row into mail_queue from another connection (Python's sqlite3):
bodies and subjects that no page's message has (dot lines, long lines, two
scripts), a row that bypassed mail_queue() with a header in its address,
and the row's state afterwards (attempts, backoff, last_error), which no
page or API shows. On another database they need these four helpers ported. The sender thread polls every second and sees rows that another
process committed. The tests then check what arrives over SMTP, what the
row says afterwards, and that the server log never names a recipient or a
subject: these messages carry one-time links and the names of people at
risk.
"""

import email.utils
import re
import sqlite3
import time

import pytest

from ratify_server import SLOW, RatifyServer
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


# ---- the queue, from another process ----


def queue(srv, to, subject, body):
    """Inserts a due row as mail_queue() does; returns its id."""
    now = int(time.time())
    con = sqlite3.connect(srv.db, timeout=10)
    try:
        with con:
            cur = con.execute(
                "INSERT INTO mail_queue (to_addr, subject, body, created_at, next_attempt_at) "
                "VALUES (?, ?, ?, ?, ?)", (to, subject, body, now, now))
        return cur.lastrowid
    finally:
        con.close()


def row(srv, mail_id):
    con = sqlite3.connect(srv.db, timeout=10)
    con.row_factory = sqlite3.Row
    try:
        r = con.execute("SELECT * FROM mail_queue WHERE id = ?", (mail_id,)).fetchone()
        return dict(r)
    finally:
        con.close()


def make_due_now(srv, mail_id):
    """Skips the backoff through the data, as an operator could.
    SQLite-only, like the rest of this file's queue helpers."""
    con = sqlite3.connect(srv.db, timeout=10)
    try:
        with con:
            con.execute("UPDATE mail_queue SET next_attempt_at = ? WHERE id = ?",
                        (int(time.time()), mail_id))
    finally:
        con.close()


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


def test_each_recipient_gets_its_own_message_and_bad_rows_are_given_up(mail_server, smtp):  # noqa: F811
    people = [(f"member{i}@example.org", f"Welcome, member {i}", f"Hello {i}.\n")
              for i in range(1, 4)]
    # A row that bypassed mail_queue(): a header smuggled in the address.
    hostile = queue(mail_server, "victim@example.org\r\nBcc: spy@evil.example", "Hi", "x\n")
    ids = [queue(mail_server, *p) for p in people]
    got = smtp.wait_for(3, timeout=WAIT)
    assert [m.rcpt_tos for m in got] == [[p[0]] for p in people]  # in queue order
    for (to, subject, body), mail_id in zip(people, ids):
        [m] = smtp.messages_to(to)
        assert m.msg["Subject"] == subject
        assert m.msg.get_content() == body
        wait_for_row(mail_server, mail_id, lambda r: r["sent_at"] is not None)
    r = wait_for_row(mail_server, hostile, lambda r: r["attempts"] > 0)
    assert r["attempts"] == 20  # never tried again
    assert r["sent_at"] is None
    assert r["last_error"] == "invalid recipient address"
    time.sleep(1.5)
    assert len(smtp.messages) == 3
    assert not smtp.messages_to("spy@evil.example")
    assert not any(b"Bcc" in m.raw for m in smtp.messages)
    assert_not_in_output(mail_server, "member1@", "victim", "spy@", "Welcome, member")


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

        smtp.start()  # back, on the same port
        time.sleep(2)
        assert smtp.messages == [], "sent before the backoff expired"
        assert row(srv, mail_id)["attempts"] == 1

        make_due_now(srv, mail_id)
        [m] = smtp.wait_for(1, timeout=WAIT)
        assert m.rcpt_tos == [to]
        assert m.msg["Subject"] == SUBJECT
        assert m.msg.get_content() == BODY
        r = wait_for_row(srv, mail_id, lambda r: r["sent_at"] is not None)
        assert r["attempts"] == 1
        srv.wait_for_log(f"mail {mail_id} sent")
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
        assert srv.log().count("mail: no --smtp configured; messages stay queued") == 1
    finally:
        srv.stop_and_check()
