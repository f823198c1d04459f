"""
UPR recommendations (issue 13, item 2): the shipped UPR Info export is
imported at the first start, classified by rules a person can read, the
ambiguous ones wait for an administrator, and country pages show what a
state received and made, with the flag of an accepted recommendation to
join that it has not acted on.
"""

from ratify_server import scrape_csrf

HEADER = "To,To-Rgrp,To-Org,Text,From,From-Rgrp,From-Org,Response,Action,Issue,Session\n"
PLANTED = HEADER + (
    'Angola,Africa,AU,"Ratify the Optional Protocol to the ICESCR",Ruritania,WEOG,,Accepted,5,,21\n'
    'Angola,Africa,AU,"Sign and ratify the Optional Protocol to the International Covenant on '
    'Economic, Social and Cultural Rights",Argentinia,GRULAC,,Accepted,5,,21\n'
    'Angola,Africa,AU,"Ratify the Optional Protocol to the International Covenant on Economic, '
    'Social and Cultural Rights",St Lucia,GRULAC,,Accepted,5,,21\n'
    'Angola,Africa,AU,"Consider ratifying the Optional Protocols to ICCPR and ICESCR",'
    "Portugal,WEOG,EU,Noted,3,,21\n"
    'Angola,Africa,AU,"Ratify ICESCR",Brazil,GRULAC,,Maybe,3,,21\n'
)


def count(site, sql, *params):
    return site.scalar(sql, *params)


def test_the_shipped_recommendations_are_imported_and_classified(server):
    # Every state name of the shipped file is in the name table (UPR Info's
    # spellings through data/country-aliases.csv): nothing skipped.
    (imp,) = server.query("SELECT rows_read, added, skipped, unknown_names FROM upr_imports")
    assert tuple(imp) == (1552, 1552, 0, "")
    assert count(server, "SELECT count(*) FROM upr_recommendations WHERE class = 'protocol'") \
        == 274
    assert count(server, "SELECT count(*) FROM upr_recommendations WHERE class = 'review'") == 75
    # "Ratify the Optional Protocols to ICCPR, ICESCR and CAT" cannot be
    # decided by a rule.
    (rule,) = server.query("SELECT rule FROM upr_recommendations WHERE text = "
                           "'Consider an early ratification of the Optional Protocols to ICCPR "
                           "and ICESCR, CAT and the Rome Statute'")
    assert rule[0] == "protocol_unclear"


def test_argentina_lists_the_recommendations_it_made(server):
    html = server.client().get("/countries/ARG").text
    section = html[html.index('id="upr"'):]
    section = section[:section.index("</section>")]
    assert "Recommendations made to other states on the Protocol" in section
    assert ">North Macedonia</a>: <q>Ratify the Optional Protocol to the International " \
           "Covenant on Economic, Social and Cultural Rights" in section
    assert "session 5 (2009) · Accepted" in section
    # Argentina is a party: no flag.
    assert 'id="upr-flag"' not in section


def test_a_state_that_accepted_and_did_not_ratify_is_flagged(server):
    # North Macedonia accepted Argentina's recommendation of session 5
    # (2009) and is not a party to the Protocol.
    html = server.client().get("/countries/MKD").text
    assert ('id="upr-flag">Accepted a recommendation to join the Protocol, and is still not '
            "a party (2009).") in html
    assert "Recommendations received on the Protocol" in html
    # Portugal accepted one (session 6) and became a party: no flag.
    html = server.client().get("/countries/PRT").text
    assert "Recommendations received on the Protocol" in html
    assert 'id="upr-flag"' not in html
    # Translated.
    html = server.client().get("/countries/MKD", headers={"Accept-Language": "es"}).text
    assert "Examen Periódico Universal" in html


def test_the_command_reports_unknown_names_and_writes_only_with_apply(fresh_server, tmp_path):
    path = tmp_path / "upr.csv"
    path.write_text(PLANTED)
    before = count(fresh_server, "SELECT count(*) FROM upr_recommendations")
    p = fresh_server.cli("import", "upr", str(path))
    assert p.returncode == 0, p.stderr
    assert "5 rows read: 2 new (1 on the Protocol, 0 on the Covenant only, 0 other, " \
           "1 for review), 0 recorded already, 3 skipped" in p.stdout
    assert 'line 2: unknown state name "Ruritania" (1 rows skipped)' in p.stdout
    # Close to Argentina, never guessed.
    assert 'line 3: unknown state name "Argentinia"' in p.stdout
    assert "line 6: The response is neither Accepted nor Noted." in p.stdout
    assert "Dry run: nothing written." in p.stdout
    assert count(fresh_server, "SELECT count(*) FROM upr_recommendations") == before
    p = fresh_server.cli("import", "upr", str(path), "--apply")
    assert p.returncode == 0 and "Written." in p.stdout, p.stdout + p.stderr
    assert count(fresh_server, "SELECT count(*) FROM upr_recommendations") == before + 2
    (imp,) = fresh_server.query("SELECT added, skipped, unknown_names FROM upr_imports "
                                "ORDER BY id DESC LIMIT 1")
    assert tuple(imp) == (2, 3, "Ruritania\nArgentinia")
    # The same file again adds nothing.
    p = fresh_server.cli("import", "upr", str(path), "--apply")
    assert "0 new" in p.stdout and "2 recorded already" in p.stdout
    assert count(fresh_server, "SELECT count(*) FROM upr_recommendations") == before + 2
    # Saint Lucia's recommendation to Angola (a signatory) is on Angola's page.
    html = fresh_server.client().get("/countries/AGO").text
    assert ">Saint Lucia · session 21 · Accepted<" in html.replace("</span>", "<")
    p = fresh_server.cli("import", "upr", str(tmp_path / "missing.csv"))
    assert p.returncode != 0 and "cannot read" in p.stderr


