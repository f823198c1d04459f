"""
Countries, treaty status and the ask (issue 3), against the real binary with
the real UNTC data that `ratify init` loads.
"""

import html
import re

import pytest

from ratify_server import RatifyServer, db_query, scrape_csrf

# The shipped depositary record (the UNTC status page data/untc/icescr_op.html,
# as at 2026-02-03, whose header says 46 signatories and 31 parties): 31
# parties, 24 signatories that have not ratified, 46 signatures in all, among
# the 193 UN members and 2 observer states.
PARTIES, SIGNATORIES, SIGNATURES, STATES = 31, 24, 46, 195


def api(server, path, **kw):
    r = server.client().get("/api/v1" + path, **kw)
    assert r.status_code == 200, r.text
    return r.json()


def test_argentina_is_a_party(server):
    c = api(server, "/countries/ARG")["country"]
    assert c["status"] == "party"
    assert c["protocol"]["party_date"] == "2011-10-24"
    assert c["protocol"]["party_kind"] == "ratification"
    assert c["protocol"]["signature_date"] == "2009-09-24"
    html = server.client().get("/countries/ARG").text
    assert "Argentina" in html and "2011-10-24" in html
    assert 'class="badge st-party">Party<' in html


def test_angola_is_asked_to_ratify(server):
    c = api(server, "/countries/AGO")["country"]
    assert c["status"] == "signatory"
    assert c["ask"] == "ratify"
    html = server.client().get("/countries/AGO").text
    assert "Ratify the OP-ICESCR, which it has already signed." in html


def test_no_action_asks_to_sign_and_ratify(server):
    # Afghanistan acceded to the Covenant in 1983 and took no action on the
    # Protocol.
    c = api(server, "/countries/AFG")["country"]
    assert c["status"] == "none" and c["covenant_status"] == "party"
    assert c["ask"] == "sign_and_ratify"
    assert "Sign and ratify the OP-ICESCR." in server.client().get("/countries/AFG").text


def test_the_covenant_comes_first(server):
    # The United States signed the Covenant but never ratified it; Malaysia
    # took no action on either.
    assert api(server, "/countries/USA")["country"]["ask"] == "ratify_covenant_and_sign"
    assert api(server, "/countries/MYS")["country"]["ask"] == "join_covenant"


def test_a_party_is_asked_for_the_declarations(server):
    assert api(server, "/countries/ALB")["country"]["ask"] == "declare"


def test_counts_match_the_shipped_data(server):
    data = api(server, "/countries")
    counts = data["counts"]
    assert counts["parties"] == PARTIES
    assert counts["signatories"] == SIGNATORIES
    assert counts["signatures"] == SIGNATURES
    assert counts["states"] == STATES
    assert counts["none"] == STATES - PARTIES - SIGNATORIES
    assert len(data["countries"]) == STATES
    html = server.client().get("/countries").text
    assert f"<strong>{PARTIES}</strong>" in html
    assert f"<strong>{SIGNATURES}</strong>" in html
    treaty = api(server, "/treaties/op-icescr/status")
    assert treaty["counts"]["parties"] == PARTIES
    assert treaty["counts"]["signatures"] == SIGNATURES
    covenant = api(server, "/treaties/icescr/status")["counts"]
    assert covenant["parties"] == 173  # data/untc/icescr.html: 72 and 173
    assert covenant["signatures"] == 72


# The five states whose declarations under articles 10 and 11 UNTC lists
# (Portugal's among the notifications below that section): before the record
# came from the page itself, Ratify asked them to make these declarations.
DECLARED = ["BEL", "SLV", "FIN", "PRT", "SMR"]


@pytest.mark.parametrize("iso3", DECLARED)
def test_states_that_declared_are_asked_to_implement(server, iso3):
    c = api(server, "/countries/" + iso3)["country"]
    assert c["status"] == "party"
    assert c["ask"] == "implement"
    html = server.client().get("/countries/" + iso3).text
    live = ("https://treaties.un.org/Pages/ViewDetails.aspx?src=TREATY&amp;"
            "mtdsg_no=IV-3-a&amp;chapter=4&amp;clang=_en")
    assert live in html
    assert "github.com" not in html


