#!/usr/bin/env python3
"""A private PostgreSQL cluster for the tests: started and stopped by the test harness.

Debian's server binaries (/usr/lib/postgresql/<version>/bin) initdb a fresh temporary
folder; the server listens on a Unix socket in that folder only (no TCP), with fsync
on (the crash tests count on durability) and room for a few servers per test with
tests running in parallel. The superuser connects with trust on the socket; one more
role has a password (scram-sha-256) for the tests of url_file / url_env.

initdb and postgres refuse to run as root: as root (CI), they run as Debian's
`postgres` system user and the folder belongs to it; otherwise as the caller.
Clients (psql, the server under test) connect as whoever they are.

    pg_cluster.py start DIR         start a cluster; write DIR/cluster.json (and print it)
    pg_cluster.py stop DIR          stop the cluster DIR/cluster.json names; remove its folder
    pg_cluster.py createdb DIR NAME create a database (owned by the superuser)
    pg_cluster.py bindir            print Debian's server binaries' folder; exit 77 without one

From Python: Cluster.start(info_dir), Cluster.load(info_file), then createdb, dropdb,
psql, url and stop. Standard library only.
"""

import glob
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SKIP = 77                  # ctest's SKIP_RETURN_CODE for the test that reports a missing server
SUPERUSER = "postgres"
PASSWORD_ROLE = "switchboard_pw"
SYSTEM_USER = "postgres"   # Debian's package creates it; the server runs as it when we are root
PORT = 5432                # only names the socket file, which lives in a private folder
INFO_NAME = "cluster.json"


def find_bindir():
    """The newest /usr/lib/postgresql/<version>/bin holding initdb, pg_ctl and postgres."""
    def version(path):
        return [int(n) for n in re.findall(r"\d+", Path(path).parent.name)] or [0]
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if all(os.access(os.path.join(bindir, tool), os.X_OK)
               for tool in ("initdb", "pg_ctl", "postgres", "pg_isready", "psql")):
            return bindir
    return None


def client_env(password=None):
    """The environment for client tools: no PG* variable of the caller's steers them elsewhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGCONNECT_TIMEOUT"] = "10"
    if password is not None:
        env["PGPASSWORD"] = password
    return env


def sql_literal(value):
    """A value as a PostgreSQL literal (standard_conforming_strings is on, the default)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        raise TypeError("booleans are not used by the schema")
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        if "\0" in value:
            raise ValueError("a NUL character cannot be in a PostgreSQL text value")
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, (bytes, bytearray)):
        return "'\\x" + bytes(value).hex() + "'::bytea"
    raise TypeError(f"no SQL literal for {value!r}")


def bind(sql, params):
    """Put params in place of the ? placeholders outside quoted text (sqlite3's style), as
    literals. Comments and dollar quoting are not understood: the tests' SQL has neither."""
    out, params, quote = [], list(params), None
    for ch in sql:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "?":
            if not params:
                raise ValueError(f"more placeholders than parameters in: {sql}")
            out.append(sql_literal(params.pop(0)))
            continue
        out.append(ch)
    if params:
        raise ValueError(f"more parameters than placeholders in: {sql}")
    return "".join(out)


