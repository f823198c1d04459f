"""
Letters to governments (issue 5): a member in Angola (a signatory) writes
from the "ratify" model letter, gets a real PDF, records it sent, records a
refusal with reasons shared with the national coalition; who sees it; the
uploaded file is only ever a download; model letters cannot inject markup.
"""

import html
import pathlib
import re
import subprocess

import pytest

from factories import DAY, Factory, audit_entries, mail_count, next_mail_to, past_server
from ratify_server import RatifyServer, scrape_csrf
from smtp_capture import SmtpCapture, smtp  # noqa: F401  (the smtp fixture)


@pytest.fixture
def site(tmp_path, smtp):
    srv = RatifyServer(tmp_path / "ratify",
                       serve_args=("--smtp", f"smtp://127.0.0.1:{smtp.port}"))
    srv.start()
    srv.factory = Factory(srv, smtp)
    yield srv
    srv.stop_and_check()


def member_of(site, iso3, role="member", countries=()):
    """A logged-in user: a member is one whose member profile is in iso3, with
    an active membership (joined, confirmed by mail, approved, welcomed); a
    coordinator is made with `ratify user add`, for countries."""
    if role != "member":
        user = site.member(role, countries=countries)
        return user, site.login_user(user)
    user = site.factory.member(iso3)
    return user, user.client


def pdf_text(data, tmp_path):
    path = tmp_path / "letter.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def pdf_lines(data, tmp_path):
    """The lines of page 1 as pdftotext -bbox places their words, top down:
    each a list of (xMin, xMax, text) from the left of the page. Arabic comes
    out one glyph a word."""
    path = tmp_path / "letter.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(path), "-"],
                         capture_output=True, text=True, check=True).stdout
    lines = {}
    for x0, y0, x1, text in re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" '
                                       r'xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', out):
        # Glyphs of one line share their top to within a font's difference.
        key = next((y for y in lines if abs(y - float(y0)) < 3), float(y0))
        lines.setdefault(key, []).append((float(x0), float(x1), html.unescape(text)))
    # Glyphs of a ligature share their start; the wider comes first in reading.
    return [sorted(lines[y], key=lambda w: (w[0], w[1])) for y in sorted(lines)]


def write_ratify_letter(client):
    page = client.get("/letters/new", params={"country": "AGO"})
    assert page.status_code == 200
    assert "Ratify the OP-ICESCR, which it has already signed." in page.text
    models = dict((title, mid) for mid, title in
                  re.findall(r'<option value="(\d+)">([^<]+\(en\))</option>', page.text))
    assert models, page.text
    r = client.post("/letters", data={"csrf_token": scrape_csrf(page.text), "country": "AGO",
                                      "model": next(iter(models.values())), "sender": "Mosaiko"})
    assert r.status_code == 303
    return r.headers["Location"]


