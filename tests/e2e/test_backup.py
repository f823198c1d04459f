"""
Encrypted backups and restores through the real binary: `ratify backup
--encrypt` while the server runs and writes, `ratify backup-key`, and
`ratify restore`, which decrypts, checks, and only then puts the database in
place. What a user would notice: a backup that leaks a member's address, a
restore that writes a damaged or undecryptable database, or one that
replaces a live database by accident.
"""

import os
import sqlite3  # SQLite file format: backup files only, never the live database
import stat
import subprocess
import threading
import time

from ratify_server import SLOW, RatifyServer, ratify_bin, sanitizer_reports, scrape_csrf

PASSPHRASE = "correct horse battery staple, twice over"


def run(server, *args, env=None):
    """Runs `ratify ARGS` (no --db added) with extra environment."""
    full_env = server.env()
    full_env.pop("RATIFY_BACKUP_PASSPHRASE", None)
    full_env.update(env or {})
    p = subprocess.run([ratify_bin(), *args], capture_output=True, text=True,
                       timeout=60 * SLOW, cwd=server.dir, env=full_env)
    found = sanitizer_reports(p.stderr)
    assert not found, f"{args} reported {found}:\n{p.stderr}"
    return p


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def leftovers(directory):
    """Temporary files a command should have removed."""
    return [p.name for p in directory.iterdir() if ".tmp." in p.name]


def key_file(server, tmp_path, name="backup.key"):
    path = tmp_path / name
    p = run(server, "backup-key", str(path))
    assert p.returncode == 0, p.stderr
    return path


def passphrase_file(tmp_path, text=PASSPHRASE):
    path = tmp_path / "passphrase"
    path.write_text(text + "\n")
    path.chmod(0o600)
    return path


def encrypted_backup(server, tmp_path, *secret, env=None, name="ratify.bk"):
    path = tmp_path / name
    p = run(server, "backup", str(path), "--db", server.db, "--encrypt", *secret, env=env)
    assert p.returncode == 0, p.stderr
    assert "encrypted" in p.stdout
    return path


def restore(server, backup, target, *secret, env=None):
    return run(server, "restore", str(backup), "--db", str(target), *secret, env=env)


def assert_refused(p, target, message):
    assert p.returncode != 0, p.stdout
    assert message in p.stderr, p.stderr
    assert not os.path.exists(target), "a refused restore wrote the database"
    assert not leftovers(target.parent)


# ---------------------------------------------------------------- the round trip


def test_encrypted_backup_while_serving_hides_members_and_restores(server, tmp_path):
    user = server.member()
    key = key_file(server, tmp_path)
    assert mode(key) == 0o600
    stop = threading.Event()
    errors = []

    def writer():  # sessions, audit rows and account changes during the backup
        i = 0
        while not stop.is_set():
            try:
                c = server.login_user(user)
                token = scrape_csrf(c.get("/account").text)
                r = c.post("/account", data={"csrf_token": token, "display_name": f"b{i}"})
                assert r.status_code == 303
            except Exception as e:  # reported below
                errors.append(e)
                return
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(0.2)
        backup = encrypted_backup(server, tmp_path, "--key-file", str(key))
    finally:
        stop.set()
        thread.join(timeout=30 * SLOW)
    assert not errors, errors

    data = backup.read_bytes()
    assert data.startswith(b"RATIFYBK")
    assert user.email.encode() not in data
    assert server.admin_email.encode() not in data
    assert b"SQLite format 3" not in data
    assert mode(backup) == 0o600
    assert not leftovers(tmp_path)

    target = tmp_path / "restored" / "ratify.db"
    target.parent.mkdir()
    p = restore(server, backup, target, "--key-file", str(key))
    assert p.returncode == 0, p.stderr
    assert "integrity ok" in p.stdout
    assert mode(target) == 0o600
    assert not leftovers(target.parent)
    p = run(server, "check", "--db", str(target))
    assert p.returncode == 0 and "integrity ok" in p.stdout, p.stdout + p.stderr
    p = run(server, "user", "list", "--db", str(target))
    assert user.email in p.stdout

    # The restored database serves, and the member can log in to it.
    restored = RatifyServer(target.parent)
    restored.db = str(target)
    restored.respawn()
    try:
        c = restored.login_user(user)
        assert user.email in c.get("/account").text
    finally:
        restored.stop_and_check()


