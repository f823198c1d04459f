#!/usr/bin/python3
"""bench/run.py: `make bench`. Measures Ratify's pages under wrk and, in the
same run, nginx serving a static file from the same machine, then writes the
figures and their ratios to bench/RESULTS.md.

Machines are noisy, so absolute numbers mean little; the ratio to nginx,
measured minutes apart on the same cores, is what to compare across runs.
Everything listens on 127.0.0.1 only and every load is bounded in time.
"""
import datetime
import os
import pathlib
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = os.environ.get("RATIFY_BIN", str(ROOT / "build" / "ratify"))
DURATION = os.environ.get("BENCH_DURATION", "10s")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
THREADS = 2


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"bench: nothing answers on port {port}")


def to_ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat(pid):
    """ppid and CPU seconds (its own and its reaped children's) of a process,
    from /proc/PID/stat, or None once it is gone."""
    try:
        text = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # the name may hold spaces
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return ppid, (utime + stime + cutime + cstime) / CLK_TCK


def cpu_seconds(root):
    """CPU seconds used so far by root and its live children (PostgreSQL's
    backends, nginx's workers); a child that exited is in root's cutime."""
    own = _stat(root)
    total = own[1] if own else 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != root:
            st = _stat(int(entry))
            if st and st[0] == root:
                total += st[1]
    return total


def others_snapshot():
    """{(pid, start time): CPU seconds} of every user-space process but this
    one. Whatever the bench starts is absent from a snapshot taken before
    it, so the processes in both snapshots are the machine's other work
    (another helper's tests, say)."""
    snap = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            fields = pathlib.Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == 2 or entry == "2":  # kernel threads (our own fsyncs' I/O)
            continue
        snap[(entry, fields[19])] = sum(int(x) for x in fields[11:15]) / CLK_TCK
    return snap


class CpuMeter:
    """CPU seconds of named groups of processes over one run."""

    def __init__(self, groups):
        self.groups = groups  # name -> list of root pids

    def sample(self):
        return {name: sum(cpu_seconds(pid) for pid in pids)
                for name, pids in self.groups.items()}


def wrk(url, cookie=None, connections=CONNECTIONS, script=None, env=None, meter=None,
        allow_errors=False):
    """Runs wrk and returns requests/s, p50 and p99 in milliseconds. With a
    CpuMeter, wrk.last_cpu is the CPU microseconds per request of each of
    its groups. With allow_errors, wrk.last_errors counts the answers that
    were not 2xx or 3xx instead of ending the bench."""
    extra = ["-H", f"Cookie: {cookie}"] if cookie else []
    if script:
        extra += ["-s", str(script)]
    before = meter.sample() if meter else {}
    out = subprocess.run(["wrk", "-t", str(THREADS), "-c", str(connections), "-d", DURATION,
                          "--latency", *extra, url], capture_output=True, text=True,
                         check=True, env=env).stdout
    after = meter.sample() if meter else {}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b", out)
    wrk.last_total = int(total.group(1))
    wrk.last_seconds = float(total.group(2)) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60}[
        total.group(3)]
    wrk.last_cpu = {name: (after[name] - before[name]) * 1e6 / max(wrk.last_total, 1)
                    for name in after}
    lat = {}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        lat[pct] = to_ms(m.group(1), m.group(2))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    wrk.last_errors = int(errors.group(1)) if errors else 0
    if errors and not allow_errors:
        sys.exit(f"bench: {url} answered {errors.group(1)} errors")
    return rps, lat["50"], lat["99"]