def test_angola_letter_refusal_and_who_sees_it(site, smtp, tmp_path):
    author, writer = member_of(site, "AGO")
    neighbour_user, neighbour = member_of(site, "AGO")
    _, elsewhere = member_of(site, "BRA")
    path = write_ratify_letter(writer)
    page = writer.get(path).text
    assert "Angola" in page and "Mosaiko" in page
    for paper, size in (("a4", "(A4)"), ("letter", "612 x 792 pts")):
        r = writer.get(path + "/pdf", params={"paper": paper})
        assert r.status_code == 200 and r.headers["Content-Type"] == "application/pdf"
        assert r.content.startswith(b"%PDF-")
        text = pdf_text(r.content, tmp_path)
        assert "Angola" in text and "ratif" in text.lower() and "Mosaiko" in text
        (tmp_path / "p.pdf").write_bytes(r.content)
        info = subprocess.run(["pdfinfo", str(tmp_path / "p.pdf")], capture_output=True,
                              text=True).stdout
        assert size in info, info
    token = scrape_csrf(page)
    letter_id = path.rsplit("/", 1)[1]
    r = writer.post(path + "/sent", data={"csrf_token": token, "sent_on": "2026-10-01",
                                          "sent_via": "post", "remind_weeks": "8",
                                          "visibility": "country"})
    assert r.status_code == 303
    author_mail = mail_count(smtp, author.email)
    neighbour_mail = mail_count(smtp, neighbour_user.email)
    pdf = b"%PDF-1.4\n<html><script>alert(1)</script></html>\n%%EOF\n"
    r = writer.post(path + "/responses",
                    data={"csrf_token": token, "received_on": "2026-11-15", "class": "refusal",
                          "reasons": ["cost", "justiciability"], "visibility": "country",
                          "text": "The Government is not in a position to ratify."},
                    files={"file": ("reply.pdf", pdf, "application/pdf")})
    assert r.status_code == 303, r.text
    # Members of the country are told by email; the author is not.
    next_mail_to(smtp, neighbour_user.email, neighbour_mail)
    assert mail_count(smtp, author.email) == author_mail
    # Another member of Angola sees the letter and the refusal; others do not.
    seen = neighbour.get(path).text
    assert "The Government is not in a position to ratify." in seen
    assert "Cost" in seen
    assert "not in a position" not in elsewhere.get(path).text
    assert elsewhere.get(path).status_code == 404
    assert site.client().get(path).status_code in (303, 401)
    assert site.client().get(f"/api/v1/letters/{letter_id}").status_code == 401
    assert "not in a position" not in site.client().get("/countries/AGO").text
    # The file: only ever an attachment, never rendered.
    (rid,) = re.findall(r'/responses/(\d+)/file', seen)
    f = neighbour.get(f"/responses/{rid}/file")
    assert f.status_code == 200 and f.content == pdf
    assert f.headers["Content-Disposition"].startswith("attachment")
    assert f.headers["Content-Type"] == "application/pdf"
    assert f.headers["X-Content-Type-Options"] == "nosniff"
    assert elsewhere.get(f"/responses/{rid}/file").status_code == 404
    # Help with the refusal; an admin takes it and attaches a draft.
    r = writer.post(f"/responses/{rid}/help", data={"csrf_token": token, "details": "Please"})
    assert r.status_code == 303
    admin = site.login_user(site.member("admin"))
    page = admin.get("/admin/assistance").text
    (aid,) = re.findall(r'href="/assistance/(\d+)"', page)
    # The subject Ratify wrote is in each reader's language (issue 14).
    assert "Help to reply to a government&#39;s refusal" in page or \
        "Help to reply to a government's refusal" in page
    for lang, words in (("es", "Ayuda"), ("fr", "Aide"), ("ar", "مساعدة")):
        listing = admin.get("/admin/assistance", headers={"Accept-Language": lang}).text
        assert "Help to reply" not in listing and words in listing, lang
    page = admin.get(f"/assistance/{aid}").text
    r = admin.post(f"/admin/assistance/{aid}", data={"csrf_token": scrape_csrf(page),
                                                     "status": "accepted",
                                                     "draft": "Dear Minister, the cost..."})
    assert r.status_code == 303
    assert "Dear Minister, the cost..." in writer.get("/assistance").text
    # The overview and its CSV.
    overview = admin.get("/admin/letters").text
    assert "Angola" in overview
    csv = admin.get("/admin/letters.csv")
    assert csv.headers["Content-Disposition"].startswith("attachment")
    assert "AGO,Angola,1,1,1,0,0,1,2026-10-01,cost justiciability" in csv.text
    # The country page counts without showing a non-public response.
    public = site.client().get("/countries/AGO").text
    # Counted phrases through the plural forms (issue 14).
    assert "1 letter sent" in public and "1 letters sent" not in public
    assert "1 refusal" in public and "1 refusals" not in public
    es = site.client().get("/countries/AGO", headers={"Accept-Language": "es"}).text
    assert "1 carta enviada" in es and "1 negativa" in es
    ar = site.client().get("/countries/AGO", headers={"Accept-Language": "ar"}).text
    assert "رسالة واحدة مُرسَلة" in ar and "رفض واحد" in ar
    # The overview names the reasons in words; the CSV keeps the codes.
    assert "cost justiciability" not in overview
    assert "Cost; Economic, social and cultural rights are not justiciable" in overview


def test_help_is_asked_for_a_refusal_only(site, smtp):
    _, writer = member_of(site, "AGO")
    path = write_ratify_letter(writer)
    token = scrape_csrf(writer.get(path).text)
    r = writer.post(path + "/responses",
                    data={"csrf_token": token, "received_on": "2026-11-15",
                          "class": "positive", "visibility": "country",
                          "text": "The Government will consider ratification."})
    assert r.status_code == 303, r.text
    # The page offers no help for it; a crafted request is refused.
    assert "/help" not in writer.get(path).text
    (rid,) = [x["id"] for x in writer.get("/api/v1" + path).json()["letter"]["responses"]]
    r = writer.post(f"/responses/{rid}/help", data={"csrf_token": token, "details": "Please"})
    assert r.status_code == 409
    assert "Help with a reply can be asked for a refusal only." in r.text
    admin = site.factory.admin
    assert not re.search(r'href="/assistance/\d+"', admin.get("/admin/assistance").text)
    assert "No entries match." in admin.get("/admin/audit",
                                            params={"action": "assistance requested"}).text
    assert writer.get("/api/v1" + path).json()["letter"]["status"] == "response_received"


def test_html_upload_is_refused_and_nothing_written(site, smtp):
    _, writer = member_of(site, "AGO")
    path = write_ratify_letter(writer)
    token = scrape_csrf(writer.get(path).text)
    r = writer.post(path + "/responses",
                    data={"csrf_token": token, "received_on": "2026-11-15",
                          "class": "positive", "visibility": "country"},
                    files={"file": ("reply.pdf", b"<html><script>alert(1)</script></html>",
                                    "application/pdf")})
    assert r.status_code == 400 and "The file must be a PDF, PNG or JPEG." in r.text
    assert writer.get("/api/v1" + path).json()["letter"]["responses"] == []


