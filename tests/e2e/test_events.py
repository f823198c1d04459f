"""
Expert seminars and national events, and the calendar (issue 12, items 2
and 4): an organiser in Angola creates a seminar with 15 places and invites
20 people across the campaign page's categories; every invitation arrives
with an .ics attachment that a real iCalendar parser (python3-icalendar)
reads; the invitees answer through their links without accounts (a yes
beyond the places waits, a no frees a place and promotes the first who
waits, by email); the page says a national authority confirmed; reminders;
attendance; the outcome report shared with the national coalition; the
public and private feeds parse and hold the right events; a revoked feed is
a 404; a member elsewhere cannot see a country-only event; bad input is a
400 with the form refilled.
"""

import datetime
import html
import re
import zoneinfo

import icalendar
import pytest

from factories import audit_entries, mail_count, next_mail_to, mail_site  # noqa: F401  (the fixture)
from ratify_server import in_words, scrape_csrf
from smtp_capture import SmtpCapture, smtp  # noqa: F401  (the smtp fixture)

RSVP_RE = re.compile(r"https?://[^\s]+/rsvp/([0-9a-f]{64})")
LUANDA = zoneinfo.ZoneInfo("Africa/Luanda")


@pytest.fixture
def site(mail_site):
    return mail_site


def luanda_wall(hours_ahead):
    """(date, HH:MM) in Luanda, hours_ahead from now, on the minute."""
    t = datetime.datetime.now(LUANDA) + datetime.timedelta(hours=hours_ahead)
    return t.strftime("%Y-%m-%d"), t.strftime("%H:%M"), t.replace(second=0, microsecond=0)


def event_form(client, **fields):
    date, start, _ = luanda_wall(20)
    data = {"csrf_token": client.csrf("/events/new"), "kind": "seminar",
            "title": "Expert seminar on the OP-ICESCR", "country": "AGO",
            "tz": "Africa/Luanda", "date": date, "start": start, "end": "23:59",
            "end_date": (datetime.date.fromisoformat(date) + datetime.timedelta(days=1)).isoformat(),
            "place": "Hotel Presidente, Luanda", "online_link": "https://meet.example.org/op",
            "language": "Português", "agenda": "1. Adjudication of ESCR; 2. Next steps, \\ all",
            "capacity": "15", "visibility": "public"}
    data.update(fields)
    return data


def create_event(client, **fields):
    r = client.post("/events", data=event_form(client, **fields))
    assert r.status_code == 303, r.text[:3000]
    m = re.fullmatch(r"/events/(\d+)", r.headers["Location"])
    assert m, r.headers["Location"]
    return int(m.group(1))


