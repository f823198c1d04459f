"""
ratify_server.py: what the end-to-end and browser tests share.

It runs the real binary named by RATIFY_BIN (the Makefile builds it; nothing
here builds anything): `ratify init` on a fresh database in a temporary
directory, then `ratify serve` on a free port of 127.0.0.1, and stops it with
SIGTERM, checking that it exits 0 and that its log holds no sanitizer report.

Both tests/e2e/conftest.py and tests/browser/conftest.py import the fixtures
defined at the bottom of this file.

RATIFY_TEST_ENGINE=postgresql runs every server on a database of its own in
a throw-away PostgreSQL cluster that this module starts (initdb in a
temporary directory, a Unix socket only, no TCP port) and stops when the
test run ends; otherwise each server has an SQLite file.
"""

import atexit
import glob
import shutil
import tempfile

import base64
import hashlib
import hmac
import itertools
import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import time
import urllib.parse
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
SANITIZED = os.environ.get("RATIFY_SANITIZED") == "1"
# ASan+UBSan builds start slower and hash passwords slower.
SLOW = 5 if SANITIZED else 1
HTTP_TIMEOUT = 10 * SLOW
STOP_TIMEOUT = 15
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
WELCOME_RE = re.compile(r"/welcome/([0-9a-f]{64})")
CSRF_RE = re.compile(r'name="csrf_token" value="([0-9a-f]{128}|[0-9a-f]{64})"')
SECRET_RE = re.compile(r'<code class="token secret">([A-Z2-7 ]+)</code>')
RECOVERY_RE = re.compile(r"<code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code>")
TOTP_STEP = 30
SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy")

_counter = itertools.count(1)
ENGINE = os.environ.get("RATIFY_TEST_ENGINE", "sqlite")
assert ENGINE in ("sqlite", "postgresql"), f"RATIFY_TEST_ENGINE={ENGINE}: sqlite or postgresql"


class PostgresCluster:
    """A PostgreSQL cluster of the test run's own, in a temporary directory,
    reachable only through a Unix socket there. As root it runs as the
    postgres user (PostgreSQL refuses root)."""

    def __init__(self):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        assert found, "no PostgreSQL server: run scripts/install-deps"
        self.bin = Path(found[-1]).parent
        self.dir = Path(tempfile.mkdtemp(prefix="ratify-pg-"))
        self.as_user = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.port = free_port()  # names the socket file; nothing listens on TCP
        self.names = itertools.count(1)
        data = self.dir / "data"
        self._run(self.bin / "initdb", "-D", data, "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--locale=C")
        # Durability is not what these tests are about: no fsync, for speed.
        opts = (f"-k {self.dir} -p {self.port} -c listen_addresses='' "
                "-c max_connections=400 -c fsync=off -c full_page_writes=off "
                "-c synchronous_commit=off")
        self.opts = opts
        self._run(self.bin / "pg_ctl", "-D", data, "-l", self.dir / "server.log", "-o", opts,
                  "-w", "start")
        atexit.register(self.stop)

    def restart(self):
        """Stops PostgreSQL (closing every connection) and starts it again."""
        self._run(self.bin / "pg_ctl", "-D", self.dir / "data", "-l", self.dir / "server.log",
                  "-o", self.opts, "-m", "fast", "-w", "restart")

    def _run(self, *cmd):
        p = subprocess.run([*self.as_user, *map(str, cmd)], capture_output=True, text=True,
                           cwd=self.dir)
        assert p.returncode == 0, f"{cmd[0]} failed:\n{p.stdout}{p.stderr}"

    def url(self, dbname):
        return f"postgresql://postgres@/{dbname}?host={self.dir}&port={self.port}"

    def new_database(self):
        name = f"ratify_{next(self.names)}"
        import psycopg2  # Debian's python3-psycopg2 (scripts/install-deps)
        con = psycopg2.connect(self.url("postgres"))
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(f"CREATE DATABASE {name}")
        con.close()
        return self.url(name)

    def stop(self):
        if self.dir.exists():
            subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D",
                            str(self.dir / "data"), "-m", "immediate", "stop"],
                           capture_output=True, cwd=self.dir)
            shutil.rmtree(self.dir, ignore_errors=True)