def test_model_letters_cannot_inject_markup(site, smtp, tmp_path):
    admin = site.login_user(site.member("admin"))
    page = admin.get("/admin/model-letters").text
    hostile = ("Dear {{target_name}}, <script>alert(1)</script> {{{country}}} "
               "{{&country // raw}} {{> layout}}")
    r = admin.post("/admin/model-letters", data={
        "csrf_token": scrape_csrf(page), "slug": "evil", "lang": "en", "ask": "ratify",
        "title": "Evil", "subject": "Subject", "body": hostile})
    assert r.status_code == 400  # triple braces and partials do not compile
    body = ("Dear {{target_name}},\n\n<script>alert(1)</script> <b>{{country}}</b> "
            "{{organisation}} asks for ratification.")
    r = admin.post("/admin/model-letters", data={
        "csrf_token": scrape_csrf(page), "slug": "plain", "lang": "en", "ask": "ratify",
        "title": "Plain <i>title</i>", "subject": "About {{country}}", "body": body})
    assert r.status_code == 303
    _, writer = member_of(site, "AGO")
    new = writer.get("/letters/new", params={"country": "AGO"}).text
    assert "Plain &lt;i&gt;title&lt;/i&gt;" in new and "<i>title</i>" not in new
    (mid,) = re.findall(r'<option value="(\d+)">Plain', new)
    r = writer.post("/letters", data={"csrf_token": scrape_csrf(new), "country": "AGO",
                                      "model": mid, "sender": "<img src=x onerror=alert(1)>"})
    path = r.headers["Location"]
    html = writer.get(path).text
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;Angola&lt;/b&gt;" in html
    text = " ".join(pdf_text(writer.get(path + "/pdf").content, tmp_path).split())
    assert "<script>alert(1)</script> <b>Angola</b>" in text  # literally, as text


def test_targets_are_kept_by_coordinators(site, smtp):
    _, coord = member_of(site, "AGO", role="coordinator", countries=["AGO"])
    page = coord.get("/countries/AGO/targets").text
    r = coord.post("/countries/AGO/targets", data={
        "csrf_token": scrape_csrf(page), "kind": "official", "name": "Ana Dias",
        "title": "Minister of Foreign Affairs", "ministry": "MIREX", "email": "mirex@example.ao",
        "language": "pt", "source_url": "https://example.ao", "last_verified": "2026-11-01"})
    assert r.status_code == 303
    _, member = member_of(site, "AGO")
    assert "Ana Dias" in member.get("/countries/AGO/targets").text
    page = member.get("/countries/AGO/targets").text
    assert member.post("/countries/AGO/targets", data={"csrf_token": scrape_csrf(page),
                                                       "kind": "official",
                                                       "name": "X"}).status_code == 403
    (tid,) = re.findall(r'/targets/(\d+)/correction', page)
    r = member.post(f"/countries/AGO/targets/{tid}/correction",
                    data={"csrf_token": scrape_csrf(page), "correction": "New minister since May"})
    assert r.status_code == 303
    # Writing to that target fills in the address and the salutation.
    new = member.get("/letters/new", params={"country": "AGO"}).text
    (mid,) = re.findall(r'<option value="(\d+)">[^<]+\(en\)</option>', new)[:1]
    r = member.post("/letters", data={"csrf_token": scrape_csrf(new), "country": "AGO",
                                      "model": mid, "target": tid, "sender": "Mosaiko"})
    html = member.get(r.headers["Location"]).text
    assert "Dear Ana Dias" in html and "MIREX" in html
    assert 'href="mailto:mirex%40example.ao?subject=' in html


def test_portuguese_letter_for_angola(site, smtp, tmp_path):
    _, writer = member_of(site, "AGO")
    page = writer.get("/letters/new", params={"country": "AGO"}).text
    # Preselected: the member states no language, Angola's is Portuguese.
    (mid,) = re.findall(r'<option value="(\d+)" selected>[^<]+\(pt\)</option>', page)
    r = writer.post("/letters", data={"csrf_token": scrape_csrf(page), "country": "AGO",
                                      "model": mid, "sender": "Mosaiko"})
    pdf = writer.get(r.headers["Location"] + "/pdf").content
    text = " ".join(pdf_text(pdf, tmp_path).split())
    assert "Angola" in text and "Protocolo Facultativo" in text and "ratifica" in text
    assert "Excelentíssimo(a) Senhor(a) Ministro(a)," in text


def test_arabic_letter_reads_right_to_left(site, smtp, tmp_path):
    """An Arabic letter's lines start at the right margin and end at the left
    with their punctuation; Latin text in it reads left to right: a paragraph
    from the left margin, the sender's name on the Arabic side."""
    admin = site.login_user(site.member("admin"))
    page = admin.get("/admin/model-letters").text
    r = admin.post("/admin/model-letters", data={
        "csrf_token": scrape_csrf(page), "slug": "ratify-ar", "lang": "ar", "ask": "ratify",
        "title": "رسالة التصديق", "subject": "التصديق على البروتوكول الاختياري",
        "body": "معالي الوزير،\n\nنطلب منكم بكل احترام التصديق على البروتوكول الاختياري."
                "\n\nIn English: please ratify the Protocol."
                "\n\nوتفضلوا بقبول فائق الاحترام."})
    assert r.status_code == 303
    _, writer = member_of(site, "AGO")
    new = writer.get("/letters/new", params={"country": "AGO"}).text
    (mid,) = re.findall(r'<option value="(\d+)"(?: selected)?>رسالة التصديق \(ar\)</option>', new)
    r = writer.post("/letters", data={"csrf_token": scrape_csrf(new), "country": "AGO",
                                      "model": mid, "sender": "Mosaiko Institute"})
    assert r.status_code == 303
    pdf = writer.get(r.headers["Location"] + "/pdf", params={"paper": "a4"})
    assert pdf.status_code == 200
    lines = pdf_lines(pdf.content, tmp_path)
    right = 595.276 - 25 * 72 / 25.4  # A4, 25 mm margins

    def line_reading(logical):
        """The line that reads logical from right to left, spaces left out."""
        for line in lines:
            if "".join(w[2] for w in reversed(line)) == logical:
                return line
        raise AssertionError(f"no line {logical!r} in {lines}")

    for logical, end in (("معاليالوزير،", "،"), ("وتفضلوابقبولفائقالاحترام.", ".")):
        line = line_reading(logical)
        assert abs(max(w[1] for w in line) - right) < 1.5, line
        assert line[0][2] == end  # the line's end is on the left
    # A paragraph in English: left to right, its full stop at its end.
    (english,) = [line for line in lines if "English:" in [w[2] for w in line]]
    assert [w[2] for w in english] == ["In", "English:", "please", "ratify", "the", "Protocol."]
    assert abs(english[0][0] - 25 * 72 / 25.4) < 1.5
    senders = [line for line in lines if "Institute" in [w[2] for w in line]]
    assert senders  # the letterhead, and the signature
    for sender in senders:
        assert [w[2] for w in sender] == ["Mosaiko", "Institute"]
        assert abs(sender[-1][1] - right) < 1.5


