"""
Several nodes: two `ratify serve` processes on one PostgreSQL database,
behind nginx with deploy/nginx.conf and the upstream block of
deploy/nginx-nodes.conf (tests/e2e/test_nginx.py renders both).

Whatever RATIFY_TEST_ENGINE says, these tests run on PostgreSQL: several
nodes need a database server. They check what a coalition running Ratify
on several machines relies on: a login made through one node holds on the
other (sessions, CSRF tokens, login throttling), a file uploaded to one
node is imported by the other, a page cached by one node is not served
after the other's write,
each queued message goes out exactly once with both nodes sending, the
hourly jobs run once for both, a restart of PostgreSQL is survived, and
killing one node does not interrupt the service.
"""

import re
import signal
import threading
import time
from types import SimpleNamespace

import pytest

from ratify_server import (
    Client,
    RatifyServer,
    free_port,
    postgres_cluster,
    scrape_csrf,
    unique_email,
)
from smtp_capture import SmtpCapture
from test_member_io import Forms
from test_nginx import Nginx, make_certificate

MESSAGES = 40


class Node(RatifyServer):
    """A server on a database another node made."""

    def __init__(self, workdir, db, serve_args):
        super().__init__(workdir, serve_args=serve_args)
        self.db = db

    def start_without_init(self):
        self.respawn()
        return self


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    work = tmp_path_factory.mktemp("nodes")
    db = postgres_cluster().new_database()
    smtp = SmtpCapture(work / "smtp").start()
    https_port = free_port()
    # Not --behind-proxy: the tests also talk to each node directly, over
    # plain HTTP, which a proxied node's secure-only cookies would not allow.
    args = ["--smtp", smtp.url, "--mail-from", "ratify@example.org"]
    a = Node(work / "a", db, args).start()
    b = Node(work / "b", db, args).start_without_init()
    proxy = Nginx(work / "nginx", a.port, *make_certificate(work), https_port=https_port,
                  nodes=[a.port, b.port])
    proxy.start()
    try:
        yield SimpleNamespace(a=a, b=b, nginx=proxy, smtp=smtp)
    finally:
        proxy.stop()
        for node in (a, b):
            if node.proc and node.proc.poll() is None:
                node.stop_and_check()
        smtp.stop()


def client_of(node, cookies):
    c = Client(node.base_url)
    c.cookies.update(cookies)
    return c


def test_a_login_through_one_node_holds_on_the_other(nodes):
    user = nodes.a.member()
    on_a = nodes.a.login_user(user)
    on_b = client_of(nodes.b, on_a.cookies)
    page = on_b.get("/account")
    assert page.status_code == 200 and user.email in page.text
    # The CSRF token node A gave is good on node B: log out there ...
    token = scrape_csrf(on_a.get("/account").text)
    r = on_b.post("/logout", data={"csrf_token": token})
    assert r.status_code == 303
    # ... and the session is gone for node A too.
    r = on_a.get("/account")
    assert r.status_code == 303 and r.headers["Location"].startswith("/login")


def test_login_throttling_counts_the_failures_on_every_node(nodes):
    user = nodes.a.member()
    for i in range(5):
        node = (nodes.a, nodes.b)[i % 2]
        c = Client(node.base_url)
        r = c.post("/login", data={"email": user.email, "password": f"wrong {i}",
                                   "csrf_token": c.csrf("/login")})
        assert r.status_code == 400, f"attempt {i + 1} on node {'ab'[i % 2]}: {r.status_code}"
    # The sixth attempt, with the right password, on either node: refused.
    for node in (nodes.a, nodes.b):
        c = Client(node.base_url)
        r = c.post("/login", data={"email": user.email, "password": user.password,
                                   "csrf_token": c.csrf("/login")})
        assert r.status_code == 429


