"""
Lobbying meetings with a government (issue 12, item 1), end to end: a member
in Angola plans a meeting with the foreign ministry, prepares two key
messages from the brief (a third is refused), records the outcome with a
follow-up owner who gets the reminders by email (once per stage), prints the
thank-you letter in Portuguese, and shares the report with the national
coalition: a member of Angola reads it, a member elsewhere gets 404; the
reads are in the audit log; the country page shows the meetings held and the
public summary.
"""

import datetime
import re
import subprocess
import time

import pytest

from factories import audit_entries, mail_count, next_mail_to, mail_site  # noqa: F401  (the fixture)
from ratify_server import scrape_csrf
from smtp_capture import SmtpCapture, smtp  # noqa: F401  (the smtp fixture)


@pytest.fixture
def site(mail_site):
    return mail_site


def pdf_text(data, tmp_path):
    path = tmp_path / "thanks.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def post(client, path, page_path, data):
    token = scrape_csrf(client.get(page_path).text)
    return client.post(path, data={"csrf_token": token, **data})


def foreign_ministry(site):
    """The foreign ministry of Angola, added by a coordinator of Angola."""
    coord = site.login_user(site.member("coordinator", countries=("AGO",)))
    r = post(coord, "/countries/AGO/targets", "/countries/AGO/targets",
             {"kind": "ministry", "name": "Ministério das Relações Exteriores",
              "title": "Ministro das Relações Exteriores", "language": "pt",
              "email": "gabinete@mirex.gov.ao"})
    assert r.status_code == 303, r.text[:2000]
    page = coord.get("/countries/AGO/targets").text
    return int(re.findall(r"/targets/(\d+)/correction", page)[0])


def user_choice(page, name):
    m = re.search(r'name="delegate" value="(\d+)"[^>]*> ' + re.escape(name) + "<", page)
    assert m, page
    return m.group(1)