def test_coordinator_closes_corrections_and_deletes_targets(site, smtp):
    _, coord = member_of(site, "AGO", role="coordinator", countries=["AGO"])
    page = coord.get("/countries/AGO/targets").text
    coord.post("/countries/AGO/targets", data={"csrf_token": scrape_csrf(page),
                                               "kind": "ministry", "name": "MIREX"})
    _, member = member_of(site, "AGO")
    page = member.get("/countries/AGO/targets").text
    (tid,) = re.findall(r'/targets/(\d+)/correction', page)
    member.post(f"/countries/AGO/targets/{tid}/correction",
                data={"csrf_token": scrape_csrf(page), "correction": "Renamed in 2026"})
    page = coord.get("/countries/AGO/targets").text
    assert "Renamed in 2026" in page
    (cid,) = re.findall(r'/targets/corrections/(\d+)"', page)
    assert member.post(f"/countries/AGO/targets/corrections/{cid}",
                       data={"csrf_token": scrape_csrf(page), "status": "applied"}
                       ).status_code == 403
    r = coord.post(f"/countries/AGO/targets/corrections/{cid}",
                   data={"csrf_token": scrape_csrf(page), "status": "applied"})
    assert r.status_code == 303
    assert "Renamed in 2026" not in coord.get("/countries/AGO/targets").text
    r = coord.post(f"/countries/AGO/targets/{tid}/delete", data={"csrf_token": scrape_csrf(page)})
    assert r.status_code == 303
    assert "MIREX" not in coord.get("/countries/AGO/targets").text


def test_unprintable_text_is_refused_when_saved(site, smtp):
    _, writer = member_of(site, "AGO")
    path = write_ratify_letter(writer)
    page = writer.get(path).text
    body = "Dear Minister,\n\nPlease ratify." + "a" + "\u0301" * 40 + " the Protocol.\n"
    r = writer.post(path, data={"csrf_token": scrape_csrf(page), "sender": "Mosaiko",
                                "subject": "Ratification", "body": body})
    assert r.status_code == 400 and "cannot be printed" in r.text
    assert writer.get(path + "/pdf").status_code == 200  # the saved letter is unchanged


def test_housekeeping_reminds_and_forgets(site, smtp):
    author, writer = member_of(site, "AGO")
    # A session the author opened eight days ago (past the seven-day limit),
    # on a server whose clock is set back. (Before the letter is sent: that
    # server's own housekeeping must have nothing to remind.)
    with past_server(site, -8 * DAY) as old:
        stale = old.login_user(author)
        assert stale.get("/letters").status_code == 200
    path = write_ratify_letter(writer)
    page = writer.get(path).text
    writer.post(path + "/sent", data={"csrf_token": scrape_csrf(page), "sent_on": "2026-01-05",
                                      "sent_via": "post", "remind_weeks": "4",
                                      "visibility": "country"})
    # The author reads Spanish.
    page = writer.get("/account").text
    r = writer.post("/account", data={"csrf_token": scrape_csrf(page), "lang": "es"})
    assert r.status_code == 303, r.text
    assert stale.cookies.get("session")
    before = mail_count(smtp, author.email)
    p = site.cli("housekeeping")
    assert p.returncode == 0, p.stderr
    # The old session is gone: it no longer opens a page, even on a server
    # of its time (whose own housekeeping, at start, is in the past too).
    with past_server(site, -8 * DAY) as old:
        stale.base_url = old.base_url
        assert stale.get("/letters").status_code == 303
    assert writer.get("/api/v1" + path).json()["letter"]["status"] == "no_response"
    reminder = next_mail_to(smtp, author.email, before)
    assert "/letters/" in SmtpCapture.body(reminder)
    assert reminder.msg["Subject"] == "Todavía no hay respuesta a su carta"  # their language
    # The writer's own session is still good.
    assert writer.get("/letters").status_code == 200


