"""
Outcomes across countries (issue 12, item 5): the secretariat sees every
meeting and event with what came of it, filtered by country, regional
group, the country's status and a period, exports it as CSV and prints a
report by country for an international gathering; others may not.
"""

import csv
import io

import pytest

from factories import mail_site  # noqa: F401  (the fixture)
from ratify_server import scrape_csrf
from smtp_capture import smtp  # noqa: F401  (the smtp fixture)
from test_events import create_event
from test_meetings import foreign_ministry, post


@pytest.fixture
def site(mail_site):
    return mail_site


def test_the_secretariat_sees_outcomes_across_countries(site):
    target = foreign_ministry(site)
    angolan = site.factory.member("AGO", name="Ana Planner")
    r = post(angolan.client, "/meetings", "/meetings/new?country=AGO",
             {"country": "AGO", "meeting_on": "2026-03-02", "goal": "Ratification in 2026",
              "target": str(target), "lang": "pt", "visibility": "private"})
    assert r.status_code == 303, r.text[:2000]
    path = r.headers["Location"]
    r = post(angolan.client, f"{path}/outcome", path,
             {"agreements": "=HYPERLINK(\"x\") The Ministry will send the draft decree.",
              "version": "1"})
    assert r.status_code == 303, r.text[:2000]
    kenyan = site.factory.member("KEN", name="Kip Organiser")
    seminar = create_event(kenyan.client, country="KEN", title="Nairobi seminar on ESCR",
                           visibility="members")
    page = kenyan.client.get(f"/events/{seminar}").text
    r = kenyan.client.post(f"/events/{seminar}/report", data={
        "csrf_token": scrape_csrf(page), "report": "Two MPs will table a motion.",
        "report_visibility": "members"})
    assert r.status_code == 303, r.text[:2000]

    admin = site.login_user(site.member("admin"))
    html = admin.get("/admin/outcomes").text
    assert "Ratification in 2026" in html and "Nairobi seminar on ESCR" in html
    assert "The Ministry will send the draft decree." in html
    assert "Two MPs will table a motion." in html
    # Angola signed the Protocol: the signatory filter keeps it, drops Kenya.
    html = admin.get("/admin/outcomes", params={"status": "signatory"}).text
    assert "Ratification in 2026" in html and "Nairobi seminar" not in html
    html = admin.get("/admin/outcomes", params={"group": "african", "to": "2026-03-31"}).text
    assert "Ratification in 2026" in html and "Nairobi seminar" not in html
    html = admin.get("/admin/outcomes", params={"country": "KEN"}).text
    assert "Ratification in 2026" not in html and "Nairobi seminar" in html
    assert admin.get("/admin/outcomes", params={"from": "2026-02-31"}).status_code == 400
    # The CSV: the same rows, a formula neutralised.
    r = admin.get("/admin/outcomes.csv")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    by_title = {row["title"]: row for row in rows}
    assert by_title["Ratification in 2026"]["iso3"] == "AGO"
    assert by_title["Ratification in 2026"]["outcome"].startswith("'=HYPERLINK")
    assert by_title["Nairobi seminar on ESCR"]["kind"] == "seminar"
    # The report for a gathering: by country, with its status and the ask.
    report = admin.get("/admin/outcomes/report").text
    assert report.index("Angola") < report.index("Kenya")
    assert "Ratify the OP-ICESCR, which it has already signed." in report
    # Who looked is logged.
    assert site.scalar("SELECT count(*) FROM audit_log WHERE action = 'outcomes listed'") >= 5
    # Others may not.
    assert angolan.client.get("/admin/outcomes").status_code == 403
    assert angolan.client.get("/admin/outcomes.csv").status_code == 403
    coord = site.login_user(site.member("coordinator", countries=["AGO"]))
    assert coord.get("/admin/outcomes/report").status_code == 403
    # A member of the steering committee sees what is shared beyond the
    # secretariat: the members' seminar, not the private meeting.
    user = site.member("member")
    page = admin.get("/admin/steering-committee").text
    assert admin.post("/admin/steering-committee", data={
        "csrf_token": scrape_csrf(page), "email": user.email}).status_code == 303
    committee = site.login_user(user)
    html = committee.get("/admin/outcomes").text
    assert "Nairobi seminar on ESCR" in html and "Ratification in 2026" not in html


def test_the_events_api_and_attendances(site):
    organiser = site.factory.member("AGO", name="Ana Organiser")
    public = create_event(organiser.client, title="Open seminar", visibility="public")
    national = create_event(organiser.client, title="Coalition-only seminar",
                            visibility="country")
    page = organiser.client.get(f"/events/{public}").text
    r = organiser.client.post(f"/events/{public}/invite", data={
        "csrf_token": scrape_csrf(page),
        "invitees": "Rui Civil <rui@gov.ao>, civil_servant\nMara Judge <mara@court.ao>, judiciary"})
    assert r.status_code == 303, r.text[:2000]
    # A visitor lists the public event only, in OSDI's shape.
    events = site.client().get("/api/v1/events").json()["events"]
    assert [e["title"] for e in events] == ["Open seminar"]
    ev = events[0]
    assert ev["identifiers"] == [f"ratify:event:{public}"]
    assert ev["start_date"].endswith("Z") and ev["location"]["address"]["country"] == "AGO"
    # The organiser's own list has both; a member elsewhere not the national one.
    mine = {e["title"] for e in organiser.client.get("/api/v1/events").json()["events"]}
    assert mine == {"Open seminar", "Coalition-only seminar"}
    elsewhere = site.factory.member("KEN")
    theirs = {e["title"] for e in elsewhere.client.get("/api/v1/events").json()["events"]}
    assert theirs == {"Open seminar"}
    assert elsewhere.client.get(f"/api/v1/events/{national}").status_code == 404
    # Attendances: for who manages the event; logged.
    r = organiser.client.get(f"/api/v1/events/{public}/attendances")
    assert r.status_code == 200
    att = r.json()["attendances"]
    assert {a["person"]["email_addresses"][0]["address"] for a in att} == {"rui@gov.ao",
                                                                         "mara@court.ao"}
    assert {a["status"] for a in att} == {"needs_action"}
    assert any(a["authority"] for a in att)
    assert elsewhere.client.get(f"/api/v1/events/{public}/attendances").status_code == 403
    assert elsewhere.client.get(f"/api/v1/events/{national}/attendances").status_code == 404
    assert site.scalar("SELECT count(*) FROM audit_log WHERE action = 'event invitees viewed' "
                       "AND object = ?", f"event {public}") >= 1