def test_the_record_is_the_untc_pages(server):
    rows = db_query(server.db, "SELECT iso3, article FROM treaty_actions "
                               "WHERE kind = 'declaration' AND recorded_by IS NULL "
                               "ORDER BY iso3, article")
    assert [(r[0], r[1]) for r in rows] == [(c, a) for c in sorted(DECLARED) for a in ("10", "11")]
    every = db_query(server.db, "SELECT DISTINCT source_url FROM treaty_actions "
                                "WHERE recorded_by IS NULL")
    assert sorted(r[0] for r in every) == sorted([
        "https://treaties.un.org/Pages/ViewDetails.aspx?src=TREATY&mtdsg_no=IV-3&chapter=4&clang=_en",
        "https://treaties.un.org/Pages/ViewDetails.aspx?src=TREATY&mtdsg_no=IV-3-a&chapter=4&clang=_en",
        "https://treaties.un.org/Pages/ViewDetails.aspx?src=TREATY&mtdsg_no=IV-5&chapter=4&clang=_en",
        "https://treaties.un.org/Pages/ViewDetails.aspx?src=TREATY&mtdsg_no=IV-8-b&chapter=4&clang=_en",
        "https://treaties.un.org/Pages/ViewDetails.aspx?src=TREATY&mtdsg_no=IV-11-d&chapter=4&clang=_en",
        "https://treaties.un.org/Pages/ViewDetails.aspx?src=TREATY&mtdsg_no=IV-15-a&chapter=4&clang=_en",
    ])


# The four other UN complaint procedures, seeded from their UNTC pages
# (data/untc/README.md): each page header's signatories and parties.
OTHER_PROCEDURES = {
    "op-cedaw": ("IV-8-b", 80, 116),
    "op-crpd": ("IV-15-a", 95, 108),
    "op-crc-ic": ("IV-11-d", 54, 53),
    "iccpr-op1": ("IV-5", 35, 116),
}


@pytest.mark.parametrize("slug", sorted(OTHER_PROCEDURES))
def test_other_complaint_procedures_match_their_pages(server, slug):
    ref, signatures, parties = OTHER_PROCEDURES[slug]
    data = api(server, f"/treaties/{slug}/status")
    assert data["instrument"]["depositary_ref"] == ref
    assert data["instrument"]["status_as_of"] == "2026-02-03"
    assert f"mtdsg_no={ref}&" in data["instrument"]["source_url"]
    kinds = dict(db_query(
        server.db, "SELECT CASE WHEN a.kind = 'signature' THEN 'signature' ELSE 'party' END, "
                   "count(*) FROM treaty_actions a JOIN instruments i ON i.id = a.instrument_id "
                   "WHERE i.slug = ? AND a.kind <> 'declaration' GROUP BY 1", slug))
    assert kinds == {"signature": signatures, "party": parties}
    # The page counts states only: the Cook Islands (a party to OP-CEDAW and
    # OP-CRPD) is neither a UN member nor an observer.
    cook = 1 if slug in ("op-cedaw", "op-crpd") else 0
    assert data["counts"]["signatures"] == signatures
    assert data["counts"]["parties"] == parties - cook