def test_who_read_a_letter_is_in_the_audit_log(site, smtp):
    """Issue 8: a letter that is not public, read by someone other than its
    author, is logged (who, which letter, never its text); the author's own
    reads are not."""
    _, writer = member_of(site, "AGO")
    coordinator, coord = member_of(site, "AGO", role="coordinator", countries=("AGO",))
    path = write_ratify_letter(writer)
    letter_id = path.rsplit("/", 1)[1]
    page = writer.get(path).text
    r = writer.post(path + "/sent", data={"csrf_token": scrape_csrf(page), "sent_on": "2026-10-01",
                                          "sent_via": "post", "remind_weeks": "8",
                                          "visibility": "country"})
    assert r.status_code == 303
    admin = site.login_user(site.member("admin"))
    assert not [row for row in audit_entries(admin, action="letter viewed")
                if f"letter {letter_id}" in row[1].lower()]
    assert coord.get(path).status_code == 200
    assert coord.get(path + "/pdf").status_code == 200
    rows = [row for row in audit_entries(admin, action="letter viewed")
            if f"letter {letter_id}" in row[1].lower()]
    assert len(rows) == 2, rows
    assert "Mosaiko" not in str(rows)


def test_an_unknown_contact_is_refused_with_the_form_again(site, smtp):
    """Found by the server fuzzer: an unknown contact id answered 500."""
    _, writer = member_of(site, "AGO")
    page = writer.get("/letters/new", params={"country": "AGO"})
    model = re.search(r'<option value="(\d+)">[^<]+\(en\)</option>', page.text).group(1)
    for target in ("999999",):
        r = writer.post("/letters", data={"csrf_token": scrape_csrf(page.text), "country": "AGO",
                                          "model": model, "target": target, "sender": "Mosaiko"})
        assert r.status_code == 400, r.status_code
        assert "government contacts" in r.text


def test_the_author_sees_who_read_their_letter(site, smtp):
    """Issue 8: what a member wrote is part of what others may have seen of
    them: /profile/views lists reads of their letters, naming coordinators."""
    _, writer = member_of(site, "AGO")
    coordinator, coord = member_of(site, "AGO", role="coordinator", countries=("AGO",))
    path = write_ratify_letter(writer)
    page = writer.get(path).text
    assert writer.post(path + "/sent", data={"csrf_token": scrape_csrf(page),
                                             "sent_on": "2026-10-01", "sent_via": "post",
                                             "remind_weeks": "8",
                                             "visibility": "country"}).status_code == 303
    assert "letter viewed" not in writer.get("/profile/views").text.lower()
    assert coord.get(path).status_code == 200
    views = writer.get("/profile/views").text
    assert "letter viewed" in views.lower(), views[-3000:]
    assert coordinator.email in views


# ---- a model letter for every ask, in every language (issue 11, item 6) ----

ASKS = ("join_covenant", "ratify_covenant_and_sign", "ratify_covenant_first", "sign_and_ratify",
        "ratify", "declare", "implement")
LANGUAGES = ("en", "es", "fr", "pt", "ar")
# A phrase every letter in that language has, whatever the ask: its closing.
CLOSINGS = {"en": "Yours sincerely,", "es": "Atentamente,", "fr": "haute considération.",
            "pt": "Com elevada consideração,", "ar": "وتفضلوا بقبول فائق الاحترام والتقدير"}
OPTION = re.compile(r'<option value="(\d+)"( selected)?>([^<]+) \((\w+)\)</option>')


def model_options(page):
    """The model letters offered on a new-letter page: (id, selected, title,
    lang) each."""
    select = re.search(r'<select id="model".*?</select>', page, re.S)
    assert select, page[:3000]
    return [(mid, bool(sel), title, lang) for mid, sel, title, lang in
            OPTION.findall(select.group(0))]


def country_languages():
    """data/country-languages.csv: the languages preselection falls back to."""
    path = pathlib.Path(__file__).resolve().parents[2] / "data" / "country-languages.csv"
    rows = path.read_text(encoding="utf-8").splitlines()[1:]
    return dict(row.split(",", 1) for row in rows)


def states_per_ask(site, admin):
    """One state for each ask, from the API. No state is at
    "ratify_covenant_first" or "implement" in the depositary record, so one
    is put there through the country pages, as a coordinator would: a
    Covenant signatory signs the Protocol, a party makes both declarations."""
    def asks():
        rows = site.client().get("/api/v1/countries").json()["countries"]
        found = {}
        for row in rows:
            found.setdefault(row["ask"], row["iso3"])
        return found

    def record(iso3, **action):
        token = scrape_csrf(admin.get(f"/countries/{iso3}").text)
        r = admin.post(f"/countries/{iso3}/actions",
                       data={"csrf_token": token, "instrument": "op-icescr",
                             "source_url": "https://treaties.un.org/", **action})
        assert r.status_code == 303, r.text[:2000]

    found = asks()
    assert {"join_covenant", "ratify_covenant_and_sign", "sign_and_ratify", "ratify",
            "declare"} <= set(found), found
    record(found["ratify_covenant_and_sign"], kind="signature", date="2026-01-15")
    for article in ("10", "11"):
        record(found["declare"], kind="declaration", article=article, date="2026-01-15")
    found = asks()
    assert set(found) == set(ASKS), found
    return found


