"""
Working groups (src/group.c): the list, a group's page, joining and leaving,
and the administrators' creating, editing and naming of moderators, against
the real binary. People become members as they do (signed up, confirmed by
the emailed link, approved, welcomed; tests/e2e/factories.py) and join
groups themselves; no SQL is written.
"""


import pytest

from factories import Factory, audit_entries
from ratify_server import RatifyServer, scrape_csrf
from smtp_capture import SmtpCapture

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def module_site(tmp_path_factory):
    base = tmp_path_factory.mktemp("groups")
    smtp = SmtpCapture(base / "mail").start()
    srv = RatifyServer(base / "ratify", serve_args=("--smtp", f"smtp://127.0.0.1:{smtp.port}"))
    srv.start()
    srv.factory = Factory(srv, smtp)
    try:
        yield srv
    finally:
        srv.stop_and_check()
        smtp.stop()


@pytest.fixture
def server(module_site):
    return module_site


def add_person(server, name, iso3="KEN", listing="hidden"):
    """An approved member with an account, logged in: a namespace with
    person_id and client (factories.Factory.member)."""
    return server.factory.member(iso3, name=name, listing=listing)


def add_to_group(server, slug, person, moderator=False):
    """person joins the group from its page; an administrator makes them a
    moderator if asked."""
    page = person.client.get(f"/groups/{slug}").text
    r = person.client.post(f"/groups/{slug}/join", data={"csrf_token": scrape_csrf(page)})
    assert r.status_code == 303, r.text[:2000]
    if moderator:
        admin = server.factory.admin
        r = admin.post(f"/groups/{slug}/moderators",
                       data={"csrf_token": admin.csrf(f"/groups/{slug}"),
                             "person_id": str(person.person_id), "moderator": "yes"})
        assert r.status_code == 303, r.text[:2000]


def new_group(server, slug, name):
    admin = server.factory.admin
    r = admin.post("/groups", data={"csrf_token": admin.csrf("/groups"), "slug": slug,
                                    "name": name, "description": ""})
    assert r.status_code == 303, r.text[:2000]


def audit_rows(server, *actions):
    """(action, about, details) of the audit entries of these actions, as
    /admin/audit shows them to an administrator."""
    return [row for action in actions
            for row in audit_entries(server.factory.admin, action=action)]


def member_with_person(server, name, listing="members", iso3="KEN"):
    """A logged-in member whose account is linked to a person record."""
    m = add_person(server, name, iso3=iso3, listing=listing)
    return m.client, m.person_id


def group_api(client, slug):
    r = client.get(f"/api/v1/groups/{slug}")
    assert r.status_code == 200, r.text
    return r.json()


def listed(client, slug):
    return {g["slug"]: g for g in client.get("/api/v1/groups").json()["groups"]}[slug]


# ---- joining and leaving ----


def test_member_joins_and_leaves_a_group(server):
    client, pid = member_with_person(server, "Amina Joiner")
    page = client.get("/groups")
    assert page.status_code == 200
    for name in ("Legal and justiciability", "Public campaigning", "UN and regional advocacy"):
        assert name in page.text
    assert 'action="/groups/legal/join"' in page.text
    before = listed(client, "legal")
    assert before["is_member"] is False

    r = client.post("/groups/legal/join", data={"csrf_token": scrape_csrf(page.text)})
    assert r.status_code == 303 and r.headers["Location"] == "/groups/legal"
    after = listed(client, "legal")
    assert after["is_member"] is True
    assert after["member_count"] == before["member_count"] + 1
    detail = client.get("/groups/legal")
    assert "You are a member of this group." in detail.text
    assert "Amina Joiner" in detail.text
    # Leaving asks first (test_confirmations.py): a link to the question.
    assert 'href="/groups/legal/leave"' in detail.text

    # Joining twice changes nothing and is logged once.
    r = client.post("/groups/legal/join", data={"csrf_token": scrape_csrf(detail.text),
                                               "from": "list"})
    assert r.status_code == 303 and r.headers["Location"] == "/groups#group-legal"
    assert listed(client, "legal")["member_count"] == after["member_count"]
    joined = [row for row in audit_rows(server, "working group joined")
              if row[2] == f"person {pid}"]
    assert joined == [("working group joined", "Working group legal", f"person {pid}")]

    r = client.post("/groups/legal/leave", data={"csrf_token": scrape_csrf(detail.text)})
    assert r.status_code == 303 and r.headers["Location"] == "/groups/legal?done=left"
    assert listed(client, "legal")["is_member"] is False
    assert listed(client, "legal")["member_count"] == before["member_count"]
    assert ("working group left", "Working group legal", f"person {pid}") in audit_rows(
        server, "working group left")
    # Leaving again (an old page, a second tab) changes nothing, and no
    # page says "You have left the group": back where they were, unlogged.
    left = len(audit_rows(server, "working group left"))
    for data, where in (({}, "/groups/legal"), ({"from": "list"}, "/groups#group-legal")):
        r = client.post("/groups/legal/leave",
                        data={"csrf_token": scrape_csrf(detail.text), **data})
        assert r.status_code == 303 and r.headers["Location"] == where
        assert "You have left the group" not in client.get(where).text
    assert len(audit_rows(server, "working group left")) == left
    assert listed(client, "legal")["member_count"] == before["member_count"]
    # The audit log names people by id, never by name. A read: this looks
    # at every stored column, not only what /admin/audit shows.
    assert "Amina" not in repr(server.query("SELECT * FROM audit_log"))