# A state's record on the other complaint procedures, straight from the
# seeded UNTC pages (nothing is made here): Brazil joined all four, in its
# own order; Saudi Arabia one; the United States none.
def test_record_on_the_other_complaint_procedures(server):
    brazil = api(server, "/countries/BRA")["country"]
    assert brazil["other_procedures"] == [
        {"instrument": "OP-CEDAW", "year": 2002}, {"instrument": "OP-CRPD", "year": 2008},
        {"instrument": "ICCPR-OP1", "year": 2009}, {"instrument": "OP-CRC-IC", "year": 2017}]
    sentence = ("Accepts individual complaints under OP-CEDAW (2002), OP-CRPD (2008), "
                "ICCPR-OP1 (2009) and OP-CRC-IC (2017).")
    assert brazil["other_procedures_text"] == sentence
    assert sentence in server.client().get("/countries/BRA").text
    saudi = api(server, "/countries/SAU")["country"]
    assert saudi["other_procedures"] == [{"instrument": "OP-CRPD", "year": 2008}]
    html = server.client().get("/countries/SAU").text
    assert "Accepts individual complaints under OP-CRPD (2008)." in html
    usa = api(server, "/countries/USA")["country"]
    assert usa["other_procedures"] == []
    html = server.client().get("/countries/USA").text
    assert "Has not accepted any other UN complaint procedure." in html
    # Translated, the list and years as they are.
    es = server.client().get("/countries/USA", headers={"Accept-Language": "es"}).text
    assert "No ha aceptado ningún otro procedimiento de denuncia de las Naciones Unidas." in es
    ar = server.client().get("/countries/BRA", headers={"Accept-Language": "ar"}).text
    assert "ICCPR-OP1 (2009) و OP-CRC-IC (2017)." in ar


def test_the_persuadable_are_ranked(server):
    """?similar=persuadable: states that accept another UN complaint
    procedure but are not parties to the Protocol, most accepted first."""
    every = api(server, "/countries")["countries"]
    expected = [c for c in every
                if c["status"] != "party" and c["other_procedures_count"] > 0]
    shown = api(server, "/countries", params={"similar": "persuadable"})["countries"]
    assert sorted(c["iso3"] for c in shown) == sorted(c["iso3"] for c in expected)
    assert 40 < len(shown) < 160
    counts = [c["other_procedures_count"] for c in shown]
    assert counts == sorted(counts, reverse=True) and counts[0] == 4 and counts[-1] == 1
    iso3s = [c["iso3"] for c in shown]
    assert "BRA" in iso3s and "SAU" in iso3s  # four, one: neither a party
    assert iso3s.index("BRA") < iso3s.index("SAU")
    for absent in ("ARG", "USA", "CHN"):  # a party; none accepted; none
        assert absent not in iso3s
    # Other filters still apply; the page ranks too and keeps the filter.
    africa = api(server, "/countries", params={"similar": "persuadable", "group": "african"})
    assert all(c["un_group"] == "african" for c in africa["countries"])
    assert 0 < len(africa["countries"]) < len(shown)
    html = server.client().get("/countries", params={"similar": "persuadable"}).text
    assert f"{len(shown)} states shown" in html
    assert '<option value="persuadable" selected>' in html
    assert "similar=persuadable" in html  # in the sorting links
    table = server.client().get("/countries").text
    assert 'title="Has not accepted any other UN complaint procedure.">0</td>' in table
    # Anything else is ignored, as for the other filters.
    assert len(api(server, "/countries", params={"similar": "x"})["countries"]) == STATES


def test_filters_and_sorting(server):
    data = api(server, "/countries", params={"status": "party"})
    assert len(data["countries"]) == PARTIES
    assert {c["status"] for c in data["countries"]} == {"party"}
    eu = api(server, "/countries", params={"org": "EU"})["countries"]
    assert len(eu) == 27
    african = api(server, "/countries", params={"group": "african", "status": "signatory"})
    assert all(c["un_group"] == "african" and c["status"] == "signatory"
               for c in african["countries"])
    by_party = api(server, "/countries", params={"sort": "party"})["countries"]
    assert by_party[0]["party_date"] == max(c["party_date"] for c in by_party)
    # Unknown filter values are ignored, not errors.
    assert len(api(server, "/countries", params={"status": "<x>"})["countries"]) == STATES


def test_map_links_every_state(server):
    html = server.client().get("/countries").text
    svg = html[html.index("<svg"):html.index("</svg>")]
    linked = set(re.findall(r'<a href="/countries/([A-Z]{3})">', svg))
    states = {c["iso3"] for c in api(server, "/countries")["countries"]}
    assert states <= linked, f"not on the map: {sorted(states - linked)}"
    assert 'class="st-party' in svg and 'class="st-signatory' in svg
    assert "<circle" in svg  # small states as markers