def test_a_model_letter_for_every_ask_in_every_language(site, smtp, tmp_path):
    admin = site.login_user(site.member("admin"))
    states = states_per_ask(site, admin)
    langs = country_languages()
    _, writer = member_of(site, "AGO")
    for ask, iso3 in states.items():
        page = writer.get("/letters/new", params={"country": iso3}).text
        assert "There is no model letter for this ask yet" not in page, (ask, iso3)
        options = model_options(page)
        assert sorted(lang for _, _, _, lang in options) == sorted(LANGUAGES), (ask, options)
        # Preselected: this member states no language (and sends no
        # Accept-Language), so the country's, else English.
        want = next((l for l in langs.get(iso3, "").split() if l in LANGUAGES), "en")
        (selected,) = [lang for _, sel, _, lang in options if sel]
        assert selected == want, (ask, iso3, selected, want)
        for mid, _, title, lang in options:
            r = writer.post("/letters", data={"csrf_token": scrape_csrf(page), "country": iso3,
                                              "model": mid, "sender": "Mosaiko"})
            assert r.status_code == 303, (ask, lang, r.text[:2000])
            letter = writer.get(r.headers["Location"]).text
            assert CLOSINGS[lang] in letter.replace("&#39;", "'"), (ask, lang)
            assert "{{" not in letter and "Mosaiko" in letter, (ask, lang)
    # The letter's ask is the country's: an implement letter asks nothing
    # of the Covenant, a Covenant-first one does.
    page = writer.get("/letters/new", params={"country": states["join_covenant"]}).text
    (mid,) = [m for m, _, _, lang in model_options(page) if lang == "en"]
    r = writer.post("/letters", data={"csrf_token": scrape_csrf(page),
                                      "country": states["join_covenant"], "model": mid,
                                      "sender": "Mosaiko"})
    text = " ".join(pdf_text(writer.get(r.headers["Location"] + "/pdf").content,
                             tmp_path).split())
    assert "become a party to the Covenant, by ratification or accession" in text
    assert "Dear Sir or Madam," in text


def test_an_arabic_letter_has_arabic_dates_and_addressee(site, smtp, tmp_path):
    _, writer = member_of(site, "AGO")
    page = writer.get("/letters/new", params={"country": "AGO"}).text
    (mid,) = [m for m, _, _, lang in model_options(page) if lang == "ar"]
    r = writer.post("/letters", data={"csrf_token": scrape_csrf(page), "country": "AGO",
                                      "model": mid, "sender": "Mosaiko"})
    html = writer.get(r.headers["Location"]).text
    # Angola signed the Protocol on 24 September 2013 (UNTC).
    assert "24 أيلول/سبتمبر 2013" in html
    assert "معالي الوزير/الوزيرة،" in html


def test_the_governments_language_is_preselected(site, smtp):
    """The letter is read by a government (issue 14): Angola's ministries
    read Portuguese, so an English browser, a Spanish profile or an Arabic
    UI still get the Portuguese model; the member's language leads only
    where the government reads it too (Cameroon: French and English)."""
    _, speaker = member_of(site, "AGO")
    assert selected_lang(speaker, "AGO") == "pt"
    speaker.headers["Accept-Language"] = "en-US,en;q=0.9"  # Chromium in English
    assert selected_lang(speaker, "AGO") == "pt"
    hispanic = site.factory.member("AGO", languages="es")
    assert selected_lang(hispanic.client, "AGO") == "pt"
    # Cameroon reads French and English: the member's browser decides ...
    hispanic.client.headers["Accept-Language"] = "en"
    assert selected_lang(hispanic.client, "CMR") == "en"
    hispanic.client.headers["Accept-Language"] = "fr"
    assert selected_lang(hispanic.client, "CMR") == "fr"
    # ... and the UI language set on their account comes before the browser.
    page = hispanic.client.get("/account").text
    r = hispanic.client.post("/account", data={"csrf_token": scrape_csrf(page), "lang": "ar"})
    assert r.status_code == 303
    assert selected_lang(hispanic.client, "MAR") == "ar"
    hispanic.client.headers["Accept-Language"] = "ar"
    assert selected_lang(hispanic.client, "AGO") == "pt"
    # A country with none of the letters' languages: the member's, then English.
    assert selected_lang(hispanic.client, "CHN") == "ar"
    del speaker.headers["Accept-Language"]
    assert selected_lang(speaker, "CHN") == "en"
    # A form shown again keeps the model that was chosen.
    page = speaker.get("/letters/new", params={"country": "AGO"}).text
    (mid,) = [m for m, _, _, lang in model_options(page) if lang == "fr"]
    r = speaker.post("/letters", data={"csrf_token": scrape_csrf(page), "country": "AGO",
                                       "model": mid, "sender": ""})
    assert r.status_code == 400
    assert [lang for _, sel, _, lang in model_options(r.text) if sel] == ["fr"]


def selected_lang(client, iso3):
    page = client.get("/letters/new", params={"country": iso3}).text
    (lang,) = [lang for _, sel, _, lang in model_options(page) if sel]
    return lang


def test_an_edited_model_survives_a_restart(site, smtp):
    """Seeding adds only the shipped letters a database lacks: an
    administrator's text is never put back to the shipped one."""
    admin = site.login_user(site.member("admin"))
    page = admin.get("/admin/model-letters").text
    body = "Dear {{target_name}},\n\n{{organisation}} asks the Government to join the Covenant."
    r = admin.post("/admin/model-letters", data={
        "csrf_token": scrape_csrf(page), "slug": "join-covenant", "lang": "en",
        "ask": "join_covenant", "title": "Our own Covenant letter", "subject": "The Covenant",
        "body": body})
    assert r.status_code == 303
    site.stop()
    site.respawn()
    admin = site.login_user(site.member("admin"))
    page = admin.get("/admin/model-letters").text
    assert "Our own Covenant letter" in page
    assert "Join the Covenant, then the Optional Protocol" not in page
    assert page.count("asks the Government to join the Covenant.") == 1
    # Every other shipped letter is still there once.
    assert page.count("Ratify the Covenant, then the Optional Protocol") == 1


