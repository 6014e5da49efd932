"""Integration harness: runs the real switchboard binary on a free loopback port.

A test writes a configuration (plugins, fake Intercom URLs, small timeouts),
starts the server, waits until /healthz answers, and talks HTTP to it. The
server's log is captured line by line so tests can wait for, and assert on,
what it reported. Nothing here sleeps to let things happen: waits poll a
condition with a deadline.

Storage: SQLite (the data folder's switchboard.db) unless SWITCHBOARD_TEST_STORAGE is
"postgresql": then each Server gets a fresh database of the cluster that
SWITCHBOARD_TEST_PG (a cluster.json written by tests/pg/pg_cluster.py) names, or of a
private cluster started for this process. Tests reach the store through Server.db_rows,
db_execute and db_execute_many, which take sqlite3's SQL with ? placeholders on both.
"""

import atexit
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("SWITCHBOARD_BUILD", REPO / "build"))
BIN = Path(os.environ.get("SWITCHBOARD_BIN", BUILD / "switchboard"))
TEST_PLUGIN_DIR = Path(os.environ.get("SWITCHBOARD_TEST_PLUGINS", BUILD / "tests" / "plugins"))
BUNDLED_PLUGIN_DIR = Path(os.environ.get("SWITCHBOARD_PLUGIN_DIR", BUILD / "plugins"))

sys.path.insert(0, str(REPO / "tests" / "fake_intercom"))
sys.path.insert(0, str(REPO / "tests" / "pg"))

STORAGE = os.environ.get("SWITCHBOARD_TEST_STORAGE", "sqlite")
if STORAGE not in ("sqlite", "postgresql"):
    raise SystemExit(f"SWITCHBOARD_TEST_STORAGE={STORAGE!r}: sqlite or postgresql")

import pg_cluster  # noqa: E402  (tests/pg, on the path above)

_cluster = None


def cluster():
    """The PostgreSQL cluster of this run: the one SWITCHBOARD_TEST_PG names (ctest's
    pg_start), else one started for this process and stopped at its exit."""
    global _cluster
    if _cluster is None:
        info = os.environ.get("SWITCHBOARD_TEST_PG")
        if info:
            _cluster = pg_cluster.Cluster.load(info)
        else:
            _cluster = pg_cluster.Cluster.start()
            atexit.register(_cluster.stop)
    return _cluster


class _Pairs(list):
    """A JSON object as psql printed it, its keys in order (duplicates kept)."""


def _plain(value):
    if isinstance(value, _Pairs):
        return {key: _plain(item) for key, item in value}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _json_row(line, types):
    """One row_to_json line as a tuple, in the query's column order; bytea (which JSON
    carries as "\\x" and hex) as bytes, as sqlite3 gives a BLOB."""
    values = [_plain(value) for _, value in json.loads(line, object_pairs_hook=_Pairs)]
    return tuple(bytes.fromhex(value[2:]) if kind == "bytea" and value is not None else value
                 for value, kind in zip(values, types))


def sdk_header_version():
    """(SB_SDK_VERSION, "major.minor") as the SDK header states them: the one source of both."""
    text = (REPO / "sdk" / "include" / "switchboard" / "switchboard.h").read_text()
    release = re.search(r'^#define SB_SDK_VERSION "([^"]+)"', text, re.M).group(1)
    major = re.search(r"^#define SB_ABI_MAJOR (\d+)", text, re.M).group(1)
    minor = re.search(r"^#define SB_ABI_MINOR (\d+)", text, re.M).group(1)
    return release, f"{major}.{minor}"


CLIENT_ID = "test-client"
CLIENT_SECRET = "test-secret"
API_KEY = "test-api-key"


class LibconfigList(list):
    """A libconfig list, ( ... ): unlike an array ([ ... ], a Python list) it may hold groups."""