def test_bad_codes_are_404(server):
    c = server.client()
    for path in ("/countries/XXX", "/countries/arg", "/countries/AR", "/countries/ARGE",
                 "/countries/A%2FB", "/api/v1/countries/ZZZ", "/treaties/nope",
                 "/api/v1/treaties/nope/status"):
        assert c.get(path).status_code == 404, path


def test_country_names_follow_the_language(server):
    c = server.client()
    assert "Alemania" in c.get("/countries/DEU", headers={"Accept-Language": "es"}).text
    assert "Allemagne" in c.get("/countries/DEU", headers={"Accept-Language": "fr"}).text
    html = c.get("/countries/DEU", headers={"Accept-Language": "ar"}).text
    assert 'dir="rtl"' in html and "ألمانيا" in html


def test_api_etag(server):
    c = server.client()
    r = c.get("/api/v1/countries/ARG")
    etag = r.headers["ETag"]
    r2 = c.get("/api/v1/countries/ARG", headers={"If-None-Match": etag})
    assert r2.status_code == 304 and r2.content == b""


def stage_form(client, iso3, **fields):
    token = scrape_csrf(client.get(f"/countries/{iso3}").text)
    form = {"csrf_token": token, "instrument": "op-icescr", "stage": "cabinet_approval",
            "date": "2026-06-01", "evidence": "Council of Ministers, decree 12/2026",
            "source_url": "https://example.org/decree", "visibility": "public"}
    form.update(fields)
    return client.post(f"/countries/{iso3}/stages", data=form)


def test_coordinator_records_a_cabinet_approval(server):
    coord = server.member("coordinator", countries=["AGO"])
    c = server.login_user(coord)
    r = stage_form(c, "AGO")
    assert r.status_code == 303 and r.headers["Location"] == "/countries/AGO#stages"
    public = server.client().get("/countries/AGO").text
    assert "Cabinet approval" in public and "2026-06-01" in public
    assert "Council of Ministers, decree 12/2026" in public
    # Audited, with who. A read: the stored row, with the user id it names.
    row = server.query_one("SELECT a.action, a.object, u.email FROM audit_log a JOIN users u "
                           "ON u.id = a.user_id WHERE a.action = 'domestic stage recorded' "
                           "ORDER BY a.id DESC LIMIT 1")
    assert row == ("domestic stage recorded", "country AGO", coord.email)


def test_stage_visibility(server):
    coord = server.member("coordinator", countries=["BEN"])
    c = server.login_user(coord)
    assert stage_form(c, "BEN", evidence="Confidential: minister agreed privately",
                      visibility="country").status_code == 303
    assert "minister agreed privately" in c.get("/countries/BEN").text
    assert "minister agreed privately" not in server.client().get("/countries/BEN").text
    other = server.login_user(server.member("coordinator", countries=["GHA"]))
    assert "minister agreed privately" not in other.get("/countries/BEN").text
    member = server.login_user(server.member())
    assert "minister agreed privately" not in member.get("/countries/BEN").text
    assert "minister agreed privately" not in server.client().get("/api/v1/countries/BEN").text


def test_coordinator_cannot_edit_outside_their_countries(server):
    coord = server.member("coordinator", countries=["ARG"])
    c = server.login_user(coord)
    # The form is not offered, and posting it anyway is refused.
    assert "Record a domestic step" not in c.get("/countries/BRA").text
    r = stage_form(c, "BRA")
    assert r.status_code == 403
    token = scrape_csrf(c.get("/countries/ARG").text)
    r = c.post("/countries/BRA/actions", data={"csrf_token": token, "instrument": "op-icescr",
                                                "kind": "signature", "date": "2026-01-01"})
    assert r.status_code == 403
    assert api(server, "/countries/BRA")["country"]["status"] == "none"
    # A member is refused by the route's permission.
    m = server.login_user(server.member())
    token = scrape_csrf(m.get("/account").text)
    assert m.post("/countries/ARG/stages", data={"csrf_token": token}).status_code == 403