def test_a_model_letter_recalls_the_other_complaint_procedures(site, smtp):
    """{{other_procedures}} lists what the state accepted, from the seeded
    UNTC record, joined in the letter's language; the count chooses the
    sentence."""
    admin = site.login_user(site.member("admin"))
    body = ("Madame, Monsieur,\n\n{{#other_procedures_count}}{{country}} accepte déjà les "
            "communications individuelles au titre de {{other_procedures}}."
            "{{/other_procedures_count}}{{^other_procedures_count}}Aucune procédure."
            "{{/other_procedures_count}}\n\nVeuillez agréer nos salutations.")
    for ask, slug in (("sign_and_ratify", "similar-fr"), ("ratify_covenant_and_sign", "usa-fr")):
        page = admin.get("/admin/model-letters").text
        r = admin.post("/admin/model-letters", data={
            "csrf_token": scrape_csrf(page), "slug": slug, "lang": "fr", "ask": ask,
            "title": "Procédures " + slug, "subject": "Le Protocole facultatif", "body": body})
        assert r.status_code == 303, r.text
    for iso3, slug, expected in (
            ("BRA", "similar-fr", "accepte déjà les communications individuelles au titre de "
                                  "OP-CEDAW (2002), OP-CRPD (2008), ICCPR-OP1 (2009) et "
                                  "OP-CRC-IC (2017)."),
            ("USA", "usa-fr", "Aucune procédure.")):
        _, writer = member_of(site, iso3)
        new = writer.get("/letters/new", params={"country": iso3}).text
        # The preparation shows the record too.
        assert ("Accepts individual complaints under OP-CEDAW (2002)" in new if iso3 == "BRA"
                else "Has not accepted any other UN complaint procedure." in new)
        (mid,) = re.findall(r'<option value="(\d+)"(?: selected)?>Procédures '
                            + slug + r' \(fr\)</option>', new)
        r = writer.post("/letters", data={"csrf_token": scrape_csrf(new), "country": iso3,
                                          "model": mid, "sender": "Conectas"})
        assert r.status_code == 303, r.text
        letter = writer.get(r.headers["Location"]).text
        assert html.escape(expected, quote=False) in letter or expected in letter


def test_the_shipped_letters_recall_the_other_complaint_procedures(site, smtp):
    """The shipped letters to non-parties recall, in the letter's language,
    the complaint procedures the state already accepts, and say nothing of
    them to a state that accepts none."""
    for iso3, lang, present in (
            ("BRA", "en", "Our country already allows individuals to bring complaints before "
                          "United Nations human rights treaty bodies under OP-CEDAW (2002), "
                          "OP-CRPD (2008), ICCPR-OP1 (2009) and OP-CRC-IC (2017)."),
            ("BRA", "pt", "ao abrigo de OP-CEDAW (2002), OP-CRPD (2008), ICCPR-OP1 (2009) e "
                          "OP-CRC-IC (2017)."),
            ("USA", "en", None)):
        _, writer = member_of(site, iso3)
        new = writer.get("/letters/new", params={"country": iso3}).text
        (mid,) = [m for m, _, _, l in model_options(new) if l == lang]
        r = writer.post("/letters", data={"csrf_token": scrape_csrf(new), "country": iso3,
                                          "model": mid, "sender": "Conectas"})
        assert r.status_code == 303, r.text
        letter = html.unescape(writer.get(r.headers["Location"]).text)
        assert "{{" not in letter
        if present:
            assert present in letter, (iso3, lang)
        else:
            assert "Our country already allows individuals" not in letter
            # The paragraph that follows the optional one is still there.
            assert "We therefore respectfully ask the Government" in letter


def test_the_from_field_starts_with_the_members_organisation(site, smtp):
    """Issue 14 item 2: the required From field was empty, so the first
    click failed. It starts with the member's organisation (or their name);
    a form shown again keeps what was typed."""
    org = site.factory.member("AGO", name="Ana Dias", kind="organisation",
                              organisation="Mosaiko", org_type="human_rights_ngo")
    page = org.client.get("/letters/new", params={"country": "AGO"}).text
    assert re.search(r'<input id="sender" name="sender"[^>]*value="Mosaiko"', page), page
    # Submitting the form as it comes succeeds at once.
    (mid,) = [m for m, sel, _, _ in model_options(page) if sel]
    r = org.client.post("/letters", data={"csrf_token": scrape_csrf(page), "country": "AGO",
                                          "model": mid, "sender": "Mosaiko"})
    assert r.status_code == 303
    person = site.factory.member("AGO", name="Rui Lopes")
    page = person.client.get("/letters/new", params={"country": "AGO"}).text
    assert re.search(r'<input id="sender" name="sender"[^>]*value="Rui Lopes"', page)
    r = person.client.post("/letters", data={"csrf_token": scrape_csrf(page), "country": "AGO",
                                             "model": "0", "sender": "Typed by Rui"})
    assert r.status_code == 400
    assert re.search(r'<input id="sender" name="sender"[^>]*value="Typed by Rui"', r.text)


