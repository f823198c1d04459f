"""
Responses compressed by Ratify itself (issue 14): gzip when the client asks
for it and the body is large enough, "Vary: Accept-Encoding", never for a
response that holds a secret next to what a visitor can choose (BREACH):
the CSRF token masked afresh in every response, a logged-in page only when
the browser says Ratify's own page asked for it, and the logged-in page
whose shared content is precompressed and whose layout is stored
uncompressed; /countries under 50 KB
on the wire; the name search; the logged-in fragment cache.
"""

import gzip
import re

import pytest

from ratify_server import same_page, scrape_csrf, unmask_csrf

GZIP = {"Accept-Encoding": "gzip"}
PLAIN = {"Accept-Encoding": "identity"}


def raw_get(client, path, headers, method="GET"):
    """The response and its body exactly as sent (requests would inflate it)."""
    r = client.request(method, path, headers=headers, stream=True)
    body = r.raw.read(decode_content=False)
    return r, body


def test_pages_are_gzipped_for_clients_that_ask(server):
    c = server.client()
    plain, plain_body = raw_get(c, "/countries", PLAIN)
    packed, packed_body = raw_get(c, "/countries", GZIP)
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert plain.headers["Vary"] == packed.headers["Vary"] == "Accept-Encoding"
    assert int(packed.headers["Content-Length"]) == len(packed_body)
    assert gzip.decompress(packed_body) == plain_body
    # Refused explicitly, or not offered: not compressed.
    for refuse in ("gzip;q=0", "br", "identity, gzip;q=0.0", "*;q=0"):
        r, body = raw_get(c, "/countries", {"Accept-Encoding": refuse})
        assert "Content-Encoding" not in r.headers, refuse
        assert body == plain_body
    # gzip among others, with a weight above zero: compressed.
    r, body = raw_get(c, "/countries", {"Accept-Encoding": "br;q=1.0, GZIP;q=0.5"})
    assert r.headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(body) == plain_body


def test_head_and_small_bodies(server):
    c = server.client()
    get, body = raw_get(c, "/countries", GZIP)
    head, head_body = raw_get(c, "/countries", GZIP, method="HEAD")
    assert head.status_code == 200 and head_body == b""
    assert head.headers["Content-Encoding"] == "gzip"
    assert head.headers["Content-Length"] == get.headers["Content-Length"]
    # A small answer (under 1 KiB) is not worth compressing.
    r, body = raw_get(c, "/api/v1/status", GZIP)
    assert r.status_code == 200 and len(body) < 1024
    assert "Content-Encoding" not in r.headers


@pytest.mark.parametrize("lang", ["en", "es", "fr", "ar"])
def test_countries_under_50_kb_on_the_wire(server, lang):
    r, body = raw_get(server.client(), "/countries", {**GZIP, "Accept-Language": lang})
    assert r.headers["Content-Encoding"] == "gzip"
    assert len(body) < 50_000, f"/countries in {lang}: {len(body)} bytes compressed"
    html = gzip.decompress(body).decode()
    assert f'lang="{lang}"' in html
    # The map's links are named for screen readers and not hidden in an image.
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert 'role="img"' not in svg
    links = re.findall(r'<a href="/countries/[A-Z]{3}">(?:<[a-z]+ [^>]*/>)+<title>([^<]+)</title></a>',
                       svg)
    assert len(links) > 190


def test_csrf_token_masked_afresh_in_every_response(server):
    c = server.client()
    first = scrape_csrf(c.get("/login").text)
    second = scrape_csrf(c.get("/login").text)
    # Different bytes on the wire, the same token (bound to this browser).
    assert len(first) == len(second) == 128 and first != second
    assert unmask_csrf(first) == unmask_csrf(second)
    assert unmask_csrf(first) not in c.get("/login").text
    # Each masked form is accepted, and the plain token too (API clients
    # send it in X-CSRF-Token); a pad changed by one bit is refused.
    member = server.member()
    for token in (first, unmask_csrf(second)):
        r = c.post("/login", data={"email": member.email, "password": "wrong password",
                                   "csrf_token": token})
        assert r.status_code != 403, token
    bad = ("1" if first[0] == "0" else "0") + first[1:]
    r = c.post("/login", data={"email": member.email, "password": member.password,
                               "csrf_token": bad})
    assert r.status_code == 403


def test_no_compression_next_to_a_secret(server):
    c = server.client()
    # A visitor's login form carries a CSRF token, masked afresh: it may be
    # compressed, since no two responses carry the same secret bytes.
    r, body = raw_get(c, "/login", GZIP)
    assert r.status_code == 200 and r.headers["Content-Encoding"] == "gzip"
    assert scrape_csrf(gzip.decompress(body).decode())
    # A logged-in page rendered for the reader holds personal data: it is
    # compressed only when the browser says Ratify's own page or the person
    # asked for it (Fetch Metadata), never for another site or an old
    # browser that does not say.
    member = server.login_user(server.member())
    for site, packed in ((None, False), ("cross-site", False), ("same-site", False),
                         ("same-origin", True), ("none", True)):
        headers = {**GZIP, **({"Sec-Fetch-Site": site} if site else {})}
        r, body = raw_get(member, "/account", headers)
        assert r.status_code == 200
        assert (r.headers.get("Content-Encoding") == "gzip") == packed, site
        html = gzip.decompress(body) if packed else body
        assert unmask_csrf(scrape_csrf(html.decode())) not in html.decode()


