"""
National coalitions (src/coalition.c): the coordinators' form at
/countries/{ISO3}/coalition and the public part served by
/api/v1/countries/{ISO3}/coalition (coalition_public_json, which the country
page shows too). Organisations, people and memberships are made by the
member import and the join form (factories.py), as approved memberships
leave them.

Each test works on a country of its own, as they share one server.
"""

import html
import re

import pytest

from factories import Factory, audit_entries, decline, import_people
from ratify_server import RatifyServer, scrape_csrf, unique_email
from smtp_capture import SmtpCapture

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def module_site(tmp_path_factory):
    base = tmp_path_factory.mktemp("coalitions")
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


def form_id(server, iso3, select, name):
    """The id of name among the choices of iso3's coalition form (select:
    "lead_org" or "focal_person"), as an administrator sees it."""
    page = server.factory.admin.get(f"/countries/{iso3}/coalition").text
    field = page.split(f'name="{select}"', 1)[1].split("</select>", 1)[0]
    ids = re.findall(r'<option value="(\d+)"[^>]*>' + re.escape(html.escape(name)) + r" \(",
                     field)
    assert len(ids) == 1, f"{name!r} among the {select} choices of {iso3}:\n{field}"
    return int(ids[0])


def add_person(server, name, iso3, listing="hidden", status="active"):
    """A person with an individual membership in iso3: imported when it is
    active, signed up through the API (and left unconfirmed) when pending.
    Returns the id of an active one."""
    if status == "pending":
        server.factory.applicant(iso3, name=name, listing=listing)
        return None
    assert status == "active"
    import_people(server, [{"name": name, "email": unique_email("person"), "country": iso3,
                            "listing": listing, "status": "active"}])
    return form_id(server, iso3, "focal_person", name)


def add_org(server, name, iso3, listing, org_type="human_rights_ngo", website="",
            status="active"):
    """An organisation of iso3 with a hidden contact person and an
    organisation membership: imported when active; signed up, confirmed and
    declined by an administrator when declined. Returns the id of an active
    one."""
    contact = f"Contact of org {unique_email('c')}"
    if status == "declined":
        email = server.factory.applicant(iso3, name=contact, kind="organisation",
                                         organisation=name, org_type=org_type,
                                         listing=listing)
        decline(server.factory.admin, email)
        return None
    assert status == "active"
    import_people(server, [{"name": contact, "email": unique_email("contact"), "country": iso3,
                            "kind": "organisation", "organisation": name, "org_type": org_type,
                            "website": website, "listing": listing, "status": "active"}])
    return form_id(server, iso3, "lead_org", name)


NOTHING = (None, None, "", "", [])


def coalition_state(server, iso3):
    """(lead org id, focal person id, partner types, gaps, member org ids) as
    the coalition form shows them to an administrator; NOTHING when none is
    recorded."""
    page = server.factory.admin.get(f"/countries/{iso3}/coalition").text
    form = page.split('class="preview"', 1)[0]

    def selected(name):
        field = form.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
        m = re.search(r'<option value="(\d+)" selected>', field)
        return int(m.group(1)) if m else None

    types = re.findall(r'name="partner_types" value="([a-z_]+)" checked', form)
    gaps = html.unescape(re.search(r'<textarea id="c-gaps"[^>]*>(.*?)</textarea>', form,
                                   re.S).group(1))
    members = sorted(int(i) for i in re.findall(r'name="members" value="(\d+)" checked', form))
    return selected("lead_org"), selected("focal_person"), " ".join(types), gaps, members


def public_api(server, iso3, client=None):
    r = (client or server.client()).get(f"/api/v1/countries/{iso3}/coalition")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    return r


def coordinator(server, iso3):
    return server.login_user(server.member(role="coordinator", countries=(iso3,)))


def save(client, iso3, **fields):
    page = client.get(f"/countries/{iso3}/coalition")
    assert page.status_code == 200, page.text
    form = {"csrf_token": scrape_csrf(page.text)}
    form.update(fields)
    return client.post(f"/countries/{iso3}/coalition", data=form)