def test_the_letter_page_offers_what_fits_its_state(site, smtp):
    """Issue 14 item 9: a draft is edited and then recorded as sent; a sent
    letter is no longer edited (the POST is refused too) and its response is
    recorded; errors are named in the banner with a link to the field, and
    date messages do not ask for a format the date picker does not show."""
    _, writer = member_of(site, "AGO")
    path = write_ratify_letter(writer)
    draft = writer.get(path).text
    assert 'id="letter-status">Draft<' in draft
    # The next step in words, the text once (to read), the editing on a page
    # of its own (issue 14: the page was a 3,000 px wall on a phone).
    assert 'id="next-step">Next: read the letter' in draft
    assert f'href="{path}/edit"' in draft and 'id="sent-form"' in draft
    assert 'id="edit-form"' not in draft and draft.count('class="letter-text"') == 1
    assert 'id="response-form"' not in draft
    edit = writer.get(path + "/edit")
    assert edit.status_code == 200 and 'id="edit-form"' in edit.text
    # A mistake in the editing form: the banner names it, and what was typed
    # is shown again, not the stored text.
    r = writer.post(path, data={"csrf_token": scrape_csrf(edit.text), "sender": "Mosaiko",
                                "subject": "A new subject typed", "body": "Too short"})
    assert r.status_code == 400
    assert 'id="edit-form"' in r.text and '<a href="#body">Text</a>' in r.text
    assert 'value="A new subject typed"' in r.text and ">Too short</textarea>" in r.text
    r = writer.post(path, data={"csrf_token": scrape_csrf(edit.text), "sender": "Mosaiko",
                                "subject": "A new subject typed",
                                "body": "Excellency, a text long enough to be a letter."})
    assert r.status_code == 303 and r.headers["Location"] == path
    draft = writer.get(path).text
    assert "A new subject typed" in draft and "a text long enough to be a letter" in draft
    # A mistake in the sending form: the banner names the date and links to it.
    r = writer.post(path + "/sent", data={"csrf_token": scrape_csrf(draft), "sent_on": "2026-02-30",
                                          "sent_via": "hand", "visibility": "country"})
    assert r.status_code == 400
    # What was chosen stays chosen.
    assert '<option value="hand" selected>' in r.text
    assert re.search(r'value="country" checked', r.text)
    summary = re.search(r'<div class="error-summary"[^>]*>(.*?)</div>', r.text, re.S).group(1)
    assert '<a href="#sent_on">Date</a>' in summary
    assert "Please enter a real date between 1945 and 2100." in summary
    assert "YYYY" not in r.text
    assert re.search(r'id="sent_on"[^>]*aria-invalid="true"[^>]*aria-describedby="sent_on-error"',
                     r.text)
    # Sent: read-only text, the response form, no edit or sending form.
    r = writer.post(path + "/sent", data={"csrf_token": scrape_csrf(draft), "sent_on": "2026-10-01",
                                          "sent_via": "post", "visibility": "private"})
    assert r.status_code == 303
    sent = writer.get(path).text
    assert 'id="letter-status">Sent<' in sent
    assert 'id="edit-form"' not in sent and 'id="sent-form"' not in sent
    assert f'href="{path}/edit"' not in sent
    assert 'id="response-form"' in sent and 'class="letter-text"' in sent
    assert 'id="next-step">Next: when the government answers' in sent
    # Its editing page says why it is gone, as the POST does.
    r = writer.get(path + "/edit")
    assert r.status_code == 409 and 'id="edit-form"' not in r.text
    assert "This letter has been sent, so its text can no longer be changed." in r.text
    before = writer.get("/api/v1" + path).json()["letter"]["subject"]
    r = writer.post(path, data={"csrf_token": scrape_csrf(sent), "sender": "Mosaiko",
                                "subject": "Changed after sending",
                                "body": "A different text than the one the government received."})
    assert r.status_code == 409
    assert "This letter has been sent, so its text can no longer be changed." in r.text
    assert writer.get("/api/v1" + path).json()["letter"]["subject"] == before
    # A response without its date comes back with what was typed and chosen.
    r = writer.post(path + "/responses", data={"csrf_token": scrape_csrf(sent),
                                               "class": "refusal", "visibility": "members",
                                               "text": "Their answer, typed in."})
    assert r.status_code == 400 and '<a href="#received_on">' in r.text
    assert '<option value="refusal" selected>' in r.text
    assert '<option value="members" selected>' in r.text
    assert ">Their answer, typed in.</textarea>" in r.text
    # Answered: the status in words, in Spanish too.
    r = writer.post(path + "/responses", data={"csrf_token": scrape_csrf(sent),
                                               "received_on": "2026-11-15", "class": "positive",
                                               "visibility": "country"})
    assert r.status_code == 303
    answered = writer.get(path).text
    assert 'id="letter-status">Response received<' in answered
    assert "response_received" not in answered
    es = writer.get(path, headers={"Accept-Language": "es"}).text
    assert 'id="letter-status">Respuesta recibida<' in es
    listing = writer.get("/letters").text
    assert "Response received" in listing and "response_received" not in listing
    assert "<td>Angola</td>" in listing and "<td>AGO</td>" not in listing