_cluster = None


def postgres_cluster():
    global _cluster
    if _cluster is None:
        _cluster = PostgresCluster()
    return _cluster


def new_database(workdir):
    """Where a new server keeps its data: an SQLite file in workdir, or a
    new database in the test run's PostgreSQL cluster."""
    if ENGINE == "postgresql":
        return postgres_cluster().new_database()
    return str(Path(workdir) / "ratify.db")


def ratify_bin():
    path = os.environ.get("RATIFY_BIN") or str(REPO / "build" / "ratify")
    if not os.access(path, os.X_OK):
        raise RuntimeError(
            f"no ratify binary at {path}: build it first (make build/ratify) "
            "or point RATIFY_BIN at it"
        )
    return path


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique_email(prefix="user"):
    return f"{prefix}-{next(_counter)}-{os.getpid()}@example.org"


def scrape_csrf(html):
    m = CSRF_RE.search(html)
    assert m, "no csrf_token field in the page:\n" + html[:2000]
    return m.group(1)


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def in_words(date):
    """"2026-12-05" (or a datetime) as an English page writes it: "5 December 2026"."""
    if not isinstance(date, str):
        date = f"{date:%Y-%m-%d}"
    y, m, d = (int(x) for x in date[:10].split("-"))
    return f"{d} {MONTHS[m - 1]} {y}"


def unmask_csrf(masked):
    """The plain CSRF token inside a masked one (a random pad, then the
    token XOR the pad: auth_csrf_masked), which differs in every response."""
    both = bytes.fromhex(masked)
    assert len(both) == 64, masked
    return bytes(a ^ b for a, b in zip(both[:32], both[32:])).hex()


def same_page(html):
    """html with every masked CSRF token unmasked: two renders of a page
    compare equal when only the pads differ."""
    return re.sub(r'(name="csrf_token" value=")([0-9a-f]{128})"',
                  lambda m: m.group(1) + unmask_csrf(m.group(2)) + '"', html)


def totp(secret, step, digits=6):
    """RFC 6238 with SHA-1: the code of time step `step` for a base32 secret
    (spaces allowed), computed here so the tests depend on no OTP package."""
    key = secret.replace(" ", "").upper()
    key = base64.b32decode(key + "=" * (-len(key) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10 ** digits).zfill(digits)


def current_step():
    return int(time.time() // TOTP_STEP)


def session_cookie(client):
    """The session cookie's value (named __Host-session over TLS)."""
    return client.cookies.get("session") or client.cookies.get("__Host-session")


def sanitizer_reports(text):
    return [m for m in SANITIZER_MARKERS if m in text]


def assert_security_headers(headers, what=""):
    """The headers every Ratify response must carry (headers: any mapping with
    case-insensitive get, such as requests' or RawResponse's)."""
    for name in SECURITY_HEADERS:
        assert headers.get(name), f"{what}: missing {name} in {dict(headers)}"
    csp = headers.get("Content-Security-Policy")
    assert "'unsafe-inline'" not in csp, f"{what}: CSP allows unsafe-inline: {csp}"
    assert "'unsafe-eval'" not in csp, f"{what}: CSP allows unsafe-eval: {csp}"
    assert "frame-ancestors 'none'" in csp, f"{what}: CSP lacks frame-ancestors 'none': {csp}"
    assert "default-src" in csp, f"{what}: CSP lacks default-src: {csp}"
    assert headers.get("X-Content-Type-Options").lower() == "nosniff", what
    assert headers.get("Referrer-Policy").lower() in (
        "no-referrer",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
    ), f"{what}: weak Referrer-Policy {headers.get('Referrer-Policy')}"


# ---- seeds for tests/fuzz/fuzz_server.c ----

# With RATIFY_FUZZ_SEEDS=DIR, every request a Client sends is also written to
# DIR in the server harness's input format (its header comment describes it),
# to seed the fuzzer with requests that reach deep into the handlers.
FUZZ_SEEDS = os.environ.get("RATIFY_FUZZ_SEEDS")
_ROUTE_RE = re.compile(r'^ROUTE\(\s*(\w+),\s*"([^"]+)",\s*\w+,\s*(\w+)', re.M)
_IDENTITY = {"MEMBER": 1, "COORDINATOR": 2, "ADMIN": 3, "API_READ": 3, "API_WRITE": 3}
_SKIP_HEADERS = {"host", "user-agent", "accept-encoding", "accept", "connection",
                 "content-length", "cookie", "authorization", "x-csrf-token", "content-type"}
_routes = None


def _fuzz_routes():
    global _routes
    if _routes is None:
        text = (REPO / "src" / "feat" / "routes.def").read_text()
        _routes = [(m, p.split("/"), perm) for m, p, perm in _ROUTE_RE.findall(text)]
    return _routes


def _match_route(method, path):
    """(index, params, method flag) of the route for path, or None."""
    segments = path.split("/")
    found = None
    for i, (m, pattern, _) in enumerate(_fuzz_routes()):
        if len(pattern) != len(segments):
            continue
        if all(p.startswith("{") or p == s for p, s in zip(pattern, segments)):
            params = [s for p, s in zip(pattern, segments) if p.startswith("{")]
            if m == method or (m == "GET" and method == "HEAD"):
                return i, params, 0x20 if method == "HEAD" else 0
            found = found or (i, params, 0x10)
    return found


def _multipart_fields(body, content_type):
    """The fields of a multipart body, as the harness's kind 3 wants them."""
    m = re.search(r'boundary="?([^";]+)', content_type)
    if not m:
        return None
    fields = []
    for part in body.split(b"--" + m.group(1).encode())[1:]:
        head, _, value = part.partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]*)"', head)
        if not name or name.group(1) == b"csrf_token":
            continue
        filename = re.search(rb'filename="([^"]*)"', head)
        field = name.group(1) + (b";" + filename.group(1) if filename else b"")
        fields.append(field + b"=" + value[:-2] if value.endswith(b"\r\n") else field + b"=" + value)
    return b"\x1f".join(fields)


