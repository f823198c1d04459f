"""
The instrument a deployment campaigns for is configuration (issue 11 item
5): `ratify init --instrument op-cedaw` runs the same pages, ask, map and
counts for the OP-CEDAW, from the same shipped UNTC record.
"""

import re

import pytest

from ratify_server import RatifyServer, db_query, scrape_csrf

# data/untc/cedaw_op.html, as at 2026-02-03: its header says 80 signatories
# and 116 parties. The pages count states only, and the Cook Islands (a
# party) is neither a UN member nor an observer.
CEDAW_SIGNATURES, CEDAW_PARTIES, STATES = 80, 116 - 1, 195

# Where the campaign's own name would be said: a page must not say the
# OP-ICESCR there when the campaign is another instrument.
CAMPAIGN_PLACES = re.compile(r"<h1>.*?</h1>|<p class=\"lead\">.*?</p>|<title[^>]*>.*?</title>"
                             r"|<option[^>]*>[^<]*</option>", re.S)


@pytest.fixture(scope="module")
def cedaw(tmp_path_factory):
    srv = RatifyServer(tmp_path_factory.mktemp("cedaw"), init_args=("--instrument", "op-cedaw"))
    srv.start()
    yield srv
    srv.stop_and_check()


def api(server, path, **kw):
    r = server.client().get("/api/v1" + path, **kw)
    assert r.status_code == 200, r.text
    return r.json()


def says_icescr_as_campaign(html):
    return [m for m in CAMPAIGN_PLACES.findall(html)
            if "OP-ICESCR" in m or "Optional Protocol to the International Covenant" in m]


def test_init_names_the_campaign(cedaw):
    assert "The campaign instrument is OP-CEDAW" in cedaw.init_output
    rows = db_query(cedaw.db, "SELECT value FROM settings WHERE name = 'campaign_instrument'")
    assert [r[0] for r in rows] == ["op-cedaw"]


def test_counts_match_the_op_cedaw_page(cedaw):
    counts = api(cedaw, "/countries")["counts"]
    assert counts["signatures"] == CEDAW_SIGNATURES
    assert counts["parties"] == CEDAW_PARTIES
    assert counts["states"] == STATES
    assert counts["none"] == STATES - CEDAW_PARTIES - counts["signatories"]
    # The same as the treaty's own page, which does not depend on the setting.
    treaty = api(cedaw, "/treaties/op-cedaw/status")["counts"]
    assert (treaty["parties"], treaty["signatures"]) == (CEDAW_PARTIES, CEDAW_SIGNATURES)
    html = cedaw.client().get("/countries").text
    assert f"<strong>{CEDAW_PARTIES}</strong>" in html
    assert f"<strong>{CEDAW_SIGNATURES}</strong>" in html
    assert "<h1>Countries and the OP-CEDAW</h1>" in html
    assert "Convention on the Elimination of All Forms of Discrimination against Women" in html
    assert not says_icescr_as_campaign(html), says_icescr_as_campaign(html)


def test_the_map_and_chart_show_op_cedaw(cedaw):
    html = cedaw.client().get("/countries").text
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert "World map of the status of the OP-CEDAW" in svg
    # Argentina: an OP-CEDAW party; the United States: no action on it
    # (a signatory of neither, unlike its Covenant signature).
    assert re.search(r'<a href="/countries/ARG"><path class="st-party"', svg)
    assert re.search(r'<a href="/countries/USA"><path class="st-none"', svg)
    # The chart starts the year the OP-CEDAW opened for signature (1999)
    # and ends at its parties today.
    years = re.findall(r"<title>(\d{4}): (\d+)</title>", html)
    assert years[0][0] == "1999"
    assert int(years[-1][1]) == CEDAW_PARTIES


