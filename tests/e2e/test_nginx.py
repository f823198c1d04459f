"""
Ratify behind nginx, with the shipped deploy/nginx.conf.

The config is used as it is, except for the lines it marks "@test: ...":
ports, certificate and cache paths are replaced and the IPv6 listeners
dropped. A throw-away self-signed certificate stands in for the real one, so
the HTTPS server block is what is tested. nginx runs in the foreground with
its own prefix, pid file and logs in a temporary directory.
"""

import gzip
import http.server
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from framing_probes import PROBES
from ratify_server import (
    REPO,
    Client,
    RatifyServer,
    assert_security_headers,
    free_port,
    parse_responses,
    raw_exchange,
    scrape_csrf,
    session_cookie,
)

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SHIPPED = REPO / "deploy" / "nginx.conf"
MARKERS = {"upstream", "cache", "listen-http", "listen-https", "drop", "certificate",
           "certificate-key"}
MAX_BODY = 1024 * 1024


def render_site(text, *, upstream_port, http_port, https_port, cert, key, cache_dir):
    """deploy/nginx.conf with its @test lines rewritten for this run."""
    out, seen = [], set()
    for line in text.splitlines():
        m = re.search(r"#\s*@test:\s*([\w-]+)\s*$", line)
        if not m:
            out.append(line)
            continue
        marker = m.group(1)
        assert marker in MARKERS, f"unknown marker @test: {marker}"
        seen.add(marker)
        original = line = line[: m.start()].rstrip()
        if marker == "drop":
            continue
        if marker == "upstream":
            line = re.sub(r"\bserver\s+\S+;", f"server 127.0.0.1:{upstream_port};", line)
        elif marker == "cache":
            line = re.sub(r"proxy_cache_path\s+\S+", f"proxy_cache_path {cache_dir}", line)
        elif marker == "listen-http":
            line = re.sub(r"listen\s+80\b", f"listen 127.0.0.1:{http_port}", line)
        elif marker == "listen-https":
            line = re.sub(r"listen\s+443\b", f"listen 127.0.0.1:{https_port}", line)
        elif marker == "certificate":
            line = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", line)
        elif marker == "certificate-key":
            line = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", line)
        assert line != original, f"@test: {marker} did not apply to: {original}"
        out.append(line)
    assert seen == MARKERS, f"markers missing from deploy/nginx.conf: {MARKERS - seen}"
    return "\n".join(out) + "\n"


