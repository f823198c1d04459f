"""
Submissions drafted with the coalition's help (issue 13, item 5): a member
asks for help drafting a UPR stakeholder report through a request for
support; the requester and the secretariat save versions (none is
overwritten); the final text is kept with the country, seen by whom its
visibility allows, and who read it is logged.
"""

import re

import pytest

from factories import mail_site  # noqa: F401  (the fixture)
from ratify_server import scrape_csrf
from smtp_capture import smtp  # noqa: F401  (the smtp fixture)
from test_assistance import ask, move


@pytest.fixture
def site(mail_site):
    return mail_site


def save(client, rid, body, note=""):
    page = client.get(f"/assistance/{rid}/drafts").text
    return client.post(f"/assistance/{rid}/drafts",
                       data={"csrf_token": scrape_csrf(page), "body": body, "note": note})


def test_a_stakeholder_report_is_drafted_in_versions_and_kept(site):
    requester = site.factory.member("AGO")
    neighbour = site.factory.member("AGO")
    elsewhere = site.factory.member("KEN")
    admin = site.login_user(site.member("admin"))
    r = ask(requester.client, kind="submission_drafting",
            subject="Our UPR stakeholder report on the right to housing")
    assert r.status_code == 303, r.text[:2000]
    rid = int(re.fullmatch(r".*/assistance/(\d+)", r.headers["Location"]).group(1))
    assert f"/assistance/{rid}/drafts" in requester.client.get(f"/assistance/{rid}").text
    # Versions: the requester writes, the secretariat revises; nothing is lost.
    assert save(requester.client, rid, "Forced evictions in Luanda, first draft.").status_code \
        == 303
    assert save(admin, rid, "Forced evictions in Luanda: 2,000 families (revised).",
                note="figures from the housing ministry").status_code == 303
    page = requester.client.get(f"/assistance/{rid}/drafts").text
    assert "Version 2" in page and "Version 1" in page
    assert "figures from the housing ministry" in page
    assert "2,000 families (revised)." in page
    v1 = requester.client.get(f"/assistance/{rid}/drafts?version=1").text
    assert "first draft." in v1
    assert requester.client.get(f"/assistance/{rid}/drafts?version=9").status_code == 404
    assert site.scalar("SELECT count(*) FROM submission_drafts WHERE request_id = ?", rid) == 2
    # Bad input: refused, the text kept in the form, nothing written.
    r = save(requester.client, rid, "")
    assert r.status_code == 400
    # Nobody else sees the drafts.
    assert elsewhere.client.get(f"/assistance/{rid}/drafts").status_code == 404
    assert neighbour.client.get(f"/assistance/{rid}/drafts").status_code == 404
    r = elsewhere.client.post(f"/assistance/{rid}/drafts",
                              data={"csrf_token": elsewhere.client.csrf("/assistance/new"),
                                    "body": "x"})
    assert r.status_code == 404
    # Kept with the country, for the national coalition.
    page = requester.client.get(f"/assistance/{rid}/drafts").text
    r = requester.client.post(f"/assistance/{rid}/final", data={
        "csrf_token": scrape_csrf(page), "title": "", "kind": "upr_stakeholder",
        "visibility": "country"})
    assert r.status_code == 400
    r = requester.client.post(f"/assistance/{rid}/final", data={
        "csrf_token": scrape_csrf(page), "title": "Angola: stakeholder report, 4th UPR cycle",
        "kind": "upr_stakeholder", "visibility": "country"})
    assert r.status_code == 303
    path = r.headers["Location"]
    assert re.fullmatch(r"/countries/AGO/submissions/\d+", path)
    sid = int(path.rsplit("/", 1)[1])
    kept = neighbour.client.get(path).text
    assert "2,000 families (revised)." in kept and "UPR stakeholder report" in kept
    assert site.scalar("SELECT count(*) FROM audit_log WHERE action = 'submission viewed' "
                       "AND object = ?", f"submission {sid}") >= 1
    assert "Angola: stakeholder report, 4th UPR cycle" in neighbour.client.get(
        "/countries/AGO").text
    # A member elsewhere and a visitor: not found, not listed.
    assert elsewhere.client.get(path).status_code == 404
    assert site.client().get(path).status_code == 404
    assert "stakeholder report, 4th UPR cycle" not in site.client().get("/countries/AGO").text
    # Once the request is done, its drafts no longer change.
    assert move(admin, rid, status="accepted").status_code == 303
    assert move(admin, rid, status="done").status_code == 303
    r = save(requester.client, rid, "A late change.")
    assert r.status_code == 400
    assert site.scalar("SELECT count(*) FROM submission_drafts WHERE request_id = ?", rid) == 2


def test_other_requests_have_no_drafts(site):
    requester = site.factory.member("AGO")
    r = ask(requester.client)
    rid = int(re.fullmatch(r".*/assistance/(\d+)", r.headers["Location"]).group(1))
    assert requester.client.get(f"/assistance/{rid}/drafts").status_code == 404