def record_fuzz_seed(request):
    """Writes request (a requests.PreparedRequest) as one harness input."""
    url = requests.utils.urlparse(request.url)
    route = _match_route(request.method, url.path)
    headers = request.headers
    cookies = headers.get("Cookie", "")
    if route:
        index, params, flags = route
        permission = _fuzz_routes()[index][2]
    else:
        index, params, flags, permission = 0, [url.path[1:]], 0x40, "PUBLIC"
    if headers.get("Authorization", "").startswith("Bearer "):
        identity = 5 if request.method == "POST" else 4
    elif "session=" in cookies and "presession=" not in cookies.replace("session=", "", 1):
        identity = _IDENTITY.get(permission, 1)
    else:
        identity = 0
    if identity == 2:  # the harness's coordinator covers ARG only
        pattern = _fuzz_routes()[index][1]
        names = [p for p in pattern if p.startswith("{")]
        params = ["ARG" if n == "{iso3}" else v for n, v in zip(names, params)]
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode()
    content_type = headers.get("Content-Type", "")
    kind, extra = 0, []
    if content_type.startswith("application/x-www-form-urlencoded"):
        kind = 1
        body = b"&".join(p for p in body.split(b"&") if not p.startswith(b"csrf_token="))
    elif content_type.startswith("multipart/form-data"):
        fields = _multipart_fields(body, content_type)
        if fields is not None:
            kind, body = 3, fields
    elif content_type.startswith("application/json"):
        kind = 4
    elif content_type:
        extra.append(f"Content-Type: {content_type}")
    for name, value in headers.items():
        if name.lower() not in _SKIP_HEADERS:
            extra.append(f"{name}: {value}")
    sections = [
        "\x1f".join(params).encode(),
        url.query.encode(),
        "".join(h + "\n" for h in extra).encode("utf-8", "replace"),
        b"",
        body,
    ]
    data = bytes([index, identity | flags, kind]) + b"\x1e".join(sections)
    os.makedirs(FUZZ_SEEDS, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(FUZZ_SEEDS, name), "wb") as f:
        f.write(data)