def test_passphrase_from_the_environment_and_from_a_file(server, tmp_path):
    user = server.member()
    backup = encrypted_backup(server, tmp_path, env={"RATIFY_BACKUP_PASSPHRASE": PASSPHRASE})
    data = backup.read_bytes()
    assert user.email.encode() not in data and b"SQLite format 3" not in data
    target = tmp_path / "from-file.db"
    p = restore(server, backup, target, "--passphrase-file", str(passphrase_file(tmp_path)))
    assert p.returncode == 0, p.stderr
    assert user.email in run(server, "user", "list", "--db", str(target)).stdout
    target = tmp_path / "from-env.db"
    p = restore(server, backup, target, env={"RATIFY_BACKUP_PASSPHRASE": PASSPHRASE})
    assert p.returncode == 0, p.stderr


def test_setting_the_passphrase_alone_encrypts(server, tmp_path):
    path = tmp_path / "implicit.bk"
    p = run(server, "backup", str(path), "--db", server.db,
            env={"RATIFY_BACKUP_PASSPHRASE": PASSPHRASE})
    assert p.returncode == 0, p.stderr
    assert path.read_bytes().startswith(b"RATIFYBK")


# ---------------------------------------------------------------- refusals


def test_wrong_passphrase_or_key_is_refused_and_nothing_written(server, tmp_path):
    backup = encrypted_backup(server, tmp_path, "--passphrase-file",
                              str(passphrase_file(tmp_path)))
    target = tmp_path / "out.db"
    p = restore(server, backup, target, env={"RATIFY_BACKUP_PASSPHRASE": PASSPHRASE + "!"})
    assert_refused(p, target, "wrong passphrase")
    # A key file for a passphrase backup, and no secret at all.
    p = restore(server, backup, target, "--key-file", str(key_file(server, tmp_path)))
    assert_refused(p, target, "encrypted with a passphrase")
    p = restore(server, backup, target)
    assert_refused(p, target, "encrypted with a passphrase")

    keyed = encrypted_backup(server, tmp_path, "--key-file",
                             str(key_file(server, tmp_path, "right.key")), name="keyed.bk")
    p = restore(server, keyed, target, "--key-file", str(key_file(server, tmp_path, "wrong.key")))
    assert_refused(p, target, "wrong key")


