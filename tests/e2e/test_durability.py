"""
Durability (issue 9): a write acknowledged to a user is on disk. Clients
sign people up through the API as fast as they can; the server is killed
with SIGKILL in the middle of the storm, started again on the same
database, and every sign-up that was answered 202 must be there, with
`ratify check` clean. Repeated over several trials, each killing at a
different moment.
"""

import os
import random
import signal
import threading
import time

import requests

from ratify_server import HTTP_TIMEOUT, SANITIZED

TRIALS = 3 if SANITIZED else 8
CLIENTS = 16


def storm(base_url, token, prefix, acknowledged, stop):
    """One client: sign-ups one after another until stop is set; records
    the addresses answered 202."""
    s = requests.Session()
    s.trust_env = False
    n = 0
    while not stop.is_set():
        n += 1
        email = f"{prefix}-{n}@durable.example.org"
        try:
            r = s.post(f"{base_url}/api/v1/memberships", timeout=HTTP_TIMEOUT,
                       headers={"Authorization": f"Bearer {token}"},
                       json={"name": f"Durable {prefix} {n}", "email": email, "country": "ARG",
                             "consent_store": True, "not_government": True})
        except requests.RequestException:
            return  # the server is gone: what was answered before counts
        if r.status_code == 202:
            acknowledged.append(email)
        else:
            assert r.status_code == 202, (r.status_code, r.text[:300])


def people(server, token):
    """Every person's email, through the API (paged)."""
    c = server.client()
    found, page = set(), 1
    while True:
        r = c.get("/api/v1/people", params={"page": page, "per_page": 100},
                  headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text[:300]
        items = r.json()["items"]
        found.update(p["email"] for p in items)
        if len(items) < 100:
            return found
        page += 1


def test_no_acknowledged_write_is_lost_to_sigkill(fresh_server):
    server = fresh_server
    token = server.cli("token", "add", "storm", "--scope", "write").stdout.split()[-1]
    acknowledged = []
    rng = random.Random(int(os.environ.get("DURABILITY_SEED", "9")))
    for trial in range(TRIALS):
        stop = threading.Event()
        threads = [threading.Thread(target=storm, args=(server.base_url, token,
                                                        f"t{trial}c{i}", acknowledged, stop))
                   for i in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(0.3 + rng.random())
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait()
        stop.set()
        for t in threads:
            t.join()
        check = server.cli("check")
        assert check.returncode == 0, check.stderr
        server.respawn()
    assert len(acknowledged) > 100 * TRIALS, f"only {len(acknowledged)} sign-ups: no storm"
    missing = set(acknowledged) - people(server, token)
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged sign-ups lost"