def test_a_party_is_asked_to_implement(cedaw):
    c = api(cedaw, "/countries/ARG")["country"]
    assert c["status"] == "party"
    assert c["ask"] == "implement"  # no opt-in articles: nothing to declare
    assert "covenant" not in c  # the OP-CEDAW requires no other treaty first
    html = cedaw.client().get("/countries/ARG").text
    assert "Implement the OP-CEDAW and encourage other states to join it" in html
    assert '<a href="/treaties/op-cedaw"' in html
    assert "/treaties/icescr" not in html
    # No opt-in articles, so no declarations column.
    assert '<th scope="col">Declarations</th>' not in html
    # Its record on the other procedures now includes the OP-ICESCR, and
    # not the OP-CEDAW itself.
    names = [p["instrument"] for p in c["other_procedures"]]
    assert names == ["ICCPR-OP1", "OP-CRPD", "OP-ICESCR", "OP-CRC-IC"]
    sentence = ("Accepts individual complaints under ICCPR-OP1 (1986), OP-CRPD (2008), "
                "OP-ICESCR (2011) and OP-CRC-IC (2015).")
    assert c["other_procedures_text"] == sentence
    assert sentence in html
    assert not says_icescr_as_campaign(html), says_icescr_as_campaign(html)


def test_a_non_party_is_asked_to_sign_and_ratify(cedaw):
    # The United States took no action on the OP-CEDAW. Without a parent
    # treaty there is no "join the Covenant first" step, whatever its
    # standing under the Covenant.
    c = api(cedaw, "/countries/USA")["country"]
    assert c["status"] == "none"
    assert c["ask"] == "sign_and_ratify"
    html = cedaw.client().get("/countries/USA").text
    assert "Sign and ratify the OP-CEDAW." in html
    assert "Covenant" not in html
    # Indonesia signed it in 2000 and has not ratified.
    c = api(cedaw, "/countries/IDN")["country"]
    assert (c["status"], c["ask"]) == ("signatory", "ratify")
    assert "Ratify the OP-CEDAW, which it has already signed." in \
        cedaw.client().get("/countries/IDN").text
    # No state gets a Covenant step.
    asks = {x["ask"] for x in api(cedaw, "/countries")["countries"]}
    assert asks <= {"sign_and_ratify", "ratify", "implement"}


def test_the_persuadable_are_those_outside_op_cedaw(cedaw):
    shown = api(cedaw, "/countries", params={"similar": "persuadable"})["countries"]
    assert shown and all(c["status"] != "party" for c in shown)
    assert all(c["other_procedures_count"] > 0 for c in shown)
    html = cedaw.client().get("/countries", params={"similar": "persuadable"}).text
    assert "Accept other complaint procedures, not the OP-CEDAW" in html


def test_home_and_join_name_the_campaign(cedaw):
    for path in ("/", "/join"):
        html = cedaw.client().get(path).text
        assert "OP-CEDAW" in html, path
        assert not says_icescr_as_campaign(html), (path, says_icescr_as_campaign(html))
    home = cedaw.client().get("/").text
    assert ("<h1>Optional Protocol to the Convention on the Elimination of All Forms of "
            "Discrimination against Women</h1>") in home
    es = cedaw.client().get("/countries/USA", headers={"Accept-Language": "es"}).text
    assert "OP-CEDAW" in es and "Sign and ratify" not in es


def test_op_icescr_letters_are_not_offered(cedaw):
    """The shipped model letters argue for the OP-ICESCR: under another
    campaign none is offered, nor accepted if posted anyway."""
    user = cedaw.member("coordinator", countries=["USA"])
    client = cedaw.login_user(user)
    page = client.get("/letters/new", params={"country": "USA"})
    assert page.status_code == 200
    assert "Sign and ratify the OP-CEDAW." in page.text
    assert "There is no model letter for this ask yet." in page.text
    assert '<select id="model"' in page.text and "<option value=" not in \
        page.text[page.text.index('<select id="model"'):page.text.index("</select>",
                                                                      page.text.index('<select id="model"'))]
    icescr = db_query(cedaw.db, "SELECT id FROM model_letters "
                                "WHERE instrument = 'op-icescr' AND ask = 'sign_and_ratify'")
    assert icescr
    r = client.post("/letters", data={"csrf_token": scrape_csrf(page.text), "country": "USA",
                                      "model": str(icescr[0][0]), "sender": "Someone"})
    assert r.status_code == 400
    assert db_query(cedaw.db, "SELECT count(*) FROM letters")[0][0] == 0


