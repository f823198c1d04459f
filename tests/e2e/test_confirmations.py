"""
Every destructive action asks first, without JavaScript (issue 14): a GET of
the action's path shows what would go and a button that POSTs (with CSRF) to
the same path; Cancel goes back; after the POST the page redirected to says
what happened. The POST routes are unchanged, so an old form still works.
"""

import re

from ratify_server import scrape_csrf


def confirm_page(client, path, *expected):
    r = client.get(path)
    assert r.status_code == 200, r.text[:500]
    assert f'action="{path}"' in r.text and 'name="csrf_token"' in r.text
    assert 'id="confirm-cancel"' in r.text
    for text in expected:
        assert text in r.text, text
    return r


def confirm_and_post(client, path):
    r = client.get(path)
    assert r.status_code == 200
    done = client.post(path, data={"csrf_token": scrape_csrf(r.text)})
    assert done.status_code == 303
    return done.headers["Location"]


def notice(client, location):
    html = client.get(location).text
    m = re.search(r'<p class="notice" role="status" id="done-notice">([^<]*)</p>', html)
    return m.group(1) if m else None


def test_a_treaty_action_is_deleted_after_asking(fresh_server):
    c = fresh_server.login_user(fresh_server.member("admin"))
    token = scrape_csrf(c.get("/countries/AGO").text)
    r = c.post("/countries/AGO/actions",
               data={"csrf_token": token, "instrument": "op-icescr", "kind": "accession",
                     "date": "2026-11-01"})
    assert r.status_code == 303
    page = c.get("/countries/AGO").text
    # The kind is in people's words, and Delete is a link to the question.
    assert "Accession" in page and ">accession<" not in page
    (aid,) = re.findall(r'<tr><td><time datetime="2026-11-01">1 November 2026</time></td>'
                        r'<td>[^<]*</td><td>Accession</td><td></td>'
                        r'<td><a class="danger" href="/countries/AGO/actions/(\d+)/delete"', page)
    path = f"/countries/AGO/actions/{aid}/delete"
    confirm_page(c, path, "Delete this treaty action?", "Accession", "2026-11-01", "Angola")
    # Without the token nothing happens.
    assert c.post(path, data={}).status_code == 403
    assert fresh_server.scalar("SELECT count(*) FROM treaty_actions WHERE id = ?", int(aid)) == 1
    location = confirm_and_post(c, path)
    assert location.startswith("/countries/AGO?done=deleted")
    assert fresh_server.scalar("SELECT count(*) FROM treaty_actions WHERE id = ?", int(aid)) == 0
    assert "Deleted." in notice(c, location)
    # Gone: the question is a 404 now.
    assert c.get(path).status_code == 404
    # Spanish: the question and the notice are translated.
    es = {"Accept-Language": "es"}
    assert "Eliminado" in c.get(location, headers=es).text


def test_a_domestic_step_is_deleted_after_asking(fresh_server):
    coord = fresh_server.login_user(fresh_server.member("coordinator", countries=["CMR"]))
    token = scrape_csrf(coord.get("/countries/CMR").text)
    r = coord.post("/countries/CMR/stages",
                   data={"csrf_token": token, "instrument": "op-icescr",
                         "stage": "cabinet_approval", "date": "2026-02-03",
                         "evidence": "Council of ministers, communique 12", "visibility": "public"})
    assert r.status_code == 303
    page = coord.get("/countries/CMR").text
    (sid,) = re.findall(r'href="/countries/CMR/stages/(\d+)/delete"', page)
    path = f"/countries/CMR/stages/{sid}/delete"
    confirm_page(coord, path, "Delete this domestic step?", "Cabinet approval",
                 "Council of ministers, communique 12")
    # A coordinator elsewhere is refused the question as well as the act.
    other = fresh_server.login_user(fresh_server.member("coordinator", countries=["BRA"]))
    assert other.get(path).status_code == 403
    location = confirm_and_post(coord, path)
    assert "done=deleted" in location and "Deleted." in notice(coord, location)
    assert fresh_server.scalar("SELECT count(*) FROM domestic_stages") == 0


def test_a_government_contact_is_deleted_after_asking(fresh_server):
    coord = fresh_server.login_user(fresh_server.member("coordinator", countries=["AGO"]))
    token = scrape_csrf(coord.get("/countries/AGO/targets").text)
    r = coord.post("/countries/AGO/targets",
                   data={"csrf_token": token, "kind": "ministry", "name": "Minister of Justice",
                         "email": "gabinete@minjus.gov.ao"})
    assert r.status_code == 303
    page = coord.get("/countries/AGO/targets").text
    (tid,) = re.findall(r'href="/countries/AGO/targets/(\d+)/delete"', page)
    path = f"/countries/AGO/targets/{tid}/delete"
    confirm_page(coord, path, "Delete this government contact?", "Minister of Justice",
                 "Ministry", "gabinete@minjus.gov.ao")
    location = confirm_and_post(coord, path)
    assert location == "/countries/AGO/targets?done=deleted"
    assert "Deleted." in notice(coord, location)
    assert fresh_server.scalar("SELECT count(*) FROM targets WHERE id = ?", int(tid)) == 0


def test_an_api_token_is_revoked_after_asking(fresh_server):
    admin = fresh_server.login_user(fresh_server.member("admin"))
    page = admin.get("/admin/tokens").text
    r = admin.post("/admin/tokens", data={"csrf_token": scrape_csrf(page), "name": "CRM sync",
                                          "scope": "write"})
    assert r.status_code == 200
    page = admin.get("/admin/tokens").text
    assert "Read and write" in page and "<td>write</td>" not in page
    (tid,) = re.findall(r'href="/admin/tokens/(\d+)/revoke"', page)
    path = f"/admin/tokens/{tid}/revoke"
    confirm_page(admin, path, "Revoke this API token?", "CRM sync", "Read and write")
    location = confirm_and_post(admin, path)
    assert location == "/admin/tokens?done=revoked"
    assert "no longer works" in notice(admin, location)
    # Revoked: nothing left to ask about.
    assert admin.get(path).status_code == 404
    # A made-up ?done= says nothing.
    assert notice(admin, "/admin/tokens?done=anything") is None

# Closing an account asks first too: test_members.py, test_export_and_erasure_leave_no_personal_data.
