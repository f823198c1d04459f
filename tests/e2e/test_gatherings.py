"""
International gatherings (issue 13, item 1): the secretariat records a
Human Rights Council session with the delegations present; a member
announces attendance and the delegations they will approach, gets their
positions and a model letter, and records what a delegation said; before a
UPR session the coordinators of the states under review and the members in
states parties are told what to ask for.
"""

import datetime
import html
import re

import pytest

from factories import mail_count, next_mail_to, mail_site  # noqa: F401  (the fixture)
from ratify_server import scrape_csrf
from smtp_capture import SmtpCapture, smtp  # noqa: F401  (the smtp fixture)


@pytest.fixture
def site(mail_site):
    return mail_site


def record(admin, **fields):
    page = admin.get("/gatherings/new").text
    data = {"csrf_token": scrape_csrf(page), "kind": "hrc_session",
            "title": "Human Rights Council, 61st session", "starts_on": "2099-02-23",
            "ends_on": "2099-04-02", "place": "Geneva",
            "states": "Argentina\nAngola, Portugal", "under_review": "", **fields}
    return admin.post("/gatherings", data=data)


def test_a_member_attends_a_council_session(site):
    admin = site.login_user(site.member("admin"))
    # Unknown names are reported, never guessed; what was typed is kept.
    r = record(admin, states="Argentina\nRuritania")
    assert r.status_code == 400
    assert "Ruritania" in r.text and 'value="Human Rights Council, 61st session"' in r.text
    assert site.scalar("SELECT count(*) FROM gatherings") == 0
    r = record(admin, ends_on="2099-01-01")
    assert r.status_code == 400
    r = record(admin)
    assert r.status_code == 303, r.text[:2000]
    path = r.headers["Location"]
    gid = int(path.rsplit("/", 1)[1])
    # The secretariat records Angola's position, public.
    page = admin.get("/countries/AGO/position").text
    assert admin.post("/countries/AGO/position/statements", data={
        "csrf_token": scrape_csrf(page), "date": "2098-11-02", "forum": "UPR, 5th cycle",
        "summary": "Said ratification is under study.", "visibility": "public"}).status_code == 303

    member = site.factory.member("AGO", name="Ana Advocate", kind="organisation",
                                 organisation="Mosaiko", org_type="human_rights_ngo")
    c = member.client
    assert c.get("/gatherings/new").status_code == 403
    page = c.get(path).text
    assert "Human Rights Council, 61st session" in page
    # Attending, approaching Angola and Portugal.
    r = c.post(f"{path}/attend", data={"csrf_token": scrape_csrf(page),
                                       "approach": ["AGO", "PRT"]})
    assert r.status_code == 303
    page = c.get(path).text
    assert "You attend this gathering." in page
    assert "Said ratification is under study." in page  # the position, for Angola
    assert "Ratify the OP-ICESCR, which it has already signed." in page
    # A delegation not present is refused.
    r = c.post(f"{path}/attend", data={"csrf_token": scrape_csrf(page), "approach": ["USA"]})
    assert r.status_code == 400
    # The model letters: Portugal, a party, is asked to act as a Friend;
    # Angola is asked for its step, in Portuguese.
    letter = c.get(f"{path}/letter/PRT", params={"lang": "en"}).text
    assert "Human Rights Council, 61st session" in letter
    assert "is one of the" in letter and "states parties to the Optional Protocol" in letter
    letter = c.get(f"{path}/letter/AGO").text
    assert 'lang="pt"' in letter and "Excelentíssimo" in letter
    # The letter's own words, whatever the page's language: the country's
    # Portuguese name, no English ask in Portuguese, from the member's
    # organisation.
    letter = c.get(f"{path}/letter/AGO", headers={"Accept-Language": "ar"}).text
    text = letter[letter.index('lang="pt"'):]
    assert "Angola" in text
    assert "quanto ao Protocolo" in text or "intenções de Angola" in text
    assert "أنغولا" not in text and "Ratify the OP-ICESCR" not in text
    assert "Em nome da organização ," not in text
    assert "Em nome da organização Mosaiko," in text
    assert c.get(f"{path}/letter/USA").status_code == 404
    # What Portugal's delegation said.
    r = c.post(f"{path}/notes", data={"csrf_token": scrape_csrf(page), "iso3": "PRT",
                                      "said": "Will mention the Protocol in its statement.",
                                      "visibility": "members"})
    assert r.status_code == 303
    r = c.post(f"{path}/notes", data={"csrf_token": scrape_csrf(page), "iso3": "AGO",
                                      "said": "Privately hostile.", "visibility": "committee"})
    assert r.status_code == 303
    r = c.post(f"{path}/notes", data={"csrf_token": scrape_csrf(page), "iso3": "PRT",
                                      "said": "", "visibility": "members"})
    assert r.status_code == 400
    other = site.factory.member("KEN")
    seen = other.client.get(path).text
    assert "Will mention the Protocol in its statement." in seen
    assert "Privately hostile." not in seen
    assert "Privately hostile." in admin.get(path).text
    # Who attends: the secretariat sees it; another member does not.
    assert "Ana Advocate" in admin.get(path).text and "Ana Advocate" not in seen
    # Someone who does not attend may not record answers.
    r = other.client.post(f"{path}/notes", data={"csrf_token": scrape_csrf(seen),
                                                 "iso3": "PRT", "said": "x",
                                                 "visibility": "members"})
    assert r.status_code == 403
    assert site.client().get(path).status_code in (303, 401)
    assert site.scalar("SELECT count(*) FROM gathering_notes WHERE gathering_id = ?", gid) == 2
    # The API: the same, as JSON.
    api = c.get(f"/api/v1/gatherings/{gid}").json()
    assert api["gathering"]["title"] == "Human Rights Council, 61st session"
    assert {s["iso3"] for s in api["states"]} == {"ARG", "AGO", "PRT"}
    assert [g["id"] for g in c.get("/api/v1/gatherings").json()["gatherings"]] == [gid]