class Client(requests.Session):
    """A requests.Session (one browser) bound to a base URL: paths starting
    with '/' are relative to it, every call has a timeout, and redirects are
    not followed unless asked, so tests see the 303s."""

    def __init__(self, base_url):
        super().__init__()
        self.base_url = base_url
        # No proxy, CA bundle or netrc from the environment: the tests talk
        # to local servers only, and REQUESTS_CA_BUNDLE would override
        # self.verify.
        self.trust_env = False

    def request(self, method, url, *args, **kwargs):
        if url.startswith("/"):
            url = self.base_url + url
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        kwargs.setdefault("allow_redirects", False)
        return super().request(method, url, *args, **kwargs)

    def get(self, url, **kwargs):
        kwargs.setdefault("allow_redirects", False)
        return self.request("GET", url, **kwargs)

    def send(self, request, **kwargs):
        if FUZZ_SEEDS:
            record_fuzz_seed(request)
        return super().send(request, **kwargs)

    def csrf(self, path="/login"):
        """The CSRF token of the form on path, for this browser."""
        r = self.get(path)
        assert r.status_code == 200, f"GET {path}: {r.status_code}"
        return scrape_csrf(r.text)


# ---- reading the server's database ----


class QueryError(Exception):
    """A read of the server's database failed (no such table yet, the
    file not there yet, ...), whatever the engine."""


def db_query(db, sql, *params):
    """Runs one read-only SELECT on the database db (a RatifyServer's
    .db) and returns its rows as a list of tuples. Parameters are `?`
    placeholders.

    The only place in the end-to-end tests that opens the server's
    database: tests make and change data through the product (the command
    line, the API, the pages) and only read here, to verify what no page
    shows. Keep the SQL portable (no SQLite-only functions, no rowid, no
    PRAGMA, no sqlite_master: see db_tables) so that a PostgreSQL branch
    here, for a db that starts with postgresql://, is all another database
    needs."""
    if db.startswith("postgresql://"):
        return _pg_query(db, sql, params)
    import sqlite3  # here only: see the docstring

    uri = "file:" + urllib.parse.quote(db) + "?mode=ro"
    try:
        con = sqlite3.connect(uri, uri=True, timeout=10 * SLOW)
        try:
            return [tuple(row) for row in con.execute(sql, params).fetchall()]
        finally:
            con.close()
    except sqlite3.Error as e:
        raise QueryError(str(e)) from e


def _pg_query(db, sql, params):
    import psycopg2  # Debian's python3-psycopg2 (scripts/install-deps)

    sql = sql.replace("%", "%%").replace("?", "%s")
    try:
        con = psycopg2.connect(db)
        try:
            con.set_session(readonly=True, autocommit=True)
            with con.cursor() as cur:
                cur.execute(sql, params)
                return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                        for row in cur.fetchall()]
        finally:
            con.close()
    except psycopg2.Error as e:
        raise QueryError(str(e)) from e