def test_angola_meeting_from_plan_to_report(site, smtp, tmp_path):
    target = foreign_ministry(site)
    f = site.factory
    author = f.member("AGO", name="Ana Planner")
    delegate = f.member("AGO", name="Bento Delegate")
    neighbour = f.member("AGO", name="Carla Neighbour")
    elsewhere = f.member("BRA", name="Diego Elsewhere")
    writer = author.client

    # The form: the country's contacts, its members, the Portuguese letter.
    page = writer.get("/meetings/new", params={"country": "AGO"})
    assert page.status_code == 200
    assert "Ministério das Relações Exteriores" in page.text
    assert re.search(r'<option value="pt" selected>', page.text), page.text
    delegate_id = user_choice(page.text, "Bento Delegate")
    # A member elsewhere may not plan a meeting in Angola.
    assert elsewhere.client.get("/meetings/new", params={"country": "AGO"}).status_code == 403

    # Bad input: shown again with what was typed, nothing written.
    form = {"country": "AGO", "meeting_on": "2026-12-10", "meeting_time": "10:30",
            "time_zone": "Africa/Luanda", "place": "Luanda, Palácio", "goal": "",
            "target": str(target), "delegate": delegate_id, "lang": "pt",
            "visibility": "private"}
    r = post(writer, "/meetings", "/meetings/new?country=AGO", form)
    assert r.status_code == 400
    assert 'value="Luanda, Palácio"' in r.text and "field-error" in r.text
    for zone in ("Mars/Olympus", "Africa", "../../etc/passwd"):
        r = post(writer, "/meetings", "/meetings/new?country=AGO",
                 {**form, "goal": "Ask for ratification", "time_zone": zone})
        assert r.status_code == 400 and "such as Africa/Luanda" in r.text, zone
    assert writer.get("/api/v1/meetings").json()["items"] == []

    form["goal"] = "Ask the Ministry to submit the Protocol to the National Assembly."
    told = mail_count(smtp, delegate.email)
    r = post(writer, "/meetings", "/meetings/new?country=AGO", form)
    assert r.status_code == 303, r.text[:2000]
    path = r.headers["Location"]
    mid = int(path.rsplit("/", 1)[1])
    # The delegate is told, with a link and nothing of the meeting itself.
    added = next_mail_to(smtp, delegate.email, told)
    assert added.msg["Subject"] == "You are in a meeting's delegation"
    assert f"/meetings/{mid}" in SmtpCapture.body(added)
    assert "Ministry" not in SmtpCapture.body(added)

    # While private: the author, the delegation and the secretariat only.
    assert delegate.client.get(path).status_code == 200
    assert neighbour.client.get(path).status_code == 404
    assert elsewhere.client.get(path).status_code == 404
    assert site.client().get(path).status_code in (303, 401)

    # The delegation changes: the neighbour joins (and is told), then leaves.
    neighbour_id = user_choice(writer.get("/meetings/new?country=AGO").text, "Carla Neighbour")
    told = mail_count(smtp, neighbour.email)
    people = {"target": str(target), "delegate": [delegate_id, neighbour_id]}
    r = post(writer, f"{path}/people", path, people)
    assert r.status_code == 303, r.text[:2000]
    assert neighbour.client.get(path).status_code == 200
    next_mail_to(smtp, neighbour.email, told)
    r = post(writer, f"{path}/people", path, {"delegate": [delegate_id]})
    assert r.status_code == 400 and "Choose at least one person you will meet" in r.text
    assert neighbour.client.get(path).status_code == 200  # nothing written
    r = post(writer, f"{path}/people", path, {"target": str(target), "delegate": [delegate_id]})
    assert r.status_code == 303, r.text[:2000]
    assert neighbour.client.get(path).status_code == 404

    # The brief: built for Angola (a signatory: ratify) from the record.
    page = writer.get(path).text
    assert "Ask the Ministry to submit" in page
    assert "Bento Delegate" in page and "Ministério das Relações Exteriores" in page
    assert "Ratify the OP-ICESCR, which it has already signed." in page

    # Key messages: two at most; the delegate writes them, a third is refused.
    three = "Ratify without reservations\nMake the declarations\nA third point"
    r = post(delegate.client, f"{path}/brief", path,
             {"key_messages": three, "notes": "Draft notes", "version": "1"})
    assert r.status_code == 400 and "at most two key messages" in r.text
    assert "A third point" in r.text  # what was typed is shown again
    assert "Draft notes" not in writer.get(path).text  # nothing written
    two = "Ratify the Protocol before the next UPR\nMake the article 10 and 11 declarations"
    r = post(delegate.client, f"{path}/brief", path,
             {"key_messages": two, "notes": "The Minister chairs the committee.",
              "version": "1"})
    assert r.status_code == 303, r.text[:2000]
    # Someone saving over an older version is told, not silently overwritten.
    r = post(writer, f"{path}/brief", path,
             {"key_messages": "Old", "notes": "stale", "version": "1"})
    assert r.status_code == 409
    assert "Someone in the delegation saved the brief" in r.text
    assert ">The Minister chairs the committee.</textarea>" in r.text  # theirs, in the form
    assert "What you typed" in r.text and ">stale</p>" in r.text  # and mine, to copy
    page = writer.get(path).text
    assert re.search(r'<ol class="key-messages"><li>Ratify the Protocol before the next UPR</li>'
                     r"<li>Make the article 10 and 11 declarations</li></ol>", page), page

    # Closing is refused until someone owns the follow-up.
    r = post(writer, f"{path}/close", path, {})
    assert r.status_code == 409 and "follow-up" in r.text
    assert writer.get(f"/api/v1/meetings/{mid}").json()["meeting"]["state"] == "planned"

    # The outcome, with the delegate responsible, due today, shared with the
    # national coalition.
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    version = writer.get(f"/api/v1/meetings/{mid}").json()["meeting"]["version"]
    # An owner without a date: refused, what was typed kept, nothing saved.
    r = post(writer, f"{path}/outcome", path,
             {"said": "Typed before the mistake", "followup_user": delegate_id,
              "version": str(version)})
    assert r.status_code == 400 and "Give the date by which the follow-up" in r.text
    assert ">Typed before the mistake</textarea>" in r.text
    assert re.search(r'<option value="%s" selected>' % delegate_id, r.text)
    assert writer.get(f"/api/v1/meetings/{mid}").json()["meeting"]["said"] == ""
    outcome = {"said": "The Minister said the file is with the Council of Ministers.",
               "agreements": "The Ministry will send us the draft decree by January.",
               "report": "MARK-report: the Minister was open; follow up in January.",
               "public_summary": "A constructive meeting with the foreign ministry.",
               "followup_user": delegate_id, "followup_due": today, "visibility": "country"}
    r = post(writer, f"{path}/outcome", path, {**outcome, "version": str(version)})
    assert r.status_code == 303, r.text[:2000]

    # The reminder: once when due, once when overdue, never every hour.
    # (Mail queued by `ratify housekeeping` is sent by the server's sender.)
    before = mail_count(smtp, delegate.email)
    p = site.cli("housekeeping")
    assert p.returncode == 0, p.stderr
    soon = next_mail_to(smtp, delegate.email, before, timeout=60)
    assert f"/meetings/{mid}" in SmtpCapture.body(soon)
    assert soon.msg["Subject"] == "Meeting follow-up due soon"
    assert site.cli("housekeeping").returncode == 0
    # Overdue: the due date moved to yesterday (a new date gets its own
    # reminders) is reminded once more, as overdue, then never again.
    yesterday = (datetime.datetime.now(datetime.timezone.utc).date()
                 - datetime.timedelta(days=1)).isoformat()
    version = writer.get(f"/api/v1/meetings/{mid}").json()["meeting"]["version"]
    r = post(writer, f"{path}/outcome", path,
             {**outcome, "followup_due": yesterday, "version": str(version)})
    assert r.status_code == 303, r.text[:2000]
    assert site.cli("housekeeping").returncode == 0
    late = next_mail_to(smtp, delegate.email, before + 1, timeout=60)
    assert late.msg["Subject"] == "Meeting follow-up overdue"
    assert site.cli("housekeeping").returncode == 0
    # Marked done (with a new date, which would be reminded again): no more.
    version = writer.get(f"/api/v1/meetings/{mid}").json()["meeting"]["version"]
    r = post(writer, f"{path}/outcome", path,
             {**outcome, "followup_done": "1", "version": str(version)})
    assert r.status_code == 303, r.text[:2000]
    assert site.cli("housekeeping").returncode == 0
    time.sleep(2)
    assert mail_count(smtp, delegate.email) == before + 2
    assert writer.get(f"/api/v1/meetings/{mid}").json()["meeting"]["followup_done_on"] == today

    r = post(writer, f"{path}/close", path, {})
    assert r.status_code == 303, r.text[:2000]
    assert writer.get(f"/api/v1/meetings/{mid}").json()["meeting"]["state"] == "closed"

    # The thank-you letter, in Portuguese, with the key messages and the
    # agreement.
    r = writer.get(f"{path}/thanks.pdf")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/pdf"
    text = " ".join(pdf_text(r.content, tmp_path).split())
    assert "Agradecimento pela nossa reunião" in text
    assert "Ministério das Relações Exteriores" in text
    assert "Ratify the Protocol before the next UPR" in text
    assert "The Ministry will send us the draft decree by January." in text
    assert "10 de dezembro de 2026" in text
    (tmp_path / "letter.pdf").write_bytes(writer.get(f"{path}/thanks.pdf?paper=letter").content)
    info = subprocess.run(["pdfinfo", str(tmp_path / "letter.pdf")], capture_output=True,
                          text=True).stdout
    assert "612 x 792 pts" in info, info
    # The pages in the member's language: Arabic, right to left.
    arabic = writer.get(path, headers={"Accept-Language": "ar"}).text
    assert 'dir="rtl"' in arabic and "ملف التحضير" in arabic and "الرسائل الرئيسية" in arabic
    listed = neighbour.client.get("/meetings").text
    assert f'href="/meetings/{mid}"' in listed and "Angola" in listed

    # Shared with the national coalition: Angola reads it, elsewhere does not.
    seen = neighbour.client.get(path)
    assert seen.status_code == 200 and "MARK-report" in seen.text
    for url in (path, f"{path}/thanks.pdf", f"/api/v1/meetings/{mid}"):
        r = elsewhere.client.get(url)
        assert r.status_code == 404 and "MARK-report" not in r.text, url
    assert elsewhere.client.get("/api/v1/meetings").json()["items"] == []
    items = neighbour.client.get("/api/v1/meetings").json()["items"]
    assert [i["id"] for i in items] == [mid]
    assert items[0]["start_date"] == "2026-12-10T10:30"
    assert items[0]["location"]["address"]["country"] == "AGO"
    assert items[0]["status"] == "completed"

    # The reads are in the audit log, by id only.
    admin = f.admin
    rows = audit_entries(admin, action="meeting viewed")
    assert any(about == f"Meeting {mid}" for _, about, _ in rows), rows
    assert not any("MARK-report" in " ".join(row) for row in rows)
    # The delegation's people find those reads among the reads of their details.
    assert "meeting viewed" in delegate.client.get("/profile/views").text

    # The country page, to anyone: meetings held, and only the public part.
    country = site.client().get("/countries/AGO").text
    assert "Meetings held: 1, the last on 2026-12-10." in country
    assert "A constructive meeting with the foreign ministry." in country
    assert "MARK-report" not in country and "draft decree" not in country