def test_a_user_without_a_person_cannot_join(server):
    admin = server.member(role="admin")
    client = server.login_user(admin)
    page = client.get("/groups")
    assert page.status_code == 200
    assert "Only members can join working groups" in page.text
    r = client.post("/groups/legal/join", data={"csrf_token": scrape_csrf(page.text)})
    assert r.status_code == 403
    assert "Only members can join working groups" in r.text


def test_join_needs_csrf_and_login(server):
    client, _ = member_with_person(server, "Careful Member")
    assert client.post("/groups/legal/join", data={}).status_code == 403
    assert listed(client, "legal")["is_member"] is False
    visitor = server.client()
    r = visitor.get("/groups")
    assert r.status_code == 303 and r.headers["Location"].startswith("/login")
    assert visitor.get("/api/v1/groups").status_code == 401
    assert visitor.get("/api/v1/groups/legal").status_code == 401


def test_unknown_group_is_404(server):
    client, _ = member_with_person(server, "Lost Member")
    assert client.get("/groups/no-such-group").status_code == 404
    assert client.get("/groups/Not_A_Slug").status_code == 404
    page = client.get("/groups")
    assert client.post("/groups/nothing/join",
                       data={"csrf_token": scrape_csrf(page.text)}).status_code == 404


# ---- who sees whom ----


def test_hidden_members_are_counted_never_named(server):
    new_group(server, "housing-watch", "Housing watch")
    public = add_person(server, "Paula Public", iso3="PER", listing="public")
    to_members = add_person(server, "Maria Members", iso3="COL", listing="members")
    hidden = add_person(server, "Hector Hidden", iso3="GTM", listing="hidden")
    hidden_mod = add_person(server, "Hanna Hiddenmod", iso3="GTM", listing="hidden")
    for person in (public, to_members, hidden):
        add_to_group(server, "housing-watch", person)
    add_to_group(server, "housing-watch", hidden_mod, moderator=True)

    client, _ = member_with_person(server, "Viewing Member")
    page = client.get("/groups/housing-watch")
    assert page.status_code == 200
    assert "Paula Public" in page.text and "Peru" in page.text
    assert "Maria Members" in page.text and "Colombia" in page.text
    assert "Hector Hidden" not in page.text and "Hanna Hiddenmod" not in page.text
    assert "Guatemala" not in page.text
    assert "Members not listed, by their own choice" in page.text
    assert "<strong>2</strong>" in page.text

    raw = client.get("/api/v1/groups/housing-watch")
    assert "Hidden" not in raw.text and "Guatemala" not in raw.text
    data = raw.json()
    assert data["group"]["member_count"] == 4
    assert data["group"]["unlisted_count"] == 2
    assert sorted(m["name"] for m in data["members"]) == ["Maria Members", "Paula Public"]
    assert data["moderators"] == []
    assert all("person_id" not in m for m in data["members"])

    # Administrators see everyone (member_listing_visible), with ids for the
    # moderator form.
    admin = server.factory.admin
    data = group_api(admin, "housing-watch")
    assert data["group"]["unlisted_count"] == 0
    assert {m["name"] for m in data["members"]} >= {"Hector Hidden", "Hanna Hiddenmod"}
    assert [m["name"] for m in data["moderators"]] == ["Hanna Hiddenmod"]

    # A hidden member sees themself, and still not the other hidden ones.
    me = add_person(server, "Self Hidden", iso3="GTM", listing="hidden")
    add_to_group(server, "housing-watch", me)
    own = group_api(me.client, "housing-watch")
    names = [m["name"] for m in own["members"]]
    assert "Self Hidden" in names and "Hector Hidden" not in names
    assert own["group"]["is_member"] is True
    assert own["group"]["unlisted_count"] == 2


def test_a_hostile_name_is_escaped(server):
    new_group(server, "escape-test", "Escape test")
    add_to_group(server, "escape-test", add_person(server, HOSTILE, listing="public"))
    client, _ = member_with_person(server, "Escaping Member")
    page = client.get("/groups/escape-test")
    assert page.status_code == 200
    assert HOSTILE not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert group_api(client, "escape-test")["members"][0]["name"] == HOSTILE


# ---- administrators ----