def test_coordinator_describes_the_coalition_and_the_public_sees_only_public_parts(server):
    iso3 = "KEN"
    public_org = add_org(server, "Haki Public Rights", iso3, "public", website="https://haki.example.org/")
    members_org = add_org(server, "Wanachama Members Union", iso3, "members", org_type="trade_union")
    hidden_org = add_org(server, "Siri Hidden Defenders", iso3, "hidden", org_type="lawyers_association")
    hidden_focal = add_person(server, "Fatuma Hiddenfocal", iso3, listing="hidden")
    add_person(server, "Pending Applicant", iso3, listing="public", status="pending")
    add_org(server, "Declined Org", iso3, "public", status="declined")
    add_org(server, "Ugandan Neighbour Org", "UGA", "public")

    client = coordinator(server, iso3)
    page = client.get(f"/countries/{iso3}/coalition")
    assert page.status_code == 200
    # The coordinator chooses among the country's organisations with an
    # active membership, told who is listed how.
    for name in ("Haki Public Rights", "Wanachama Members Union", "Siri Hidden Defenders",
                 "Fatuma Hiddenfocal"):
        assert name in page.text
    for name in ("Pending Applicant", "Declined Org", "Ugandan Neighbour Org"):
        assert name not in page.text
    assert "Trade union" in page.text and "not listed" in page.text
    assert "No national coalition has been described for this country yet." in page.text
    assert public_api(server, iso3).json()["coalition"]["recorded"] is False

    r = save(client, iso3, lead_org=str(hidden_org), focal_person=str(hidden_focal),
             partner_types=["human_rights_ngo", "trade_union"],
             gaps="No women's group yet.\nNo academics.",
             members=[str(public_org), str(members_org), str(hidden_org)])
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == f"/countries/{iso3}/coalition?saved=1"
    assert coalition_state(server, iso3) == (
        hidden_org, hidden_focal, "human_rights_ngo trade_union",
        "No women's group yet.\nNo academics.", sorted([public_org, members_org, hidden_org]))
    assert "has been saved" in client.get(r.headers["Location"]).text

    # A visitor: only the public organisation, the coalition's facts, and a
    # count of the others; no hidden lead, no hidden focal point.
    r = public_api(server, iso3)
    for secret in ("Wanachama", "Siri", "Fatuma", "Hiddenfocal", "Contact of org"):
        assert secret not in r.text, secret
    c = r.json()["coalition"]
    assert c["recorded"] is True and c["iso3"] == iso3
    assert [m["name"] for m in c["members"]] == ["Haki Public Rights"]
    assert c["members"][0]["website"] == "https://haki.example.org/"
    assert c["members"][0]["type"] == "human_rights_ngo"
    assert c["unlisted_count"] == 2
    assert c["lead"] is None and c["focal_point"] is None
    assert [t["code"] for t in c["partner_types"]] == ["human_rights_ngo", "trade_union"]
    assert c["gaps"] == "No women's group yet.\nNo academics."

    # A logged-in member also sees the organisation listed for members.
    member = server.login_user(server.member())
    r = public_api(server, iso3, member)
    assert "Siri" not in r.text and "Fatuma" not in r.text
    c = r.json()["coalition"]
    assert sorted(m["name"] for m in c["members"]) == ["Haki Public Rights",
                                                      "Wanachama Members Union"]
    assert c["unlisted_count"] == 1

    # An administrator sees the hidden one too (the rule's private), and
    # nothing is left uncounted.
    c = public_api(server, iso3, server.factory.admin).json()["coalition"]
    assert [m["name"] for m in c["members"]] == ["Haki Public Rights", "Siri Hidden Defenders",
                                                 "Wanachama Members Union"]
    assert c["unlisted_count"] == 0

    # The coordinator's preview shows what visitors see.
    preview = client.get(f"/countries/{iso3}/coalition").text.split('class="preview"')[1]
    assert "Haki Public Rights" in preview and 'href="https://haki.example.org/"' in preview
    assert "Siri" not in preview and "Fatuma" not in preview and "Wanachama" not in preview
    assert "Member organisations not listed publicly" in preview

    # The audit log names the country and ids, never names.
    audit = [row for row in audit_entries(server.factory.admin, action="coalition updated")
             if row[1] == f"Country {iso3}"]
    assert len(audit) == 1
    assert f"lead org {hidden_org}" in audit[0][2] and f"focal person {hidden_focal}" in audit[0][2]
    assert "Siri" not in audit[0][2] and "Fatuma" not in audit[0][2]


