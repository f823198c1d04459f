"""bench/pgcluster.py: a throw-away PostgreSQL cluster for `make bench`.

Like tests/e2e/ratify_server.py's PostgresCluster (initdb in a temporary
directory, Unix socket only, as the postgres user when run as root), but
durable: fsync, synchronous_commit and full_page_writes are on, as a real
deployment runs them, so that an acknowledged write is on disk as with
SQLite's synchronous=FULL. The test cluster turns them off for speed, which
would make the write figures meaningless.
"""
import glob
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DurableCluster:
    def __init__(self):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise SystemExit("bench: no PostgreSQL server; run scripts/install-deps")
        self.bin = pathlib.Path(found[-1]).parent
        self.version = self.bin.parent.name
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="ratify-bench-pg-"))
        self.as_user = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.dir, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.port = _free_port()  # names the socket file; nothing listens on TCP
        self.data = self.dir / "data"
        self.started = False
        try:
            self._start()
        except BaseException:
            self.stop()  # leave no server or directory behind
            raise

    def _start(self):
        self._run(self.bin / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--locale=C")
        # Two nodes hold up to 64 request threads' connections each, plus
        # their libmicrohttpd threads' and the command line's.
        opts = (f"-k {self.dir} -p {self.port} -c listen_addresses='' "
                "-c max_connections=300 -c fsync=on -c synchronous_commit=on "
                "-c full_page_writes=on")
        self.started = True  # stop() after a failed start stops what did start
        self._run(self.bin / "pg_ctl", "-D", self.data, "-l", self.dir / "server.log",
                  "-o", opts, "-w", "start")

    def _run(self, *cmd, capture=False):
        p = subprocess.run([*self.as_user, *map(str, cmd)], capture_output=True, text=True,
                           cwd=self.dir)
        if p.returncode != 0:
            raise SystemExit(f"bench: {cmd[0]} failed:\n{p.stdout}{p.stderr}")
        return p.stdout

    def url(self, dbname):
        return f"postgresql://postgres@/{dbname}?host={self.dir}&port={self.port}"

    def new_database(self, name):
        self._run(self.bin / "createdb", "-h", self.dir, "-p", self.port, "-U", "postgres", name)
        return self.url(name)

    def query(self, dbname, sql):
        """One value, as text."""
        return self._run(self.bin / "psql", "-h", self.dir, "-p", self.port, "-U", "postgres",
                         "-d", dbname, "-Atc", sql).strip()

    def setting(self, name):
        return self.query("postgres", f"SHOW {name}")

    def serialization_failures(self):
        """How many transactions PostgreSQL has refused so far for a
        serialization failure or a deadlock (its log has an ERROR line for
        each; Ratify runs such a write again)."""
        try:
            text = (self.dir / "server.log").read_text(errors="replace")
        except OSError:
            return 0
        return (text.count("could not serialize access")
                + text.count("ERROR:  deadlock detected"))

    def postmaster_pid(self):
        """The server's main process: every backend is its child."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def stop(self):
        if self.started:
            self.started = False
            subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data),
                            "-m", "fast", "-w", "stop"], capture_output=True, cwd=self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)