def test_thank_you_letter_in_every_language(site, tmp_path):
    """The thank-you model letter renders in each of its five languages,
    Arabic right to left, with the key messages and the agreements."""
    target = foreign_ministry(site)
    writer = site.factory.member("AGO", name="Eva Writer").client
    subjects = {"en": "Thank you for our meeting", "es": "Agradecimiento por nuestra reunión",
                "fr": "Remerciements pour notre réunion",
                "pt": "Agradecimento pela nossa reunião"}
    for lang in ("en", "es", "fr", "pt", "ar"):
        r = post(writer, "/meetings", "/meetings/new?country=AGO",
                 {"country": "AGO", "meeting_on": "2026-03-02", "goal": "Ratification",
                  "target": str(target), "lang": lang})
        assert r.status_code == 303, r.text[:2000]
        path = r.headers["Location"]
        r = post(writer, f"{path}/brief", path,
                 {"key_messages": "KEY-ONE\nKEY-TWO", "notes": "", "version": "1"})
        assert r.status_code == 303, r.text[:2000]
        r = post(writer, f"{path}/outcome", path,
                 {"agreements": "AGREED-SEMINAR", "version": "2"})
        assert r.status_code == 303, r.text[:2000]
        r = writer.get(f"{path}/thanks.pdf")
        assert r.status_code == 200 and r.content.startswith(b"%PDF-"), lang
        text = " ".join(pdf_text(r.content, tmp_path).split())
        for word in ("KEY-ONE", "KEY-TWO", "AGREED-SEMINAR"):
            assert word in text, (lang, text)
        if lang == "ar":
            assert re.search("[\u0600-\u06ff]", text), text
        else:
            assert subjects[lang] in text, (lang, text)