def libconfig(value, indent=1):
    """Render a Python value as libconfig text."""
    pad = "  " * indent
    if isinstance(value, LibconfigList):
        return "(" + ", ".join(libconfig(v, indent) for v in value) + ")"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(libconfig(v, indent) for v in value) + "]"
    if isinstance(value, dict):
        lines = ["{"]
        for key, item in value.items():
            lines.append(f"{pad}{key} = {libconfig(item, indent + 1)};")
        lines.append("  " * (indent - 1) + "}")
        return "\n".join(lines)
    raise TypeError(f"cannot render {value!r}")


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode()) if self.body else None

    @property
    def text(self):
        return self.body.decode(errors="replace")

    def header(self, name):
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def __repr__(self):
        return f"<Response {self.status} {self.body[:200]!r}>"


def metric(text, name):
    """The value of one sample in a Prometheus text page."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"metric {name} not found")


def prometheus_text_parser():
    """The Prometheus project's parser of its text format (Debian's python3-prometheus-client:
    text_string_to_metric_families), or None. Debian installs it for its own python3; a run
    under another interpreter finds it there too."""
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        debian = "/usr/lib/python3/dist-packages"
        if not os.path.isdir(debian) or debian in sys.path:
            return None
        sys.path.append(debian)
        try:
            from prometheus_client.parser import text_string_to_metric_families
        except ImportError:
            return None
    return text_string_to_metric_families


def wait_for(predicate, timeout=10.0, interval=0.02, message="condition"):
    """Poll predicate until it returns a truthy value; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def sign_webhook(body: bytes, secret=CLIENT_SECRET):
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def sign_canvas(body: bytes, secret=CLIENT_SECRET):
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Server:
    """One switchboard process with its own data folder."""

    DB_FILE = "data/switchboard.db"   # SQLite's, relative to the workdir

    def __init__(self, plugins=None, intercom=None, settings=None, workdir=None, plugin_dir=None,
                 database=None):
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="switchboard-it-"))
        self.owns_workdir = workdir is None
        self.storage = STORAGE
        if database is not None and self.storage != "postgresql":
            raise ValueError("a shared database needs SWITCHBOARD_TEST_STORAGE=postgresql")
        # PostgreSQL: the database's name; a fresh one is made on first use unless given
        # one (another Server's, to share it), and dropped by close() if made here.
        self.database = database
        self.owns_database = database is None
        self.plugins = plugins if plugins is not None else {}
        self.intercom = intercom
        self.settings = settings or {}
        self.plugin_dir = Path(plugin_dir or TEST_PLUGIN_DIR)
        self.proc = None
        self.port = None
        self.killed = False
        self.lines = []
        self.lines_lock = threading.Condition()
        self.config_path = self.workdir / "switchboard.conf"
        self.admin_token = "admin-" + os.urandom(8).hex()
        (self.workdir / "admin.token").write_text(self.admin_token + "\n")
        os.chmod(self.workdir / "admin.token", 0o600)

    # ---- configuration ----

    def base_config(self):
        cfg = {
            "server": {
                "listen": "127.0.0.1:0",
                "public_url": "http://127.0.0.1:1",  # replaced once the port is known
                "header_timeout_s": 2,
                "body_timeout_s": 2,
                "keepalive_timeout_s": 5,
                "canvas_deadline_ms": 1000,
                "api_deadline_ms": 5000,
            },
            "log": {"level": "info"},
            "storage": self.storage_config(),
            "security": {"key_file": "data/secret.key", "admin_token_file": "admin.token"},
            "jobs": {"backoff_base_s": 1, "backoff_cap_s": 2, "max_attempts": 3},
            "plugin_dir": str(self.plugin_dir),
        }
        if self.intercom is not None:
            cfg["intercom"] = {
                "oauth_url": self.intercom.oauth_url,
                "token_url": self.intercom.token_url,
                "api_url": {r: self.intercom.base_url(r) for r in ("US", "EU", "AU")},
                "request_timeout_s": 5,
                "retry_base_ms": 100,  # five attempts fit well inside api_deadline_ms
                "retry_cap_ms": 1000,
            }
        for group, values in self.settings.items():
            cfg.setdefault(group, {}).update(values)
        return cfg

    def storage_config(self):
        if self.storage == "postgresql":
            if self.database is None:
                self.database = "switchboard_it_" + os.urandom(6).hex()
                cluster().createdb(self.database)
            return {"driver": "postgresql", "url": cluster().url(self.database)}
        return {"path": self.DB_FILE}

    def write_config(self, public_port=None):
        cfg = self.base_config()
        if public_port:
            cfg["server"]["public_url"] = f"http://127.0.0.1:{public_port}"
        text = ["# written by tests/integration/harness.py"]
        for key, value in cfg.items():
            if isinstance(value, dict):
                text.append(f"{key}: {libconfig(value)};")
            else:
                text.append(f"{key} = {libconfig(value)};")
        text.append("plugins: {")
        for name, pcfg in self.plugins.items():
            text.append(f"  {name}: {libconfig(pcfg, 2)};")
        text.append("};")
        self.config_path.write_text("\n".join(text) + "\n")

    @staticmethod
    def plugin_config(settings=None, options=None, credentials=True, **extra):
        cfg = {}
        if credentials:
            cfg.update(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, api_key=API_KEY)
        cfg.update(extra)
        if settings:
            cfg["settings"] = settings
        if options:
            cfg["options"] = options
        return cfg

    # ---- process ----

    def _read_log(self, stream):
        with stream:  # closed at EOF, when the process is gone
            for raw in stream:
                line = raw.decode(errors="replace").rstrip("\n")
                if os.environ.get("SWITCHBOARD_TEST_VERBOSE"):
                    print("   [server]", line, file=sys.stderr)
                with self.lines_lock:
                    self.lines.append(line)
                    self.lines_lock.notify_all()

    def start(self, args=(), expect_ready=True):
        """Start the server; return once /healthz answers.

        The port is chosen here (and kept across restarts) so that the
        configured public_url matches it.
        """
        for _ in range(5):
            port = self.port or free_port()
            self.write_config(public_port=port)
            since = len(self.lines)
            self.proc = subprocess.Popen(
                [str(BIN), "-c", str(self.config_path), "--listen", f"127.0.0.1:{port}", *args],
                stdout=subprocess.DEVNULL,  # the server logs to stderr only
                stderr=subprocess.PIPE,
                cwd=self.workdir,
            )
            self.log_reader = threading.Thread(target=self._read_log, args=(self.proc.stderr,),
                                               daemon=True)
            self.log_reader.start()
            if not expect_ready:
                return self
            try:
                self.wait_log(r"listening on http://127\.0\.0\.1:(\d+)", timeout=15, since=since)
            except AssertionError:
                if self.port is None and "Address already in use" in self.log_text():
                    continue  # lost a race for the port: pick another
                raise
            self.port = port
            wait_for(self._healthy, timeout=10, message="/healthz")
            return self
        raise AssertionError("could not find a free port")

    def _healthy(self):
        try:
            return self.request("GET", "/healthz", timeout=1).status == 200
        except OSError:
            return False

    def _drain_log(self):
        """Once the process is gone, wait for the reader to take its last lines
        (they are still in the pipe when wait() returns)."""
        reader = getattr(self, "log_reader", None)
        if reader is not None:
            reader.join(timeout=10)

    def wait_exit(self, timeout=15):
        code = self.proc.wait(timeout=timeout)
        self._drain_log()
        return code

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self._drain_log()
        return self.proc.returncode if self.proc else None

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._drain_log()
        self.killed = True

    def restart(self, args=()):
        self.stop()
        return self.start(args=args)

    def run_once(self, args, timeout=30):
        """Run the binary with this server's configuration and return (code, stdout, stderr)."""
        self.write_config(public_port=self.port or 1)
        p = subprocess.run([str(BIN), "-c", str(self.config_path), *args], capture_output=True,
                           timeout=timeout, cwd=self.workdir)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def close(self):
        code = self.stop()
        keep = os.environ.get("SWITCHBOARD_TEST_KEEP")
        if self.owns_workdir and not keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if self.storage == "postgresql" and self.owns_database and self.database and not keep:
            cluster().dropdb(self.database)
        return code

    # ---- the store, from outside (sqlite3's SQL and ? placeholders on both engines) ----

    @property
    def db_path(self):
        return self.workdir / self.DB_FILE

    def _psql(self, sql):
        return cluster().psql(sql, database=self.database)

    def db_rows(self, sql, params=()):
        """The rows of a query, as a list of tuples: through the sqlite3 module on SQLite,
        through psql on PostgreSQL (each row as row_to_json, so types and NULLs survive)."""
        if self.storage == "postgresql":
            query = pg_cluster.bind(sql, params).rstrip().rstrip(";")
            # \gdesc first: the columns' types ("name|type" lines), then the rows.
            marker = "-- rows " + os.urandom(8).hex()
            out = self._psql(f"{query} \\gdesc\n\\echo '{marker}'\n"
                             f"SELECT row_to_json(q) FROM ({query}) q;\n")
            described, rows = out.split(marker + "\n", 1)
            types = [line.rsplit("|", 1)[1] for line in described.splitlines() if line]
            return [_json_row(line, types) for line in rows.splitlines() if line]
        db = sqlite3.connect(self.db_path, timeout=10)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    def db_execute(self, sql, params=()):
        """Run one statement and commit it."""
        self.db_execute_many(sql, [params])

    def db_execute_many(self, sql, rows):
        """Run a statement once for each row of parameters, in one transaction."""
        if self.storage == "postgresql":
            self._psql("BEGIN;\n" + "".join(pg_cluster.bind(sql, params) + ";\n" for params in rows)
                       + "COMMIT;\n")
            return
        db = sqlite3.connect(self.db_path, timeout=10)
        try:
            with db:
                db.executemany(sql, rows)
        finally:
            db.close()

    def db_dump(self):
        """What the store keeps at rest, as bytes: SQLite's files (the database, its WAL),
        or the database's rows as pg_dump writes them."""
        if self.storage == "postgresql":
            return cluster().dump(self.database)
        return b"".join(path.read_bytes() for path in sorted(self.db_path.parent.iterdir())
                        if path.name.startswith(self.db_path.name))

    def refuse_in_store(self, head, when=None):
        """Make the server's store refuse some writes, as a full disk or a broken file
        would: `head` is a row trigger's head ("BEFORE INSERT ON events"), `when` its
        condition on NEW/OLD. Returns a function that lifts the refusal."""
        return self._store_trigger(head, when, {"sqlite": "SELECT RAISE(ABORT, 'refused by the test');",
                                                "postgresql": "RAISE EXCEPTION 'refused by the test';"})

    def fail_commits_in_store(self, head, when=None):
        """Make the server's commits fail (the statements themselves succeed) when a
        transaction fires the row trigger `head` (`when` its condition): it breaks a
        deferred foreign key, which both engines check at COMMIT. Returns a function
        that lifts it."""
        broken = "INSERT INTO test_broken VALUES (42);"
        return self._store_trigger(
            head, when, {"sqlite": broken, "postgresql": broken},
            "CREATE TABLE IF NOT EXISTS test_target (id INTEGER PRIMARY KEY);"
            "CREATE TABLE IF NOT EXISTS test_broken (target INTEGER REFERENCES test_target (id)"
            " DEFERRABLE INITIALLY DEFERRED);")

    def _store_trigger(self, head, when, bodies, setup=""):
        if self.storage == "postgresql":
            # A row trigger runs a function there; DROP TRIGGER names the table.
            table = re.search(r"\bON\s+(\w+)", head).group(1)
            condition = f" WHEN ({when})" if when else ""
            self._psql(f"{setup}"
                       "CREATE FUNCTION test_trigger_fn() RETURNS trigger LANGUAGE plpgsql AS $fn$"
                       f" BEGIN {bodies['postgresql']}"
                       " IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $fn$;"
                       f"CREATE TRIGGER test_trigger {head} FOR EACH ROW{condition}"
                       " EXECUTE FUNCTION test_trigger_fn();")

            def lift():
                self._psql(f"DROP TRIGGER test_trigger ON {table}; DROP FUNCTION test_trigger_fn();")
            return lift
        db = sqlite3.connect(self.db_path, isolation_level=None)
        condition = f" WHEN {when}" if when else ""
        db.executescript(f"{setup} CREATE TRIGGER test_trigger {head}{condition}"
                         f" BEGIN {bodies['sqlite']} END;")

        def lift():
            db.execute("DROP TRIGGER test_trigger")
            db.close()
        return lift

    # ---- logs ----

    def log_text(self):
        with self.lines_lock:
            return "\n".join(self.lines)

    def wait_log(self, pattern, timeout=10.0, since=0):
        """Wait for a log line matching pattern (searched from line `since`)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.lines_lock:
            while True:
                for line in self.lines[since:]:
                    m = regex.search(line)
                    if m:
                        return m
                now = time.monotonic()
                if self.proc and self.proc.poll() is not None:
                    deadline = min(deadline, now + 0.5)  # exited: only its last lines can come
                if now >= deadline:
                    raise AssertionError(
                        f"log line /{pattern}/ not seen; log was:\n" + "\n".join(self.lines[-40:]))
                self.lines_lock.wait(min(deadline - now, 0.2))

    # ---- HTTP ----

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    # The client's patience, not a measure: a sanitizer build on a loaded two-core machine
    # can take seconds to answer a large page, and a slow answer is not what these tests check.
    def request(self, method, path, body=None, headers=None, json_body=None, timeout=30):
        headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return Response(resp.status, resp.getheaders(), resp.read())
        finally:
            conn.close()

    def admin(self, method, path, json_body=None, token=None):
        return self.request(method, "/admin" + path, json_body=json_body,
                            headers={"Authorization": f"Bearer {token or self.admin_token}"})

    def api(self, plugin, method, path, json_body=None, workspace=None, body=None, headers=None,
            key=API_KEY):
        headers = dict(headers or {})
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if workspace:
            sep = "&" if "?" in path else "?"
            path = f"{path}{sep}workspace_id={urllib.parse.quote(workspace)}"
        return self.request(method, f"/api/{plugin}{path}", json_body=json_body, body=body,
                            headers=headers)

    def docs(self, plugin, collection, workspace, **query):
        qs = ("&" + urllib.parse.urlencode(query)) if query else ""
        r = self.api(plugin, "GET", f"/docs/{collection}?x=1{qs}", workspace=workspace)
        assert r.status == 200, r
        return r.json()["documents"]

    # ---- Intercom-facing flows ----

    def install(self, plugin, workspace_id, admin_id=None):
        """Run the OAuth install as a browser would, against the fake Intercom."""
        fake = self.intercom
        fake.authorize_as(workspace_id, admin_id=admin_id)
        start = self.request("GET", f"/oauth/{plugin}/install")
        assert start.status == 302, start
        authorize = start.header("Location")
        back = http_get_no_redirect(authorize)
        assert back.status == 302, back
        callback = urllib.parse.urlsplit(back.header("Location"))
        page = self.request("GET", f"{callback.path}?{callback.query}")
        return page

    def installation(self, plugin, workspace_id):
        r = self.admin("GET", f"/installations?plugin={plugin}")
        for inst in r.json()["installations"]:
            if inst["workspace_id"] == workspace_id:
                return inst
        return None

    def webhook(self, plugin, envelope, secret=CLIENT_SECRET, signature=None):
        body = json.dumps(envelope).encode()
        sig = signature if signature is not None else sign_webhook(body, secret)
        headers = {"Content-Type": "application/json", "User-Agent": "intercom-parrot-service-client/1.0"}
        if sig:
            headers["X-Hub-Signature"] = sig
        return self.request("POST", f"/webhooks/{plugin}", body=body, headers=headers)

    def canvas(self, plugin, flow, payload, secret=CLIENT_SECRET, signature=None):
        body = json.dumps(payload).encode()
        sig = signature if signature is not None else sign_canvas(body, secret)
        headers = {"Content-Type": "application/json"}
        if sig:
            headers["X-Body-Signature"] = sig
        return self.request("POST", f"/canvas/{plugin}/{flow}", body=body, headers=headers)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get_no_redirect(url, timeout=10):
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        path = parts.path + (("?" + parts.query) if parts.query else "")
        conn.request("GET", path)
        resp = conn.getresponse()
        return Response(resp.status, resp.getheaders(), resp.read())
    finally:
        conn.close()


def envelope(topic, app_id, item, notification_id=None, created_at=None):
    """A webhook notification as Intercom sends it."""
    now = int(time.time())
    return {
        "type": "notification_event",
        "app_id": app_id,
        "data": {"type": "notification_event_data", "item": item},
        "links": {},
        "id": notification_id or f"notif_{os.urandom(8).hex()}",
        "topic": topic,
        "delivery_status": "pending",
        "delivery_attempts": 1,
        "delivered_at": 0,
        "first_sent_at": now,
        "created_at": created_at or now,
        "self": None,
    }


def raw_exchange(port, data: bytes, timeout=5.0, read_until_close=True):
    """Send raw bytes on a fresh connection and return everything read back."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        if data:
            s.sendall(data)
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if not read_until_close:
                    break
        except socket.timeout:
            pass
        return b"".join(chunks)