def test_logged_in_countries_layout_stored_content_compressed(server):
    member = server.login_user(server.member())
    for attempt in range(2):  # the first fills the fragment cache, the second uses it
        plain, plain_body = raw_get(member, "/countries?q=an", PLAIN)
        packed, packed_body = raw_get(member, "/countries?q=an", GZIP)
        assert packed.headers["Content-Encoding"] == "gzip", attempt
        # The same page but for the CSRF token, masked afresh in each.
        assert same_page(gzip.decompress(packed_body).decode()) == same_page(plain_body.decode())
        token = scrape_csrf(gzip.decompress(packed_body).decode())
        # The token travels in a stored (uncompressed) block, so the length
        # of the response cannot depend on it.
        assert token.encode() in packed_body
        assert len(packed_body) < len(plain_body) / 2
        assert plain.headers["Cache-Control"] == "no-store"


def test_static_files_etag_per_encoding(server):
    c = server.client()
    plain, plain_body = raw_get(c, "/static/style.css", PLAIN)
    packed, packed_body = raw_get(c, "/static/style.css", GZIP)
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed_body) == plain_body
    etag, gz_etag = plain.headers["ETag"], packed.headers["ETag"]
    assert gz_etag == etag[:-1] + '-gz"'
    assert "max-age=31536000" in packed.headers["Cache-Control"]
    # Either validator revalidates either encoding.
    for sent in (etag, gz_etag):
        r, body = raw_get(c, "/static/style.css", {**GZIP, "If-None-Match": sent})
        assert r.status_code == 304 and body == b""
        r, body = raw_get(c, "/static/style.css", {**PLAIN, "If-None-Match": sent})
        assert r.status_code == 304 and body == b""
    r, _ = raw_get(c, "/static/style.css", {**GZIP, "If-None-Match": '"other"'})
    assert r.status_code == 200


def test_cached_page_etag_and_304(server):
    """An API answer cached for visitors keeps its validator per encoding."""
    c = server.client()
    first, body = raw_get(c, "/api/v1/countries", GZIP)
    assert first.headers["Content-Encoding"] == "gzip"
    etag = first.headers["ETag"]
    assert etag.endswith('-gz"')
    again, body = raw_get(c, "/api/v1/countries", {**GZIP, "If-None-Match": etag})
    assert again.status_code == 304 and body == b""


@pytest.mark.parametrize("lang,typed", [("en", "angola"), ("es", "Angola"), ("fr", "ANGOLA"),
                                        ("ar", "أنغولا"), ("ar", "انغولا"),
                                        ("en", "cote d'ivoire")])
def test_search_by_name(server, lang, typed):
    html = server.client().get("/countries", params={"q": typed},
                               headers={"Accept-Language": lang}).text
    table = html[html.index('<table class="countries"'):]
    found = set(re.findall(r'href="/countries/([A-Z]{3})"', table))
    expected = "CIV" if "ivoire" in typed else "AGO"
    assert expected in found and len(found) <= 3, found
    assert f'value="{typed}"' in html.replace("&#39;", "'")


def test_search_finds_nothing_politely(server):
    html = server.client().get("/countries", params={"q": "Atlantis"}).text
    assert "No state matches" in html
    table = html[html.index('<table class="countries"'):]
    assert not re.findall(r'href="/countries/[A-Z]{3}"', table)


def test_logged_in_fragment_follows_the_data(fresh_server):
    member = fresh_server.login_user(fresh_server.member())
    before = member.get("/countries?q=angola").text
    assert 'st-signatory">Signatory<' in before
    assert same_page(member.get("/countries?q=angola").text) == same_page(before)  # the fragment
    admin = fresh_server.login_user(fresh_server.member("admin"))
    token = scrape_csrf(admin.get("/countries/AGO").text)
    r = admin.post("/countries/AGO/actions",
                   data={"csrf_token": token, "instrument": "op-icescr", "kind": "ratification",
                         "date": "2026-11-01", "source_url": "https://treaties.un.org/"})
    assert r.status_code == 303
    after = member.get("/countries?q=angola").text
    assert 'st-party">Party<' in after
    # The layout is the reader's own around shared content.
    assert unmask_csrf(scrape_csrf(after)) == unmask_csrf(scrape_csrf(before))
    assert (unmask_csrf(scrape_csrf(admin.get("/countries?q=angola").text))
            != unmask_csrf(scrape_csrf(after)))