def test_a_file_uploaded_to_one_node_is_imported_by_the_other(nodes):
    admin_a = nodes.a.login_user(nodes.a.member("admin"))
    admin_b = client_of(nodes.b, admin_a.cookies)
    rows = [f"Node Import {i},ni{i}@nodes.example.org,ARG,individual" for i in range(30)]
    data = ("name,email,country,kind\r\n" + "\r\n".join(rows) + "\r\n").encode()
    token = scrape_csrf(admin_a.get("/admin/members/import").text)
    r = admin_a.post("/admin/members/import", files={
        "csrf_token": (None, token), "step": (None, "map"), "on_duplicate": (None, "skip"),
        "file": ("nodes.csv", data, "text/csv")})
    assert r.status_code == 200, r.text[:2000]
    # The next steps go to node B, which finds the file in the database.
    mapping = Forms(r.text).with_step("preview")
    r = admin_b.post("/admin/members/import", files={k: (None, v) for k, v in mapping.items()})
    assert r.status_code == 200 and "<strong>30</strong> to create" in r.text, r.text[:2000]
    apply = Forms(r.text).with_step("apply")
    r = admin_b.post("/admin/members/import", files={k: (None, v) for k, v in apply.items()})
    assert r.status_code == 303, r.text[:2000]
    for _ in range(20):
        if "30 of 30 rows" in admin_a.get(r.headers["Location"]).text:
            break
        time.sleep(0.2)
    assert nodes.a.scalar("SELECT count(*) FROM people "
                          "WHERE email LIKE '%@nodes.example.org'") == 30


def test_no_node_serves_a_cached_page_after_another_nodes_write(nodes):
    anon_b = Client(nodes.b.base_url)
    before = anon_b.get("/countries").text
    assert anon_b.get("/countries").text == before  # cached on node B now
    admin = nodes.a.login_user(nodes.a.member("admin"))
    token = scrape_csrf(admin.get("/countries/AGO").text)
    r = admin.post("/countries/AGO/actions",
                   data={"csrf_token": token, "instrument": "op-icescr",
                         "kind": "ratification", "date": "2026-11-01",
                         "source_url": "https://treaties.un.org/"})
    assert r.status_code == 303
    after_b = anon_b.get("/countries").text
    assert after_b != before
    assert after_b == Client(nodes.a.base_url).get("/countries").text


def test_each_queued_message_goes_out_once_with_both_nodes_sending(nodes):
    start = len(nodes.smtp.messages)
    subjects = [f"Node test {i}" for i in range(MESSAGES)]
    for i, subject in enumerate(subjects):
        p = nodes.a.cli("mail", "send", "--to", f"n{i}@example.org", "--subject", subject,
                        input="One message, one delivery.\n")
        assert p.returncode == 0, p.stderr
    nodes.smtp.wait_for(start + MESSAGES, timeout=60)
    time.sleep(3)  # a second delivery would come within the senders' polling
    got = [m.msg["Subject"] for m in nodes.smtp.messages[start:]]
    assert sorted(got) == sorted(subjects)
    # Each node logs the messages it sent: together, each of them once.
    sent = [line for node in (nodes.a, nodes.b) for line in node.log().splitlines()
            if re.search(r" mail \d+ sent$", line)]
    ids = [line.split(" mail ")[1] for line in sent]
    assert len(ids) == len(set(ids)) >= MESSAGES


def test_the_hourly_jobs_run_once_for_both_nodes(nodes):
    # Node A ran the pass when it started; node B, started just after,
    # found it done within the hour and skipped its own.
    assert nodes.a.log().count("housekeeping: pass done") == 1
    assert "housekeeping: pass done" not in nodes.b.log()
    assert "by this or another node" in nodes.b.log()


def test_nodes_connect_again_after_postgresql_restarts(nodes):
    c = nodes.b.login_user(nodes.b.member())
    assert c.get("/account").status_code == 200
    postgres_cluster().restart()  # every connection of both nodes is closed
    # The next requests find their connections broken and open new ones.
    assert c.get("/account").status_code == 200
    assert Client(nodes.b.base_url).get("/api/v1/countries/ARG").status_code == 200
    assert "connected again" in nodes.b.log()


def test_killing_one_node_mid_load_does_not_interrupt_the_service(nodes):
    through_nginx = nodes.nginx.client()
    statuses, stop = [], threading.Event()

    def load():
        c = nodes.nginx.client()
        while not stop.is_set():
            statuses.append(c.get("/api/v1/countries/ARG").status_code)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1)
    nodes.a.proc.send_signal(signal.SIGKILL)
    nodes.a.proc.wait()
    time.sleep(2)
    stop.set()
    for t in threads:
        t.join()
    assert len(statuses) > 50
    assert set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
    # Logging in (a POST) goes to the node that is left.
    user = nodes.b.member()
    c = nodes.b.login(user.email, user.password, client=through_nginx)
    assert c.get("/account").status_code == 200