def test_bad_stage_input_shows_the_form_again(server):
    coord = server.member("coordinator", countries=["CMR"])
    c = server.login_user(coord)
    r = stage_form(c, "CMR", date="2026-02-30", evidence="<script>alert(1)</script>",
                   source_url="javascript:alert(1)")
    assert r.status_code == 400
    assert "Please enter a real date between 1945 and 2100." in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text  # what they typed, escaped
    assert "<script>alert(1)" not in r.text
    assert api(server, "/countries/CMR")["country"]["stages"] == []


def test_recording_a_ratification_changes_the_status(fresh_server):
    admin = fresh_server.member("admin")
    c = fresh_server.login_user(admin)
    token = scrape_csrf(c.get("/countries/AGO").text)
    r = c.post("/countries/AGO/actions",
               data={"csrf_token": token, "instrument": "op-icescr", "kind": "ratification",
                     "date": "2026-11-01", "source_url": "https://treaties.un.org/"})
    assert r.status_code == 303
    c2 = api(fresh_server, "/countries/AGO")["country"]
    assert c2["status"] == "party" and c2["ask"] == "declare"
    assert api(fresh_server, "/countries")["counts"]["parties"] == PARTIES + 1
    # Correcting it: delete the action again.
    action = [a for a in c2["actions"] if a["kind"] == "ratification"][0]
    token = scrape_csrf(c.get("/countries/AGO").text)
    r = c.post(f"/countries/AGO/actions/{action['id']}/delete", data={"csrf_token": token})
    assert r.status_code == 303
    assert api(fresh_server, "/countries/AGO")["country"]["status"] == "signatory"


UNTC_CSV = (
    'Participant,Signature,"Ratification, Accession(a), Succession(d)"\n'
    "Argentina,24 Sep 2009,24 Oct 2011\n"
    "Angola,24 Sep 2013,15 Mar 2026\n"
    "Bosnia and Herzegovina 3,,18 Jan 2012\n"
)


def action_rows(db_path):
    # A read: every column of every treaty action, to show a refused or
    # repeated import left the table exactly as it was.
    return db_query(db_path, "SELECT * FROM treaty_actions ORDER BY id")


def test_import_dry_run_changes_nothing_then_applies(fresh_server, tmp_path):
    path = tmp_path / "untc.csv"
    path.write_text(UNTC_CSV)
    before = action_rows(fresh_server.db)
    p = fresh_server.cli("import", "treaty-status", str(path))
    assert p.returncode == 0, p.stderr
    assert "Angola" in p.stdout and "add" in p.stdout
    assert "1 to add, 0 to change, 4 unchanged, 0 problem(s)." in p.stdout
    assert action_rows(fresh_server.db) == before
    p = fresh_server.cli("import", "treaty-status", str(path), "--apply")
    assert p.returncode == 0, p.stderr
    assert api(fresh_server, "/countries/AGO")["country"]["status"] == "party"


def test_import_reports_unknown_names_and_writes_nothing(fresh_server, tmp_path):
    path = tmp_path / "untc.csv"
    path.write_text(UNTC_CSV + "Ruritania,,1 Jan 2020 a\nArgentine,,1 Jan 2020\n")
    before = action_rows(fresh_server.db)
    p = fresh_server.cli("import", "treaty-status", str(path), "--apply")
    assert p.returncode == 2
    assert "Ruritania" in p.stdout and "unknown name" in p.stdout
    assert "Argentine" in p.stdout  # close to Argentina, but never guessed
    assert action_rows(fresh_server.db) == before


def test_import_page(fresh_server):
    admin = fresh_server.member("admin")
    c = fresh_server.login_user(admin)
    token = scrape_csrf(c.get("/admin/import").text)
    before = action_rows(fresh_server.db)
    r = c.post("/admin/import", data={"csrf_token": token, "instrument": "op-icescr"},
               files={"file": ("untc.csv", UNTC_CSV, "text/csv")})
    assert r.status_code == 200
    assert "Apply these changes" in r.text and "Angola" in r.text
    assert action_rows(fresh_server.db) == before
    token = scrape_csrf(r.text)
    r = c.post("/admin/import", data={"csrf_token": token, "instrument": "op-icescr",
                                      "apply": "1", "csv": UNTC_CSV})
    assert r.status_code == 200 and "The changes were applied" in r.text
    assert len(action_rows(fresh_server.db)) == len(before) + 1
    # Coordinators cannot import.
    coord = fresh_server.login_user(fresh_server.member("coordinator", countries=["AGO"]))
    assert coord.get("/admin/import").status_code == 403