def test_a_flipped_byte_is_refused(server, tmp_path):
    key = key_file(server, tmp_path)
    backup = encrypted_backup(server, tmp_path, "--key-file", str(key))
    data = backup.read_bytes()
    # In the ciphertext, in the middle and in the last part, and in the
    # authenticated header (the salt field, unused with a key file).
    for offset in (len(data) // 2, len(data) - 5, 30):
        damaged = bytearray(data)
        damaged[offset] ^= 0x01
        path = tmp_path / f"flipped-{offset}.bk"
        path.write_bytes(bytes(damaged))
        target = tmp_path / f"flipped-{offset}.db"
        p = restore(server, path, target, "--key-file", str(key))
        assert_refused(p, target, "damaged")


def test_a_truncated_backup_is_refused(server, tmp_path):
    key = key_file(server, tmp_path)
    backup = encrypted_backup(server, tmp_path, "--key-file", str(key))
    data = backup.read_bytes()
    header, chunk = 92, 64 * 1024 + 17
    assert len(data) > header + 2 * chunk, "the test needs a backup of several parts"
    # At a part boundary (every part that is there checks out), mid-part,
    # and inside the header.
    for length, message in ((header + chunk, "truncated"), (len(data) - 100, "truncated"),
                            (40, "truncated")):
        path = tmp_path / f"cut-{length}.bk"
        path.write_bytes(data[:length])
        target = tmp_path / f"cut-{length}.db"
        p = restore(server, path, target, "--key-file", str(key))
        assert_refused(p, target, message)
    # And a backup with bytes after its end.
    path = tmp_path / "longer.bk"
    path.write_bytes(data + b"more")
    p = restore(server, path, tmp_path / "longer.db", "--key-file", str(key))
    assert_refused(p, tmp_path / "longer.db", "after its end")


def test_a_file_that_is_not_a_backup_is_refused(server, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a backup at all\n" * 10)
    p = restore(server, path, tmp_path / "out.db")
    assert p.returncode == 2
    assert_refused(p, tmp_path / "out.db", "not a Ratify backup")
    # An SQLite database that is not Ratify's.
    other = tmp_path / "other.db"
    # SQLite file format: a file made for the test, not the server's database.
    with sqlite3.connect(other) as c:
        c.execute("CREATE TABLE t (x)")
    c.close()
    p = restore(server, other, tmp_path / "out.db")
    assert_refused(p, tmp_path / "out.db", "does not hold a Ratify database")
    p = restore(server, tmp_path / "missing.bk", tmp_path / "out.db")
    assert p.returncode == 3


def test_restore_never_replaces_a_database_without_force(server, tmp_path):
    user = server.member()
    plain = tmp_path / "plain.db"
    p = run(server, "backup", str(plain), "--db", server.db)
    assert p.returncode == 0, p.stderr
    target = tmp_path / "live.db"
    target.write_bytes(b"the database in use")
    p = restore(server, plain, target)
    assert p.returncode == 4
    assert "--force" in p.stderr
    assert target.read_bytes() == b"the database in use"
    # An unencrypted backup restores too, and --force replaces.
    (tmp_path / "live.db-wal").write_bytes(b"an old write-ahead log")
    p = restore(server, plain, target, "--force")
    assert p.returncode == 0, p.stderr
    assert not (tmp_path / "live.db-wal").exists()
    assert mode(target) == 0o600
    assert user.email in run(server, "user", "list", "--db", str(target)).stdout


def test_a_database_that_fails_its_checks_is_not_restored(server, tmp_path):
    server.member()
    broken_key = tmp_path / "broken-key.db"
    assert run(server, "backup", str(broken_key), "--db", server.db).returncode == 0
    # SQLite file format: a backup file broken on purpose (foreign keys are
    # off in this connection), never the live database.
    with sqlite3.connect(broken_key) as c:
        c.execute("INSERT INTO user_countries (user_id, iso3) VALUES (999999, 'FRA')")
    c.close()
    target = tmp_path / "restored.db"
    p = restore(server, broken_key, target)
    assert_refused(p, target, "fails its checks")
    assert "foreign key" in p.stderr

    broken_page = tmp_path / "broken-page.db"
    assert run(server, "backup", str(broken_page), "--db", server.db).returncode == 0
    # SQLite file format: where the users table's root page is in the copy.
    with sqlite3.connect(broken_page) as c:
        page_size = c.execute("PRAGMA page_size").fetchone()[0]
        root = c.execute("SELECT rootpage FROM sqlite_master WHERE name = 'users'").fetchone()[0]
    c.close()
    data = bytearray(broken_page.read_bytes())
    start = (root - 1) * page_size
    data[start:start + page_size] = b"\xa5" * page_size
    broken_page.write_bytes(bytes(data))
    p = restore(server, broken_page, target)
    assert_refused(p, target, "fails its checks")


# ---------------------------------------------------------------- the command line


def test_passphrase_on_the_command_line_is_refused(server, tmp_path):
    p = run(server, "backup", str(tmp_path / "b.bk"), "--db", server.db, "--passphrase", "x")
    assert p.returncode == 2
    assert "--passphrase-file" in p.stderr
    assert not (tmp_path / "b.bk").exists()
    p = run(server, "backup", str(tmp_path / "b.bk"), "--db", server.db, "--encrypt")
    assert p.returncode == 2
    assert not (tmp_path / "b.bk").exists()


def test_backup_key_refuses_to_overwrite(server, tmp_path):
    key = key_file(server, tmp_path)
    before = key.read_text()
    assert len(before.strip()) == 64
    p = run(server, "backup-key", str(key))
    assert p.returncode == 4
    assert "already exists" in p.stderr
    assert key.read_text() == before
    assert not leftovers(tmp_path)


def test_help_names_the_backup_commands(server):
    p = run(server, "help")
    for text in ("backup-key FILE", "restore BACKUP", "--passphrase-file",
                 "RATIFY_BACKUP_PASSPHRASE"):
        assert text in p.stdout