def test_the_letter_names_the_state_in_its_own_language(site):
    """Mozambique's delegation reads "Moçambique" in the Portuguese letter
    (Debian's iso-codes, data/countries.csv name_pt), on an English page
    as on a French one, and "Mozambique" in the Spanish one."""
    admin = site.login_user(site.member("admin"))
    r = record(admin, states="Mozambique, Argentina")
    assert r.status_code == 303, r.text[:2000]
    path = r.headers["Location"]
    member = site.factory.member("MOZ", kind="organisation", organisation="Liga",
                                 org_type="human_rights_ngo")
    c = member.client
    assert c.post(f"{path}/attend", data={"csrf_token": scrape_csrf(c.get(path).text),
                                          "approach": ["MOZ"]}).status_code == 303
    for page_lang in ("en", "fr"):
        letter = c.get(f"{path}/letter/MOZ", params={"lang": "pt"},
                       headers={"Accept-Language": page_lang}).text
        text = html.unescape(letter[letter.index('lang="pt"'):])
        assert "Moçambique" in text and "Mozambique" not in text, page_lang
    letter = c.get(f"{path}/letter/MOZ", params={"lang": "es"}).text
    assert "Mozambique" in html.unescape(letter[letter.index('lang="es"'):])


def test_before_a_upr_session_the_right_people_are_told(site, smtp):
    admin = site.login_user(site.member("admin"))
    coord_user = site.member("coordinator", countries=["AGO"])
    portuguese = site.factory.member("PRT", consent_updates=True)
    silent = site.factory.member("PRT")  # no consent to updates: not told
    start = (datetime.date.today() + datetime.timedelta(days=5)).isoformat()
    end = (datetime.date.today() + datetime.timedelta(days=16)).isoformat()
    r = record(admin, kind="upr_session", title="UPR Working Group, 52nd session",
               starts_on=start, ends_on=end, states="Portugal", under_review="Angola")
    assert r.status_code == 303, r.text[:2000]
    gid = int(r.headers["Location"].rsplit("/", 1)[1])
    before = {e: mail_count(smtp, e) for e in (coord_user.email, portuguese.email,
                                                silent.email)}
    assert site.cli("housekeeping").returncode == 0
    m = next_mail_to(smtp, coord_user.email, before[coord_user.email], timeout=60)
    assert m.msg["Subject"] == "Before the UPR session: UPR Working Group, 52nd session"
    body = SmtpCapture.body(m)
    assert "Ratify the OP-ICESCR, which it has already signed." in body
    assert f"/gatherings/{gid}" in body
    m = next_mail_to(smtp, portuguese.email, before[portuguese.email], timeout=60)
    body = SmtpCapture.body(m)
    assert "recommend" in body and "Angola" in body
    # Once only; and not to who did not agree to updates.
    assert site.cli("housekeeping").returncode == 0
    assert site.scalar("SELECT count(*) FROM gatherings WHERE notified_at IS NOT NULL") == 1
    assert mail_count(smtp, silent.email) == before[silent.email]