def test_meetings_are_in_the_calendar_and_the_private_feed(site, smtp):
    """A meeting shows, at its UTC time, in the calendar and the private
    feed of those who may see it, and nowhere else."""
    import icalendar

    target = foreign_ministry(site)
    f = site.factory
    author = f.member("AGO", name="Ana Planner")
    elsewhere = f.member("BRA", name="Diego Elsewhere")
    form = {"country": "AGO", "meeting_on": "2099-03-10", "meeting_time": "10:30",
            "time_zone": "Africa/Luanda", "place": "Luanda, Palácio",
            "goal": "Ask the Ministry to submit the Protocol to the National Assembly.",
            "target": str(target), "lang": "pt", "visibility": "private"}
    r = post(author.client, "/meetings", "/meetings/new?country=AGO", form)
    assert r.status_code == 303, r.text[:2000]
    mid = int(r.headers["Location"].rsplit("/", 1)[1])
    page = author.client.get("/calendar").text
    assert f'href="/meetings/{mid}"' in page and "submit the Protocol" in page
    assert f'href="/meetings/{mid}"' not in elsewhere.client.get("/calendar").text
    assert f'href="/meetings/{mid}"' not in site.client().get("/calendar").text
    # The private feed: Luanda is UTC+1, so 10:30 there is 09:30 UTC.
    c = author.client
    r = c.post("/calendar/feed", data={"csrf_token": c.csrf("/calendar")})
    feed = re.search(r'(/calendar/feed/[0-9a-f]{64}\.ics)', r.text if r.status_code == 200
                     else c.get(r.headers["Location"]).text).group(1)
    cal = icalendar.Calendar.from_ical(site.client().get(feed).content)
    (ev,) = [e for e in cal.walk("VEVENT") if str(e["UID"]) == f"meeting-{mid}@ratify"]
    assert ev.decoded("DTSTART").isoformat() == "2099-03-10T09:30:00+00:00"
    assert "submit the Protocol" in str(ev["SUMMARY"])
    public = icalendar.Calendar.from_ical(site.client().get("/calendar.ics").content)
    assert not [e for e in public.walk("VEVENT") if "meeting-" in str(e["UID"])]