_validator = None


def openapi_validator():
    """One Prism validator for the whole test module, or None (with the reason printed)."""
    global _validator
    if _validator is None:
        import openapi_check
        if not openapi_check.find_spec():
            print("skipped: no OpenAPI description (set SWITCHBOARD_OPENAPI)", file=sys.stderr)
            _validator = False
        elif not openapi_check.find_prism():
            print("skipped: Prism not installed (tests/fake_intercom/install-prism.sh)", file=sys.stderr)
            _validator = False
        else:
            _validator = openapi_check.OpenAPIValidator()
            _validator.start()
            atexit.register(_validator.stop)
    return _validator or None


class ServerTestCase(unittest.TestCase):
    """Base class: tracks servers and fakes and tears them down."""

    def setUp(self):
        self.servers = []
        self.fakes = []

    def tearDown(self):
        codes = []
        for srv in self.servers:
            was_running = srv.proc is not None and srv.proc.poll() is None
            code = srv.close()
            if was_running:
                codes.append((code, srv))
        for fake in self.fakes:
            fake.stop()
            self.assert_openapi_valid(fake)
        # A clean shutdown exits 0; under the sanitizers a leak or error makes it non-zero.
        for code, srv in codes:
            self.assertEqual(code, 0, "server did not shut down cleanly:\n" + srv.log_text()[-3000:])

    def assert_openapi_valid(self, fake):
        """Every request Switchboard sent to the fake must match Intercom's OpenAPI description."""
        validator = openapi_validator()
        if validator is None:
            return
        violations = validator.validate(fake.requests)
        self.assertEqual(violations, [], "requests that break Intercom's OpenAPI description")

    def sqlite_only(self, why):
        """Skip a test that is about SQLite itself (its file, its locks) on PostgreSQL."""
        if STORAGE != "sqlite":
            self.skipTest(f"SQLite only: {why}")

    def server(self, **kwargs):
        srv = Server(**kwargs)
        self.servers.append(srv)
        return srv

    def fake_intercom(self, **kwargs):
        from fake_intercom import FakeIntercom
        fake = FakeIntercom(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, **kwargs)
        fake.start()
        self.fakes.append(fake)
        return fake