@pytest.mark.parametrize("iso3", ["ARG", "AGO", "USA", "PSE", "VAT", "GRL"])
def test_every_kind_of_country_page_renders(server, iso3):
    r = server.client().get(f"/countries/{iso3}")
    assert r.status_code == 200
    assert "<h1>" in r.text


@pytest.fixture
def one_thread_server(tmp_path):
    """One worker thread, so that its own writes and its cache share one
    database connection: the case SQLite's data_version does not cover."""
    srv = RatifyServer(tmp_path / "ratify", serve_args=("--threads", "1"))
    srv.start()
    yield srv
    srv.stop_and_check()


def test_cached_pages_follow_every_write(one_thread_server, tmp_path):
    """Anonymous country pages are served from a cache; a write through the
    web or by another process (the CLI) must show at once."""
    fresh_server = one_thread_server
    # Every CLI write comes first: it would itself invalidate the cache.
    coord_user = fresh_server.member("coordinator", countries=["AGO"])
    coord = fresh_server.login_user(coord_user)
    anon = fresh_server.client()
    for _ in range(3):
        assert "Record" not in anon.get("/countries/AGO").text
        assert anon.get("/api/v1/countries/AGO").json()["country"]["status"] == "signatory"
    assert " hit" in fresh_server.wait_for_log(" hit")
    # The server itself writes, on the connection whose cache holds the page.
    assert stage_form(coord, "AGO", evidence="Gazette notice 7").status_code == 303
    for _ in range(3):
        assert "Gazette notice 7" in anon.get("/countries/AGO").text
    # Another process writes.
    path = tmp_path / "untc.csv"
    path.write_text(UNTC_CSV)
    assert fresh_server.cli("import", "treaty-status", str(path), "--apply").returncode == 0
    for _ in range(3):
        assert anon.get("/api/v1/countries/AGO").json()["country"]["status"] == "party"
        assert "2026-03-15" in anon.get("/countries/AGO").text
    # A logged-in coordinator never gets the anonymous page.
    assert "Record a domestic step" in coord.get("/countries/AGO").text


def test_dates_and_kinds_in_the_readers_words(server):
    """Issue 14: dates shown as text are in the reader's language (month
    names), and how a state became a party is a word, not a code."""
    want = {"en": "24 September 2013", "es": "24 de septiembre de 2013",
            "fr": "24 septembre 2013", "ar": "24 سبتمبر 2013"}
    for lang, date in want.items():
        html = server.client().get("/countries/AGO", headers={"Accept-Language": lang}).text
        assert date in html, lang
        assert "2013-09-24</td>" not in html
    html = server.client().get("/countries/ARG").text
    assert "(ratification)" not in html and "(accession)" not in html


@pytest.mark.parametrize("lang, words", [
    ("en", ("10 December 2008", "10 and 11", "3 February 2026", "three months after the deposit")),
    ("es", ("10 de diciembre de 2008", "10 y 11", "3 de febrero de 2026", "tres meses después")),
    ("fr", ("10 décembre 2008", "10 et 11", "3 février 2026", "trois mois après")),
])
def test_treaty_page_in_the_readers_words(server, lang, words):
    """The treaty's dates, articles and entry-into-force condition in the
    reader's language (issue 14), the API keeping the record's values."""
    page = server.client().get("/treaties/op-icescr", headers={"Accept-Language": lang}).text
    text = html.unescape(page)
    for w in words:
        assert w in text, (lang, w)
    assert "2026-02-03" not in text and "10 11" not in text
    data = api(server, "/treaties/op-icescr/status")
    assert data["instrument"]["opt_in_articles"] == "10 11"
    assert data["instrument"]["adopted_on"] == "2008-12-10"