def test_default_is_the_op_icescr(server):
    """Without --instrument: the OP-ICESCR, its Covenant steps, its letters."""
    assert "campaign instrument" not in server.init_output
    c = api(server, "/countries/USA")["country"]
    assert c["ask"] == "ratify_covenant_and_sign"
    html = server.client().get("/countries").text
    assert "<h1>Countries and the OP-ICESCR</h1>" in html
    assert "World map of the status of the OP-ICESCR" in html
    html = server.client().get("/countries/USA").text
    assert '<a href="/treaties/op-icescr"' in html and '<a href="/treaties/icescr"' in html
    assert '<th scope="col">Declarations</th>' in html
    brazil = [p["instrument"] for p in api(server, "/countries/BRA")["country"]["other_procedures"]]
    assert "OP-ICESCR" not in brazil and len(brazil) == 4
    home = server.client().get("/").text
    assert ("<h1>Optional Protocol to the International Covenant on Economic, Social and "
            "Cultural Rights</h1>") in home


def test_unknown_instrument_is_refused_and_changes_nothing(server):
    p = server.cli("init", "--instrument", "op-nothing")
    assert p.returncode != 0
    assert "no instrument called 'op-nothing'" in p.stderr
    for slug in ("icescr", "op-icescr", "op-cedaw", "op-crpd", "op-crc-ic", "iccpr-op1"):
        assert slug in p.stderr
    assert db_query(server.db, "SELECT value FROM settings "
                               "WHERE name = 'campaign_instrument'") == []
    assert api(server, "/countries/USA")["country"]["ask"] == "ratify_covenant_and_sign"
    # A missing value is a usage error too.
    assert server.cli("init", "--instrument").returncode != 0


def test_init_again_changes_the_campaign(tmp_path):
    srv = RatifyServer(tmp_path / "ratify", init_args=("--instrument", "op-crpd"))
    srv.start()
    try:
        assert api(srv, "/countries")["countries"]
        assert "Countries and the OP-CRPD" in srv.client().get("/countries").text
        p = srv.cli("init", "--instrument", "op-icescr")
        assert p.returncode == 0, p.stderr
        assert "The campaign instrument is OP-ICESCR" in p.stdout
        # Read on every request: the running server follows at once.
        assert "Countries and the OP-ICESCR" in srv.client().get("/countries").text
        assert api(srv, "/countries/USA")["country"]["ask"] == "ratify_covenant_and_sign"
    finally:
        srv.stop_and_check()


def test_admin_pages_follow_the_campaign(cedaw):
    admin = cedaw.login_user(cedaw.member("admin"))
    # The status import offers every instrument, the campaign's chosen.
    html = admin.get("/admin/import").text
    options = re.findall(r'<option value="([a-z0-9-]+)"( selected)?>', html)
    assert options[0] == ("op-cedaw", " selected")
    assert {o[0] for o in options} == {"op-cedaw", "icescr", "op-icescr", "op-crpd",
                                       "op-crc-ic", "iccpr-op1"}
    # Model letters: the shipped ones are listed as the OP-ICESCR's; a new
    # one is for the OP-CEDAW and offers its asks only (no Covenant step).
    html = admin.get("/admin/model-letters").text
    assert "OP-CEDAW" in html and "(op-icescr, sign-and-ratify, en," in html
    asks = re.findall(r'<option value="([a-z_]+)">', html)
    # and the thank-you letter after a meeting, which is not an ask.
    assert asks == ["sign_and_ratify", "ratify", "declare", "implement", "thank_you"]
    body = "Dear {{target_name}},\n\n{{organisation}} asks {{country}} to sign the OP-CEDAW."
    r = admin.post("/admin/model-letters", data={
        "csrf_token": scrape_csrf(html), "slug": "cedaw-sign", "lang": "en",
        "ask": "sign_and_ratify", "title": "Sign the OP-CEDAW", "subject": "The OP-CEDAW",
        "body": body})
    assert r.status_code in (200, 303), r.text
    rows = db_query(cedaw.db, "SELECT instrument FROM model_letters WHERE slug = 'cedaw-sign'")
    assert [r[0] for r in rows] == ["op-cedaw"]
    # Now a member writing to a non-party is offered it.
    user = cedaw.member("coordinator", countries=["IRN"])
    page = cedaw.login_user(user).get("/letters/new", params={"country": "IRN"}).text
    assert "Sign the OP-CEDAW (en)" in page
    assert "There is no model letter for this ask yet." not in page
