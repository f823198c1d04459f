"""
Country positions (issue 13, item 4): the secretariat records what a
government said and the coalition's assessment, each with a visibility;
who may not see one never does, and reads of what is not public are logged.
"""

from ratify_server import scrape_csrf


def test_positions_follow_visibility_and_reads_are_audited(fresh_server):
    srv = fresh_server
    admin = srv.login_user(srv.member("admin"))
    page = admin.get("/countries/AGO/position")
    assert page.status_code == 200 and "Record a statement" in page.text
    csrf = scrape_csrf(page.text)
    for date, forum, summary, visibility in (
            ("2024-03-12", "UPR 4th cycle, interactive dialogue",
             "Said it is studying the Protocol with a view to ratification.", "public"),
            ("2025-06-02", "Meeting with the coalition",
             "The foreign ministry's legal adviser doubts the courts are ready.", "members"),
            ("2025-09-20", "Briefing to the steering committee",
             "The minister privately opposes ratification before the elections.", "committee")):
        r = admin.post("/countries/AGO/position/statements", data={
            "csrf_token": csrf, "date": date, "forum": forum, "summary": summary,
            "source_url": "https://example.org/s", "visibility": visibility})
        assert r.status_code == 303, r.text
    r = admin.post("/countries/AGO/position", data={
        "csrf_token": csrf, "stance": "undecided", "visibility": "members",
        "assessment": "Open in public, hesitant in private."})
    assert r.status_code == 303
    # A visitor sees the public statement only, and no assessment.
    html = srv.client().get("/countries/AGO/position").text
    assert "studying the Protocol" in html
    assert "legal adviser" not in html and "privately opposes" not in html
    assert "Undecided" not in html
    country = srv.client().get("/countries/AGO").text
    assert "Said it is studying the Protocol" in country
    assert 'id="position-stance"' not in country
    # A member sees the members' ones; their view is logged.
    member = srv.login_user(srv.member("member"))
    before = srv.scalar("SELECT count(*) FROM audit_log WHERE action = 'country position viewed'")
    html = member.get("/countries/AGO/position").text
    assert "legal adviser" in html and "privately opposes" not in html
    assert "Undecided" in html and "Open in public, hesitant in private." in html
    assert srv.scalar("SELECT count(*) FROM audit_log WHERE action = "
                      "'country position viewed' AND object = 'position AGO'") == before + 1
    # A member of the steering committee sees the committee's one too.
    user = srv.member("member")
    page = admin.get("/admin/steering-committee").text
    r = admin.post("/admin/steering-committee",
                   data={"csrf_token": scrape_csrf(page), "email": user.email})
    assert r.status_code == 303, r.text[:2000]
    committee = srv.login_user(user)
    html = committee.get("/countries/AGO/position").text
    assert "privately opposes" in html and "legal adviser" in html
    # The API the same.
    api = member.get("/api/v1/countries/AGO/position").json()
    assert [s["forum"] for s in api["statements"]] == [
        "Meeting with the coalition", "UPR 4th cycle, interactive dialogue"]
    # Members may not write.
    r = member.post("/countries/AGO/position", data={
        "csrf_token": scrape_csrf(html), "stance": "opposed", "visibility": "public"})
    assert r.status_code == 403
    # Bad input: the form again with what was typed, nothing written.
    n = srv.scalar("SELECT count(*) FROM position_statements")
    r = admin.post("/countries/AGO/position/statements", data={
        "csrf_token": csrf, "date": "2025-13-01", "forum": "A forum",
        "summary": "x" * 400, "visibility": "everyone"})
    assert r.status_code == 400
    assert 'value="A forum"' in r.text and 'aria-invalid="true"' in r.text
    assert srv.scalar("SELECT count(*) FROM position_statements") == n
    assert admin.get("/countries/XXX/position").status_code == 404
    # Deleting asks first.
    (sid,) = srv.query("SELECT id FROM position_statements WHERE forum = "
                       "'Meeting with the coalition'")
    confirm = admin.get(f"/countries/AGO/position/statements/{sid[0]}/delete")
    assert confirm.status_code == 200 and "Delete this statement?" in confirm.text
    assert admin.get(f"/countries/ARG/position/statements/{sid[0]}/delete").status_code == 404
    r = admin.post(f"/countries/AGO/position/statements/{sid[0]}/delete",
                   data={"csrf_token": scrape_csrf(confirm.text)})
    assert r.status_code == 303
    assert srv.scalar("SELECT count(*) FROM position_statements") == n - 1
    assert srv.scalar("SELECT count(*) FROM audit_log WHERE action IN ("
                      "'position statement recorded', 'position statement deleted', "
                      "'position assessed')") == 5