def test_a_public_lead_and_focal_point_are_shown(server):
    iso3 = "GHA"
    lead = add_org(server, "Accra Public Lead", iso3, "public", org_type="nhri")
    focal = add_person(server, "Kofi Publicfocal", iso3, listing="public")
    client = coordinator(server, iso3)
    assert save(client, iso3, lead_org=str(lead), focal_person=str(focal)).status_code == 303
    c = public_api(server, iso3).json()["coalition"]
    assert c["lead"]["name"] == "Accra Public Lead" and c["lead"]["type"] == "nhri"
    assert c["focal_point"] == {"name": "Kofi Publicfocal"}
    assert c["members"] == [] and c["unlisted_count"] == 0
    # Saving again replaces the members and clears what is left empty.
    assert save(client, iso3, members=[str(lead)]).status_code == 303
    assert coalition_state(server, iso3) == (None, None, "", "", [lead])


def test_another_countrys_coordinator_and_members_are_refused(server):
    iso3 = "UGA"
    org = add_org(server, "Kampala Org", iso3, "public")
    other = coordinator(server, "TZA")
    r = other.get(f"/countries/{iso3}/coalition")
    assert r.status_code == 403
    assert "Kampala Org" not in r.text
    token = other.csrf(f"/countries/TZA/coalition")
    r = other.post(f"/countries/{iso3}/coalition", data={"csrf_token": token,
                                                         "members": str(org)})
    assert r.status_code == 403
    member = server.login_user(server.member())
    assert member.get(f"/countries/{iso3}/coalition").status_code == 403
    r = server.client().get(f"/countries/{iso3}/coalition")
    assert r.status_code == 303 and r.headers["Location"].startswith("/login")
    assert coalition_state(server, iso3) == NOTHING
    assert public_api(server, iso3).json()["coalition"]["recorded"] is False
    # Administrators cover every country.
    admin = server.login_user(server.member(role="admin"))
    assert save(admin, iso3, members=[str(org)]).status_code == 303
    assert coalition_state(server, iso3)[4] == [org]
    # And the form needs its CSRF token.
    coord = coordinator(server, iso3)
    assert coord.post(f"/countries/{iso3}/coalition", data={"gaps": "x"}).status_code == 403


def test_bad_input_shows_the_form_again_with_what_was_typed(server):
    iso3 = "TZA"
    own = add_org(server, "Dodoma Org", iso3, "public")
    foreign = add_org(server, "Nairobi Stranger Org", "KEN", "public")
    foreign_person = add_person(server, "Foreign Person", "KEN", listing="public")
    client = coordinator(server, iso3)
    typed = "Still missing: trade unions & lawyers <b>"
    cases = [
        {"partner_types": ["human_rights_ngo", "government"]},
        {"members": [str(own), str(foreign)]},
        {"members": ["not-a-number"]},
        {"lead_org": str(foreign)},
        {"focal_person": str(foreign_person)},
        {"lead_org": "99999999999999999999"},
    ]
    for case in cases:
        r = save(client, iso3, gaps=typed, **case)
        assert r.status_code == 400, case
        assert "field-error" in r.text, case
        assert "Still missing: trade unions &amp; lawyers &lt;b&gt;" in r.text, case
        assert "Nairobi Stranger Org" not in r.text
    r = save(client, iso3, gaps="g" * 2001, members=[str(own)])
    assert r.status_code == 400 and "This is too long." in r.text
    assert f'value="{own}" checked' in r.text  # the valid choice is kept
    assert coalition_state(server, iso3) == NOTHING
    assert public_api(server, iso3).json()["coalition"]["recorded"] is False


def test_unknown_countries(server):
    assert server.client().get("/api/v1/countries/XXX/coalition").status_code == 404
    assert server.client().get("/api/v1/countries/ken/coalition").status_code == 404
    admin = server.login_user(server.member(role="admin"))
    assert admin.get("/countries/XXX/coalition").status_code == 404


def test_a_hostile_organisation_name_is_escaped(server):
    iso3 = "ZMB"
    org = add_org(server, HOSTILE, iso3, "public")
    # Every way in (the join form, the API, the import, the organisation's
    # profile) refuses a website that does not start with https://; the
    # defence at output ({{url}} refusing javascript:) is test_url_context
    # in tests/unit/test_template.c.
    client = coordinator(server, iso3)
    page = client.get(f"/countries/{iso3}/coalition")
    assert HOSTILE not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert save(client, iso3, lead_org=str(org), members=[str(org)]).status_code == 303
    page = client.get(f"/countries/{iso3}/coalition")
    assert HOSTILE not in page.text
    preview = page.text.split('class="preview"')[1]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in preview
    c = public_api(server, iso3).json()["coalition"]
    assert c["members"][0]["name"] == HOSTILE