def main_config(prefix, site_path):
    """The http {} around the site, as Debian's /etc/nginx/nginx.conf has it,
    with every path inside prefix."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    tmp = prefix / "tmp"
    return f"""{user}worker_processes 1;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    access_log {prefix}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {site_path};
}}
"""


def make_certificate(directory):
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60)
    return cert, key


NODES = REPO / "deploy" / "nginx-nodes.conf"


def with_nodes(site, ports):
    """site with its upstream block replaced by deploy/nginx-nodes.conf's,
    which lists one server per port."""
    block = re.search(r"^upstream ratify \{.*?^\}", NODES.read_text(), re.M | re.S).group(0)
    lines, written = [], False
    for line in block.splitlines():
        if re.search(r"#\s*@test:\s*node\s*$", line):
            if not written:
                lines += [re.sub(r"\bserver\s+\S+", f"server 127.0.0.1:{p}",
                                 line.split("#")[0].rstrip()) for p in ports]
                written = True
            continue
        lines.append(line)
    assert written, "no @test: node line in deploy/nginx-nodes.conf"
    site, n = re.subn(r"^upstream ratify \{.*?^\}", lambda _: "\n".join(lines), site,
                      flags=re.M | re.S)
    assert n == 1
    return site


class Nginx:
    def __init__(self, prefix, upstream_port, cert, key, https_port=None, nodes=None):
        self.prefix = Path(prefix)
        (self.prefix / "tmp").mkdir(parents=True, exist_ok=True)
        (self.prefix / "cache").mkdir(exist_ok=True)
        self.http_port, self.https_port = free_port(), https_port or free_port()
        self.cert = cert
        site = render_site(SHIPPED.read_text(), upstream_port=upstream_port,
                           http_port=self.http_port, https_port=self.https_port, cert=cert,
                           key=key, cache_dir=self.prefix / "cache")
        if nodes:
            site = with_nodes(site, nodes)
        self.site_path = self.prefix / "site.conf"
        self.site_path.write_text(site)
        self.conf = self.prefix / "nginx.conf"
        self.conf.write_text(main_config(self.prefix, self.site_path))
        self.proc = None

    def args(self):
        return [NGINX, "-p", str(self.prefix), "-e", str(self.prefix / "error.log"),
                "-c", str(self.conf),
                "-g", f"daemon off; pid {self.prefix}/nginx.pid;"]

    def check(self):
        return subprocess.run([*self.args(), "-t"], capture_output=True, text=True, timeout=30)

    def start(self):
        self.proc = subprocess.Popen(self.args(), stdout=subprocess.DEVNULL,
                                     stderr=open(self.prefix / "stderr.log", "wb"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}:\n{self.errors()}")
            try:
                socket.create_connection(("127.0.0.1", self.https_port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start:\n" + self.errors())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def errors(self):
        texts = []
        for name in ("error.log", "stderr.log"):
            p = self.prefix / name
            if p.exists():
                texts.append(p.read_text(errors="replace"))
        return "\n".join(texts)

    @property
    def base_url(self):
        return f"https://127.0.0.1:{self.https_port}"

    def client(self):
        c = Client(self.base_url)
        c.verify = str(self.cert)
        return c

    def tls(self):
        ctx = ssl.create_default_context(cafile=str(self.cert))
        return ctx


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def proxied(tmp_path_factory, certificate):
    """Ratify started as the deploy notes say, behind nginx."""
    https_port = free_port()
    work = tmp_path_factory.mktemp("proxied")
    app = RatifyServer(work / "ratify", serve_args=[
        "--behind-proxy", "--public-url", f"https://127.0.0.1:{https_port}"])
    app.start()
    proxy = Nginx(work / "nginx", app.port, *certificate, https_port=https_port)
    checked = proxy.check()
    assert checked.returncode == 0, checked.stderr
    proxy.start()
    try:
        yield SimpleNamespace(app=app, nginx=proxy)
    finally:
        proxy.stop()
        app.stop_and_check()


class Recorder(http.server.BaseHTTPRequestHandler):
    """An upstream that answers 200 and records what nginx forwarded."""

    protocol_version = "HTTP/1.1"
    seen = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        Recorder.seen.append(SimpleNamespace(method=self.command, path=self.path,
                                             headers=self.headers, body=body))
        payload = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def recording(tmp_path_factory, certificate):
    """The same nginx config in front of a recorder instead of Ratify, to
    see exactly what nginx sends upstream."""
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=upstream.serve_forever, daemon=True)
    thread.start()
    proxy = Nginx(tmp_path_factory.mktemp("recording"), upstream.server_address[1], *certificate)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
        upstream.shutdown()


def last_request(path):
    for r in reversed(Recorder.seen):
        if r.path == path:
            return r
    raise AssertionError(f"{path} never reached the upstream: {[r.path for r in Recorder.seen]}")


# ---------------------------------------------------------------- the config


def test_shipped_config_keeps_its_test_markers_and_limits():
    text = SHIPPED.read_text()
    assert re.search(r"^\s*client_max_body_size\s+1m;", text, re.M)
    assert re.search(r"^\s*proxy_set_header\s+X-Forwarded-For\s+\$remote_addr;", text, re.M)
    directives = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    assert "$proxy_add_x_forwarded_for" not in directives
    assert re.search(r"^\s*proxy_http_version\s+1\.1;", text, re.M)
    assert re.search(r"^\s*listen\s+443\s+ssl", text, re.M)
    assert re.search(r"return\s+301\s+https://", text)


def test_config_passes_nginx_t(proxied):
    r = proxied.nginx.check()
    assert r.returncode == 0, r.stderr
    assert "syntax is ok" in r.stderr


def test_plain_http_redirects_to_https(proxied):
    r = Client(f"http://127.0.0.1:{proxied.nginx.http_port}").get("/account?x=1")
    assert r.status_code == 301
    assert r.headers["Location"] == "https://127.0.0.1/account?x=1"


# ---------------------------------------------------------------- through the proxy


def test_page_through_nginx_has_security_headers(proxied):
    r = proxied.nginx.client().get("/")
    assert r.status_code == 200
    assert '<html lang="en"' in r.text
    assert_security_headers(r.headers, "page via nginx")
    assert r.headers.get("Strict-Transport-Security", "").startswith("max-age=")
    assert r.headers.get("Server") == "nginx", "server_tokens off hides the version"
    assert len(r.raw.headers.getlist("Content-Security-Policy")) == 1


def test_login_through_nginx(proxied):
    user = proxied.app.member()
    c = proxied.nginx.client()
    proxied.app.login(user.email, user.password, client=c, next_path="/account")
    # Behind TLS the cookie is __Host-session, Secure, HttpOnly.
    assert c.cookies.get("__Host-session")
    r = c.get("/account")
    assert r.status_code == 200
    assert user.email in r.text
    assert "no-store" in r.headers.get("Cache-Control", "")
    r = c.post("/logout", data={"csrf_token": scrape_csrf(r.text)})
    assert r.status_code == 303
    assert c.get("/account").status_code == 303


def test_session_cookie_is_secure_behind_tls(proxied):
    user = proxied.app.member()
    c = proxied.nginx.client()
    token = c.csrf("/login")
    r = c.post("/login", data={"email": user.email, "password": user.password,
                               "csrf_token": token})
    assert r.status_code == 303
    line = next(v for v in r.raw.headers.getlist("Set-Cookie") if v.startswith("__Host-session="))
    attrs = [a.strip().lower() for a in line.split(";")[1:]]
    assert "secure" in attrs and "httponly" in attrs and "samesite=lax" in attrs and "path=/" in attrs
    assert not any(a.startswith("domain=") for a in attrs)
    assert session_cookie(c)


HSTS = "max-age=63072000; includeSubDomains"


def test_hsts_on_every_kind_of_answer(proxied):
    """Pages, Ratify's errors, its early framing 400, static files and
    nginx's own error pages all carry the same single HSTS header (without
    preload: deploy/nginx.conf says why)."""
    c = proxied.nginx.client()
    answers = {
        "page": c.get("/"),
        "Ratify's 404": c.get(f"/missing-{uuid.uuid4().hex[:8]}"),
        "static": c.get("/static/style.css"),
        "nginx's 413": c.post("/login", data=b"x" * (MAX_BODY + 1)),
    }
    for name, r in answers.items():
        assert r.raw.headers.getlist("Strict-Transport-Security") == [HSTS], name
    raw = {
        "Ratify's early 400": b"GET /?q=%00 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              b"Connection: close\r\n\r\n",
        "nginx's 400": b"GET /a b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    }
    for name, data in raw.items():
        received, _ = raw_exchange(proxied.nginx.https_port, data, tls=proxied.nginx.tls(),
                                   timeout=3)
        responses, _ = parse_responses(received)
        assert responses and responses[0].status == 400, (name, received[:200])
        values = responses[0].get_all("Strict-Transport-Security")
        assert values == [HSTS], (name, values)


def set_cookies(r):
    return {line.split("=", 1)[0]: line for line in r.raw.headers.getlist("Set-Cookie")}


def assert_host_cookie(line):
    """__Host-: Secure, no Domain, Path=/ (browsers refuse it otherwise),
    and HttpOnly with SameSite=Lax besides."""
    attrs = [a.strip().lower() for a in line.split(";")[1:]]
    assert line.startswith("__Host-"), line
    assert "secure" in attrs and "httponly" in attrs and "samesite=lax" in attrs, line
    assert "path=/" in attrs and not any(a.startswith("domain=") for a in attrs), line


def test_presession_cookie_is_host_prefixed_and_secure(proxied):
    """The cookie that binds an anonymous visitor's CSRF tokens gets the
    same protection as the session: no sibling site can plant or read it."""
    c = proxied.nginx.client()
    r = c.get("/login")
    cookies = set_cookies(r)
    assert list(cookies) == ["__Host-presession"], cookies
    assert_host_cookie(cookies["__Host-presession"])
    # Ratify reads only the prefixed name over TLS: an unprefixed cookie
    # (which any subdomain could set) binds nothing.
    token = scrape_csrf(r.text)
    other = proxied.nginx.client()
    other.cookies.set("presession", c.cookies.get("__Host-presession"), domain="127.0.0.1",
                      path="/")
    user = proxied.app.member()
    r = other.post("/login", data={"email": user.email, "password": user.password,
                                   "csrf_token": token})
    assert r.status_code == 403, r.status_code


def test_login_sets_only_host_prefixed_cookies(proxied):
    user = proxied.app.member()
    c = proxied.nginx.client()
    token = c.csrf("/login")
    r = c.post("/login", data={"email": user.email, "password": user.password,
                               "csrf_token": token})
    assert r.status_code == 303
    cookies = set_cookies(r)
    assert set(cookies) == {"__Host-session", "__Host-presession"}, cookies
    for line in cookies.values():
        assert_host_cookie(line)
    assert "max-age=0" in cookies["__Host-presession"].lower(), "the presession is dropped"


def test_session_lives_only_in_its_cookie(proxied):
    """The session token never appears in a URL or a page, and nothing but
    the __Host-session cookie carries a session: not the query string, not
    an unprefixed cookie."""
    user = proxied.app.member()
    c = proxied.app.login(user.email, user.password, client=proxied.nginx.client(),
                          next_path="/account")
    session = c.cookies.get("__Host-session")
    assert session and len(session) == 64
    r = c.get("/account")
    assert r.status_code == 200 and user.email in r.text
    assert session not in r.text and session not in r.url
    for path in (f"/account?session={session}", f"/account?__Host-session={session}",
                 f"/account;session={session}"):
        r = proxied.nginx.client().get(path)
        assert r.status_code in (303, 404), (path, r.status_code)
        assert user.email not in r.text
    stranger = proxied.nginx.client()
    stranger.cookies.set("session", session, domain="127.0.0.1", path="/")
    r = stranger.get("/account")
    assert r.status_code == 303, "an unprefixed cookie opened the session"


def test_login_never_reuses_a_session_cookie_set_before(proxied):
    """No session fixation: whatever session cookie the browser held before
    logging in (one an attacker planted, or a live session of another
    account), the login issues a new token, and the old one opens nothing."""
    app = proxied.app
    victim = app.member()
    # A planted value the server never issued.
    c = proxied.nginx.client()
    planted = "ab" * 32
    c.cookies.set("__Host-session", planted, domain="127.0.0.1", path="/")
    app.login(victim.email, victim.password, client=c)
    assert c.cookies.get("__Host-session") not in (None, planted)
    # A live session (the attacker's own account), then the victim logs in
    # in that same browser.
    attacker = app.member()
    c = app.login(attacker.email, attacker.password, client=proxied.nginx.client())
    fixed = c.cookies.get("__Host-session")
    token = scrape_csrf(c.get("/account").text)
    r = c.post("/login", data={"email": victim.email, "password": victim.password,
                               "csrf_token": token})
    assert r.status_code == 303, r.status_code
    fresh = c.cookies.get("__Host-session")
    assert fresh and fresh != fixed
    assert victim.email in c.get("/account").text
    replay = proxied.nginx.client()
    replay.cookies.set("__Host-session", fixed, domain="127.0.0.1", path="/")
    r = replay.get("/account")
    assert r.status_code == 303, "the token from before the login still opens a session"


def test_api_through_nginx(proxied):
    r = proxied.nginx.client().get("/api/v1/me")
    assert r.status_code == 401
    assert r.json()["error"]["status"] == 401
    assert_security_headers(r.headers, "api via nginx")


def test_two_mib_body_gets_413_from_nginx(proxied):
    tag = uuid.uuid4().hex[:12]
    req = (f"POST /big-{tag} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           "Content-Type: application/x-www-form-urlencoded\r\n"
           f"Content-Length: {2 * MAX_BODY}\r\n\r\n").encode()
    received, closed = raw_exchange(proxied.nginx.https_port, req, tls=proxied.nginx.tls(),
                                    timeout=3)
    responses, _ = parse_responses(received)
    assert responses and responses[0].status == 413, received[:300]
    assert_security_headers(responses[0], "413 from nginx")
    # nginx closes after draining what the client still sends (lingering
    # close), so the connection is not closed at once, but it says so.
    assert responses[0].get("Connection") == "close"
    assert f"/big-{tag} " not in proxied.app.log()


def test_two_mib_body_through_requests_gets_413(proxied):
    c = proxied.nginx.client()
    try:
        r = c.post("/login", data={"password": "x" * (2 * MAX_BODY)})
    except Exception as e:
        pytest.fail(f"no 413 answer, the client saw {e!r}")
    assert r.status_code == 413


def test_body_of_exactly_one_mib_passes_nginx(proxied):
    c = proxied.nginx.client()
    token = c.csrf("/login")
    prefix = f"csrf_token={token}&email=a%40example.org&password="
    body = prefix + "p" * (MAX_BODY - len(prefix))
    r = c.post("/login", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400  # refused by Ratify as input, not by a size limit


def test_static_file_through_nginx(proxied):
    c = proxied.nginx.client()
    r = c.get("/static/style.css", headers={"Accept-Encoding": "gzip"}, stream=True)
    raw = r.raw.read(decode_content=False)
    assert r.status_code == 200
    assert r.headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(raw).startswith(b"/*")
    assert "immutable" in r.headers["Cache-Control"]
    etag = r.headers["ETag"].removeprefix("W/")
    assert_security_headers(r.headers, "static via nginx")
    r = c.get("/static/style.css", headers={"If-None-Match": etag})
    assert r.status_code == 304


def test_static_file_for_a_logged_in_user_stays_cacheable(proxied):
    user = proxied.app.member()
    c = proxied.app.login(user.email, user.password, client=proxied.nginx.client())
    r = c.get("/static/style.css")
    assert r.status_code == 200
    values = r.raw.headers.getlist("Cache-Control")
    assert values == ["public, max-age=31536000, immutable"], values


def test_pages_with_secrets_compressed_only_when_safe(proxied):
    """Through nginx as without it (issue 14): the login form's CSRF token is
    masked afresh in every response, so Ratify compresses the page; nginx
    never compresses a page itself."""
    c = proxied.nginx.client()
    r = c.get("/login", headers={"Accept-Encoding": "gzip"}, stream=True)
    raw = r.raw.read(decode_content=False)
    assert r.status_code == 200 and r.headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(raw).lower().startswith(b"<!doctype html>")  # gzipped once


def test_public_pages_are_compressed_once_by_ratify(proxied):
    """Ratify compresses a visitor's /countries (issue 14); nginx passes it
    through, never compressing it again; a logged-in page is compressed only
    when the browser says Ratify's own page asked for it."""
    c = proxied.nginx.client()
    r = c.get("/countries", headers={"Accept-Encoding": "gzip"}, stream=True)
    raw = r.raw.read(decode_content=False)
    assert r.status_code == 200
    assert r.headers.get("Content-Encoding") == "gzip"
    assert "Accept-Encoding" in r.headers.get("Vary", "")
    assert len(raw) < 50_000
    assert gzip.decompress(raw).lower().startswith(b"<!doctype html>")  # gzipped once
    user = proxied.app.member()
    c = proxied.app.login(user.email, user.password, client=proxied.nginx.client())
    r = c.get("/account", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and "Content-Encoding" not in r.headers
    # Asked for from Ratify's own page (Fetch Metadata, passed on by nginx):
    # compressed, by Ratify, once.
    r = c.get("/account", headers={"Accept-Encoding": "gzip", "Sec-Fetch-Site": "same-origin"},
              stream=True)
    raw = r.raw.read(decode_content=False)
    assert r.status_code == 200 and r.headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(raw).lower().startswith(b"<!doctype html>")


@pytest.mark.parametrize("probe", PROBES, ids=[p.name for p in PROBES])
def test_framing_probe_is_refused_by_nginx(proxied, probe):
    data, path, hidden = probe.request()
    received, closed = raw_exchange(proxied.nginx.https_port, data, tls=proxied.nginx.tls(),
                                    timeout=3)
    responses, _ = parse_responses(received)
    statuses = [r.status for r in responses]
    if (probe.chunked_per_rfc or probe.nginx_may_normalise) and statuses == [404, 404]:
        # Read as chunked (or the spaces skipped) and re-framed for Ratify:
        # two ordinary requests, each answered once.
        log = proxied.app.wait_for_log(f" {hidden} ")
        assert log.count(f" {path} ") == 1 and log.count(f" {hidden} ") == 1
        return
    if probe.nginx_passes_on:
        assert statuses == [400, 404], statuses
        # Ratify's CSP, not the one of nginx's error page.
        assert "script-src 'self'" in responses[0].get("Content-Security-Policy", "")
        log = proxied.app.wait_for_log(f" {hidden} ")
        assert f" {path} " not in log, "the probe reached a handler"
        assert log.count(f" {hidden} ") == 1
        return
    assert statuses and statuses[0] in probe.nginx_statuses, \
        f"answered {[r.status_line for r in responses] or received[:200]!r}"
    assert len(responses) == 1, statuses
    assert len(re.findall(rb"(?:^|\n)HTTP/\d\.\d \d{3} ", received)) == 1, received
    assert closed, "the connection stayed open"
    assert_security_headers(responses[0], f"{responses[0].status} from nginx")
    time.sleep(0.05)
    log = proxied.app.log()
    assert f" {path} " not in log, "the probe reached Ratify"
    assert f" {hidden} " not in log, "the hidden request reached Ratify"


def test_chunked_upload_reaches_ratify_with_a_content_length(recording):
    """nginx reads a chunked body whole and forwards it with a plain
    Content-Length: the upstream never has to parse chunked framing."""
    body = b"a=b&c=d"
    req = (b"POST /form HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
           b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
           + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    received, _ = raw_exchange(recording.https_port, req, tls=recording.tls(), timeout=3)
    assert received.startswith(b"HTTP/1.1 200"), received[:200]
    seen = last_request("/form")
    assert seen.body == body
    assert seen.headers.get("Content-Length") == str(len(body))
    assert seen.headers.get("Transfer-Encoding") is None


def test_forwarded_headers_are_set_not_appended(recording):
    c = recording.client()
    r = c.get("/who", headers={"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "http"})
    assert r.status_code == 200
    seen = last_request("/who")
    assert seen.headers.get_all("X-Forwarded-For") == ["127.0.0.1"]
    assert seen.headers.get("X-Forwarded-Proto") == "https"
    assert seen.headers.get("Host") == "127.0.0.1"


def test_static_requests_go_upstream_without_cookies(recording):
    c = recording.client()
    c.cookies.set("__Host-session", "ab" * 32, domain="127.0.0.1", path="/")
    assert c.get("/static/x.css").status_code == 200
    assert last_request("/static/x.css").headers.get("Cookie") is None
    # nginx caches one encoding of static files and compresses them itself.
    assert c.get("/static/y.css", headers={"Accept-Encoding": "gzip"}).status_code == 200
    assert not last_request("/static/y.css").headers.get("Accept-Encoding")
    assert c.get("/page").status_code == 200
    assert "__Host-session=" in last_request("/page").headers.get("Cookie", "")


def test_nginx_error_pages_carry_security_headers(recording):
    r = recording.client().post("/form", data=b"x" * (MAX_BODY + 1))
    assert r.status_code == 413
    assert_security_headers(r.headers, "413 page from nginx")
    assert r.headers["Cache-Control"] == "no-store"


# ---------------------------------------------------------------- without the proxy


def test_forwarded_for_is_ignored_without_behind_proxy(tmp_path):
    """Without --behind-proxy, X-Forwarded-For is the client's to write, so
    Ratify must not take it as the address: a client that sends a new one
    with every failed login is still throttled as one client."""
    limit = re.search(r"THROTTLE_CLIENT = (\d+)", (REPO / "src" / "svc" / "auth.h").read_text())
    throttle_client = int(limit.group(1))
    app = RatifyServer(tmp_path / "ratify")
    app.start()
    try:
        c = app.client()
        token = c.csrf("/login")
        for i in range(throttle_client):
            # A different account each time, so only the client's counter grows.
            r = c.post("/login", data={"email": f"nobody{i}@example.org", "password": "wrong",
                                       "csrf_token": token},
                       headers={"X-Forwarded-For": f"10.0.{i // 250}.{i % 250 + 1}"})
            assert r.status_code == 400, f"attempt {i + 1}: {r.status_code}"
        r = c.post("/login", data={"email": "someone-else@example.org", "password": "wrong",
                                   "csrf_token": token},
                   headers={"X-Forwarded-For": "203.0.113.7"})
        assert r.status_code == 429, r.status_code
    finally:
        app.stop_and_check()