def start_nginx(tmp, port):
    root = tmp / "www"
    root.mkdir()
    # nginx's workers drop to an unprivileged user: let them read the file.
    os.chmod(tmp, 0o755)
    shutil.copy(ROOT / "static" / "style.css", root / "style.css")
    conf = tmp / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    include /etc/nginx/mime.types;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        add_header Cache-Control "public, max-age=31536000, immutable";
    }}
}}
""")
    return subprocess.Popen(["nginx", "-p", str(tmp), "-c", str(conf), "-g", "daemon off;"],
                            stderr=subprocess.DEVNULL)


def login_cookie(db, port=None, base=None, verify=True):
    """A session cookie for a member, logged in through the real form (at
    base, or on 127.0.0.1:port)."""
    import requests
    import urllib3
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # our own certificate
    email, password = "bench@example.org", "bench password 1234"
    subprocess.run([BIN, "user", "add", email, "--role", "member", "--db", str(db)],
                   check=True, capture_output=True)
    subprocess.run([BIN, "user", "passwd", email, "--db", str(db)], input=password + "\n",
                   text=True, check=True, capture_output=True)
    base = base or f"http://127.0.0.1:{port}"
    s = requests.Session()
    s.trust_env = False
    s.verify = verify
    page = s.get(f"{base}/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([0-9a-f]{128}|[0-9a-f]{64})"', page).group(1)
    r = s.post(f"{base}/login", allow_redirects=False, timeout=30,
               data={"email": email, "password": password, "csrf_token": token})
    assert r.status_code == 303, r.status_code
    # Over TLS (behind nginx) the cookie is __Host-session.
    name = next(c.name for c in s.cookies if c.name.endswith("session"))
    return f"{name}={s.cookies[name]}"


WRITE_CONNECTIONS = 64
PG_SETTINGS = {}
OTHERS = None
FAILED = {}  # setup -> (failed sign-ups, serialization failures, acknowledged)
SHIM = ROOT / "build" / "fsync_delay.so"


def write_case(tmp, name, preload, extra_args=()):
    """API sign-ups (POST /api/v1/memberships, each a new person, membership
    and confirmation mail) against a fresh server, 64 connections. Returns
    the result row after checking that every acknowledged sign-up is in the
    database."""
    db = tmp / f"{name}.db"
    subprocess.run([BIN, "init", "--db", str(db)], check=True, capture_output=True)
    out = subprocess.run([BIN, "token", "add", "bench", "--scope", "write", "--db", str(db)],
                         check=True, capture_output=True, text=True).stdout
    token = out.split()[-1]
    port = free_port()
    env = dict(os.environ)
    if preload:
        env["LD_PRELOAD"] = str(SHIM)
    server = subprocess.Popen([BIN, "serve", "--db", str(db), "--listen", f"127.0.0.1:{port}",
                               *extra_args, *os.environ.get("BENCH_SERVE_ARGS", "").split()],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        wait_for(port)
        wenv = dict(os.environ, BENCH_TOKEN=token)
        rps, p50, p99 = wrk(f"http://127.0.0.1:{port}/", connections=WRITE_CONNECTIONS,
                            script=ROOT / "bench" / "signup.lua", env=wenv,
                            meter=CpuMeter({"ratify": [server.pid]}))
        cpu = wrk.last_cpu
    finally:
        server.terminate()
        server.wait(timeout=30)
    # Every acknowledged write must be there after a clean stop (the
    # durability under SIGKILL is tests/e2e/test_durability.py's).
    import sqlite3
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute("SELECT count(*) FROM memberships").fetchone()[0]
    con.close()
    if rows < wrk.last_total:
        sys.exit(f"bench: {wrk.last_total} sign-ups acknowledged but {rows} in the database")
    return rps, p50, p99, rows, cpu


# The endpoints compared across engines and node counts: the same as the
# SQLite rows above (name there, path, logged in).
COMPARED_READS = [
    ("ratify: /countries/ARG", "/countries/ARG", False),
    ("ratify: /countries/ARG, logged in (not cached)", "/countries/ARG", True),
    ("ratify: /api/v1/countries/AGO", "/api/v1/countries/AGO", False),
]
WRITE_LABEL = f"POST /api/v1/memberships (durable sign-up), {WRITE_CONNECTIONS} connections"
PG_SETUPS = [  # (label, nodes, behind nginx)
    ("PostgreSQL, 1 node, direct", 1, False),
    ("PostgreSQL, 1 node behind nginx (TLS)", 1, True),
    ("PostgreSQL, 2 nodes behind nginx (TLS)", 2, True),
]


def compare_postgres(tmp, sqlite_rows):
    """The compared endpoints on SQLite (rows already measured), then on a
    durable PostgreSQL cluster with one node direct, one node behind nginx
    and two nodes behind nginx. Rows: (case, setup, requests/s, p50, p99,
    CPU microseconds per request by process group)."""
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    from test_nginx import make_certificate  # the shipped config, as the tests run it
    from pgcluster import DurableCluster
    certdir = tmp / "cert"
    certdir.mkdir()
    cert = make_certificate(certdir)
    rows = []
    for name, _, _ in COMPARED_READS:
        rows.append((name, "SQLite, 1 node, direct", *sqlite_rows[name]))
    rows.append((f"ratify: {WRITE_LABEL}", "SQLite, 1 node, direct", *sqlite_rows["write"]))
    cluster = DurableCluster()
    try:
        global PG_SETTINGS
        PG_SETTINGS = {k: cluster.setting(k) for k in
                       ("server_version", "fsync", "synchronous_commit", "full_page_writes",
                        "wal_sync_method")}
        if (PG_SETTINGS["fsync"], PG_SETTINGS["synchronous_commit"]) != ("on", "on"):
            sys.exit(f"bench: PostgreSQL is not durable: {PG_SETTINGS}")
        for i, (setup, nodes, proxied) in enumerate(PG_SETUPS):
            rows += postgres_setup(tmp, cluster, f"bench_{i}", setup, nodes, proxied, cert)
    finally:
        cluster.stop()
    # Grouped by case, SQLite first, so that each case's rows sit together.
    order = [r[0] for r in rows]
    rows.sort(key=lambda r: order.index(r[0]))
    return rows


def postgres_setup(tmp, cluster, dbname, setup, nodes, proxied, cert):
    from test_nginx import Nginx
    url = cluster.new_database(dbname)
    subprocess.run([BIN, "init", "--db", url], check=True, capture_output=True)
    out = subprocess.run([BIN, "token", "add", "bench", "--scope", "write", "--db", url],
                         check=True, capture_output=True, text=True).stdout
    token = out.split()[-1]
    ports = [free_port() for _ in range(nodes)]
    proxy, args = None, []
    if proxied:
        # deploy/nginx.conf with deploy/nginx-nodes.conf's upstream block,
        # one server line per node, as tests/e2e/test_nodes.py runs it.
        proxy = Nginx(tmp / f"nginx-{dbname}", ports[0], cert[0], cert[1], nodes=ports)
        args = ["--behind-proxy", "--public-url", proxy.base_url]
    servers = [subprocess.Popen([BIN, "serve", "--db", url, "--listen", f"127.0.0.1:{port}",
                                 *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for port in ports]
    rows = []
    try:
        for port in ports:
            wait_for(port)
        if proxy:
            proxy.start()
            base = proxy.base_url
        else:
            base = f"http://127.0.0.1:{ports[0]}"
        groups = {"ratify": [s.pid for s in servers], "postgres": [cluster.postmaster_pid()]}
        if proxy:
            groups["nginx"] = [proxy.proc.pid]
        meter = CpuMeter(groups)
        cookie = login_cookie(url, base=base, verify=False)
        for name, path, logged_in in COMPARED_READS:
            subprocess.run(["wrk", "-t1", "-c4", "-d1s", base + path], capture_output=True)
            rps, p50, p99 = wrk(base + path, cookie if logged_in else None, meter=meter)
            rows.append((name, setup, rps, p50, p99, wrk.last_cpu))
            print(f"{name}, {setup}: {rps:.0f} req/s, p99 {p99:.2f} ms")
        # One node direct also at 8 connections: how the rate changes with
        # concurrency (see the serialization failures in RESULTS.md).
        for conns in (WRITE_CONNECTIONS, 8) if setup == PG_SETUPS[0][0] else (WRITE_CONNECTIONS,):
            rows.append(postgres_writes(cluster, dbname, setup, base, token, meter, conns))
    finally:
        if proxy:
            proxy.stop()
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
    return rows


def postgres_writes(cluster, dbname, setup, base, token, meter, connections):
    """Sign-ups at the given concurrency; the row, after checking that every
    acknowledged one is in the database."""
    before = int(cluster.query(dbname, "SELECT count(*) FROM memberships"))
    conflicts = cluster.serialization_failures()
    # A sign-up that gave up after its retries answers 500: counted,
    # and left out of the rate, rather than ending the bench.
    label = WRITE_LABEL.replace(f"{WRITE_CONNECTIONS} connections",
                                f"{connections} connections")
    _, p50, p99 = wrk(base + "/", connections=connections,
                      script=ROOT / "bench" / "signup.lua",
                      env=dict(os.environ, BENCH_TOKEN=token, BENCH_RUN=f"c{connections}-"),
                      meter=meter, allow_errors=True)
    acked = wrk.last_total - wrk.last_errors
    rps = acked / wrk.last_seconds
    conflicts = cluster.serialization_failures() - conflicts
    cpu = {k: v * wrk.last_total / max(acked, 1) for k, v in wrk.last_cpu.items()}
    after = int(cluster.query(dbname, "SELECT count(*) FROM memberships"))
    if after - before < acked:
        sys.exit(f"bench: {acked} sign-ups acknowledged but {after - before} "
                 "in the database")
    FAILED[(setup, connections)] = (wrk.last_errors, conflicts, acked)
    print(f"{label}, {setup}: {rps:.0f} acknowledged writes/s, p99 {p99:.2f} ms, "
          f"{after - before} rows, {wrk.last_errors} failed, {conflicts} serialization "
          "failures")
    return (f"ratify: {label}", setup, rps, p50, p99, cpu)


def main():
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} is missing; run scripts/install-deps")
    global OTHERS
    OTHERS = (time.monotonic(), os.getloadavg()[0], others_snapshot())
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="ratify-bench-"))
    db = tmp / "bench.db"
    subprocess.run([BIN, "init", "--db", str(db)], check=True, capture_output=True)
    rport, nport = free_port(), free_port()
    ratify = subprocess.Popen([BIN, "serve", "--db", str(db), "--listen", f"127.0.0.1:{rport}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nginx = start_nginx(tmp, nport)
    try:
        wait_for(rport)
        wait_for(nport)
        cookie = login_cookie(db, rport)
        cases = [
            ("nginx: static style.css (reference)", f"http://127.0.0.1:{nport}/style.css"),
            ("ratify: /countries/ARG", f"http://127.0.0.1:{rport}/countries/ARG"),
            ("ratify: /countries/ARG, logged in (not cached)",
             f"http://127.0.0.1:{rport}/countries/ARG", cookie),
            ("ratify: /countries", f"http://127.0.0.1:{rport}/countries"),
            ("ratify: /countries, logged in (content from the fragment cache)",
             f"http://127.0.0.1:{rport}/countries", cookie),
            ("ratify: /api/v1/countries/AGO", f"http://127.0.0.1:{rport}/api/v1/countries/AGO"),
            ("ratify: /static/style.css", f"http://127.0.0.1:{rport}/static/style.css"),
        ]
        results = []
        # The SQLite rows the PostgreSQL comparison repeats, by case name.
        sqlite_rows = {}
        meter = CpuMeter({"ratify": [ratify.pid]})
        for name, url, *cookie in cases:
            cookie = cookie[0] if cookie else None
            subprocess.run(["wrk", "-t1", "-c4", "-d1s", url], capture_output=True)  # warm up
            results.append((name,) + wrk(url, cookie, meter=meter))
            sqlite_rows[name] = results[-1][1:] + (wrk.last_cpu,)
            print(f"{name}: {results[-1][1]:.0f} req/s, p99 {results[-1][3]:.2f} ms")
        for dispatch in ("suspend", "block"):
            for label, preload in (("", False), (", fsync slowed to 1 ms", True)):
                rps, p50, p99, rows, cpu = write_case(tmp, f"writes-{dispatch}-{int(preload)}",
                                                      preload, ("--dispatch", dispatch))
                name = (f"ratify: POST /api/v1/memberships (durable sign-up), "
                        f"{WRITE_CONNECTIONS} connections, --dispatch {dispatch}{label}")
                results.append((name, rps, p50, p99))
                if dispatch == "suspend" and not preload:
                    sqlite_rows["write"] = (rps, p50, p99, cpu)
                print(f"{name}: {rps:.0f} acknowledged writes/s, p99 {p99:.2f} ms, {rows} rows")
    except BaseException:
        nginx.terminate()
        nginx.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        ratify.terminate()
        ratify.wait(timeout=20)
    try:
        compared = [("nginx: static style.css (reference)", "", *results[0][1:], {})]
        compared += compare_postgres(tmp, sqlite_rows)
    finally:
        nginx.terminate()
        nginx.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)
    write_results(results, compared)


def us(cpu, group):
    return f"{cpu[group]:.0f}" if group in cpu else "-"


def compared_table(compared, ref):
    """The side-by-side rows and what the CPU per request says about more
    machines."""
    lines = [
        "| case | setup | requests/s | p50 ms | p99 ms | ratio to nginx static | "
        "ratio to SQLite, 1 node | CPU µs/request: ratify | postgres | nginx |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    sqlite = {r[0]: r[2] for r in compared if r[1].startswith("SQLite")}
    for name, setup, rps, p50, p99, cpu in compared:
        base = sqlite.get(name)
        vs = f"{rps / base:.2f}" if base else ""
        lines.append(f"| {name} | {setup} | {rps:.0f} | {p50:.2f} | {p99:.2f} | {rps / ref:.2f} "
                     f"| {vs} | {us(cpu, 'ratify')} | {us(cpu, 'postgres')} | {us(cpu, 'nginx')} |")
    by = {(r[0], r[1]): r for r in compared}
    one, two = PG_SETUPS[0][0], PG_SETUPS[2][0]
    write = f"ratify: {WRITE_LABEL}"
    write8 = write.replace(f"{WRITE_CONNECTIONS} connections", "8 connections")
    cached = by[("ratify: /countries/ARG", two)][5]
    page = by[("ratify: /countries/ARG, logged in (not cached)", two)][5]
    w = by[(write, two)][5]
    lines += [
        "",
        "CPU µs/request is the CPU time (user and system, from /proc/PID/stat: utime and "
        "stime, with the reaped children's) that each group of processes used during the "
        "run, divided by the requests wrk completed (for sign-ups: by the acknowledged "
        "ones): `ratify` is every node, `postgres` the server and all its backends, `nginx` "
        "the proxy's master and worker (TLS, proxying, access log). wrk's own CPU is not "
        "counted. The PostgreSQL server runs with "
        + ", ".join(f"{k}={v}" for k, v in PG_SETTINGS.items() if k != "server_version")
        + f" (version {PG_SETTINGS.get('server_version', '?').split()[0]}, its defaults "
        "otherwise), so a sign-up is acknowledged only once its commit is on disk, as with "
        "SQLite's synchronous=FULL; its data is on the same file system as the SQLite "
        "files. The fsync shim is not applied to PostgreSQL. The nginx rows run "
        "deploy/nginx.conf with the upstream block of deploy/nginx-nodes.conf (one server "
        "line per node), over TLS, one nginx worker; the nodes run with --behind-proxy. "
        "Every PostgreSQL write row checks that the database holds at least as many new "
        "memberships as were acknowledged.",
        "",
        "Sign-ups on PostgreSQL: " + "; ".join(
            f"{setup}, {conns} connections: {conflicts / max(acked, 1):.1f} serialization "
            f"failures per acknowledged sign-up, {failed} answered with an error"
            for (setup, conns), (failed, conflicts, acked) in FAILED.items()) + ". "
        "Ratify runs the write jobs of every node one at a time, under one PostgreSQL "
        "advisory lock taken at the start of each transaction (READ COMMITTED), as SQLite's "
        "single writer does: nothing is cancelled, nothing retried (an earlier run with "
        "SERIALIZABLE transactions and retries acknowledged about 470 sign-ups/s at 64 "
        "connections, each cancelled three times on average, and answered a few with 500). "
        "What it costs is that commits do not share a WAL flush: one node direct "
        f"acknowledged {by[(write, one)][2]:,.0f} sign-ups/s at {WRITE_CONNECTIONS} "
        f"connections against {by[(write8, one)][2]:,.0f}/s at 8, each commit a round of "
        "statements and an fsync of its own.",
        "",
        "**Scaling on separate machines.** On this machine two nodes cannot be faster "
        "than one: both nodes, PostgreSQL, nginx and wrk share the same 2 cores, so the "
        "two-node rows measure what the set-up costs, not what it can carry. What more "
        "machines would carry follows from the CPU per request (two-node rows): one core "
        "of each kind of process serves at most 10^6 / (its µs per request) requests a "
        "second:",
        "",
        "| case | per core of a node (ratify) | per core of the primary (postgres) | "
        "per nginx worker |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name in [r[0] for r in compared[1:]]:
        cpu = by.get((name, two))
        if cpu:
            cpu = cpu[5]
            cells = [f"{1e6 / cpu[g]:,.0f}" if cpu.get(g) else "-"
                     for g in ("ratify", "postgres", "nginx")]
            row = f"| {name} | " + " | ".join(cells) + " |"
            if row not in lines:
                lines.append(row)
    groups = {"ratify": "the nodes", "postgres": "the primary", "nginx": "nginx"}
    limits = []
    for name, _, _ in COMPARED_READS + [(write, "", False)]:
        cpu = by[(name, two)][5]
        g = max(groups, key=lambda k: cpu.get(k, 0))
        limits.append(f"{name[len('ratify: '):].split(' (')[0]}: {groups[g]}")
    return lines + [
        "",
        "In each row the smallest figure is the part that runs out first with the same "
        "number of cores for each role (in this run: " + "; ".join(limits) + ").",
        "",
        f"Request handling and page rendering are the nodes' ({cached['ratify']:.0f} µs for "
        f"a cached page, {page['ratify']:.0f} µs for a page rendered for a logged-in "
        f"member, {w['ratify']:.0f} µs for a sign-up): that part is spread over the nodes "
        "and grows with every machine added. TLS and proxying at nginx "
        f"({us(cached, 'nginx')} µs per cached page, {us(w, 'nginx')} µs per sign-up) "
        "grow with nginx's workers and cores, or with an nginx per machine. What does not "
        "grow is the one PostgreSQL primary. Every write commits there, each commit waits "
        "for its WAL flush on that machine's disk (concurrent commits share a flush), and "
        f"each acknowledged sign-up cost it {w['postgres']:.0f} µs of CPU here: more nodes "
        "raise the sign-up rate only up to the primary's commit rate, one commit at a "
        "time (see above), below what the same disk gives SQLite's group commit. Reads "
        "touch the primary "
        f"too: a rendered page costs it {page['postgres']:.0f} µs (the session and the "
        f"page's queries), and even a cached page {cached['postgres']:.0f} µs, because on "
        "PostgreSQL every cached answer first asks the primary for the data version (one "
        "query, `SELECT last_value FROM ratify_changes`, so that no node serves a page "
        "another node's write made stale), where SQLite reads a counter in its own "
        "process. That round trip is also why a cached page on PostgreSQL is slower than "
        "on SQLite on one machine. So cached reads grow with the nodes until the primary's "
        "cores are busy answering that query; a version pushed to the nodes (LISTEN/NOTIFY) "
        "or checked at most every few milliseconds would take reads off the primary.",
    ]


def write_results(results, compared):
    ref = results[0][1]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` on {now}: {platform.machine()}, {os.cpu_count()} cores "
        f"(load average {os.getloadavg()[0]:.2f} at the end), "
        f"wrk -t{THREADS} -c{CONNECTIONS} -d{DURATION} against 127.0.0.1, each case after a "
        "1 s warm-up. The reference is nginx serving a static file in the same run; compare "
        "the ratio column between runs, not the absolute figures.",
        "",
        "| case | requests/s | p50 ms | p99 ms | ratio to nginx static |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, rps, p50, p99 in results:
        lines.append(f"| {name} | {rps:.0f} | {p50:.2f} | {p99:.2f} | {rps / ref:.2f} |")
    lines += [
        "",
        "Aims (issue 3): the country page at half of nginx's static rate or better, p99 under "
        "10 ms. Pages for visitors who are not logged in come from a per-thread cache that "
        "any write invalidates (src/cache.c); the logged-in rows show the cost of rendering "
        "from the database on every request.",
        "",
        f"The POST rows are durable writes: API sign-ups with a write token, "
        f"{WRITE_CONNECTIONS} connections, each request a new person, membership and "
        "confirmation mail, acknowledged (202) only after its group commit is on disk "
        "(synchronous=FULL), with the default 64 request threads, first with suspended dispatch "
        "(the default: libmicrohttpd's 2 threads move bytes, a request waiting for its commit "
        "is suspended), then with --dispatch block (the request runs, and waits, in one of 64 "
        "libmicrohttpd threads). The fsync rows run with bench/fsync_delay.c preloaded: every "
        "fsync takes 1 ms more, as on a real disk. Aims (issue 9): 10,000 acknowledged writes/s "
        "with p99 <= 20 ms, and 5,000/s with the 1 ms fsync. Every run checks that the "
        "database holds at least as many memberships as were acknowledged.",
        "",
    ]
    start, load_before, snap = OTHERS
    later = others_snapshot()
    others = sum(later[k] - v for k, v in snap.items() if k in later)
    share = others / ((time.monotonic() - start) * os.cpu_count())
    shared = (f"Other processes on the machine used {others:.0f} CPU seconds during the "
              f"{time.monotonic() - start:.0f} s of this run ({share:.0%} of its "
              f"{os.cpu_count()} cores; load average {load_before:.2f} before it started)")
    if share > 0.05:
        shared += ": this run shared the machine (another helper's tests), so compare ratios"
    lines += [
        "## SQLite and PostgreSQL, one and two nodes",
        "",
        "The same run, after the rows above: the cached country page, the same page for a "
        "logged-in member (rendered from the database), an API read and the durable API "
        "sign-up, on SQLite (the rows above, one node) and on PostgreSQL with one node "
        "direct, one node behind nginx and two nodes behind nginx, each on a fresh "
        f"database. {shared}.",
        "",
    ] + compared_table(compared, ref) + [""]
    # Keep the blocks other benchmarks write (bench/import_members.py,
    # `bench/run.py countries`).
    path = ROOT / "bench" / "RESULTS.md"
    old = path.read_text() if path.exists() else ""
    for block in ("import-bench", "countries-bench"):
        start, end = old.find(f"<!-- {block} -->"), old.find(f"<!-- /{block} -->")
        if start >= 0 and end > start:
            lines += ["", old[start:end + len(f"<!-- /{block} -->")], ""]
    path.write_text("\n".join(lines))
    print("wrote bench/RESULTS.md")


def countries_main():
    """`bench/run.py countries`: /countries alone (issue 14), for visitors
    (plain and gzipped) and for a logged-in member (the layout rendered
    around the content from the fragment cache), beside nginx's static rate
    in the same run; into its own block of bench/RESULTS.md."""
    import requests
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="ratify-bench-"))
    db = tmp / "bench.db"
    subprocess.run([BIN, "init", "--db", str(db)], check=True, capture_output=True)
    rport, nport = free_port(), free_port()
    ratify = subprocess.Popen([BIN, "serve", "--db", str(db), "--listen", f"127.0.0.1:{rport}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nginx = start_nginx(tmp, nport)
    base = f"http://127.0.0.1:{rport}"
    gzip = "Accept-Encoding: gzip"
    try:
        wait_for(rport)
        wait_for(nport)
        cookie = login_cookie(db, rport)
        sizes = {}
        for lang in ("en", "es", "ar"):
            plain = requests.get(f"{base}/countries", headers={"Accept-Language": lang,
                                                               "Accept-Encoding": "identity"})
            packed = requests.get(f"{base}/countries", stream=True,
                                  headers={"Accept-Language": lang, "Accept-Encoding": "gzip"})
            sizes[lang] = (len(plain.content), len(packed.raw.read()))
        cases = [
            ("nginx: static style.css (reference)", f"http://127.0.0.1:{nport}/style.css"),
            ("ratify: /countries (visitor, cached page)", f"{base}/countries"),
            ("ratify: /countries (visitor, cached page, gzip)", f"{base}/countries", gzip),
            ("ratify: /countries, logged in (content from the fragment cache)",
             f"{base}/countries", f"Cookie: {cookie}"),
            ("ratify: /countries, logged in (content from the fragment cache, gzip)",
             f"{base}/countries", f"Cookie: {cookie}", gzip),
            ("ratify: /countries?q=ang, logged in (content from the fragment cache)",
             f"{base}/countries?q=ang", f"Cookie: {cookie}"),
        ]
        rows = []
        for name, url, *headers in cases:
            extra = [x for h in headers if h for x in ("-H", h)]
            subprocess.run(["wrk", "-t1", "-c4", "-d1s", *extra, url], capture_output=True)
            out = subprocess.run(["wrk", "-t", str(THREADS), "-c", str(CONNECTIONS), "-d",
                                  DURATION, "--latency", *extra, url], capture_output=True,
                                 text=True, check=True).stdout
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
            lat = {}
            for pct in ("50", "99"):
                m = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
                lat[pct] = to_ms(m.group(1), m.group(2))
            if "Non-2xx" in out:
                sys.exit(f"bench: {url} answered errors")
            rows.append((name, rps, lat["50"], lat["99"]))
            print(f"{name}: {rps:.0f} req/s, p99 {lat['99']:.2f} ms")
    finally:
        ratify.terminate()
        ratify.wait(timeout=20)
        nginx.terminate()
        nginx.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)
    ref = rows[0][1]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    block = [
        "<!-- countries-bench -->",
        "## /countries (issue 14)",
        "",
        f"Written by `bench/run.py countries` on {now}: {os.cpu_count()} cores (load average "
        f"{os.getloadavg()[0]:.2f} at the end), wrk -t{THREADS} -c{CONNECTIONS} -d{DURATION}, "
        "nginx's static file in the same run as the reference. The logged-in rows render the "
        "layout (menu, CSRF token) for the member on every request around the page's content, "
        "which comes from the fragment cache (src/web/cache.h) until the data changes. Aim: "
        "the logged-in page at 0.25x nginx's static rate or better; before the fragment cache "
        "it rendered map, chart and table on every request (766 requests/s, p99 138 ms, 0.01x "
        "in issue 14).",
        "",
        "| case | requests/s | p50 ms | p99 ms | ratio to nginx static |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    block += [f"| {n} | {r:.0f} | {p50:.2f} | {p99:.2f} | {r / ref:.2f} |"
              for n, r, p50, p99 in rows]
    block += ["", "Page size for a visitor (bytes, HTML and gzipped by Ratify):", "",
              "| language | HTML | gzip |", "| --- | ---: | ---: |"]
    block += [f"| {lang} | {a} | {b} |" for lang, (a, b) in sizes.items()]
    block += ["<!-- /countries-bench -->"]
    path = ROOT / "bench" / "RESULTS.md"
    old = path.read_text()
    start, end = old.find("<!-- countries-bench -->"), old.find("<!-- /countries-bench -->")
    text = "\n".join(block)
    if start >= 0 and end > start:
        new = old[:start] + text + old[end + len("<!-- /countries-bench -->"):]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(new)
    print("wrote bench/RESULTS.md")


if __name__ == "__main__":
    if sys.argv[1:] == ["countries"]:
        countries_main()
    else:
        main()
