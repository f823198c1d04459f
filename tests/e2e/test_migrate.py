"""
Moving a campaign between engines (issue 10): `ratify migrate` from an
SQLite file into PostgreSQL and back into another SQLite file. What an
operator would notice: a row lost or changed on the way (each hop prints
every table's rows and SHA-256, which must be the same on every hop), a copy
that does not serve what the original served, ids that collide after the
move, a copy poured into a database already in use, or a password of the
URL printed.

The data is made through the product (the command line, the API, the
pages), never with SQL. The PostgreSQL databases come from the test run's
own cluster (ratify_server.postgres_cluster), whatever RATIFY_TEST_ENGINE
says: the origin is always an SQLite file.
"""

import re

import pytest

from factories import Factory, bearer, cli_token, import_people
from ratify_server import RatifyServer, db_query, postgres_cluster, scrape_csrf
from smtp_capture import SmtpCapture, smtp  # noqa: F401  (the smtp fixture)

SUM_RE = re.compile(r"^  (\w+)\s+(\d+) rows  sha256 ([0-9a-f]{64})$", re.M)


def sums(stdout):
    """{table: (rows, sha256)} from the report of a copy."""
    return {t: (int(n), s) for t, n, s in SUM_RE.findall(stdout)}


def migrate(srv, source, target):
    return srv.cli("migrate", "--from", source, "--to", target, db=False, timeout=300)


def with_password(url, password):
    """The cluster's URL with a password in its user part (trust
    authentication ignores it): what must never be printed."""
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{password}@")


def answers(srv, token):
    """What the campaign serves, as JSON and CSV, through the API and the
    command line: the comparison of the original and its copies."""
    out = {}
    for path in ("/api/v1/people", "/api/v1/memberships", "/api/v1/letters",
                 "/api/v1/organisations", "/api/v1/countries/AGO", "/api/v1/countries",
                 "/api/v1/treaties/op-icescr/status"):
        r = srv.client().get(path, headers=bearer(token))
        assert r.status_code == 200, (path, r.status_code, r.text[:500])
        out[path] = r.json()
    out["user list"] = srv.cli("user", "list").stdout
    out["export"] = srv.cli("export", "members").stdout
    return out


@pytest.fixture
def origin(tmp_path, smtp):
    """A campaign on an SQLite file, populated through the product."""
    srv = RatifyServer(tmp_path / "origin",
                       serve_args=("--smtp", f"smtp://127.0.0.1:{smtp.port}"))
    srv.db = str(srv.dir / "origin.db")
    srv.start()
    try:
        factory = Factory(srv, smtp)
        coordinator = srv.member("coordinator", countries=["AGO", "ARG"])
        import_people(srv, [{"name": f"Imported {i}", "email": f"imported{i}@example.org",
                             "country": "ARG" if i % 2 else "AGO", "listing": "members",
                             "status": "active"} for i in range(12)])
        writer = factory.member("AGO")
        page = writer.client.get("/letters/new", params={"country": "AGO"})
        models = re.findall(r'<option value="(\d+)">[^<]+\(en\)</option>', page.text)
        assert models, page.text[:2000]
        r = writer.client.post("/letters", data={
            "csrf_token": scrape_csrf(page.text), "country": "AGO", "model": models[0],
            "sender": "Mosaiko \u00e9 \u0645\u0631\u062d\u0628\u0627"})
        assert r.status_code == 303, r.text[:2000]
        srv.letter = r.headers["Location"]
        assert "Mosaiko" in writer.client.get(srv.letter).text
        srv.token = cli_token(srv, "read", "migration check")
        srv.people = (coordinator, writer)
        srv.before = answers(srv, srv.token)
        assert "Imported 11" in str(srv.before["/api/v1/people"])
        assert srv.before["/api/v1/letters"], "the letter is not listed"
    finally:
        srv.stop_and_check()
    yield srv