def test_admin_creates_a_group_and_a_duplicate_is_refused(server):
    admin = server.login_user(server.member(role="admin"))
    page = admin.get("/groups")
    assert 'action="/groups"' in page.text
    token = scrape_csrf(page.text)
    form = {"csrf_token": token, "slug": "food-rights", "name": "Right to food",
            "description": "Food sovereignty and the Covenant's article 11."}
    r = admin.post("/groups", data=form)
    assert r.status_code == 303 and r.headers["Location"] == "/groups/food-rights"
    page = admin.get("/groups/food-rights")
    assert page.status_code == 200
    assert "Right to food" in page.text and "article 11" in page.text
    assert ("working group created", "Working group food-rights", "") in audit_rows(
        server, "working group created")

    again = dict(form, name="Another food group")
    r = admin.post("/groups", data=again)
    assert r.status_code == 400
    assert "There is already a working group with this short name." in r.text
    assert 'value="Another food group"' in r.text  # the form is shown again as typed
    assert 'value="food-rights"' in r.text
    member, _ = member_with_person(server, "Counting Member")
    assert [g["slug"] for g in member.get("/api/v1/groups").json()["groups"]].count(
        "food-rights") == 1


def test_group_fields_are_validated(server):
    admin = server.login_user(server.member(role="admin"))
    token = admin.csrf("/groups")
    for slug in ("Bad Slug", "x", "a" * 41, "under_score", "ünï", "../etc"):
        r = admin.post("/groups", data={"csrf_token": token, "slug": slug, "name": "Valid"})
        assert r.status_code == 400, slug
        assert "field-error" in r.text
    r = admin.post("/groups", data={"csrf_token": token, "slug": "ok-slug", "name": "x"})
    assert r.status_code == 400 and "This is too short." in r.text
    r = admin.post("/groups", data={"csrf_token": token, "slug": "ok-slug", "name": "Fine",
                                    "description": "d" * 2001})
    assert r.status_code == 400 and "This is too long." in r.text
    assert admin.get("/groups/ok-slug").status_code == 404


def test_a_member_cannot_manage_groups(server):
    client, pid = member_with_person(server, "Ordinary Member")
    token = client.csrf("/groups")
    assert 'action="/groups"' not in client.get("/groups").text
    r = client.post("/groups", data={"csrf_token": token, "slug": "mine", "name": "Mine"})
    assert r.status_code == 403
    assert client.get("/groups/mine").status_code == 404
    r = client.post("/groups/legal/edit", data={"csrf_token": token, "name": "Taken over"})
    assert r.status_code == 403
    client.post("/groups/legal/join", data={"csrf_token": token})
    r = client.post("/groups/legal/moderators",
                    data={"csrf_token": token, "person_id": str(pid), "moderator": "yes"})
    assert r.status_code == 403
    assert group_api(client, "legal")["group"]["name"] == "Legal and justiciability"
    assert group_api(client, "legal")["moderators"] == []


def test_admin_edits_a_group(server):
    new_group(server, "edit-me", "Before")
    admin = server.login_user(server.member(role="admin"))
    token = admin.csrf("/groups/edit-me")
    r = admin.post("/groups/edit-me/edit",
                   data={"csrf_token": token, "name": "After", "description": "Now described"})
    assert r.status_code == 303
    data = group_api(admin, "edit-me")["group"]
    assert data["name"] == "After" and data["description"] == "Now described"
    r = admin.post("/groups/edit-me/edit", data={"csrf_token": token, "name": ""})
    assert r.status_code == 400 and "This field is required." in r.text
    assert group_api(admin, "edit-me")["group"]["name"] == "After"
    assert ("working group edited", "Working group edit-me", "") in audit_rows(
        server, "working group edited")


def test_admin_names_and_removes_a_moderator(server):
    new_group(server, "moderated", "Moderated group")
    mona = add_person(server, "Mona Moderator", listing="members")
    pid = mona.person_id
    outsider = add_person(server, "Otto Outsider", listing="members").person_id
    add_to_group(server, "moderated", mona)
    admin = server.login_user(server.member(role="admin"))
    page = admin.get("/groups/moderated")
    assert "Make moderator" in page.text
    token = scrape_csrf(page.text)
    r = admin.post("/groups/moderated/moderators",
                   data={"csrf_token": token, "person_id": str(pid), "moderator": "yes"})
    assert r.status_code == 303
    member, _ = member_with_person(server, "Watching Member")
    assert [m["name"] for m in group_api(member, "moderated")["moderators"]] == ["Mona Moderator"]
    assert "Mona Moderator" in member.get("/groups/moderated").text.split("Members</h2>")[0]

    r = admin.post("/groups/moderated/moderators",
                   data={"csrf_token": token, "person_id": str(outsider), "moderator": "yes"})
    assert r.status_code == 404
    assert "not a member of this working group" in r.text
    r = admin.post("/groups/moderated/moderators",
                   data={"csrf_token": token, "person_id": "x", "moderator": "yes"})
    assert r.status_code == 400
    r = admin.post("/groups/moderated/moderators",
                   data={"csrf_token": token, "person_id": str(pid), "moderator": "no"})
    assert r.status_code == 303
    assert group_api(member, "moderated")["moderators"] == []
    rows = audit_rows(server, "working group moderator named", "working group moderator removed")
    assert ("working group moderator named", "Working group moderated", f"person {pid}") in rows
    assert ("working group moderator removed", "Working group moderated", f"person {pid}") in rows
