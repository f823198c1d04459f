"""
Every destructive action asks first, without JavaScript (issue 14): a GET of
the action's path shows what would go and a button that POSTs (with CSRF) to
the same path; Cancel goes back; after the POST the page redirected to says
what happened. The POST routes are unchanged, so an old form still works.
"""

import re

from factories import mail_site  # noqa: F401  (the fixture)
from ratify_server import scrape_csrf
from smtp_capture import smtp  # noqa: F401  (the smtp fixture)


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


def test_a_steering_committee_member_is_removed_after_asking(fresh_server):
    admin = fresh_server.login_user(fresh_server.member("admin"))
    user = fresh_server.member("member")
    page = admin.get("/admin/steering-committee").text
    r = admin.post("/admin/steering-committee",
                   data={"csrf_token": scrape_csrf(page), "email": user.email})
    assert r.status_code == 303
    uid = fresh_server.scalar("SELECT id FROM users WHERE email = ?", user.email)
    on_committee = "SELECT count(*) FROM steering_committee WHERE user_id = ?"
    page = admin.get("/admin/steering-committee").text
    # Remove is a link to the question, not a button that acts.
    assert 'name="remove"' not in page
    path = f"/admin/steering-committee/{uid}/remove"
    assert f'href="{path}"' in page
    confirm_page(admin, path, "Remove this member from the steering committee?", user.email,
                 "no longer see or answer requests for support")
    # An old form that still posts remove=ID is taken to the question.
    r = admin.post("/admin/steering-committee",
                   data={"csrf_token": scrape_csrf(page), "remove": str(uid)})
    assert r.status_code == 303 and r.headers["Location"] == path
    # Without the token, or cancelled, nothing happens.
    assert admin.post(path, data={}).status_code == 403
    assert "confirm-cancel" in admin.get(path).text
    assert admin.get("/admin/steering-committee").status_code == 200
    assert fresh_server.scalar(on_committee, uid) == 1
    # Only administrators are asked.
    other = fresh_server.login_user(fresh_server.member("coordinator", countries=["AGO"]))
    assert other.get(path).status_code == 403
    location = confirm_and_post(admin, path)
    assert location == "/admin/steering-committee?done=removed"
    assert fresh_server.scalar(on_committee, uid) == 0
    assert "Removed from the steering committee" in notice(admin, location)
    assert user.email not in admin.get("/admin/steering-committee").text
    assert fresh_server.scalar("SELECT count(*) FROM audit_log "
                               "WHERE action = 'steering committee member removed'") == 1
    # Off the committee: nothing left to ask about, nor to remove.
    assert admin.get(path).status_code == 404
    assert admin.post(path, data={"csrf_token": scrape_csrf(page)}).status_code == 404
    es = {"Accept-Language": "es"}
    assert "Eliminado del comit\u00e9 directivo" in admin.get(location, headers=es).text


def test_a_private_calendar_feed_is_revoked_after_asking(fresh_server):
    c = fresh_server.login_user(fresh_server.member("member"))
    # No feed yet: nothing to ask, back to the calendar.
    r = c.get("/calendar/feed/revoke")
    assert r.status_code == 303 and r.headers["Location"] == "/calendar"
    r = c.post("/calendar/feed", data={"csrf_token": scrape_csrf(c.get("/calendar").text)})
    assert r.status_code == 200
    feed = re.search(r'<code id="feed-url">[^<]*(/calendar/feed/[0-9a-f]{64}\.ics)</code>',
                     r.text).group(1)
    assert fresh_server.client().get(feed).status_code == 200
    page = c.get("/calendar").text
    path = "/calendar/feed/revoke"
    assert f'href="{path}"' in page and f'action="{path}"' not in page
    confirm_page(c, path, "Revoke your private calendar feed?", "stop working at once")
    # Cancelled (or posted without the token): the address still works.
    assert c.post(path, data={}).status_code == 403
    assert fresh_server.client().get(feed).status_code == 200
    location = confirm_and_post(c, path)
    assert location == "/calendar?done=feed-revoked"
    assert fresh_server.client().get(feed).status_code == 404
    assert "private feed address no longer works" in notice(c, location)
    # Revoked: the calendar offers a new address and no revocation.
    page = c.get("/calendar").text
    assert f'href="{path}"' not in page and "Make a private feed address" in page
    assert "Revocada" in c.get(location, headers={"Accept-Language": "es"}).text


def feed_of(html):
    m = re.search(r'<code id="feed-url">[^<]*(/calendar/feed/[0-9a-f]{64}\.ics)</code>', html)
    return m.group(1) if m else None