def test_sqlite_to_postgresql_and_back_keeps_every_row(origin, tmp_path):
    cluster = postgres_cluster()
    middle = cluster.new_database()
    p = migrate(origin, origin.db, with_password(middle, "s3cret-pw"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "s3cret-pw" not in p.stdout + p.stderr
    assert "every count and checksum matches" in p.stdout
    first = sums(p.stdout)
    assert first["users"][0] >= 3 and first["people"][0] >= 13 and first["letters"][0] == 1
    assert len(first) == len(db_query(origin.db, "SELECT name FROM sqlite_master "
                                                 "WHERE type = 'table'"))

    final = tmp_path / "final" / "ratify.db"
    final.parent.mkdir()
    p = migrate(origin, middle, str(final))
    assert p.returncode == 0, p.stdout + p.stderr
    assert sums(p.stdout) == first, "the second hop read other rows than the first wrote"

    # The copy on PostgreSQL takes new rows with new ids (its identity
    # sequences go on after the largest id copied).
    p = origin.cli("user", "add", "after-move@example.org", "--role", "member", "--db", middle,
                   db=False)
    assert p.returncode == 0, p.stderr

    # The final copy serves what the original served, to the same people.
    copy = RatifyServer(final.parent)
    copy.db = str(final)
    copy.respawn()
    try:
        assert answers(copy, origin.token) == origin.before
        coordinator, writer = origin.people
        c = copy.login_user(coordinator)
        assert coordinator.email in c.get("/account").text
        c = copy.login(writer.email, writer.password)
        letter = c.get(origin.letter)
        assert letter.status_code == 200 and "Mosaiko" in letter.text
        p = copy.cli("check")
        assert p.returncode == 0 and "foreign keys ok" in p.stdout, p.stdout + p.stderr
    finally:
        copy.stop_and_check()


def test_a_target_that_holds_data_is_refused(origin, tmp_path):
    cluster = postgres_cluster()
    target = cluster.new_database()
    p = migrate(origin, origin.db, target)
    assert p.returncode == 0, p.stdout + p.stderr
    users = db_query(target, "SELECT id, email FROM users ORDER BY id")

    # Again into the same PostgreSQL database: refused, nothing written.
    p = migrate(origin, origin.db, with_password(target, "hunter2-pw"))
    assert p.returncode == 4, p.stdout + p.stderr
    assert "already holds data" in p.stderr
    assert "hunter2-pw" not in p.stdout + p.stderr
    assert db_query(target, "SELECT id, email FROM users ORDER BY id") == users

    # Into an SQLite file in use: refused, the file unchanged.
    used = tmp_path / "used.db"
    other = RatifyServer(tmp_path / "used")
    other.db = str(used)
    assert other.cli("init").returncode == 0
    before = used.read_bytes()
    p = migrate(origin, target, str(used))
    assert p.returncode == 4, p.stdout + p.stderr
    assert "already holds data" in p.stderr
    assert used.read_bytes() == before

    # Bad usage, a missing source, the same database twice.
    assert migrate(origin, origin.db, origin.db).returncode == 2
    assert migrate(origin, str(tmp_path / "none.db"), str(tmp_path / "x.db")).returncode == 3
    assert origin.cli("migrate", "--from", origin.db, db=False).returncode == 2


def test_a_backup_restores_into_postgresql(origin, tmp_path):
    """One backup format for both engines: an SQLite image, encrypted,
    restored into PostgreSQL; --force replaces what is there."""
    key = tmp_path / "backup.key"
    assert origin.cli("backup-key", str(key), db=False).returncode == 0
    backup = tmp_path / "origin.bk"
    p = origin.cli("backup", str(backup), "--encrypt", "--key-file", str(key))
    assert p.returncode == 0, p.stderr
    target = postgres_cluster().new_database()
    p = origin.cli("restore", str(backup), "--key-file", str(key), "--db", target, db=False)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "every count and checksum matches" in p.stdout
    restored = sums(p.stdout)
    assert restored["letters"][0] == 1

    # Not over data without --force; with it, replaced in one transaction.
    p = origin.cli("user", "add", "extra@example.org", "--role", "member", "--db", target,
                   db=False)
    assert p.returncode == 0
    p = origin.cli("restore", str(backup), "--key-file", str(key), "--db", target, db=False)
    assert p.returncode == 4 and "--force" in p.stderr, p.stdout + p.stderr
    assert db_query(target, "SELECT count(*) FROM users WHERE email = ?",
                    "extra@example.org") == [(1,)]
    p = origin.cli("restore", str(backup), "--key-file", str(key), "--db", target, "--force",
                   db=False)
    assert p.returncode == 0, p.stdout + p.stderr
    assert sums(p.stdout) == restored
    assert db_query(target, "SELECT count(*) FROM users WHERE email = ?",
                    "extra@example.org") == [(0,)]