def calendar_attachment(message):
    """The text/calendar part of a captured message, parsed."""
    parts = [p for p in message.msg.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, message.raw[:3000]
    assert parts[0].get_content_disposition() == "attachment"
    assert parts[0].get_filename() == "invitation.ics"
    return icalendar.Calendar.from_ical(parts[0].get_payload(decode=True))


def text_part(message):
    return next(p for p in message.msg.walk()
                if p.get_content_type() == "text/plain").get_content()


def answer(site, token, response, client=None):
    """Answers as a visitor without an account (a fresh browser)."""
    c = client or site.client()
    page = c.get(f"/rsvp/{token}")
    assert page.status_code == 200, page.text[:2000]
    r = c.post(f"/rsvp/{token}", data={"csrf_token": scrape_csrf(page.text),
                                       "response": response})
    assert r.status_code == 200, r.text[:2000]
    return r.text


def vevents(cal):
    return [c for c in cal.walk() if c.name == "VEVENT"]


def test_seminar_invitations_answers_and_feeds(site, smtp):
    organiser = site.factory.member("AGO")
    c = organiser.client

    # ---- bad input: a 400, the form refilled, nothing written ----
    date, _, _ = luanda_wall(20)
    bad = [({"end_date": "", "start": "10:00", "end": "09:00"}, "The event must end after it starts."),
           ({"tz": "Africa/Atlantis"}, "This is not a known time zone"),
           ({"tz": "../../../etc/passwd"}, "This is not a known time zone"),
           ({"capacity": "0"}, None),
           ({"capacity": "-4"}, None),
           ({"start": "25:00"}, None),
           ({"country": "BRA"}, "You can organise events in your own country only.")]
    for fields, message in bad:
        data = event_form(c, title="Typed title kept", **fields)
        r = c.post("/events", data=data)
        assert r.status_code == 400, (fields, r.status_code)
        assert 'value="Typed title kept"' in r.text, fields
        assert 'class="field-error"' in r.text, fields
        if message:
            assert message in html.unescape(r.text), fields
    assert site.scalar("SELECT count(*) FROM events") == 0

    # ---- the seminar, and a country-only event ----
    seminar = create_event(c)
    closed = create_event(c, title="Coalition preparatory meeting", visibility="country",
                          capacity="30")
    page = c.get(f"/events/{seminar}")
    assert page.status_code == 200
    _, start_hm, start_local = luanda_wall(20)
    assert f"{in_words(start_local)} {start_hm}" in page.text
    assert "Africa/Luanda" in page.text
    # Shown in another zone on request (no JavaScript: a GET form).
    ny = c.get(f"/events/{seminar}", params={"tz": "America/New_York"}).text
    start_ny = start_local.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    assert f"{in_words(start_ny)} {start_ny:%H:%M}" in ny

    # A line that is not an address: 400, the list shown again, nobody invited.
    typed = "Ana Dias <ana@example.org>, academic\n\nnot an address, ngo"
    r = c.post(f"/events/{seminar}/invite",
               data={"csrf_token": scrape_csrf(page.text), "invitees": typed})
    assert r.status_code == 400
    assert html.escape(typed, quote=False) in r.text  # the list, as typed
    assert "(line 3)" in r.text
    assert site.scalar("SELECT count(*) FROM event_invitees") == 0

    # ---- 20 invitations across the categories ----
    cats = ["civil_servant", "legislator", "judiciary", "legal_profession", "academic", "ngo",
            "nhri", "media", "legislator", "academic"]
    people = []
    for i in range(20):
        cat = cats[i % len(cats)] if i else "civil_servant"
        if i and cat == "civil_servant":
            cat = "ngo"  # one civil servant only: the national authority
        people.append((f"Invitee {i:02d} Ñandú", f"invitee{i:02d}@example.org", cat))
    lines = "\n".join(f"{n} <{e}>, {cat}" for n, e, cat in people)
    r = c.post(f"/events/{seminar}/invite",
               data={"csrf_token": scrape_csrf(page.text), "invitees": lines})
    assert r.status_code == 303, r.text[:2000]
    tokens = {}
    for name, addr, _ in people:
        msg = next_mail_to(smtp, addr, 0)
        assert "Expert seminar on the OP-ICESCR" in msg.msg["Subject"]
        body = text_part(msg)
        tokens[addr] = RSVP_RE.search(body).group(1)
        cal = calendar_attachment(msg)
        assert cal["METHOD"] == "PUBLISH"
        (ev,) = vevents(cal)
        assert str(ev["SUMMARY"]) == "Expert seminar on the OP-ICESCR"
        assert str(ev["LOCATION"]) == "Hotel Presidente, Luanda"
        assert "next steps, \\ all" in str(ev["DESCRIPTION"]).lower()
        assert ev.decoded("DTSTART") == start_local.astimezone(datetime.timezone.utc)
        assert ev.decoded("DTSTART").utcoffset() == datetime.timedelta(0)
        assert int(ev["SEQUENCE"]) == 0
        # CRLF line ends, folded at 75 octets, in the raw attachment.
        raw = next(p for p in msg.msg.walk()
                   if p.get_content_type() == "text/calendar").get_payload(decode=True)
        assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
        assert b"\n" not in raw.replace(b"\r\n", b"")
    assert len(set(tokens.values())) == 20
    # The token is never stored, only its hash.
    stored = [row[0] for row in site.query("SELECT token_hash FROM event_invitees")]
    assert not set(stored) & set(tokens.values())

    # Inviting the same address again sends nothing more.
    r = c.post(f"/events/{seminar}/invite",
               data={"csrf_token": scrape_csrf(page.text),
                     "invitees": f"Again <{people[3][1]}>, media"})
    assert r.status_code == 303
    assert site.scalar("SELECT count(*) FROM event_invitees") == 20

    # ---- answers without accounts ----
    addrs = [p[1] for p in people]
    assert ">Not yet<" in c.get(f"/events/{seminar}").text
    for addr in addrs[:15]:
        text = answer(site, tokens[addr], "yes")
        assert 'id="confirmed"' in text and 'id="waitlisted"' not in text
    late = addrs[15]
    text = answer(site, tokens[late], "yes")
    assert 'id="waitlisted"' in text and 'id="confirmed"' not in text
    answer(site, tokens[addrs[16]], "maybe")
    answer(site, tokens[addrs[17]], "maybe")
    answer(site, tokens[addrs[18]], "no")
    # A bad answer is a 400 with the page shown again; a bad link a 404.
    v = site.client()
    p = v.get(f"/rsvp/{tokens[addrs[19]]}")
    r = v.post(f"/rsvp/{tokens[addrs[19]]}", data={"csrf_token": scrape_csrf(p.text),
                                                   "response": "perhaps"})
    assert r.status_code == 400 and "Expert seminar on the OP-ICESCR" in r.text
    assert v.get("/rsvp/" + "0" * 64).status_code == 404
    r = v.post("/rsvp/" + "0" * 64, data={"csrf_token": scrape_csrf(p.text), "response": "yes"})
    assert r.status_code == 404
    # Without the CSRF token nothing is recorded.
    r = site.client().post(f"/rsvp/{tokens[addrs[19]]}", data={"response": "yes"})
    assert r.status_code in (400, 403)

    page = c.get(f"/events/{seminar}").text
    assert re.search(r'id="authority">Yes<', page), "the civil servant confirmed"
    assert "15 / 15" in page
    assert "invitee00@example.org" in page  # the organiser sees the list
    # ---- a no frees a place: the first who waits moves up and is told ----
    before = mail_count(smtp, late)
    answer(site, tokens[addrs[1]], "no")
    promoted = next_mail_to(smtp, late, before)
    assert "A place for you" in promoted.msg["Subject"]
    assert 'id="confirmed"' in site.client().get(f"/rsvp/{tokens[late]}").text
    assert "15 / 15" in c.get(f"/events/{seminar}").text
    # The civil servant withdrawing: no national authority any more.
    answer(site, tokens[addrs[0]], "no")
    assert re.search(r'id="authority">Not yet<', c.get(f"/events/{seminar}").text)
    answer(site, tokens[addrs[0]], "yes")  # a place is free again: confirmed
    assert re.search(r'id="authority">Yes<', c.get(f"/events/{seminar}").text)

    # ---- reminders: once, to those with a place or a maybe ----
    counts = {a: mail_count(smtp, a) for a in addrs}
    p = site.cli("housekeeping")
    assert p.returncode == 0, p.stderr
    reminded = addrs[2:16] + [addrs[0], addrs[16], addrs[17]]
    for a in reminded:
        m = next_mail_to(smtp, a, counts[a])
        assert "Reminder" in m.msg["Subject"]
    assert site.scalar("SELECT count(*) FROM event_invitees WHERE reminded_at IS NOT NULL") \
        == len(reminded)
    site.cli("housekeeping")
    assert site.scalar("SELECT count(*) FROM event_invitees WHERE reminded_at IS NOT NULL") \
        == len(reminded)
    for a in (addrs[1], addrs[18], addrs[19]):
        assert mail_count(smtp, a) == counts[a], "no reminder for a no or no answer"

    # ---- attendance and the outcome report ----
    page = c.get(f"/events/{seminar}").text
    ids = re.findall(r'name="attended" value="(\d+)"', page)
    assert len(ids) == 20
    r = c.post(f"/events/{seminar}/attendance",
               data={"csrf_token": scrape_csrf(page), "attended": ids[:12]})
    assert r.status_code == 303
    assert len(re.findall(r'name="attended" value="\d+"[^>]* checked',
                          c.get(f"/events/{seminar}").text)) == 12
    r = c.post(f"/events/{seminar}/report", data={"csrf_token": scrape_csrf(page),
                                                  "report": "", "report_visibility": "country"})
    assert r.status_code == 400
    r = c.post(f"/events/{seminar}/report",
               data={"csrf_token": scrape_csrf(page), "report": "The ministry will consult.",
                     "report_visibility": "country"})
    assert r.status_code == 303

    # ---- who sees what ----
    elsewhere = site.factory.member("BRA")
    here = site.factory.member("AGO")
    assert elsewhere.client.get(f"/events/{closed}").status_code == 404
    assert site.client().get(f"/events/{closed}").status_code == 404
    assert here.client.get(f"/events/{closed}").status_code == 200
    assert elsewhere.client.post(f"/events/{closed}/invite", data={
        "csrf_token": elsewhere.client.csrf("/calendar"), "invitees": "x <x@example.org>"}
    ).status_code == 404
    public_view = elsewhere.client.get(f"/events/{seminar}").text
    assert "Expert seminar on the OP-ICESCR" in public_view
    assert "invitee00@example.org" not in public_view  # the list is the organiser's
    assert "The ministry will consult." not in public_view  # the report is the coalition's
    here_view = here.client.get(f"/events/{seminar}").text
    assert "The ministry will consult." in here_view
    assert "invitee00@example.org" not in here_view
    assert here.client.post(f"/events/{seminar}/report", data={
        "csrf_token": scrape_csrf(here_view), "report": "x", "report_visibility": "public"}
    ).status_code == 403
    assert "Coalition preparatory meeting" not in site.client().get("/calendar").text
    assert "Expert seminar on the OP-ICESCR" in site.client().get("/calendar").text
    # The reads of the list and of the report are in the audit log.
    admin = site.factory.admin
    actions = [row[0] for row in audit_entries(admin)]
    assert "event invitees viewed" in actions
    assert "event report viewed" in actions

    # ---- feeds ----
    pub = site.client().get("/calendar.ics")
    assert pub.status_code == 200
    assert pub.headers["Content-Type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(pub.content)
    summaries = [str(e["SUMMARY"]) for e in vevents(cal)]
    assert summaries == ["Expert seminar on the OP-ICESCR"]
    assert b"ministry will consult" not in pub.content and b"invitee" not in pub.content

    r = c.post("/calendar/feed", data={"csrf_token": c.csrf("/calendar")})
    assert r.status_code == 200
    feed = re.search(r'<code id="feed-url">[^<]*(/calendar/feed/[0-9a-f]{64}\.ics)</code>',
                     r.text).group(1)
    got = site.client().get(feed)  # no session: a calendar program
    assert got.status_code == 200
    summaries = sorted(str(e["SUMMARY"]) for e in vevents(icalendar.Calendar.from_ical(got.content)))
    assert summaries == ["Coalition preparatory meeting", "Expert seminar on the OP-ICESCR"]
    # An edit bumps the SEQUENCE; one more place goes to the first who waits.
    assert 'id="waitlisted"' in answer(site, tokens[addrs[18]], "yes")
    before = mail_count(smtp, addrs[18])
    form = event_form(c, title="Expert seminar on the OP-ICESCR (2nd day)", capacity="16")
    r = c.post(f"/events/{seminar}/edit", data=form)
    assert r.status_code == 303
    assert "A place for you" in next_mail_to(smtp, addrs[18], before).msg["Subject"]
    assert 'id="confirmed"' in site.client().get(f"/rsvp/{tokens[addrs[18]]}").text
    assert "16 / 16" in c.get(f"/events/{seminar}").text
    ev = [e for e in vevents(icalendar.Calendar.from_ical(site.client().get(feed).content))
          if "2nd day" in str(e["SUMMARY"])]
    assert len(ev) == 1 and int(ev[0]["SEQUENCE"]) == 1
    # Revoked: 404. A made-up one too.
    r = c.post("/calendar/feed/revoke", data={"csrf_token": c.csrf("/calendar")})
    assert r.status_code == 303
    assert site.client().get(feed).status_code == 404
    assert site.client().get("/calendar/feed/" + "a" * 64 + ".ics").status_code == 404
    assert site.client().get("/calendar/feed/../../etc/passwd").status_code == 404

    # ---- a member invited who closes their account leaves no invitation ----
    page = c.get(f"/events/{seminar}").text
    r = c.post(f"/events/{seminar}/invite", data={"csrf_token": scrape_csrf(page),
                                                  "invitees": f"Here <{here.email}>, ngo"})
    assert r.status_code == 303
    assert site.scalar("SELECT count(*) FROM event_invitees WHERE email = ?", here.email) == 1
    r = here.client.post("/profile/close", data={"csrf_token": here.client.csrf("/profile"),
                                                 "confirm": "1"})
    assert r.status_code == 200
    assert site.scalar("SELECT count(*) FROM event_invitees WHERE email = ?", here.email) == 0

    # ---- answers are rate-limited per client address (120 an hour) ----
    v = site.client()
    csrf = scrape_csrf(v.get(f"/rsvp/{tokens[addrs[19]]}").text)
    statuses = [v.post("/rsvp/" + "f" * 64, data={"csrf_token": csrf, "response": "yes"}).status_code
                for _ in range(125)]
    assert statuses[0] == 404 and statuses[-1] == 429, statuses
    assert "Too many answers" in v.post(f"/rsvp/{tokens[addrs[19]]}",
                                        data={"csrf_token": csrf, "response": "yes"}).text
    assert site.scalar("SELECT response FROM event_invitees WHERE email = ?", addrs[19]) == "none"