def test_a_new_private_feed_asks_before_replacing_the_old_one(fresh_server):
    c = fresh_server.login_user(fresh_server.member("member"))
    # The first address: nothing to replace, nothing asked.
    r = c.post("/calendar/feed", data={"csrf_token": scrape_csrf(c.get("/calendar").text)})
    assert r.status_code == 200 and "Replace your private calendar feed?" not in r.text
    old = feed_of(r.text)
    assert old and "no longer works" not in r.text
    # Another: the question first, and the old address still works.
    r = c.post("/calendar/feed", data={"csrf_token": scrape_csrf(c.get("/calendar").text)})
    assert r.status_code == 200
    for text in ("Replace your private calendar feed?", "stop working at once",
                 'action="/calendar/feed?replace=1"', 'href="/calendar" id="confirm-cancel"',
                 "Made on"):
        assert text in r.text, text
    assert feed_of(r.text) is None
    assert fresh_server.scalar("SELECT count(*) FROM calendar_feeds") == 1
    assert fresh_server.client().get(old).status_code == 200
    # Saying yes without the token does nothing.
    assert c.post("/calendar/feed?replace=1", data={}).status_code == 403
    assert fresh_server.client().get(old).status_code == 200
    # Yes: a new address, the old one cut off, and the page says so.
    done = c.post("/calendar/feed?replace=1", data={"csrf_token": scrape_csrf(r.text)})
    assert done.status_code == 200
    new = feed_of(done.text)
    assert new and new != old
    assert "The old one no longer works" in done.text
    assert fresh_server.client().get(old).status_code == 404
    assert fresh_server.client().get(new).status_code == 200
    assert fresh_server.scalar("SELECT count(*) FROM calendar_feeds") == 1
    # In Spanish too.
    es = {"Accept-Language": "es"}
    r = c.post("/calendar/feed", headers=es,
               data={"csrf_token": scrape_csrf(c.get("/calendar").text)})
    assert "¿Reemplazar su calendario privado?" in r.text
    assert fresh_server.client().get(new).status_code == 200


def test_leaving_a_working_group_asks_first(mail_site):
    site = mail_site
    m = site.factory.member("KEN", name="Amina Leaver", listing="members")
    c = m.client
    r = c.post("/groups/legal/join", data={"csrf_token": scrape_csrf(c.get("/groups/legal").text)})
    assert r.status_code == 303
    in_group = ("SELECT count(*) FROM working_group_members m "
                "JOIN working_groups g ON g.id = m.group_id "
                "WHERE g.slug = 'legal' AND m.person_id = ?")
    assert site.scalar(in_group, m.person_id) == 1
    page = c.get("/groups/legal").text
    path = "/groups/legal/leave"
    assert f'href="{path}"' in page and f'action="{path}"' not in page
    confirm_page(c, path, "Leave this working group?", "Legal and justiciability",
                 "You can join again at any time.")
    # Cancel goes back to the group's page, where nothing has changed.
    assert re.search(r'id="confirm-cancel"', c.get(path).text)
    assert 'href="/groups/legal" id="confirm-cancel"' in c.get(path).text
    assert c.post(path, data={}).status_code == 403
    assert site.scalar(in_group, m.person_id) == 1
    assert "You are a member of this group." in c.get("/groups/legal").text
    location = confirm_and_post(c, path)
    assert location == "/groups/legal?done=left"
    assert site.scalar(in_group, m.person_id) == 0
    assert "You have left the group." in notice(c, location)
    # Out of the group: nothing left to ask, back to the group's page.
    r = c.get(path)
    assert r.status_code == 303 and r.headers["Location"] == "/groups/legal"
    # From the list, the question and the answer return to the list.
    r = c.post("/groups/legal/join", data={"csrf_token": scrape_csrf(page)})
    assert r.status_code == 303
    listing = c.get("/groups").text
    assert 'href="/groups/legal/leave?from=list"' in listing
    confirm_page(c, "/groups/legal/leave?from=list", "Leave this working group?")
    assert 'href="/groups#group-legal" id="confirm-cancel"' in c.get(
        "/groups/legal/leave?from=list").text
    location = confirm_and_post(c, "/groups/legal/leave?from=list")
    assert location == "/groups?done=left#group-legal"
    assert site.scalar(in_group, m.person_id) == 0
    assert "Has salido del grupo." in c.get(location, headers={"Accept-Language": "es"}).text
    # A user without a person record (an administrator made on the command
    # line) cannot be in a group, so is not asked.
    admin = site.login_user(site.member("admin"))
    assert admin.get(path).status_code == 403

# Closing an account asks first too: test_members.py, test_export_and_erasure_leave_no_personal_data.