def test_an_administrator_imports_and_reviews_on_the_page(fresh_server):
    admin = fresh_server.login_user(fresh_server.member("admin"))
    page = admin.get("/admin/upr")
    assert page.status_code == 200
    assert "To review (75)" in page.text
    assert "It names the Covenant and an optional protocol" in page.text
    # A file without UPR Info's columns: 400, said next to the field.
    r = admin.post("/admin/upr", data={"csrf_token": scrape_csrf(page.text)},
                   files={"file": ("x.csv", "Name,Email\na,b\n", "text/csv")})
    assert r.status_code == 400
    assert "The file needs the columns To, From, Text, Response and Session" in r.text
    before = count(fresh_server, "SELECT count(*) FROM upr_recommendations")
    r = admin.post("/admin/upr", data={"csrf_token": scrape_csrf(page.text)},
                   files={"file": ("upr.csv", PLANTED, "text/csv")})
    assert r.status_code == 200
    assert "Ruritania" in r.text and "Import these recommendations" in r.text
    assert count(fresh_server, "SELECT count(*) FROM upr_recommendations") == before
    r = admin.post("/admin/upr", data={"csrf_token": scrape_csrf(r.text), "apply": "1",
                                       "csv": PLANTED})
    assert r.status_code == 200 and "The recommendations were imported" in r.text
    assert count(fresh_server, "SELECT count(*) FROM upr_recommendations") == before + 2
    assert "To review (76)" in r.text
    # Decide the planted ambiguous one.
    (rid,) = fresh_server.query("SELECT id FROM upr_recommendations WHERE text = "
                                "'Consider ratifying the Optional Protocols to ICCPR and ICESCR'")
    rid = rid[0]
    r = admin.post(f"/admin/upr/{rid}", data={"csrf_token": scrape_csrf(r.text),
                                              "class": "protocol"})
    assert r.status_code == 303
    (row,) = fresh_server.query("SELECT class, rule FROM upr_recommendations WHERE id = ?", rid)
    assert tuple(row) == ("protocol", "person")
    audit = fresh_server.query("SELECT detail FROM audit_log WHERE action = "
                               "'upr recommendation classified' AND object = ?",
                               f"upr recommendation {rid}")
    assert [a[0] for a in audit] == ["protocol"]
    html = fresh_server.client().get("/countries/AGO").text
    assert "Consider ratifying the Optional Protocols to ICCPR and ICESCR" in html
    # Deciding twice: 409, nothing changes.
    page = admin.get("/admin/upr").text
    r = admin.post(f"/admin/upr/{rid}", data={"csrf_token": scrape_csrf(page), "class": "other"})
    assert r.status_code == 409
    # A bad class: 400. No CSRF token: 403.
    (other,) = fresh_server.query("SELECT id FROM upr_recommendations WHERE class = 'review' "
                                  "LIMIT 1")
    r = admin.post(f"/admin/upr/{other[0]}", data={"csrf_token": scrape_csrf(page),
                                                   "class": "maybe"})
    assert r.status_code == 400
    r = admin.post(f"/admin/upr/{other[0]}", data={"class": "other"})
    assert r.status_code == 403
    # Members and coordinators may not.
    member = fresh_server.login_user(fresh_server.member("coordinator", countries=["AGO"]))
    assert member.get("/admin/upr").status_code == 403


def test_the_api_serves_recommendations_received_and_made(server):
    c = server.client()
    made = c.get("/api/v1/upr-recommendations",
                 params={"iso3": "ARG", "made": "1", "class": "protocol"}).json()
    recs = made["recommendations"]
    assert recs and all(r["from"] == "ARG" and r["class"] == "protocol" for r in recs)
    assert recs[0]["session"] == 5 and recs[0]["session_start"] == "2009-05-04"
    received = c.get("/api/v1/upr-recommendations", params={"iso3": "MKD"}).json()
    assert any(r["from"] == "ARG" and r["response"] == "accepted"
               for r in received["recommendations"])
    assert c.get("/api/v1/upr-recommendations", params={"iso3": "MKD", "class": "nope"}) \
        .status_code == 400
    assert c.get("/api/v1/upr-recommendations").status_code == 400