class Cluster:
    def __init__(self, info):
        self.info = info
        self.root = Path(info["root"])
        self.data = Path(info["data"])
        self.socket_dir = info["socket_dir"]
        self.port = info["port"]
        self.superuser = info["superuser"]
        self.password_role = info["password_role"]
        self.password = info["password"]
        self.bindir = info["bindir"]
        self.run_as = info["run_as"]

    # ---- life ----

    @classmethod
    def start(cls, info_dir=None):
        """initdb a fresh temporary folder and start a server on it; with info_dir, write
        info_dir/cluster.json (stopping first a cluster a crashed run left named there)."""
        bindir = find_bindir()
        if bindir is None:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
        if info_dir is not None:
            stale = Path(info_dir) / INFO_NAME
            if stale.exists():
                try:
                    cls.load(stale).stop()
                except (OSError, ValueError, KeyError, subprocess.SubprocessError) as e:
                    print(f"pg_cluster: could not stop the cluster {stale} named: {e}", file=sys.stderr)
                    stale.unlink()
        run_as = SYSTEM_USER if os.geteuid() == 0 else None
        # A short path under /tmp (not $TMPDIR): a socket path has a limit of ~107 bytes, and
        # the system user must be able to reach it (it may not enter a folder under /root).
        root = Path(tempfile.mkdtemp(prefix="switchboard-pg-", dir="/tmp"))
        os.chmod(root, 0o755)  # clients of any user reach the socket; the data stays 0700
        info = {"root": str(root), "data": str(root / "data"), "socket_dir": str(root),
                "port": PORT, "superuser": SUPERUSER, "password_role": PASSWORD_ROLE,
                "password": secrets.token_hex(16), "bindir": bindir, "run_as": run_as}
        cluster = cls(info)
        try:
            if run_as:
                shutil.chown(root, user=run_as, group=run_as)
            cluster._initdb()
            cluster._launch()
            cluster.psql(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD "
                         f"{sql_literal(info['password'])}")
        except BaseException:
            cluster.stop()
            raise
        if info_dir is not None:
            Path(info_dir).mkdir(parents=True, exist_ok=True)
            path = Path(info_dir) / INFO_NAME
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds a password
            with os.fdopen(fd, "w") as f:
                json.dump(info, f, indent=2)
                f.write("\n")
        return cluster

    @classmethod
    def load(cls, info_file):
        return cls(json.loads(Path(info_file).read_text()))

    def _as_owner(self, argv):
        """argv run as the cluster's owner (Debian's postgres user when we are root)."""
        if not self.run_as:
            return argv
        if shutil.which("runuser"):
            return ["runuser", "-u", self.run_as, "--", *argv]
        return ["setpriv", f"--reuid={self.run_as}", f"--regid={self.run_as}", "--init-groups",
                "--", *argv]

    def _run_owner(self, argv, what):
        p = subprocess.run(self._as_owner(argv), cwd=self.root, env=client_env(),
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError(f"{what} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
        return p

    def _initdb(self):
        self._run_owner([os.path.join(self.bindir, "initdb"), "-D", str(self.data),
                         "-U", self.superuser, "--encoding=UTF8", "--no-locale",
                         "--auth=trust", "--no-sync"], "initdb")
        settings = {
            "listen_addresses": "''",                     # no TCP: the socket below only
            "unix_socket_directories": f"'{self.socket_dir}'",
            "port": str(self.port),
            "fsync": "on",                                # the crash tests count on durability
            "synchronous_commit": "on",
            "full_page_writes": "on",
            "max_connections": "200",                     # ~2 servers a test, tests in parallel
            "shared_buffers": "32MB",
            "password_encryption": "'scram-sha-256'",
            "log_min_messages": "warning",
        }
        with open(self.data / "postgresql.conf", "a") as f:
            f.write("\n# tests/pg/pg_cluster.py\n")
            f.writelines(f"{key} = {value}\n" for key, value in settings.items())
        # pg_hba.conf is read by the owner only; as root, write it and hand it back.
        hba = self.data / "pg_hba.conf"
        hba.write_text("# tests/pg/pg_cluster.py: the Unix socket only\n"
                       f"local all {self.superuser} trust\n"
                       "local all all scram-sha-256\n")
        if self.run_as:
            shutil.chown(hba, user=self.run_as, group=self.run_as)

    def _launch(self):
        # pg_ctl -w returns once the server reports itself ready (or gave up: the log says why).
        try:
            self._run_owner([os.path.join(self.bindir, "pg_ctl"), "-D", str(self.data), "-l",
                             str(self.root / "postgres.log"), "-w", "-t", "60", "start"],
                            "pg_ctl start")
        except RuntimeError as e:
            raise RuntimeError(f"{e}\n{self.log_tail()}") from None
        deadline = time.monotonic() + 30
        while True:
            # And a client gets in: pg_isready exits 0 once connections are accepted.
            ready = subprocess.run([os.path.join(self.bindir, "pg_isready"), "-q",
                                    "-h", self.socket_dir, "-p", str(self.port),
                                    "-U", self.superuser, "-d", "postgres"], env=client_env())
            if ready.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not accept connections within 30 s:\n"
                                   + self.log_tail())
            time.sleep(0.05)   # the interval between two polls

    def log_tail(self, lines=30):
        try:
            return "\n".join((self.root / "postgres.log").read_text().splitlines()[-lines:])
        except OSError as e:
            return f"(no log: {e})"

    def stop(self):
        """Stop the server (fast: open sessions are ended) and remove the folder."""
        if (self.data / "postmaster.pid").exists():
            subprocess.run(self._as_owner([os.path.join(self.bindir, "pg_ctl"), "-D",
                                           str(self.data), "-m", "fast", "-w", "-t", "60", "stop"]),
                           cwd="/", env=client_env(), capture_output=True, timeout=90)
        shutil.rmtree(self.root, ignore_errors=True)

    # ---- clients ----

    def psql(self, sql, database="postgres", user=None, password=None, timeout=120):
        """Run sql (one or more statements, stopping at the first error) and return what
        psql printed: unaligned, tuples only, one row a line."""
        argv = [os.path.join(self.bindir, "psql"), "-X", "-q", "-w", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                "-h", self.socket_dir, "-p", str(self.port), "-U", user or self.superuser,
                "-d", database, "-f", "-"]
        p = subprocess.run(argv, input=sql, capture_output=True, text=True, timeout=timeout,
                           env=client_env(password))
        if p.returncode != 0:
            raise RuntimeError(f"psql on {database} failed ({p.returncode}): {p.stderr.strip()}")
        return p.stdout

    def createdb(self, name, owner=None):
        owner_clause = f" OWNER {quote_ident(owner)}" if owner else ""
        self.psql(f"CREATE DATABASE {quote_ident(name)}{owner_clause}")

    def dropdb(self, name):
        self.psql(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")

    def dump(self, database):
        """The database's rows as pg_dump writes them (bytes)."""
        p = subprocess.run([os.path.join(self.bindir, "pg_dump"), "--data-only", "-w",
                            "-h", self.socket_dir, "-p", str(self.port), "-U", self.superuser,
                            "-d", database], capture_output=True, timeout=120, env=client_env())
        if p.returncode != 0:
            raise RuntimeError(f"pg_dump of {database} failed ({p.returncode}): "
                               f"{p.stderr.decode(errors='replace').strip()}")
        return p.stdout

    def url(self, database, user=None):
        """A libpq URL for a database on this cluster, through the socket."""
        return (f"postgresql:///{database}?host={self.socket_dir}&port={self.port}"
                f"&user={user or self.superuser}")


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def main(argv):
    usage = "usage: pg_cluster.py start DIR | stop DIR | createdb DIR NAME | bindir"
    if not argv:
        print(usage, file=sys.stderr)
        return 2
    command, args = argv[0], argv[1:]
    if command == "bindir" and not args:
        bindir = find_bindir()
        if bindir is None:
            print("skipped: no PostgreSQL (Debian's postgresql package: ./dev installs it)")
            return SKIP
        print(bindir)
        return 0
    if command == "start" and len(args) == 1:
        Cluster.start(args[0])
        path = Path(args[0]) / INFO_NAME
        print(f"PostgreSQL cluster started: {path}")
        print(path.read_text(), end="")
        return 0
    if command == "stop" and len(args) == 1:
        path = Path(args[0]) / INFO_NAME
        if not path.exists():
            print(f"no cluster: {path} does not exist")
            return 0
        Cluster.load(path).stop()
        path.unlink()
        print(f"PostgreSQL cluster stopped: {path}")
        return 0
    if command == "createdb" and len(args) == 2:
        Cluster.load(Path(args[0]) / INFO_NAME).createdb(args[1])
        return 0
    print(usage, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