def db_tables(db):
    """The names of the database's tables, sorted: the catalogue query is
    the one thing that differs between engines, so it lives beside
    db_query."""
    if db.startswith("postgresql://"):
        sql = ("SELECT table_name FROM information_schema.tables "
               "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    return sorted(name for (name,) in db_query(db, sql))


class RatifyServer:
    """One database and one `ratify serve` process."""

    def __init__(self, workdir, serve_args=(), admin_email=None, init_args=()):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.db = new_database(self.dir)
        self.serve_args = list(serve_args)
        self.init_args = list(init_args)  # `ratify init` options, e.g. --instrument
        self.admin_email = admin_email or "admin@example.org"
        self.proc = None
        self.port = None
        self.init_output = ""
        self.init_welcome = None  # "/welcome/<hex>" printed by `ratify init`
        # Second factors enrolled through enrol(): email -> base32 secret,
        # the last time step whose code was sent, the recovery codes.
        self.totp_secrets = {}
        self.totp_last_step = {}
        self.recovery_codes = {}
        self.stdout_path = self.dir / "serve.out"
        self.stderr_path = self.dir / "serve.log"

    # ---- the command line ----

    def cli(self, *args, input=None, db=True, timeout=30 * SLOW):
        """Runs `ratify ARGS --db DB` and returns the CompletedProcess (text)."""
        cmd = [ratify_bin(), *args]
        if db:
            cmd += ["--db", self.db]
        p = subprocess.run(
            cmd,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.dir,
            env=self.env(),
        )
        found = sanitizer_reports(p.stderr)
        assert not found, f"{cmd} reported {found}:\n{p.stderr}"
        return p

    def env(self):
        env = dict(os.environ)
        env.pop("RATIFY_DB", None)
        env.pop("RATIFY_PUBLIC_URL", None)
        env.pop("RATIFY_ADMIN_EMAIL", None)
        for name in ("RATIFY_SMTP_URL", "RATIFY_SMTP_USER", "RATIFY_SMTP_PASSWORD",
                     "RATIFY_SMTP_REQUIRE_TLS", "RATIFY_MAIL_FROM"):
            env.pop(name, None)
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        return env

    def add_user(self, role="member", password=None, email=None, countries=()):
        """`ratify user add` then, if password is not None, `ratify user
        passwd` with the password on stdin. Returns a namespace with email,
        password and welcome (the link path printed by user add)."""
        email = email or unique_email(role)
        args = ["user", "add", email, "--role", role]
        for c in countries:
            args += ["--country", c]
        p = self.cli(*args)
        assert p.returncode == 0, f"user add failed ({p.returncode}): {p.stderr}"
        m = WELCOME_RE.search(p.stdout)
        assert m, f"user add printed no welcome link: {p.stdout}"
        if password is not None:
            p = self.cli("user", "passwd", email, input=password + "\n")
            assert p.returncode == 0, f"user passwd failed ({p.returncode}): {p.stderr}"
        return SimpleNamespace(email=email, password=password, welcome=m.group(0), role=role)

    def member(self, role="member", countries=()):
        """A user with a password, ready to log in."""
        password = f"pw-{role}-{next(_counter)}-correct horse"
        return self.add_user(role, password=password, countries=countries)

    # ---- reading the database (verification only) ----

    def query(self, sql, *params):
        """Rows (tuples) of a read-only SELECT with `?` placeholders: see
        db_query. Tests never write to the database."""
        return db_query(self.db, sql, *params)

    def query_one(self, sql, *params):
        """The first row of query(), or None."""
        rows = self.query(sql, *params)
        return rows[0] if rows else None

    def scalar(self, sql, *params):
        """The first column of the first row (the query must give one)."""
        rows = self.query(sql, *params)
        assert rows, f"no row for {sql}"
        return rows[0][0]

    # ---- HTTP ----

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def url(self, path):
        return self.base_url + path

    def client(self):
        """A fresh browser: no cookies."""
        return Client(self.base_url)

    def login(self, email, password, client=None, next_path=None):
        """Logs in the way a browser does: GET /login, scrape csrf_token,
        POST the form. Returns the logged-in Client."""
        c = client or self.client()
        r = c.get("/login", params={"next": next_path} if next_path else None)
        assert r.status_code == 200, f"GET /login: {r.status_code}"
        form = {"email": email, "password": password, "csrf_token": scrape_csrf(r.text)}
        if next_path:
            form["next"] = next_path
        r = c.post("/login", data=form)
        assert r.status_code == 303, f"login of {email} gave {r.status_code}:\n{r.text[:2000]}"
        if r.headers["Location"] == "/login/code":
            assert not session_cookie(c), "a session before the second factor"
            r = c.post("/login/code", data={"code": self.next_code(email),
                                            "csrf_token": form["csrf_token"]})
            assert r.status_code == 303, f"code of {email} gave {r.status_code}:\n{r.text[:2000]}"
        elif r.headers["Location"] == "/account/two-factor":
            # Admins and coordinators enrol at their first login.
            self.enrol(c, email)
        assert session_cookie(c), "login set no session cookie"
        return c

    def next_code(self, email):
        """A TOTP code for email's enrolled secret that the server has not
        seen yet: the server accepts one step either side of its own and
        never the same step twice, so this waits when the steps within
        reach are spent (or when a step is about to end)."""
        secret = self.totp_secrets[email]
        margin = 2 * SLOW
        while True:
            now = time.time()
            if now % TOTP_STEP > TOTP_STEP - margin:
                time.sleep(TOTP_STEP - now % TOTP_STEP + 0.05)
                continue
            step = max(int(now // TOTP_STEP) - 1, self.totp_last_step.get(email, -1) + 1)
            if step <= int(now // TOTP_STEP) + 1:
                break
            time.sleep((step - 1) * TOTP_STEP - now + 0.05)
        self.totp_last_step[email] = step
        return totp(secret, step)

    def enrol(self, client, email):
        """Turns on the second factor for the logged-in client (whose email
        is email) as a person with an authenticator app would: reads the key
        from the page, answers a code. Returns the recovery codes shown."""
        r = client.get("/account/two-factor")
        assert r.status_code == 200, f"GET /account/two-factor: {r.status_code}"
        m = SECRET_RE.search(r.text)
        assert m, "no secret on the enrolment page:\n" + r.text[:3000]
        self.totp_secrets[email] = m.group(1).replace(" ", "")
        self.totp_last_step.pop(email, None)
        r = client.post("/account/two-factor", data={"code": self.next_code(email),
                                                      "csrf_token": scrape_csrf(r.text)})
        assert r.status_code == 200, f"enrolment of {email} gave {r.status_code}:\n{r.text[:2000]}"
        codes = RECOVERY_RE.findall(r.text)
        assert len(codes) == 10, r.text[:3000]
        self.recovery_codes[email] = codes
        return codes

    def login_user(self, user, client=None):
        return self.login(user.email, user.password, client)

    # ---- the process ----

    def start(self):
        p = self.cli("init", "--admin", self.admin_email, *self.init_args)
        assert p.returncode == 0, f"ratify init failed ({p.returncode}): {p.stdout}{p.stderr}"
        self.init_output = p.stdout
        m = WELCOME_RE.search(p.stdout)
        assert m, f"ratify init printed no welcome link:\n{p.stdout}"
        self.init_welcome = m.group(0)
        last_error = None
        for _ in range(5):
            self.port = free_port()
            try:
                self._spawn()
                return self
            except PortTaken as e:  # another process took the port meanwhile
                last_error = e
        raise RuntimeError(f"could not start ratify serve: {last_error}")

    def respawn(self):
        """Starts serve again on the same database (after a crash)."""
        for _ in range(5):
            self.port = free_port()
            try:
                self._spawn()
                return
            except PortTaken:
                continue
        raise RuntimeError("could not restart ratify serve")

    def _spawn(self):
        cmd = [
            ratify_bin(),
            "serve",
            "--db",
            self.db,
            "--listen",
            f"127.0.0.1:{self.port}",
            *self.serve_args,
        ]
        # Both files are appended to: after a respawn the log keeps the
        # earlier process's lines (and any sanitizer report in them).
        out_start = self.stdout_path.stat().st_size if self.stdout_path.exists() else 0
        log_start = len(self.log())
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=self.dir,
                env=self.env())
        deadline = time.monotonic() + 20 * SLOW
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = self.log()[log_start:]
                if "cannot listen" in log:
                    raise PortTaken(log)
                raise RuntimeError(f"ratify serve exited with {self.proc.returncode}:\n{log}")
            with open(self.stdout_path, "rb") as out:
                out.seek(out_start)
                ready = b"Ratify is serving" in out.read()
            if ready:
                try:
                    r = requests.get(self.url("/api/v1/status"), timeout=HTTP_TIMEOUT)
                    if r.status_code == 200:
                        return
                except requests.RequestException:
                    pass
            time.sleep(0.05)
        self.proc.kill()
        self.proc.wait()
        raise RuntimeError(f"ratify serve did not answer within {20 * SLOW}s:\n{self.log()}")

    def log(self):
        """Everything the server wrote to stderr (the access log) so far."""
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, needle, timeout=5 * SLOW):
        """Waits until the log contains needle (a request is logged just
        after its response is queued). Returns the log."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log()
            if needle in text or time.monotonic() > deadline:
                return text
            time.sleep(0.02)

    def stop(self):
        """SIGTERM; returns the exit code (None if it did not exit in time,
        after which it is killed)."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def stop_and_check(self):
        code = self.stop()
        log = self.log()
        assert code == 0, (f"ratify serve exited with {code} after SIGTERM "
                           f"(None: not within {STOP_TIMEOUT}s):\n{log[-5000:]}")
        found = sanitizer_reports(log)
        assert not found, f"sanitizer reports {found} in the server log:\n{log[-20000:]}"


class PortTaken(Exception):
    pass


# ---- raw HTTP/1.1 over a socket, for framing and size probes ----


class RawResponse:
    def __init__(self, status_line, headers, body):
        self.status_line = status_line
        self.status = int(status_line.split()[1]) if len(status_line.split()) > 1 else 0
        self.header_list = headers
        self.body = body

    def get(self, name, default=None):
        values = self.get_all(name)
        return values[0] if values else default

    def get_all(self, name):
        return [v for k, v in self.header_list if k.lower() == name.lower()]

    def __iter__(self):
        return iter(k for k, _ in self.header_list)

    def keys(self):
        return [k for k, _ in self.header_list]

    def __getitem__(self, name):
        return self.get(name)

    def __repr__(self):
        return f"<RawResponse {self.status_line!r} {self.header_list!r} {self.body[:200]!r}>"


def parse_responses(data, head=False):
    """Splits a byte stream into HTTP responses (framed by Content-Length;
    1xx, 204 and 304 have no body). Stops at bytes that do not start a
    response. Returns (responses, leftover bytes)."""
    out = []
    while data.startswith(b"HTTP/"):
        end = data.find(b"\r\n\r\n")
        if end < 0:
            break
        lines = data[:end].decode("latin-1").split("\r\n")
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        resp = RawResponse(lines[0], headers, b"")
        rest = data[end + 4 :]
        if resp.status < 200 or resp.status in (204, 304) or head:
            length = 0
        else:
            cl = resp.get("Content-Length")
            length = int(cl) if cl and cl.isdigit() else len(rest)
        resp.body = rest[:length]
        out.append(resp)
        data = rest[length:]
    return out, data


def raw_exchange(port, data, timeout=3.0, host="127.0.0.1", body_after=None, pause=0.3,
                 tls=None):
    """Sends data on a new connection (through TLS if tls is an
    ssl.SSLContext), optionally body_after after pause seconds (ignoring a
    reset), and reads until the server closes the connection or timeout
    seconds pass without data. Returns (bytes received, closed by the
    server)."""
    s = socket.create_connection((host, port), timeout=timeout)
    if tls is not None:
        s = tls.wrap_socket(s, server_hostname=host)
    s.settimeout(timeout)
    received = b""
    closed = False
    try:
        s.sendall(data)
        if body_after is not None:
            time.sleep(pause)
            try:
                s.sendall(body_after)
            except OSError:
                pass
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
                closed = True
                break
            if not chunk:
                closed = True
                break
            received += chunk
    finally:
        s.close()
    return received, closed


def read_one_response(sock, timeout):
    """Reads exactly one response (headers and Content-Length body) from an
    open socket; returns (RawResponse or None, bytes read)."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        responses, _ = parse_responses(data)
        if responses:
            r = responses[0]
            cl = r.get("Content-Length")
            if cl is None or len(r.body) >= int(cl):
                return r, data
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    responses, _ = parse_responses(data)
    return (responses[0] if responses else None), data


# ---- fixtures (imported by the conftest files) ----


@pytest.fixture(scope="module")
def module_server(tmp_path_factory):
    """One server per test file: tests that only add their own users and
    log in share it; a crash in one file cannot take down the others."""
    srv = RatifyServer(tmp_path_factory.mktemp("ratify"))
    srv.start()
    yield srv
    srv.stop_and_check()


@pytest.fixture
def server(module_server):
    """The test file's shared server. If it died during an earlier test
    (that test's teardown reports why), a new process is started on the
    same database; if it dies during this test, the test errors with the
    end of the log (a sanitizer report, usually)."""
    srv = module_server
    if srv.proc is None or srv.proc.poll() is not None:
        srv.respawn()
    yield srv
    if srv.proc.poll() is not None:
        pytest.fail(f"ratify serve died during this test (exit {srv.proc.returncode}):\n"
                    f"{srv.log()[-6000:]}", pytrace=False)


@pytest.fixture
def fresh_server(tmp_path):
    """A server of its own, for tests that need isolation (throttling
    counters, shutdown)."""
    srv = RatifyServer(tmp_path / "ratify")
    srv.start()
    yield srv
    srv.stop_and_check()
