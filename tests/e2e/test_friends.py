"""
Friends of the Protocol (issue 13, item 3): the actions states take to
bring others to the Protocol, recorded by the secretariat and the acting
state's coordinators, with the UPR recommendations on the Protocol counted
by themselves; the parties that have done nothing for others yet.
"""

import re

from ratify_server import scrape_csrf


def idle(html):
    section = html[html.index('id="idle-title"'):]
    return re.findall(r'<a href="/countries/(\w{3})">', section[:section.index("</section>")])


def test_upr_recommendations_count_and_idle_parties_are_listed(server):
    html = server.client().get("/friends").text
    # Argentina recommended ratification at sessions 5 to 20 (UPR Info).
    arg = html[html.index('id="friend-ARG"'):]
    arg = arg[:arg.index("</article>")]
    assert "Recommended ratification in the UPR" in arg and "UPR 5" in arg
    assert 'class="badge st-party">Party<' in arg
    # Albania, a party, made no recommendation on the Protocol in them.
    assert "ALB" in idle(html) and "ARG" not in idle(html)
    # The API says the same, for one state.
    r = server.client().get("/api/v1/state-actions", params={"iso3": "ARG"})
    assert r.status_code == 200
    kinds = {a["kind"] for a in r.json()["state_actions"]}
    assert kinds == {"upr_recommendation"}
    assert server.client().get("/api/v1/state-actions",
                               params={"iso3": "nope"}).status_code == 400


def test_a_coordinator_records_an_action_for_their_state_only(fresh_server):
    coord = fresh_server.login_user(fresh_server.member("coordinator", countries=["ALB"]))
    page = coord.get("/friends").text
    assert "Record what a state did" in page
    # Only their state is offered.
    assert re.findall(r'<option value="(\w{3})"', page[page.index('id="f-iso3"'):
                                                       page.index('id="f-kind"')]) == ["ALB"]
    form = {"csrf_token": scrape_csrf(page), "iso3": "ALB", "kind": "announce",
            "date": "2026-03-02", "forum": "Human Rights Council, 61st session",
            "target": "SRB", "summary": "Announced its ratification and urged its neighbours.",
            "source_url": "https://example.org/statement"}
    # Bad input: the form again with what was typed, nothing written.
    bad = dict(form, date="2026-02-31", forum="")
    r = coord.post("/friends/actions", data=bad)
    assert r.status_code == 400
    assert 'id="f-date" name="date" type="date" value="2026-02-31"' in r.text
    assert "Announced its ratification and urged its neighbours." in r.text
    assert 'id="f-forum"' in r.text and 'aria-invalid="true"' in r.text
    assert fresh_server.scalar("SELECT count(*) FROM state_actions") == 0
    # Another state's: 403, nothing written.
    r = coord.post("/friends/actions", data=dict(form, iso3="BRA"))
    assert r.status_code == 403
    assert fresh_server.scalar("SELECT count(*) FROM state_actions") == 0
    r = coord.post("/friends/actions", data=form)
    assert r.status_code == 303, r.text
    (row,) = fresh_server.query("SELECT id, iso3, kind, target_iso3, recorded_by FROM "
                                "state_actions")
    aid = row[0]
    assert tuple(row[1:4]) == ("ALB", "announce", "SRB")
    assert fresh_server.scalar("SELECT count(*) FROM audit_log WHERE action = "
                               "'state action recorded' AND object = ?",
                               f"state action {aid}") == 1
    html = fresh_server.client().get("/friends").text
    assert "ALB" not in idle(html)
    assert "Made its ratification known" in html and "Human Rights Council, 61st session" in html
    country = fresh_server.client().get("/countries/ALB").text
    assert "What this state did for the Protocol elsewhere" in country
    assert ">Serbia</a>" in country
    # Members may not record; visitors neither.
    member = fresh_server.login_user(fresh_server.member("member"))
    assert member.post("/friends/actions", data=form).status_code == 403
    # Deleting asks first, and only the state's coordinator or an admin may.
    other = fresh_server.login_user(fresh_server.member("coordinator", countries=["BRA"]))
    assert other.get(f"/friends/actions/{aid}/delete").status_code == 403
    confirm = coord.get(f"/friends/actions/{aid}/delete")
    assert confirm.status_code == 200 and "Delete this action?" in confirm.text
    r = coord.post(f"/friends/actions/{aid}/delete", data={})
    assert r.status_code == 403  # no CSRF token
    r = coord.post(f"/friends/actions/{aid}/delete",
                   data={"csrf_token": scrape_csrf(confirm.text)})
    assert r.status_code == 303
    assert fresh_server.scalar("SELECT count(*) FROM state_actions") == 0
    assert coord.get(f"/friends/actions/{aid}/delete").status_code == 404
    # A UPR recommendation is not a recorded action: nothing to delete.
    assert coord.get("/friends/actions/0/delete").status_code == 404


def test_friends_page_in_arabic_and_spanish(server):
    html = server.client().get("/friends", headers={"Accept-Language": "ar"}).text
    assert 'dir="rtl"' in html
    html = server.client().get("/friends", headers={"Accept-Language": "es"}).text
    assert "Amigos del Protocolo" in html
