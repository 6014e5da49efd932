#!/usr/bin/env python3
"""Switchboard benchmarks: run each one against a baseline measured in the same run.

    ./dev bench                           # everything, with the issue's parameters
    ./dev bench --quick                   # shorter runs and smaller data sets (a smoke test)
    ./dev bench --only intake,footprint   # some of: intake jobs pg sync transcript canvas governor
                                          #   footprint scaling contacts bot console
    ./dev bench --profile build/bench-prof  # also perf-record the server in each measured phase
    ./dev bench --ids ordered             # notification ids in order, as the tables before 2026-12-07

Absolute figures drift on shared machines, so every benchmark measures its baseline in the same
run, right before it, on the same loopback, with the same load generator:

  intake     signed ~2 KB webhooks, 64 connections, closed loop: Switchboard (every 200 committed
             with synchronous=FULL, each notification delivered to a plugin; then the same with
             a topic no plugin takes: stored only) against bench_baseline_server, a minimal
             libevent server that verifies the same X-Hub-Signature (HMAC-SHA1 of the body with
             the client secret, compared in constant time) and answers 200, storing nothing;
             the notification ids are Intercom's shape (random UUIDs), and once more, stored
             only, in order (what their order costs); the server's RSS idle before the load, at
             its peak, and once the jobs drained
  jobs       job throughput: N queued jobs of the test plugin (each writes a document) falling
             due at once, run until none is left: jobs finished per second
  pg         intake (with delivery and stored only) and job throughput on PostgreSQL, with one
             node and with two nodes on one database (the load generator's connections spread
             over both), on a private cluster tests/pg/pg_cluster.py starts (fsync on, the Unix
             socket): against the verifying baseline of the same run, and for jobs SQLite's
             figure of the same run (with jobs chosen too); skipped without Debian's PostgreSQL
  sync       a full startdeliver sync of N conversations from the fake Intercom (pages of 150),
             each with 3 replies, so each is also read whole and its 4 messages stored, against
             a bare client fetching the same pages and conversations without storing
  transcript peak RSS of a startdeliver sync storing one conversation of 5,000 parts (~1 KB
             each) as a ticket's messages: as Intercom serves it (the 500 most recent parts in
             GET /conversations/{id}), and all 5,000 (then 10,000) in one answer, streamed;
             against the same server's peak before the sync
  canvas     sigsentry Canvas Kit initialize at a fixed rate (open loop) against the baseline
             server answering the same requests without verifying (they carry Canvas Kit's
             X-Body-Signature, which it does not check)
  governor   a sync against a fake allowing 1,000 requests a minute (10-second windows): calls
             per window against the allowance, and 429s
  footprint  start-up to a ready /healthz with every bundled plugin, and idle RSS, against the
             (verifying) baseline server
  contacts   timebook's import of N Intercom contacts (GET /contacts, pages of 150, each page
             committed with its checkpoint) against the bare client fetching the same pages
  scaling    intake with 1, 100 and 10,000 installations (within 15 % of each other, with
             delivery and stored only); webhook job latency with 0 and
             1,000,000 finished jobs in the table (the first prune runs inside the window)
  bot        chatlayer's flows: user-message webhooks of distinct conversations at a fixed rate
             (open loop), from the webhook's send to the bot's reply request arriving at the fake
             Intercom, against the same webhooks verified and answered 200 by the baseline
             server

With --profile DIR, each phase's perf data and its top symbols land in DIR; the intake phase
also gets a split by area (share of samples under the webhook handler, each turn gather, the
commit, HTTP reads and writes, malloc/free), printed and written to DIR/intake.areas.txt.

The machine's description and one table (benchmark, figure, value, baseline, target, met?) are
printed at the end. Python 3 standard library only; it builds nothing (./dev bench builds build/).
All traffic stays on 127.0.0.1; every wait has a deadline.
"""

import argparse
import contextlib
import datetime
import hashlib
import hmac
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "tests" / "fake_intercom"))

import harness  # noqa: E402
import pg_cluster  # noqa: E402  (tests/pg, on the path harness puts it)
from harness import CLIENT_ID, CLIENT_SECRET, Server, free_port, wait_for  # noqa: E402

LOADGEN = harness.BUILD / "tests" / "bench" / "bench_loadgen"
BASELINE_SERVER = harness.BUILD / "tests" / "bench" / "bench_baseline_server"
BENCHMARKS = ("intake", "jobs", "pg", "sync", "transcript", "canvas", "governor", "footprint",
              "scaling", "contacts", "bot", "console")

# The parameters, and the shortened ones of --quick.
FULL = dict(intake_s=20, connections=64, job_count=50_000, sync_sizes=(10_000, 50_000, 100_000),
            canvas_rate=500, canvas_s=20, governor_conversations=1200, footprint_runs=5,
            scaling_installations=(1, 100, 10_000), scaling_s=10, finished_jobs=1_000_000,
            latency_rate=200, latency_s=20, latency_offset_s=50,
            contacts_sizes=(20_000, 100_000), bot_rate=200, bot_s=20, transcript_parts=5000,
            console_jobs=(10_000, 100_000), console_requests=200)
QUICK = dict(intake_s=5, connections=64, job_count=10_000, sync_sizes=(2_000, 5_000, 10_000),
             canvas_rate=500, canvas_s=5, governor_conversations=450, footprint_runs=3,
             scaling_installations=(1, 100, 1_000), scaling_s=3, finished_jobs=100_000,
             latency_rate=200, latency_s=5, latency_offset_s=0,
             contacts_sizes=(5_000, 20_000), bot_rate=200, bot_s=5, transcript_parts=5000,
             console_jobs=(10_000,), console_requests=50)


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---- results ----

class Results:
    def __init__(self):
        self.rows = []
        self.notes = []

    def add(self, bench, figure, value, baseline="", target="", met=None):
        self.rows.append({"benchmark": bench, "figure": figure, "value": value,
                          "baseline": baseline, "target": target, "met": met})

    def note(self, text):
        self.notes.append(text)

    def table(self):
        head = ["benchmark", "figure", "value", "baseline", "target", "met?"]
        cells = [[r["benchmark"], r["figure"], str(r["value"]), str(r["baseline"]),
                  str(r["target"]), {True: "yes", False: "**NO**", None: "-"}[r["met"]]]
                 for r in self.rows]
        widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h)
                  for i, h in enumerate(head)]
        line = lambda cols: "| " + " | ".join(c.ljust(w) for c, w in zip(cols, widths)) + " |"
        out = [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        out += [line(c) for c in cells]
        return "\n".join(out)


def ms(x):
    return f"{x:.2f} ms"


def rate(x, unit="req/s"):
    return f"{x:,.0f} {unit}"


def mb(kb):
    return f"{kb / 1024:.1f} MB"


# ---- processes ----

def cpu_seconds(pid):
    """User and system CPU time a process has used, in seconds (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status(pid):
    """VmRSS and VmHWM of a process, in kB."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        pass
    return out


# The notification ids every load sends unless told otherwise (--ids): "random", as Intercom's
# (UUIDs, in no order), or "ordered" (each after the last, as the tables before 2026-12-07 ran).
LOAD_IDS = "random"


def loadgen(port, path, secret, connections, seconds, workspaces=1, rps=0, body_file=None,
            sign="webhook", topic=None, ids=None):
    """bench_loadgen's figures; @port one port or a list (the connections spread over them);
    @ids "random" or "ordered" (None: LOAD_IDS)."""
    env = dict(os.environ)
    env.pop("LOADGEN_BODY_FILE", None)
    env.pop("LOADGEN_TOPIC", None)
    env["LOADGEN_IDS"] = ids or LOAD_IDS
    if body_file:
        env["LOADGEN_BODY_FILE"] = str(body_file)
    if topic:
        env["LOADGEN_TOPIC"] = topic
    env["LOADGEN_SIGN"] = sign
    ports = ",".join(map(str, port)) if isinstance(port, (list, tuple)) else str(port)
    cmd = [str(LOADGEN), "127.0.0.1", ports, path, secret, str(connections), str(seconds),
           str(workspaces), "2048", str(rps)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=seconds + 60)
    if p.returncode != 0:
        raise RuntimeError(f"loadgen failed ({p.returncode}): {p.stderr.strip()}")
    return json.loads(p.stdout)


# bench_baseline_server's secret that answers 200 without verifying any signature.
NO_VERIFY = "-"


class BaselineServer:
    """bench_baseline_server on a free loopback port, verifying X-Hub-Signature with @secret
    as Switchboard does (NO_VERIFY: for requests signed otherwise)."""

    def __init__(self, secret):
        self.secret = secret

    def __enter__(self):
        self.port = free_port()
        self.started = time.monotonic()
        self.proc = subprocess.Popen([str(BASELINE_SERVER), str(self.port), self.secret],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline()
        if b"ready" not in line:
            raise RuntimeError("baseline server did not start: " + self.proc.stderr.read().decode())
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


class Syscalls:
    """Count fdatasync/fsync calls of a process with perf (if perf can trace syscalls here)."""

    EVENTS = "syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync"

    def __init__(self, pid):
        self.pid = pid
        self.proc = None
        self.counts = None

    def __enter__(self):
        self.proc = perf_attach(["perf", "stat", "-x,", "-e", self.EVENTS, "-p", str(self.pid)], 0.3)
        return self

    def __exit__(self, *exc):
        err = perf_detach(self.proc, 10) if self.proc else None
        if err is None:
            return
        counts = {}
        for line in err.splitlines():
            parts = line.split(",")
            if len(parts) > 2 and parts[0].isdigit():
                counts[parts[2].split(":")[-1]] = int(parts[0])
        self.counts = counts or None


def perf_attach(argv, settle_s):
    """perf attached to a running process; None without perf or if it could not attach."""
    if not shutil.which("perf"):
        return None
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(settle_s)  # let perf attach
    return proc if proc.poll() is None else None


def perf_detach(proc, timeout):
    """Stop perf (SIGINT makes it write its results): its stderr, or None if it hung."""
    proc.send_signal(signal.SIGINT)
    try:
        return proc.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


# Where intake's time goes, by area, as shares of all samples. "under": samples with the function
# on the stack (callees included; an area inside another, a commit inside a gather, counts in
# both); "self": samples in the functions themselves, summed - the allocator's entry points and
# internals have several names (malloc, __GI___libc_malloc, _int_malloc, cfree@GLIBC_2.2.5, ...).
AREAS = (
    ("loop: webhook handler (verify, read the fields, queue)", "under", r"webhooks_handle"),
    ("loop: turn gather, deliveries run (dispatch, on_event)", "under", r"dispatch_gather"),
    ("loop:   of which the bodies built (json_parse_whole)", "under", r"json_parse_whole"),
    ("loop:   of which the plugin's on_event", "under", r"on_event"),
    ("loop: turn gather, job results written", "under", r"results_gather"),
    ("loop: answers written (http_reply, http_uncork)", "under", r"http_reply|http_uncork"),
    ("loop: http read (evbuffer_read)", "under", r"evbuffer_read"),
    ("commit thread: intake's rows (streams: the turn's and chained)", "under",
     r"stream_transaction"),
    ("commit thread: COMMIT (WAL write)", "under", r"commit_outermost"),
    ("sync thread: the log's fdatasync", "under", r"sync_main"),
    ("WAL checkpoint thread", "under", r"checkpoint_main"),
    ("malloc/free (self)", "self",
     r"(__GI___libc_|__libc_|_int_)?(malloc|calloc|realloc|free)|cfree|malloc_consolidate"
     r"|unlink_chunk(\.constprop\.\d+)?|tcache_\w+"),
)


def profile_areas(data, areas):
    """Lines "share  area" of perf data @data for @areas, or None if perf report failed."""
    try:
        report = subprocess.run(["perf", "report", "-i", str(data), "--children", "--sort",
                                 "symbol", "--stdio", "-g", "none", "--percent-limit", "0"],
                                capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return None
    if report.returncode != 0:
        return None
    entries = []  # (children %, self %, symbol without "@VERSION" or " (inlined)")
    for line in report.stdout.splitlines():
        m = re.match(r"^\s+([\d.]+)%\s+([\d.]+)%\s+\[[^\]]*\]\s+([^@\s]+)", line)
        if m:
            entries.append((float(m.group(1)), float(m.group(2)), m.group(3)))
    out = []
    for label, kind, pattern in areas:
        matching = [e for e in entries if re.fullmatch(pattern, e[2])]
        if kind == "under":  # an inlined copy is listed again, nested: the widest one counts
            share = max((e[0] for e in matching), default=0.0)
        else:
            share = sum(e[1] for e in matching)
        out.append(f"{share:6.2f}%  {label}")
    return out


class Profiler:
    """perf record -g of the server during a measured phase (with --profile DIR); with @areas,
    also the share of samples by area (see AREAS)."""

    def __init__(self, args, pid, name, areas=None):
        self.dir = Path(args.profile) if args.profile else None
        self.pid, self.name, self.proc, self.areas = pid, name, None, areas

    def __enter__(self):
        if self.dir:
            self.dir.mkdir(parents=True, exist_ok=True)
            self.data = self.dir / f"{self.name}.perf.data"
            self.proc = perf_attach(["perf", "record", "-F", "499", "--call-graph", "dwarf,16384",
                                     "-o", str(self.data), "-p", str(self.pid)], 0.5)
        return self

    def __exit__(self, *exc):
        if not self.proc or perf_detach(self.proc, 60) is None:
            return
        report = subprocess.run(["perf", "report", "-i", str(self.data), "--no-children",
                                 "--sort", "symbol", "--stdio", "--percent-limit", "1.5",
                                 "-g", "none"], capture_output=True, text=True)
        top = [l for l in report.stdout.splitlines() if re.match(r"^\s+\d", l)][:20]
        (self.dir / f"{self.name}.top.txt").write_text("\n".join(top) + "\n")
        log(f"profile of {self.name} (self time, top symbols) -> {self.data}\n"
            + "\n".join(top))
        if self.areas:
            split = profile_areas(self.data, self.areas)
            if split is None:
                log(f"profile of {self.name}: perf report could not split it by area")
                return
            (self.dir / f"{self.name}.areas.txt").write_text("\n".join(split) + "\n")
            log(f"profile of {self.name} by area (share of all samples; see AREAS)\n"
                + "\n".join(split))


# ---- the server under test ----

def bench_settings(extra=None):
    cfg = {"log": {"level": "info", "access": False},
           "server": {"keepalive_timeout_s": 60, "max_connections": 1024}}
    for k, v in (extra or {}).items():
        cfg.setdefault(k, {}).update(v)
    return cfg


class BenchServer(Server):
    """harness.Server with a data folder this script removes itself, after reading it. On
    SQLite, or with storage="postgresql" on the private cluster (private_postgresql): a fresh
    database, dropped by close(), or another node's @database, shared."""

    def __init__(self, storage="sqlite", database=None, **kw):
        super().__init__(workdir=tempfile.mkdtemp(prefix="switchboard-bench-"), **kw)
        # The harness takes one engine for all from the environment; here each server has its own.
        self.storage, self.database, self.owns_database = storage, database, database is None

    def start(self, args=(), expect_ready=True):
        self.started_at = time.monotonic()
        return super().start(args=args, expect_ready=expect_ready)

    def close(self):
        code = super().close()
        shutil.rmtree(self.workdir, ignore_errors=True)
        return code


@contextlib.contextmanager
def private_postgresql():
    """A PostgreSQL cluster of this run's own (tests/pg/pg_cluster.py), the one the harness's
    servers and db helpers use while it lasts, stopped and removed after; None without
    Debian's server binaries."""
    if pg_cluster.find_bindir() is None:
        yield None
        return
    cluster = pg_cluster.Cluster.start()
    harness._cluster = cluster  # what harness.cluster() returns, not one of a ctest run's
    try:
        yield cluster
    finally:
        harness._cluster = None
        cluster.stop()


def start_nodes(fake, count, storage="sqlite"):
    """@count servers with the test plugin, installed in ws0 on the first; on PostgreSQL the
    others share the first one's database and key file (nodes of one cluster: a token sealed
    on one must open on all). Started, jobs drained; if one fails, those started are closed."""
    nodes = []
    try:
        for i in range(count):
            database, shared = None, None
            if i:
                database = nodes[0].database
                shared = {"security": {"key_file": str(nodes[0].workdir / "data" / "secret.key")}}
            nodes.append(BenchServer(storage=storage, database=database,
                                     plugins={"testplug": Server.plugin_config()}, intercom=fake,
                                     settings=bench_settings(shared)))
            nodes[i].start()
            if i == 0:
                assert nodes[0].install("testplug", "ws0").status == 200
        for node in nodes:
            wait_jobs_idle(node)
    except BaseException:
        close_nodes(nodes)
        raise
    return nodes


def close_nodes(nodes):
    """Close @nodes, the first (which may own the database and drop it) last."""
    for node in reversed(nodes):
        node.close()


def new_fake(**kw):
    from fake_intercom import FakeIntercom
    return FakeIntercom(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, **kw).start()


def metrics(srv):
    out = {}
    for line in srv.request("GET", "/metrics").text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                out[name] = float(value)
            except ValueError:
                pass
    return out


def connection_sharing(m0, m1, seconds):
    """The store connection's holders' shares of a load phase (metrics m0 before it, m1 after):
    the loop's turn gathers and the commit thread take it in turn, so their sum near 100 %
    means the one connection bounds the rate; and the loop's time blocked waiting for it."""
    held = "switchboard_store_connection_held_seconds_total{holder=\"%s\"}"
    waited = "switchboard_store_connection_wait_seconds_total"
    if not seconds or held % "turn_gathers" not in m1:
        return "n/a"
    share = {k: 100 * (m1[k] - m0.get(k, 0)) / seconds
             for k in (held % "turn_gathers", held % "commit_thread", waited)}
    return (f"{share[held % 'turn_gathers']:.0f} % / {share[held % 'commit_thread']:.0f} %; "
            f"{share[waited]:.0f} %")


def log_syncs(m0, m1, seconds):
    """The log's syncs in a load phase (metrics m0 before it, m1 after): how many a second and
    their mean time. Each answer waits for one, so this is the disk's share of its latency."""
    name = "switchboard_store_log_sync_duration_seconds"
    count = m1.get(name + "_count", 0) - m0.get(name + "_count", 0)
    if not seconds or not count:
        return "n/a"
    mean_ms = 1000 * (m1[name + "_sum"] - m0.get(name + "_sum", 0)) / count
    return f"{count / seconds:,.0f}/s, mean {mean_ms:.2f} ms"


def log_checkpoints(m0, m1, seconds):
    """The log's checkpoints in a load phase: how many a second, the share of the wall clock
    they took, and how many the writer ran itself (the log past its bound: a stalled commit)."""
    by = 'switchboard_store_checkpoints_total{by="%s"}'
    if not seconds or by % "checkpoint_thread" not in m1:
        return "n/a"
    delta = {k: m1.get(k, 0) - m0.get(k, 0) for k in (
        by % "checkpoint_thread", by % "writer", "switchboard_store_checkpoint_seconds_total")}
    return (f"{delta[by % 'checkpoint_thread'] / seconds:,.0f}/s, "
            f"{100 * delta['switchboard_store_checkpoint_seconds_total'] / seconds:.0f} % of the "
            f"time; by the writer {delta[by % 'writer']:,.0f}")


def wait_jobs_idle(srv, timeout=120):
    """Until no job is queued or running (bounded)."""
    def idle():
        m = metrics(srv)
        return (m.get('switchboard_jobs{state="queued"}', 0) == 0
                and m.get('switchboard_jobs{state="running"}', 0) == 0
                and m.get("switchboard_jobs_in_flight", 0) == 0)
    try:
        wait_for(idle, timeout=timeout, interval=0.25, message="jobs drained")
        return True
    except AssertionError:
        return False


def db_path(srv):
    return srv.workdir / "data" / "switchboard.db"


def percentile(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int((len(values) - 1) * p))]


# ---- 1. webhook intake ----

def settled_rss(pid, timeout=30, quiet_s=2.0):
    """VmRSS (kB) once it has stopped falling: no new low for @quiet_s, or at @timeout."""
    deadline = time.monotonic() + timeout
    low = proc_status(pid).get("VmRSS", 0)
    low_at = time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - low_at < quiet_s:
        time.sleep(0.2)
        now = proc_status(pid).get("VmRSS", 0)
        if now < low:
            low, low_at = now, time.monotonic()
    return low


# Where an events row carries its delivery: the column with the time (ms) the delivery finished,
# as jobs.finished_at has it for a job.
EVENT_FINISHED_AT = "finished_at"


def event_columns(db):
    """The events table's columns. With "state", a webhook's delivery lives in its events row
    (state NULL for a notification delivered to no plugin); before that schema, in a jobs row
    per event."""
    return {col[1] for col in db.execute("PRAGMA table_info(events)")}


def store_event_columns(srv):
    """event_columns of @srv's store, SQLite or PostgreSQL."""
    if srv.storage == "postgresql":
        return {name for (name,) in srv.db_rows(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'events'")}
    db = sqlite3.connect(srv.db_path)
    try:
        return event_columns(db)
    finally:
        db.close()


def refused(run):
    """Requests of a loadgen run that got no 2xx: 4xx, 5xx and connection errors."""
    return run["status_4xx"] + run["status_5xx"] + run["errors"]


def count_events(srv, run, delivered):
    """Events of loadgen run @run in @srv's store (either engine): delivered to their plugin
    ('done'), or stored only (no plugin takes the topic)."""
    cols = store_event_columns(srv)
    if delivered and "state" in cols:
        sql = "SELECT count(*) FROM events WHERE notification_id LIKE ? AND state = 'done'"
    elif delivered:
        sql = ("SELECT count(*) FROM jobs j JOIN events e ON e.id = j.event_id "
               "WHERE e.notification_id LIKE ? AND j.state = 'done'")
    else:
        terms = ["outcome = 'ignored'"] if "outcome" in cols else []
        terms += ["state IS NULL"] if "state" in cols else []
        sql = "SELECT count(*) FROM events WHERE " + " AND ".join(["notification_id LIKE ?"]
                                                                  + terms)
    return srv.db_rows(sql, (run["ids_like"],))[0][0]


def count_intake(srv, delivered_run, stored_run):
    """After a clean stop, from the store: rows of the run with delivery, those delivered,
    and rows of the stored-only run (every 200 must be a committed row)."""
    rows = srv.db_rows("SELECT count(*) FROM events WHERE notification_id LIKE ?",
                       (delivered_run["ids_like"],))[0][0]
    return (rows, count_events(srv, delivered_run, delivered=True),
            count_events(srv, stored_run, delivered=False))


# Figures measured once and read by later benchmarks of the same run: the intake baseline,
# SQLite's job throughput.
RUN_FIGURES = {}


def intake_baseline(P):
    """The verifying baseline server under intake's load: measured by the first benchmark of
    the run that needs it, read by the others."""
    if "intake_baseline" in RUN_FIGURES:
        return RUN_FIGURES["intake_baseline"]
    secs, conns = P["intake_s"], P["connections"]
    log(f"intake: baseline server (verifying HMAC-SHA1), {conns} connections, {secs} s")
    with BaselineServer(CLIENT_SECRET) as b:
        base = loadgen(b.port, "/webhooks/testplug", CLIENT_SECRET, conns, secs)
    log(f"intake: baseline {base['rps']:.0f} req/s p99 {base['p99_ms']:.2f} ms")
    if base["status_2xx"] != base["requests"] or base["errors"]:
        raise RuntimeError(f"the baseline refused {base['requests'] - base['status_2xx']} of "
                           f"{base['requests']} requests ({base['errors']} errors): "
                           "its signature check does not match the load generator's")
    RUN_FIGURES["intake_baseline"] = base
    return base


def bench_intake(args, P, res):
    secs, conns = P["intake_s"], P["connections"]
    base = intake_baseline(P)

    fake = new_fake()
    fake.add_workspace("ws0", "Bench")
    srv = BenchServer(plugins={"testplug": Server.plugin_config()}, intercom=fake,
                 settings=bench_settings())
    try:
        srv.start()
        assert srv.install("testplug", "ws0").status == 200
        wait_jobs_idle(srv)
        rss_idle = settled_rss(srv.proc.pid, timeout=10, quiet_s=1.0)
        before = metrics(srv)
        log(f"intake: switchboard, {conns} connections, {secs} s")
        with Syscalls(srv.proc.pid) as sc, Profiler(args, srv.proc.pid, "intake", AREAS):
            sw = loadgen(srv.port, "/webhooks/testplug", CLIENT_SECRET, conns, secs)
        loaded = metrics(srv)
        drained = wait_jobs_idle(srv, timeout=300)
        after = metrics(srv)
        # The same notifications with a topic no plugin subscribes to: verified, parsed and
        # stored durably, but delivered to no plugin. Splits the cost between storing and
        # delivering.
        log(f"intake: switchboard, stored only (unsubscribed topic), {secs} s")
        stored_before = metrics(srv)
        stored = loadgen(srv.port, "/webhooks/testplug", CLIENT_SECRET, conns, secs,
                         topic="conversation.admin.noted")
        stored_loaded = metrics(srv)
        # The same with ids in order, as no real load sends them: what the ids' order costs
        # (each index over them is then only appended to).
        ordered = None
        if LOAD_IDS != "ordered":
            log(f"intake: switchboard, stored only, notification ids in order, {secs} s")
            ordered = loadgen(srv.port, "/webhooks/testplug", CLIENT_SECRET, conns, secs,
                              topic="conversation.admin.noted", ids="ordered")
        wait_jobs_idle(srv, timeout=300)
        rss_after = settled_rss(srv.proc.pid)
        rss_peak = proc_status(srv.proc.pid).get("VmHWM", 0)
        code = srv.stop()
        rows, jobs_done, stored_rows = count_intake(srv, sw, stored)
        ordered_rows = count_events(srv, ordered, delivered=False) if ordered else 0
    finally:
        srv.close()
        fake.stop()
    log(f"intake: switchboard {sw['rps']:.0f} req/s p99 {sw['p99_ms']:.2f} ms; {rows} rows for "
        f"{sw['status_2xx']} answers 200; stored only {stored['rps']:.0f} req/s"
        + (f", with ids in order {ordered['rps']:.0f} req/s" if ordered else ""))

    ratio = sw["rps"] / base["rps"] if base["rps"] else 0
    res.add("1 intake", "throughput with delivery (64 conn, closed loop)", rate(sw["rps"]),
            rate(base["rps"]) + " verifying", ">= 0.5 x baseline", ratio >= 0.5)
    res.add("1 intake", "  ratio to baseline", f"{ratio:.2f} x", "", ">= 0.50", ratio >= 0.5)
    res.add("1 intake", "latency p50", ms(sw["p50_ms"]), ms(base["p50_ms"]))
    res.add("1 intake", "latency p99", ms(sw["p99_ms"]), ms(base["p99_ms"]), "<= 10 ms",
            sw["p99_ms"] <= 10)
    res.add("1 intake", "latency max", ms(sw["max_ms"]), ms(base["max_ms"]))
    bad = refused(sw)
    res.add("1 intake", "answers 200 / rows committed", f"{sw['status_2xx']:,} / {rows:,}",
            "", "every 200 committed", rows >= sw["status_2xx"] and bad == 0)
    res.add("1 intake", "webhook jobs delivered (done)", f"{jobs_done:,}", "", "all rows",
            jobs_done == rows and drained)
    commits = after.get("switchboard_webhook_commits_total", 0) - before.get(
        "switchboard_webhook_commits_total", 0)
    batch = (sw["status_2xx"] / commits) if commits else 0
    res.add("1 intake", "group commits (avg batch)", f"{commits:,.0f} ({batch:.1f}/commit)")
    stored_ratio = stored["rps"] / base["rps"] if base["rps"] else 0
    stored_bad = refused(stored)
    res.add("1 intake", "stored only, no delivery (p99)", f"{rate(stored['rps'])} "
            f"({ms(stored['p99_ms'])})", rate(base["rps"]) + " verifying", ">= 0.7 x baseline",
            stored_ratio >= 0.7)
    res.add("1 intake", "  ratio to baseline", f"{stored_ratio:.2f} x", "", ">= 0.70",
            stored_ratio >= 0.7)
    res.add("1 intake", "  answers 200 / rows committed",
            f"{stored['status_2xx']:,} / {stored_rows:,}", "", "every 200 committed",
            stored_rows >= stored["status_2xx"] and stored_bad == 0)
    if ordered:
        ordered_bad = refused(ordered)
        res.add("1 intake", "stored only, notification ids in order (no real load: p99)",
                f"{rate(ordered['rps'])} ({ms(ordered['p99_ms'])}), "
                f"{ordered['rps'] / base['rps'] if base['rps'] else 0:.2f} x",
                rate(base["rps"]) + " verifying")
        res.add("1 intake", "  answers 200 / rows committed",
                f"{ordered['status_2xx']:,} / {ordered_rows:,}", "", "every 200 committed",
                ordered_rows >= ordered["status_2xx"] and ordered_bad == 0)
    for label, m0, m1, load in (("with delivery", before, loaded, sw),
                                ("stored only", stored_before, stored_loaded, stored)):
        res.add("1 intake", f"store connection held, {label}: turn gathers / commit thread; "
                "loop waited", connection_sharing(m0, m1, load["seconds"]))
        res.add("1 intake", f"log syncs, {label} (switchboard_store_log_sync_duration_seconds)",
                log_syncs(m0, m1, load["seconds"]))
        res.add("1 intake", f"log checkpoints, {label}", log_checkpoints(m0, m1, load["seconds"]))
    if sc.counts is not None:
        # The store syncs the log itself after each commit, on a thread of its own: a sync
        # covers every commit written before it, and no answer leaves before one has covered
        # its commit (core/store/store.c). So there may be fewer syncs than commits.
        syncs = sc.counts.get("sys_enter_fdatasync", 0) + sc.counts.get("sys_enter_fsync", 0)
        res.add("1 intake", "log syncs (fdatasync; one covers the commits before it)",
                f"{syncs:,} ({syncs / commits:.2f}/intake commit)" if commits else f"{syncs:,}",
                "", "> 0 (durable before the answer)", syncs > 0)
    else:
        res.add("1 intake", "fsyncs", "n/a (perf cannot trace syscalls)", "",
                "synchronous=FULL (core/store/store.c)")
    res.add("1 intake", "RSS idle (after start and install)", mb(rss_idle))
    res.add("1 intake", "RSS peak under full load (VmHWM)", mb(rss_peak), "", "<= 64 MB",
            0 < rss_peak <= 64 * 1024)
    res.add("1 intake", "RSS after the load, jobs drained", mb(rss_after), mb(rss_idle) + " idle",
            "<= 1.10 x idle", 0 < rss_after <= 1.10 * rss_idle)
    if code not in (0, None):
        res.note(f"intake: the server exited with {code}")


# ---- 1b. job throughput ----

# Queued jobs of the test plugin, all due at once (each writes a document when it runs), on
# either engine: count, installation, run_at, created_at. No key: they may run side by side.
QUEUED_JOBS_SQL = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
    "INSERT INTO jobs (plugin, installation_id, type, state, attempts, max_attempts, run_at, "
    "created_at, updated_at) SELECT 'testplug', ?, 'work', 'queued', 0, 8, ?, ?, ? FROM n")
# Written with the servers stopped, due this long after: every node is up by then (checked).
JOBS_LEAD_MS = 5000


def job_throughput(count, nodes=1, storage="sqlite"):
    """@count queued jobs falling due at once on @nodes servers sharing one store, run until
    none is left. Returns (jobs done, seconds from due to the last one finished, whether every
    node was up before they fell due, each node's CPU seconds meanwhile)."""
    fake = new_fake()
    fake.add_workspace("ws0", "Bench")
    servers = []
    try:
        servers = start_nodes(fake, nodes, storage)
        for srv in servers:
            srv.stop()
        first = servers[0]
        installation = first.db_rows(
            "SELECT id FROM installations WHERE workspace_id = 'ws0'")[0][0]
        now = int(time.time() * 1000)
        due = now + JOBS_LEAD_MS
        first.db_execute(QUEUED_JOBS_SQL, (count, installation, due, now, now))
        for srv in servers:
            srv.start()
        # Which node ran what, as CPU time from before they fell due (a job done within its
        # dispatch turn keeps no node_id).
        cpu = [cpu_seconds(srv.proc.pid) for srv in servers]
        on_time = time.time() * 1000 < due
        drained = all([wait_jobs_idle(srv, timeout=600) for srv in servers])
        cpu = [cpu_seconds(srv.proc.pid) - before for srv, before in zip(servers, cpu)]
        for srv in reversed(servers):
            srv.stop()
        done, last = first.db_rows("SELECT count(*), max(finished_at) FROM jobs WHERE run_at = ? "
                                   "AND state = 'done'", (due,))[0]
    finally:
        close_nodes(servers)
        fake.stop()
    if not drained:
        log(f"jobs: not drained within 600 s ({done:,} of {count:,} done)")
    return done, ((last or due) - due) / 1000, on_time, cpu


def add_job_rows(res, bench, label, count, done, seconds, on_time, cpu, baseline=""):
    rate_per_s = done / seconds if seconds > 0 else 0
    split = (f" (CPU s by node: {' / '.join(f'{c:.1f}' for c in cpu)})" if len(cpu) > 1
             else "")
    res.add(bench, f"job throughput, {label}: {count:,} jobs due at once",
            rate(rate_per_s, "jobs/s") + split, baseline, f"all {count:,} done",
            done == count and on_time)
    if not on_time:
        res.note(f"{bench}, {label}: a node was not up before the jobs fell due "
                 f"({JOBS_LEAD_MS} ms after they were written)")
    return rate_per_s


def bench_jobs(args, P, res):
    count = P["job_count"]
    log(f"jobs: SQLite, {count:,} jobs")
    RUN_FIGURES["jobs_sqlite"] = add_job_rows(res, "1b jobs", "SQLite", count,
                                              *job_throughput(count))


# ---- 1c. intake and jobs on PostgreSQL, one node and two ----

def pg_intake(P, nodes):
    """Intake's two loads (with delivery, then stored only) against @nodes servers on one
    PostgreSQL database, the connections spread over them. Returns the two runs' figures,
    the rows counted after a clean stop, and whether the deliveries drained."""
    secs, conns = P["intake_s"], P["connections"]
    fake = new_fake()
    fake.add_workspace("ws0", "Bench")
    servers = []
    try:
        servers = start_nodes(fake, nodes, "postgresql")
        ports = [srv.port for srv in servers]
        log(f"pg: intake on {nodes} node(s), {conns} connections, {secs} s")
        sw = loadgen(ports, "/webhooks/testplug", CLIENT_SECRET, conns, secs)
        drained = all([wait_jobs_idle(srv, timeout=300) for srv in servers])
        log(f"pg: intake on {nodes} node(s), stored only, {secs} s")
        stored = loadgen(ports, "/webhooks/testplug", CLIENT_SECRET, conns, secs,
                         topic="conversation.admin.noted")
        for srv in servers:
            wait_jobs_idle(srv, timeout=300)
        for srv in reversed(servers):
            srv.stop()
        counts = count_intake(servers[0], sw, stored)
    finally:
        close_nodes(servers)
        fake.stop()
    log(f"pg: {nodes} node(s): {sw['rps']:.0f} req/s p99 {sw['p99_ms']:.2f} ms; stored only "
        f"{stored['rps']:.0f} req/s p99 {stored['p99_ms']:.2f} ms")
    return sw, stored, counts, drained


def pg_label(nodes):
    return "PostgreSQL, 1 node" if nodes == 1 else f"PostgreSQL, {nodes} nodes"


def add_load_rows(res, bench, figure, run, base, counted_what, counted, ok):
    """One intake load's rows: its rate and p99 beside the verifying baseline's, the ratio,
    and what the store counted after it (@ok: as it must be; any refused request fails it)."""
    bad = refused(run)
    ratio = run["rps"] / base["rps"] if base["rps"] else 0
    res.add(bench, f"{figure} (p99)", f"{rate(run['rps'])} ({ms(run['p99_ms'])})",
            f"{rate(base['rps'])} verifying ({ms(base['p99_ms'])})")
    res.add(bench, "  ratio to baseline", f"{ratio:.2f} x")
    res.add(bench, f"  {counted_what}", counted, "", "every 200 committed", ok and bad == 0)


def bench_pg(args, P, res):
    with private_postgresql() as cluster:
        if cluster is None:
            log("pg: skipped: no PostgreSQL")
            res.add("1c pg", "PostgreSQL, one node and two", "skipped: no PostgreSQL", "",
                    "Debian's postgresql (./dev installs it)")
            return
        base = intake_baseline(P)
        for nodes in (1, 2):
            sw, stored, (rows, done, stored_rows), drained = pg_intake(P, nodes)
            add_load_rows(res, "1c pg", f"intake with delivery, {pg_label(nodes)}, "
                          f"{P['connections']} conn", sw, base,
                          "answers 200 / rows committed / delivered",
                          f"{sw['status_2xx']:,} / {rows:,} / {done:,}",
                          rows >= sw["status_2xx"] and done == rows and drained)
            add_load_rows(res, "1c pg", f"intake stored only, {pg_label(nodes)}", stored, base,
                          "answers 200 / rows committed",
                          f"{stored['status_2xx']:,} / {stored_rows:,}",
                          stored_rows >= stored["status_2xx"])
        sqlite = RUN_FIGURES.get("jobs_sqlite")
        for nodes in (1, 2):
            log(f"pg: jobs on {nodes} node(s), {P['job_count']:,} jobs")
            add_job_rows(res, "1c pg", pg_label(nodes), P["job_count"],
                         *job_throughput(P["job_count"], nodes, "postgresql"),
                         baseline=f"{rate(sqlite, 'jobs/s')} (SQLite)" if sqlite else "")


# ---- 2. full sync ----

def fetch_pages_main(argv):
    """The sync baseline (a separate process, like the server): fetch every page, store nothing.

    With a concurrency (argv[5]), each listed conversation that has parts is also read whole
    (GET /conversations/{id}), as startdeliver reads it for its messages, that many at a time
    (the host's intercom.max_in_flight_per_installation), before the next page.
    """
    base_url, token, per_page = argv[0], argv[1], int(argv[2])
    path, items = (argv[3], argv[4]) if len(argv) > 4 else ("/conversations", "conversations")
    concurrency = int(argv[5]) if len(argv) > 5 else 0
    parts = urllib.parse.urlsplit(base_url)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json",
               "Intercom-Version": "2.14"}
    local = threading.local()

    def get(target):
        if not hasattr(local, "conn"):  # one keep-alive connection per thread
            local.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        local.conn.request("GET", target, headers=headers)
        r = local.conn.getresponse()
        body = json.loads(r.read())
        if r.status != 200:
            raise SystemExit(f"GET {target}: HTTP {r.status} {body}")
        return body

    def has_parts(item):  # startdeliver's rule (sd_transcript_from_listed)
        stats = item.get("statistics")
        return not stats or stats.get("count_conversation_parts", 1) != 0

    pool = None
    if concurrency:
        from concurrent.futures import ThreadPoolExecutor
        pool = ThreadPoolExecutor(concurrency)
    cursor, pages, convs, details = None, 0, 0, 0
    start = time.monotonic()
    for _ in range(1_000_000):  # bounded: ends at the last page
        q = {"per_page": per_page}
        if cursor:
            q["starting_after"] = cursor
        body = get(path + "?" + urllib.parse.urlencode(q))
        pages += 1
        convs += len(body[items])
        if pool:
            wanted = [f"{path}/{item['id']}" for item in body[items] if has_parts(item)]
            details += sum(1 for _ in pool.map(get, wanted))
        cursor = ((body.get("pages") or {}).get("next") or {}).get("starting_after")
        if not cursor:
            break
    seconds = time.monotonic() - start
    if pool:
        pool.shutdown()
    print(json.dumps({"pages": pages, "conversations": convs, "details": details,
                      "seconds": seconds}))


def sd_status(srv, ws):
    r = srv.api("startdeliver", "GET", "/status", workspace=ws)
    return r.json() if r.status == 200 else None


def wait_sync(srv, ws, previous_run, timeout, samples=None):
    """Until a sync other than previous_run has finished; sample the server's RSS meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = sd_status(srv, ws)
        if samples is not None:
            samples.append(proc_status(srv.proc.pid).get("VmRSS", 0))
        last = s and s.get("last_sync")
        if s and s.get("running") is None and last and last.get("run") != previous_run:
            return last
        time.sleep(0.5)
    raise AssertionError(f"sync did not finish within {timeout} s")


# The host's default intercom.max_in_flight_per_installation: the baseline reads as many at once.
SYNC_IN_FLIGHT = 8
# Each synced conversation carries replies, so a sync stores messages too: an admin's answer, the
# customer's follow-up and the admin's last word, in sizes Intercom's HTML bodies have.
SYNC_REPLIES = (
    ("admin", "<p>Hi, thanks for reaching out! I looked at your account and the export ran into "
              "a timeout on our side. I restarted it and it should finish within the hour.</p>"
              "<p>Could you confirm the workspace <b>ACME Europe</b> is the one you meant?</p>"),
    ("user", "<p>Yes, that's the one. The export is still at 80 % though, and the file from "
             "yesterday is missing the <i>invoices</i> tab.</p>"),
    ("admin", "<p>Got it: the invoices tab comes from a second job, which I have now re-run as "
              "well. Both files are attached to your account under <b>Settings &gt; Exports"
              "</b>.</p><p>I'll close this for now; just reply here if anything is still off!</p>"
              "<ul><li>Export: complete</li><li>Invoices: complete</li></ul>"),
)


def add_replies(fake, ws, convs, owner):
    """SYNC_REPLIES on each of @convs, a second apart after its creation (the bodies shared)."""
    w = fake.workspace(ws)
    admin = w.author_of_admin(owner)
    with w.lock:
        for conv in convs:
            conv = w.conversation(conv["id"])
            user = w.author_of_contact(w.contacts[conv["contacts"]["contacts"][0]["id"]])
            for k, (who, body) in enumerate(SYNC_REPLIES):
                w.add_part(conv, "comment", admin if who == "admin" else user, body,
                           at=conv["created_at"] + k + 1)


def count_messages(srv):
    db = sqlite3.connect(f"file:{db_path(srv)}?mode=ro", uri=True)
    try:
        return db.execute("SELECT count(*) FROM documents WHERE plugin = 'startdeliver' "
                          "AND collection = 'messages'").fetchone()[0]
    finally:
        db.close()


def one_sync(args, n):
    fake = new_fake(rate_limit_per_minute=10 ** 9)  # no rate limit here: see governor
    ws = "sync1"
    fake.add_workspace(ws, "Bench sync")
    srv = BenchServer(plugins={"startdeliver": Server.plugin_config()}, intercom=fake,
                 plugin_dir=harness.BUNDLED_PLUGIN_DIR,
                 settings=bench_settings({"jobs": {"pending_timeout_s": 3600}}))
    try:
        srv.start()
        assert srv.install("startdeliver", ws).status == 200
        first = wait_sync(srv, ws, None, timeout=60)  # the install's own sync, of nothing
        # 1,000 customers' contacts, known to the product as users (matched by external id, so
        # the sync reads no contacts), and n conversations spread over them.
        contacts = fake.seed_contacts(ws, 1000)
        users = [{"id": c["external_id"], "email": c["email"], "name": c["name"]}
                 for c in contacts]
        r = srv.api("startdeliver", "POST", "/users", workspace=ws, json_body={"users": users})
        assert r.status == 200, r
        log(f"sync {n:,}: seeding the fake")
        owner = fake.workspace(ws).owner()
        # Created up to a minute ago, so that every reply is in the past.
        convs = fake.seed_conversations(ws, n, contacts=contacts, created_at=time.time() - 60)
        add_replies(fake, ws, convs, owner)
        del convs
        # Baseline: a bare client fetching the same pages and conversations from the same fake,
        # storing nothing.
        token = "bench-baseline-token"
        fake.tokens[token] = (ws, owner["id"])
        log(f"sync {n:,}: baseline client")
        p = subprocess.run([sys.executable, str(Path(__file__)), "--fetch-pages",
                            fake.base_url("US"), token, "150", "/conversations", "conversations",
                            str(SYNC_IN_FLIGHT)], capture_output=True, text=True, timeout=3600)
        if p.returncode != 0:
            raise RuntimeError("baseline fetch failed: " + p.stderr)
        base = json.loads(p.stdout)
        log(f"sync {n:,}: baseline {base['conversations'] / base['seconds']:.0f} conv/s; "
            "Switchboard sync")
        hwm_before = proc_status(srv.proc.pid).get("VmHWM", 0)
        samples = []
        t0 = time.monotonic()
        with Profiler(args, srv.proc.pid, f"sync-{n}"):
            r = srv.api("startdeliver", "POST", "/sync", workspace=ws, json_body={"full": True})
            assert r.status == 202, r
            last = wait_sync(srv, ws, first["run"], timeout=3600, samples=samples)
        wall = time.monotonic() - t0
        st = proc_status(srv.proc.pid)
        messages = count_messages(srv)
    finally:
        srv.close()
        fake.stop()
    seconds = (last["finished_at"] - last["started_at"]) / 1000 or wall
    return {"n": n, "synced": last["counts"]["synced"], "result": last["result"],
            "messages": messages, "details": base["details"],
            "seconds": seconds, "wall": wall, "rate": n / seconds,
            "base_rate": base["conversations"] / base["seconds"], "base": base,
            "hwm": st.get("VmHWM", 0), "hwm_before": hwm_before,
            "rss_max_sampled": max(samples or [0])}


def bench_sync(args, P, res):
    runs = [one_sync(args, n) for n in P["sync_sizes"]]
    per = 1 + len(SYNC_REPLIES)
    for r in runs:
        tag = f"{r['n'] // 1000}k + messages"
        ok = (r["result"] == "ok" and r["synced"] == r["n"] and r["messages"] == r["n"] * per
              and r["details"] == r["n"])
        ratio = r["rate"] / r["base_rate"]
        # The throughput target is the issue's, for the largest size (100k); smaller runs show
        # how the fixed per-page cost weighs when the fake answers fast.
        largest = r is runs[-1]
        res.add("2 sync", f"{tag}: conversations/s", rate(r["rate"], "conv/s"),
                rate(r["base_rate"], "conv/s"), ">= 0.8 x baseline" if largest else "",
                (ratio >= 0.8 and ok) if largest else None)
        res.add("2 sync", f"{tag}: ratio to baseline", f"{ratio:.2f} x", "",
                ">= 0.80" if largest else "", ratio >= 0.8 if largest else None)
        res.add("2 sync", f"{tag}: tickets synced", f"{r['synced']:,} ({r['result']})", "",
                f"{r['n']:,}", r["result"] == "ok" and r["synced"] == r["n"])
        res.add("2 sync", f"{tag}: messages stored", f"{r['messages']:,}",
                f"{r['details']:,} conversations read", f"{r['n'] * per:,}",
                r["messages"] == r["n"] * per)
        res.add("2 sync", f"{tag}: peak RSS (VmHWM)", mb(r["hwm"]),
                f"{mb(r['hwm_before'])} before sync", "<= 64 MB", r["hwm"] <= 64 * 1024)
    if len(runs) >= 2:
        # SQLite's page cache (8 MB, core/store/store.c) fills on demand: a small sync may not fill
        # it, a large one does. Beyond that bound nothing may grow with the conversations.
        small, big = runs[0], runs[-1]
        growth = (big["hwm"] - small["hwm"]) / 1024
        res.add("2 sync", f"RSS flat + messages: {big['n'] // 1000}k vs {small['n'] // 1000}k",
                f"{mb(big['hwm'])} vs {mb(small['hwm'])} ({growth:+.1f} MB)", "",
                "growth <= 8 MB page cache", growth <= 8)
        if len(runs) >= 3:  # both past the cache bound: nothing else may grow
            mid = runs[-2]
            growth = (big["hwm"] - mid["hwm"]) / 1024
            res.add("2 sync", f"RSS flat + messages: {big['n'] // 1000}k vs {mid['n'] // 1000}k",
                    f"{mb(big['hwm'])} vs {mb(mid['hwm'])} ({growth:+.1f} MB)", "",
                    "growth <= 5 %", big["hwm"] <= mid["hwm"] * 1.05)
    res.note(f"sync: every conversation has {len(SYNC_REPLIES)} replies ({per} messages, "
             "~200-400 bytes of HTML each), so startdeliver reads each one whole "
             "(GET /conversations/{id}) and stores its messages. The baseline is a separate "
             "Python process fetching the same pages (GET /conversations?per_page=150, cursor "
             f"by cursor) and the same conversations, {SYNC_IN_FLIGHT} at a time as the host "
             "sends them, from the same fake, storing nothing; the fake (Python, one page sorts "
             "and filters every conversation) is the bottleneck of both at 100k.")


# ---- 2b. a long conversation's messages (startdeliver) ----

def one_transcript(parts, whole):
    """Peak RSS of a full sync storing one conversation of @parts parts; @whole: all in one answer."""
    fake = new_fake(rate_limit_per_minute=10 ** 9)
    ws = "transcript1"
    w = fake.add_workspace(ws, "Bench transcript")
    srv = BenchServer(plugins={"startdeliver": Server.plugin_config()}, intercom=fake,
                      plugin_dir=harness.BUNDLED_PLUGIN_DIR, settings=bench_settings())
    try:
        srv.start()
        assert srv.install("startdeliver", ws).status == 200
        first = wait_sync(srv, ws, None, timeout=60)
        contact = fake.seed_contacts(ws, 1)[0]
        r = srv.api("startdeliver", "POST", "/users", workspace=ws,
                    json_body={"users": [{"id": contact["external_id"]}]})
        assert r.status == 200, r
        filler = "<p>" + "A line of a long support conversation, with <b>markup</b>. " * 16 + "</p>"
        with w.lock:
            start = int(time.time()) - parts - 60
            conv = w.add_conversation("Long", contact=w.contacts[contact["id"]], created_at=start)
            who = w.author_of_contact(w.contacts[contact["id"]])
            for k in range(parts):
                w.add_part(conv, "comment", who, f"<p>#{k}</p>{filler}", at=start + k + 1)
        if whole:  # beyond Intercom's 500: the whole conversation in one body
            w.get_view = lambda c: json.loads(json.dumps(c))
        hwm_before = proc_status(srv.proc.pid).get("VmHWM", 0)
        r = srv.api("startdeliver", "POST", "/sync", workspace=ws, json_body={"full": True})
        assert r.status == 202, r
        last = wait_sync(srv, ws, first["run"], timeout=600)
        hwm = proc_status(srv.proc.pid).get("VmHWM", 0)
        stored, after = 0, None
        while True:
            q = "/tickets/%s/messages?limit=1000" % conv["id"] + (f"&after={after}" if after else "")
            page = srv.api("startdeliver", "GET", q, workspace=ws).json()
            stored += len(page["data"])
            after = page["next"]
            if not after:
                break
    finally:
        srv.close()
        fake.stop()
    return {"hwm": hwm, "hwm_before": hwm_before, "stored": stored, "result": last["result"],
            "omitted": page["omitted"]}


def bench_transcript(args, P, res):
    n = P["transcript_parts"]
    runs = []
    for parts, whole in ((n, False), (n, True), (2 * n, True)):
        r = one_transcript(parts, whole)
        runs.append(r)
        tag = f"{parts:,} parts, " + ("all in one answer" if whole else "Intercom's 500 listed")
        res.add("2b transcript", f"{tag}: messages stored",
                f"{r['stored']:,} ({r['result']}; {r['omitted']:,} omitted)", "",
                f"{(parts if whole else 500) + 1:,}", r["stored"] == (parts if whole else 500) + 1)
        res.add("2b transcript", f"{tag}: peak RSS (VmHWM)", mb(r["hwm"]),
                f"{mb(r['hwm_before'])} before sync", "<= 64 MB", r["hwm"] <= 64 * 1024)
    # Streamed, the answer's size does not show: what grows is SQLite's page cache (8 MB,
    # core/store/store.c), which 5,000 stored messages fill further than 500 do; twice the
    # answer adds nothing more.
    listed, whole, twice = runs
    growth = (whole["hwm"] - listed["hwm"]) / 1024
    res.add("2b transcript", f"RSS flat: {n:,} parts in one answer vs 500",
            f"{mb(whole['hwm'])} vs {mb(listed['hwm'])} ({growth:+.1f} MB)", "",
            "growth <= 8 MB page cache", growth <= 8)
    growth = (twice["hwm"] - whole["hwm"]) / 1024
    res.add("2b transcript", f"RSS flat: {2 * n:,} vs {n:,} parts in one answer",
            f"{mb(twice['hwm'])} vs {mb(whole['hwm'])} ({growth:+.1f} MB)", "",
            "growth <= 5 %", twice["hwm"] <= whole["hwm"] * 1.05)
    res.note("transcript: the host streams GET /conversations/{id} (intercom_stream): each part "
             "goes to the plugin as it arrives and is stored then; neither holds the whole "
             "answer. Intercom itself lists at most the 500 most recent parts.")


# ---- 7. contact import (timebook) ----

def one_import(args, n):
    fake = new_fake(rate_limit_per_minute=10 ** 9)
    ws = "contacts1"
    fake.add_workspace(ws, "Bench contacts")
    srv = BenchServer(plugins={"timebook": Server.plugin_config()}, intercom=fake,
                      plugin_dir=harness.BUNDLED_PLUGIN_DIR,
                      settings=bench_settings({"jobs": {"pending_timeout_s": 3600}}))
    try:
        srv.start()
        assert srv.install("timebook", ws).status == 200
        inst = srv.installation("timebook", ws)
        log(f"contacts {n:,}: seeding the fake")
        fake.seed_contacts(ws, n)
        token = "bench-baseline-token"
        fake.tokens[token] = (ws, fake.workspace(ws).owner()["id"])
        log(f"contacts {n:,}: baseline client")
        p = subprocess.run([sys.executable, str(Path(__file__)), "--fetch-pages",
                            fake.base_url("US"), token, "150", "/contacts", "data"],
                           capture_output=True, text=True, timeout=3600)
        if p.returncode != 0:
            raise RuntimeError("baseline fetch failed: " + p.stderr)
        base = json.loads(p.stdout)
        log(f"contacts {n:,}: baseline {base['conversations'] / base['seconds']:.0f} contacts/s; "
            "Switchboard import")
        hwm_before = proc_status(srv.proc.pid).get("VmHWM", 0)
        t0 = time.monotonic()
        with Profiler(args, srv.proc.pid, f"contacts-{n}"):
            r = srv.admin("PUT", f"/installations/{inst['id']}/settings",
                          json_body={"sync_contacts": True})
            assert r.status == 200, r

            def live():
                s = srv.api("timebook", "GET", "/sync", workspace=ws).json()["contacts"]
                return s["state"] == "live" and s
            status = wait_for(live, timeout=3600, interval=0.1, message="the import")
        wall = time.monotonic() - t0
        st = proc_status(srv.proc.pid)
    finally:
        srv.close()
        fake.stop()
    return {"n": n, "done": status["done"], "seconds": wall, "rate": n / wall,
            "base_rate": base["conversations"] / base["seconds"], "hwm": st.get("VmHWM", 0),
            "hwm_before": hwm_before}


def bench_contacts(args, P, res):
    runs = [one_import(args, n) for n in P["contacts_sizes"]]
    for r in runs:
        tag = f"{r['n'] // 1000}k"
        ratio = r["rate"] / r["base_rate"]
        largest = r is runs[-1]
        res.add("7 contacts", f"{tag}: contacts/s", rate(r["rate"], "contacts/s"),
                rate(r["base_rate"], "contacts/s"), ">= 0.8 x baseline" if largest else "",
                (ratio >= 0.8 and r["done"] == r["n"]) if largest else None)
        res.add("7 contacts", f"{tag}: ratio to baseline", f"{ratio:.2f} x", "",
                ">= 0.80" if largest else "", ratio >= 0.8 if largest else None)
        res.add("7 contacts", f"{tag}: contacts imported", f"{r['done']:,}", "", f"{r['n']:,}",
                r["done"] == r["n"])
        res.add("7 contacts", f"{tag}: peak RSS (VmHWM)", mb(r["hwm"]),
                f"{mb(r['hwm_before'])} before", "<= 64 MB", r["hwm"] <= 64 * 1024)
    if len(runs) >= 2:
        small, big = runs[0], runs[-1]
        growth = (big["hwm"] - small["hwm"]) / 1024
        res.add("7 contacts", f"RSS flat: {big['n'] // 1000}k vs {small['n'] // 1000}k",
                f"{mb(big['hwm'])} vs {mb(small['hwm'])} ({growth:+.1f} MB)", "",
                "growth <= 8 MB page cache", growth <= 8)
    res.note("contacts: the import's time runs from the settings change to the sync status "
             "reading live (polled every 0.1 s); the baseline is the same separate Python "
             "client as sync's, fetching GET /contacts?per_page=150 cursor by cursor.")


# ---- 3. Canvas Kit initialize ----

def bench_canvas(args, P, res):
    from fake_intercom import _json_bytes
    secs, rps = P["canvas_s"], P["canvas_rate"]
    ws = "canvas1"
    fake = new_fake()
    fake.add_workspace(ws, "Bench canvas")
    srv = BenchServer(plugins={"sigsentry": Server.plugin_config(
                     settings={"auto_analyze_threshold": "critical"})},
                 intercom=fake, plugin_dir=harness.BUNDLED_PLUGIN_DIR, settings=bench_settings())
    body_file = Path(tempfile.mkstemp(prefix="bench-canvas-", suffix=".json")[1])
    try:
        srv.start()
        assert srv.install("sigsentry", ws).status == 200
        # A triaged conversation with an analysis, so the panel has its full content.
        api = lambda m, p, b=None, raw=None: srv.api(
            "sigsentry", m, p, workspace=ws, json_body=b if raw is None else None, body=raw,
            headers={"Content-Type": "application/x-ndjson"} if raw is not None else None)
        api("POST", "/projects", {"id": "shop", "name": "Shop", "retention_days": 7})
        api("PUT", "/projects/shop/services/checkout-api", {"aliases": []})
        now = time.time()
        lines = [json.dumps({"time": datetime.datetime.fromtimestamp(
                     now - 60 * (i + 1), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                     "service": "checkout-api", "level": "error" if i % 3 else "info",
                     "message": f"timeout calling bank after {100 * i}ms"}) for i in range(30)]
        api("POST", "/projects/shop/logs", raw="\n".join(lines) + "\n")
        conv = fake.create_conversation(ws, "Checkout is down for everyone!")
        fake.send_webhook(f"{srv.url}/webhooks/sigsentry", "conversation.user.created", ws, conv)
        def settled():
            r = api("GET", f"/conversations/{conv['id']}/triage")
            return r.status == 200 and "pending" not in r.json().get("steps", {}).values()
        try:
            wait_for(settled, timeout=20, interval=0.1, message="triage")
        except AssertionError:
            res.note("canvas: the conversation's triage did not settle; the panel was "
                     "measured as it was")
        body_file.write_bytes(_json_bytes(fake.inbox_canvas_body(ws, conv["id"])))
        size = body_file.stat().st_size
        log(f"canvas: baseline server at {rps} req/s, {secs} s ({size} byte requests)")
        with BaselineServer(NO_VERIFY) as b:
            base = loadgen(b.port, "/canvas/sigsentry/initialize", CLIENT_SECRET, 16, secs,
                           rps=rps, body_file=body_file, sign="canvas")
        log(f"canvas: switchboard at {rps} req/s, {secs} s")
        with Profiler(args, srv.proc.pid, "canvas"):
            sw = loadgen(srv.port, "/canvas/sigsentry/initialize", CLIENT_SECRET, 16, secs,
                         rps=rps, body_file=body_file, sign="canvas")
        probe = fake.canvas_request(f"{srv.url}/canvas/sigsentry/initialize",
                                    fake.inbox_canvas_body(ws, conv["id"]))
        components = len(json.loads(probe[2])["canvas"]["content"]["components"])
    finally:
        srv.close()
        fake.stop()
        body_file.unlink(missing_ok=True)
    ok = sw["status_2xx"] == sw["requests"] and sw["errors"] == 0
    res.add("3 canvas", f"rate achieved (open loop, target {rps}/s)", rate(sw["rps"]),
            rate(base["rps"]), f"{rps} req/s", abs(sw["rps"] - rps) <= 0.02 * rps)
    res.add("3 canvas", "latency p50", ms(sw["p50_ms"]), ms(base["p50_ms"]))
    res.add("3 canvas", "latency p99", ms(sw["p99_ms"]), ms(base["p99_ms"]), "<= 20 ms",
            sw["p99_ms"] <= 20)
    res.add("3 canvas", "latency max", ms(sw["max_ms"]), ms(base["max_ms"]))
    res.add("3 canvas", "answers 200", f"{sw['status_2xx']:,} of {sw['requests']:,} "
            f"({components} components)", "", "all", ok)


# ---- 4. rate governor ----

def bench_governor(args, P, res):
    n = P["governor_conversations"]
    per_minute = 1000
    allowed = per_minute // 6  # the fake's 10-second window, as Intercom's
    ws = "gov1"
    fake = new_fake(rate_limit_per_minute=per_minute)
    fake.add_workspace(ws, "Bench governor")
    # Each conversation has its own contact, unknown to the product: the sync reads every
    # contact (GET /contacts/{id}), so it needs ~n requests: several windows' worth.
    fake.seed_conversations(ws, n)
    srv = BenchServer(plugins={"startdeliver": Server.plugin_config()}, intercom=fake,
                 plugin_dir=harness.BUNDLED_PLUGIN_DIR,
                 settings=bench_settings({"jobs": {"pending_timeout_s": 3600}}))
    try:
        srv.start()
        log(f"governor: install and first sync ({n} conversations, ~{n + n // 150 + 3} requests, "
            f"{allowed} allowed per 10 s)")
        with Profiler(args, srv.proc.pid, "governor"):
            assert srv.install("startdeliver", ws).status == 200
            last = wait_sync(srv, ws, None, timeout=60 + 12 * (n // allowed + 2))
        m = metrics(srv)
    finally:
        srv.close()
        fake.stop()
    rest = [r for r in fake.requests if not r["path"].startswith(("/oauth", "/auth/eagle"))]
    windows = {}
    for r in rest:
        w = windows.setdefault(int(r["time"] // 10), {"calls": 0, "429": 0})
        w["calls"] += 1
        w["429"] += r["status"] == 429
    keys = sorted(windows)
    full = keys[1:-1]  # the first and last windows are partial (the sync starts and ends)
    used = [windows[k]["calls"] - windows[k]["429"] for k in full]
    per_window = ", ".join(f"{windows[k]['calls']}" + (f" ({windows[k]['429']}x429)"
                                                       if windows[k]["429"] else "")
                           for k in keys)
    after_first = sum(windows[k]["429"] for k in keys[1:])
    res.add("4 governor", "calls per 10 s window (all)", per_window, f"{allowed} allowed")
    if used:
        frac = min(used) / allowed
        res.add("4 governor", "budget used, full windows (min / mean)",
                f"{100 * frac:.0f} % / {100 * statistics.mean(used) / allowed:.0f} %",
                f"{allowed}/window", ">= 90 %", frac >= 0.9)
    else:
        res.add("4 governor", "budget used", "no full window (run longer)", "", ">= 90 %")
    res.add("4 governor", "429s (first window / after)",
            f"{windows[keys[0]]['429'] if keys else 0} / {after_first}", "", "0 after first",
            after_first == 0)
    res.add("4 governor", "sync result", f"{last['result']}, {last['counts']['contacts_read']} "
            f"contacts read, {len(rest)} requests",
            "", "ok", last["result"] == "ok")
    res.add("4 governor", "governor waits / 429s seen",
            f"{m.get('switchboard_intercom_governor_waits_total', 0):.0f} / "
            f"{m.get('switchboard_intercom_rate_limited_total', 0):.0f}")


# ---- 5. footprint ----

def time_to_ready(cmd, port, cwd, timeout=10.0):
    """Seconds from exec to the first 200 on /healthz (polled every millisecond), and the pid."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return time.monotonic() - t0, proc
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[0]} exited with {proc.returncode}")
        time.sleep(0.001)
    proc.kill()
    raise RuntimeError(f"{cmd[0]} not ready within {timeout} s")


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def bench_footprint(args, P, res):
    fake = new_fake()
    plugins = {name: Server.plugin_config() for name in sorted(
        p.stem for p in harness.BUNDLED_PLUGIN_DIR.glob("*.so"))}
    srv = BenchServer(plugins=plugins, intercom=fake, plugin_dir=harness.BUNDLED_PLUGIN_DIR,
                 settings=bench_settings())
    starts, rss, hwm = [], [], []
    first = None
    try:
        for i in range(P["footprint_runs"] + 1):  # run 0: first start (creates keys, schema)
            port = free_port()
            srv.port = port
            srv.write_config(public_port=port)
            cmd = [str(harness.BIN), "-c", str(srv.config_path), "--listen", f"127.0.0.1:{port}",
                   "--strict-plugins"]
            t, proc = time_to_ready(cmd, port, srv.workdir)
            time.sleep(1.0)  # idle
            st = proc_status(proc.pid)
            stop(proc)
            if i == 0:
                first = t
            else:
                starts.append(t)
                rss.append(st.get("VmRSS", 0))
                hwm.append(st.get("VmHWM", 0))
        base_t, base_rss = [], []
        for _ in range(P["footprint_runs"]):
            port = free_port()
            # (NO_VERIFY: the readiness probe, a GET, carries no signature)
            t, proc = time_to_ready([str(BASELINE_SERVER), str(port), NO_VERIFY], port, None)
            time.sleep(1.0)
            base_rss.append(proc_status(proc.pid).get("VmRSS", 0))
            base_t.append(t)
            stop(proc)
    finally:
        srv.close()
        fake.stop()
    med = statistics.median(starts)
    res.add("5 footprint", f"start-up to ready /healthz ({len(plugins)} plugins), median",
            ms(1000 * med), ms(1000 * statistics.median(base_t)), "<= 200 ms", med <= 0.2)
    res.add("5 footprint", "start-up, worst / first start (new keys, schema)",
            f"{ms(1000 * max(starts))} / {ms(1000 * first)}", "", "<= 200 ms",
            max(starts) <= 0.2 and first <= 0.2)
    res.add("5 footprint", "idle RSS (1 s after ready)", mb(statistics.median(rss)),
            mb(statistics.median(base_rss)), "<= 20 MB", statistics.median(rss) <= 20 * 1024)


# ---- 6. scaling ----

def clone_installations(path, total):
    """Installations ws1..ws{total-1}, copies of the real ws0 install, written with the server
    stopped. Intake only looks installations up by workspace (in memory), so the copies behave
    like real ones there; their sealed tokens are bound to installation 1 and are never used."""
    db = sqlite3.connect(path)
    db.execute("BEGIN")
    row = db.execute("SELECT plugin, workspace_name, region, admin_id, admin_email, token, state, "
                     "installed_at, updated_at FROM installations WHERE workspace_id = 'ws0'"
                     ).fetchone()
    db.executemany("INSERT INTO installations (plugin, workspace_id, workspace_name, region, "
                   "admin_id, admin_email, token, state, installed_at, updated_at) VALUES "
                   "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   ((row[0], f"ws{i}", *row[1:]) for i in range(1, total)))
    db.commit()
    db.close()


def insert_finished_jobs(path, count):
    """count finished webhook deliveries, written straight into the server's database with the
    server stopped, on the schema the server created: each a 'done' job of installation 1 and
    the ~2 KB event it delivered (or, where events carry their delivery, a 'done' event), as a
    busy server accumulates them. They finished over the last ten days, so about 3/10 are past
    jobs.retention_days (7): the first prune (60 s after start) has real work, on tables of a
    million rows. Where events carry their delivery, a finished delivery goes with its event, at
    events.retention_days (30): they were then received over the last forty days, so about 1/4
    are past it."""
    db = sqlite3.connect(path)
    cols = event_columns(db)
    now = int(time.time() * 1000)
    span = (40 if "state" in cols else 10) * 86400 * 1000
    body = json.dumps({"type": "notification_event", "app_id": "ws0", "data": {
        "type": "notification_event_data", "item": {"type": "conversation", "id": "0",
                                                    "source": {"body": "x" * 1800}}},
        "topic": "conversation.user.replied", "id": "@"})
    first_event = (db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]) + 1
    # Where the events row carries its delivery: the columns of the job it replaces that it has,
    # each a value or the delivery's time offset (ms) from its receipt.
    delivery = [(c, v) for c, v in (("state", "done"), ("attempts", 1), ("max_attempts", 8),
                                    ("run_at", 0), ("updated_at", 5), (EVENT_FINISHED_AT, 5))
                if "state" in cols and c in cols]
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO events (id, plugin, notification_id, installation_id, workspace_id, topic, "
        "created_at, received_at, outcome, body" + "".join(f", {c}" for c, _ in delivery)
        + ") VALUES (?, 'testplug', ?, 1, 'ws0', 'conversation.user.replied', ?, ?, 'queued', ?"
        + ", ?" * len(delivery) + ")",
        ((first_event + i, f"notif_old_{i}", t // 1000, t, body.replace("@", f"notif_old_{i}"),
          *[t + v if c.endswith("_at") else v for c, v in delivery])
         for i, t in ((i, now - span + i * span // count) for i in range(count))))
    if "state" in cols:
        db.commit()
        db.close()
        os.sync()
        return
    db.executemany(
        "INSERT INTO jobs (plugin, installation_id, type, key, event_id, state, attempts, "
        "max_attempts, run_at, created_at, updated_at, finished_at) VALUES "
        "('testplug', 1, 'webhook', ?, ?, 'done', 1, 8, ?, ?, ?, ?)",
        ((f"item:{i % 5000}", first_event + i, t, t, t + 5, t + 5)
         for i, t in ((i, now - span + i * span // count) for i in range(count))))
    db.commit()
    db.close()
    os.sync()  # the gigabytes just written must not be flushed behind the server's fsyncs


def scaling_server(fake, extra_setup=None):
    srv = BenchServer(plugins={"testplug": Server.plugin_config()}, intercom=fake,
                 settings=bench_settings())
    srv.start()
    assert srv.install("testplug", "ws0").status == 200
    wait_jobs_idle(srv)
    if extra_setup:
        srv.stop()
        extra_setup(db_path(srv))
        srv.start()
        wait_jobs_idle(srv, timeout=300)
    return srv


def written_bytes(pid):
    """Bytes the process has caused to be written to storage (/proc/PID/io write_bytes)."""
    try:
        for line in open(f"/proc/{pid}/io"):
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def bench_scaling(args, P, res):
    secs, conns = P["scaling_s"], P["connections"]
    intake = []
    for k in P["scaling_installations"]:
        fake = new_fake()
        fake.add_workspace("ws0", "Bench")
        log(f"scaling: {k:,} installations")
        srv = scaling_server(fake, (lambda p, k=k: clone_installations(p, k)) if k > 1 else None)
        try:
            rss0 = proc_status(srv.proc.pid).get("VmRSS", 0)
            w0 = written_bytes(srv.proc.pid)
            with Profiler(args, srv.proc.pid, f"scaling-{k}"):
                r = loadgen(srv.port, "/webhooks/testplug", CLIENT_SECRET, conns, secs,
                            workspaces=k)
            per_req = (written_bytes(srv.proc.pid) - w0) / max(r["requests"], 1)
            wait_jobs_idle(srv, timeout=300)
            # The core's share alone: the same notifications stored, delivered to no plugin.
            core = loadgen(srv.port, "/webhooks/testplug", CLIENT_SECRET, conns, secs,
                           workspaces=k, topic="conversation.admin.noted")
            st = proc_status(srv.proc.pid)
            n_inst = int(metrics(srv).get('switchboard_installations{state="active"}', 0))
        finally:
            srv.close()
            fake.stop()
        intake.append((k, r, core, per_req, rss0, st, n_inst))
    k1, r1, core1, per1, rss1, st1, _ = intake[0]
    for k, r, core, per_req, rss0, st, n_inst in intake:
        res.add("6 scaling", f"intake, {k:,} installations ({n_inst:,} active)",
                f"{rate(r['rps'])}, p99 {ms(r['p99_ms'])}", rate(r1["rps"]) + " (1 inst.)",
                "all 200", r["status_2xx"] == r["requests"] and r["errors"] == 0)
        res.add("6 scaling", "  written to disk per webhook (WAL + checkpoints)",
                f"{per_req / 1024:.1f} KB", f"{per1 / 1024:.1f} KB (1 inst.)")
        res.add("6 scaling", "  stored only, no delivery (the core's share)",
                f"{rate(core['rps'])}, p99 {ms(core['p99_ms'])}", rate(core1["rps"]),
                "all 200", core["status_2xx"] == core["requests"] and core["errors"] == 0)
        res.add("6 scaling", f"  RSS idle / peak, {k:,} installations",
                f"{mb(rss0)} / {mb(st.get('VmHWM', 0))}",
                f"{mb(rss1)} / {mb(st1.get('VmHWM', 0))}", "<= 64 MB peak",
                st.get("VmHWM", 0) <= 64 * 1024)
    # The target: the intake rates within 15 % of each other, however many installations.
    counts = "/".join(f"{k:,}" for k, *_ in intake)
    for label, at in (("with delivery", 1), ("stored only", 2)):
        rates = [run[at]["rps"] for run in intake]
        spread = max(rates) / min(rates) if min(rates) else float("inf")
        res.add("6 scaling", f"intake flat over {counts} installations, {label} (max / min)",
                f"{spread:.2f} x", f"{rate(min(rates))} .. {rate(max(rates))}", "<= 1.15",
                spread <= 1.15)

    lat = []
    for finished in (0, P["finished_jobs"]):
        fake = new_fake()
        fake.add_workspace("ws0", "Bench")
        log(f"scaling: job latency with {finished:,} finished jobs"
            + (" (writing them)" if finished else ""))
        srv = scaling_server(fake, (lambda p: insert_finished_jobs(p, finished)) if finished
                             else None)
        try:
            rows_before = delivery_rows(db_path(srv))
            # Start the measured window latency_offset_s after start-up, so that the first
            # prune (60 s after start) falls inside it.
            while time.monotonic() - srv.started_at < P["latency_offset_s"]:
                time.sleep(0.2)
            newest = srv.admin("GET", "/jobs?limit=1").json()["jobs"]
            max_id = newest[0]["id"] if newest else 0
            with Profiler(args, srv.proc.pid, f"latency-{finished}"):
                r = loadgen(srv.port, "/webhooks/testplug", CLIENT_SECRET, 8, P["latency_s"],
                            rps=P["latency_rate"])
            wait_jobs_idle(srv, timeout=300)
            st = proc_status(srv.proc.pid)
            srv.stop()
            rows = delivery_latencies(db_path(srv), r, max_id)
            rows_after = delivery_rows(db_path(srv))
        finally:
            srv.close()
            fake.stop()
        lat.append((finished, r, rows, rows_before, rows_after, st))
    p99_0 = percentile(lat[0][2], 0.99)
    for finished, r, rows, before, after, st in lat:
        p50, p99, mx = percentile(rows, 0.5), percentile(rows, 0.99), max(rows or [0])
        flat = p99 <= max(1.5 * p99_0, p99_0 + 5)
        res.add("6 scaling", f"job latency, {finished:,} finished jobs (p50 / p99 / max)",
                f"{p50:.0f} / {p99:.0f} / {mx:.0f} ms", f"p99 {p99_0:.0f} ms (0 jobs)",
                "p99 <= 1.5 x or +5 ms", flat and len(rows) == r["status_2xx"])
        res.add("6 scaling", f"  webhooks at {P['latency_rate']}/s meanwhile: p99 / max",
                f"{ms(r['p99_ms'])} / {ms(r['max_ms'])}", "", "p99 <= 10 ms",
                r["p99_ms"] <= 10)
        if finished:
            res.add("6 scaling", "  job rows before / after (pruning)",
                    f"{before:,} / {after:,}", "", "pruned in the window" if
                    P["latency_offset_s"] else "", after < before if P["latency_offset_s"]
                    else None)
    if P["latency_offset_s"] == 0:
        res.note("scaling: --quick measures job latency at once, before the first prune (60 s "
                 "after start)")


def delivery_rows(path):
    """Rows of webhook deliveries and other jobs: jobs rows, or where events carry their
    delivery, those events and the jobs left."""
    db = sqlite3.connect(path)
    try:
        extra = (db.execute("SELECT count(*) FROM events WHERE state IS NOT NULL").fetchone()[0]
                 if "state" in event_columns(db) else 0)
        return extra + db.execute("SELECT count(*) FROM jobs").fetchone()[0]
    finally:
        db.close()


def delivery_latencies(path, run, max_job_id):
    """Milliseconds from intake to delivery done of loadgen run @run's webhooks."""
    db = sqlite3.connect(path)
    try:
        cols = event_columns(db)
        if "state" in cols and EVENT_FINISHED_AT not in cols:
            raise RuntimeError(f"events carry their delivery but have no {EVENT_FINISHED_AT} "
                               "column: set EVENT_FINISHED_AT in tests/bench/run.py")
        if "state" in cols:
            sql = (f"SELECT {EVENT_FINISHED_AT} - received_at FROM events WHERE "
                   "notification_id LIKE ? AND state = 'done'")
            args = (run["ids_like"],)
        else:
            sql = ("SELECT finished_at - created_at FROM jobs WHERE id > ? AND type = 'webhook' "
                   "AND state = 'done'")
            args = (max_job_id,)
        return [ms for (ms,) in db.execute(sql, args)]
    finally:
        db.close()


# ---- 8. bot round trip (chatlayer) ----

BOT_FLOWS = {
    "flows": harness.LibconfigList([
        {"name": "greeting", "intents": harness.LibconfigList([{"keywords": ["hello", "hi"]}]),
         "reply": "Hello {{contact.name}}! How can I help?"},
        {"name": "pricing",
         "intents": harness.LibconfigList([{"match": "pric(e|ing)|cost", "icase": True}]),
         "reply": "Plans start at 10 EUR."},
    ]),
    "fallback": {"reply": "Sorry, I did not get that."},
}


def open_loop(port, path, bodies, rate, sign, workers=16):
    """POST each of @bodies (signed) at @rate per second from keep-alive connections. Returns
    (scheduled send time, answer time, status) per body, in wall-clock seconds; a late sender is
    charged from the scheduled time, so queueing in front of the server counts."""
    out = [None] * len(bodies)
    start = time.time() + 0.5
    lock = threading.Lock()
    next_index = [0]

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= len(bodies):
                break
            due = start + i / rate
            time.sleep(max(0.0, due - time.time()))
            body = bodies[i]
            try:
                conn.request("POST", path, body=body, headers={
                    "Content-Type": "application/json", "X-Hub-Signature": sign(body)})
                r = conn.getresponse()
                r.read()
                out[i] = (due, time.time(), r.status)
            except (OSError, http.client.HTTPException):
                out[i] = (due, time.time(), 0)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def bench_bot(args, P, res):
    from fake_intercom import _json_bytes
    rps, secs = P["bot_rate"], P["bot_s"]
    n = rps * secs
    fake = new_fake(rate_limit_per_minute=10 ** 9)
    ws = fake.add_workspace("bot1", "Bench bot")
    bot = ws.add_admin("Chatbot", "bot@bench.example")
    team, humans = ws.add_team("Bot L1", []), ws.add_team("Humans", [])
    srv = BenchServer(plugins={"chatlayer": Server.plugin_config(
        options=BOT_FLOWS, settings={"bot_team_ids": [team["id"]], "bot_admin_id": bot["id"],
                                     "offload_team_id": humans["id"]})},
        intercom=fake, plugin_dir=harness.BUNDLED_PLUGIN_DIR, settings=bench_settings())
    sign = harness.sign_webhook
    try:
        srv.start()
        assert srv.install("chatlayer", "bot1").status == 200
        wait_jobs_idle(srv)
        log(f"bot: {n:,} conversations in the fake, each assigned to the bot team")
        bodies, ids = [], []
        for i in range(n):
            conv = fake.create_conversation("bot1", f"Hello, question {i} about pricing")
            fake.assign_conversation("bot1", conv["id"], team_id=team["id"])
            ids.append(conv["id"])
            bodies.append(_json_bytes(fake.webhook_body("conversation.user.created", "bot1",
                                                        {"type": "conversation",
                                                         "id": conv["id"]})))
        log(f"bot: baseline server, webhook to 200 at {rps}/s, {secs} s")
        with BaselineServer(CLIENT_SECRET) as b:
            base = open_loop(b.port, "/webhooks/chatlayer", bodies, rps, sign)
        fake.clear_requests()
        log(f"bot: switchboard, webhook to the bot's reply at Intercom, {rps}/s, {secs} s")
        with Profiler(args, srv.proc.pid, "bot"):
            sent = open_loop(srv.port, "/webhooks/chatlayer", bodies, rps, sign)
        want = {f"/conversations/{cid}/reply" for cid in ids}

        def replies():
            with fake._lock:
                seen = {r["path"]: r["time"] for r in fake.requests if r["path"] in want}
            return len(seen) >= n and seen
        try:
            seen = wait_for(replies, timeout=120, interval=0.25, message="the bot's replies")
        except AssertionError:
            with fake._lock:
                seen = {r["path"]: r["time"] for r in fake.requests if r["path"] in want}
    finally:
        srv.close()
        fake.stop()
    trips = [1000 * (seen[f"/conversations/{cid}/reply"] - due)
             for cid, (due, _, _) in zip(ids, sent) if f"/conversations/{cid}/reply" in seen]
    hooks = [1000 * (done - due) for due, done, _ in sent]
    base_ms = [1000 * (done - due) for due, done, _ in base]
    p50, p99 = percentile(trips, 0.5), percentile(trips, 0.99)
    res.add("8 bot", f"round trip: webhook sent -> reply at Intercom, {rps}/s open loop, p50",
            ms(p50), ms(percentile(base_ms, 0.5)) + " (webhook -> 200)")
    res.add("8 bot", "round trip p99", ms(p99), ms(percentile(base_ms, 0.99)) + " (webhook -> 200)",
            "<= 50 ms", p99 <= 50 and len(trips) == n)
    res.add("8 bot", "round trip max", ms(max(trips or [0])), ms(max(base_ms or [0])))
    res.add("8 bot", "webhook -> 200 (Switchboard) p50 / p99",
            f"{ms(percentile(hooks, 0.5))} / {ms(percentile(hooks, 0.99))}",
            f"{ms(percentile(base_ms, 0.5))} / {ms(percentile(base_ms, 0.99))}")
    res.add("8 bot", "conversations answered", f"{len(trips):,} of {n:,}", "", f"{n:,}",
            len(trips) == n and all(st == 200 for _, _, st in sent))


# ---- main ----

# ---- 9. the web console's lists (admin API) over many jobs ----

def insert_console_jobs(path, count):
    """count jobs of two installations, five types, 1 % dead with a reason, as a busy server
    accumulates them, written with the server stopped."""
    db = sqlite3.connect(path)
    now = int(time.time() * 1000)
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO jobs (plugin, installation_id, type, state, attempts, max_attempts, run_at,"
        " last_error, created_at, updated_at, finished_at) VALUES ('testplug', ?, ?, ?, 1, 3, ?,"
        " ?, ?, ?, ?)",
        ((1 + i % 2, f"kind{i % 5}", "dead" if i % 100 == 0 else "done", now,
          "bench failure" if i % 100 == 0 else None, now, now, now) for i in range(count)))
    db.commit()
    db.close()


def bench_console(args, P, res):
    """The admin API queries the console's Jobs and Installations pages make, each asked
    console_requests times one after another, against GET /healthz asked the same way in the
    same run (the server's floor for one admin-sized round trip)."""
    n_req = P["console_requests"]

    def timed(srv, path, auth=True):
        took = []
        for _ in range(n_req):
            t = time.perf_counter()
            r = srv.admin("GET", path) if auth else srv.request("GET", path)
            took.append((time.perf_counter() - t) * 1000)
            if r.status != 200:
                raise RuntimeError(f"GET {path}: {r.status}")
        return percentile(took, 0.5), percentile(took, 0.99)

    for count in P["console_jobs"]:
        fake = new_fake()
        fake.add_workspace("ws0", "Bench")
        fake.add_workspace("ws1", "Bench 2")
        log(f"console: {count:,} jobs")
        srv = BenchServer(plugins={"testplug": Server.plugin_config()}, intercom=fake,
                          settings=bench_settings())
        try:
            srv.start()
            for ws in ("ws0", "ws1"):
                assert srv.install("testplug", ws).status == 200
            wait_jobs_idle(srv)
            insts = [i["id"] for i in srv.admin("GET", "/installations").json()["installations"]]
            srv.stop()
            insert_console_jobs(db_path(srv), count)
            srv.start()
            wait_jobs_idle(srv, timeout=300)
            base50, base99 = timed(srv, "/healthz", auth=False)
            page = srv.admin("GET", "/jobs?state=dead&limit=50").json()
            before = page["jobs"][-1]["id"]
            queries = [("jobs, newest 100", "/jobs?limit=100"),
                       ("dead jobs, 50", "/jobs?state=dead&limit=50"),
                       ("dead jobs, next 50", f"/jobs?state=dead&limit=50&before={before}"),
                       ("one installation's jobs, 100", f"/jobs?installation={insts[0]}&limit=100"),
                       ("one installation and type, 100",
                        f"/jobs?installation={insts[0]}&type=kind3&limit=100"),
                       ("one type, 100", "/jobs?type=kind3&limit=100"),
                       ("installation activity", f"/installations/{insts[0]}/activity")]
            for label, path in queries:
                p50, p99 = timed(srv, path)
                res.add("9 console", f"{label}, {count:,} jobs (p50 / p99)",
                        f"{p50:.2f} / {p99:.2f} ms", f"{base50:.2f} / {base99:.2f} ms (/healthz)",
                        "p99 <= 50 ms", p99 <= 50)
        finally:
            srv.close()
            fake.stop()


def machine():
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                                capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "?"
    return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "loadavg": " ".join(open("/proc/loadavg").read().split()[:3]),
            "commit": commit, "python": platform.python_version()}


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--fetch-pages":
        return fetch_pages_main(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="comma-separated: " + ",".join(BENCHMARKS))
    ap.add_argument("--quick", action="store_true", help="short runs, small data sets")
    ap.add_argument("--profile", metavar="DIR", help="perf-record the server in each phase")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--ids", choices=("random", "ordered"), default="random",
                    help="the notifications' ids: as Intercom's (default), or in order")
    args = ap.parse_args()
    global LOAD_IDS
    LOAD_IDS = args.ids
    chosen = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [c for c in chosen if c not in BENCHMARKS]
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(unknown)}")
    for exe in (harness.BIN, LOADGEN, BASELINE_SERVER):
        if not Path(exe).exists():
            ap.error(f"{exe} is missing: build first (./dev bench builds build/)")
    P = QUICK if args.quick else FULL
    info = machine()
    res = Results()
    fns = {"intake": bench_intake, "jobs": bench_jobs, "pg": bench_pg, "sync": bench_sync,
           "transcript": bench_transcript,
           "canvas": bench_canvas,
           "governor": bench_governor, "footprint": bench_footprint, "scaling": bench_scaling,
           "contacts": bench_contacts, "bot": bench_bot, "console": bench_console}
    t0 = time.monotonic()
    for name in BENCHMARKS:
        if name not in chosen:
            continue
        t = time.monotonic()
        try:
            fns[name](args, P, res)
        except Exception as e:  # one broken benchmark must not hide the others' figures
            import traceback
            traceback.print_exc()
            res.add(name, "FAILED", f"{type(e).__name__}: {e}"[:120], "", "", False)
        log(f"{name}: {time.monotonic() - t:.0f} s")
    print()
    print(f"Machine: {info['nproc']} CPUs, {info['cpu']}, Linux {info['kernel']}; "
          f"{info['date']}; load before {info['loadavg']}; commit {info['commit']}"
          + ("; --quick" if args.quick else ""))
    print()
    print(res.table())
    for n in res.notes:
        print(f"\n- {n}")
    print(f"\n({time.monotonic() - t0:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "quick": args.quick,
                                               "rows": res.rows, "notes": res.notes}, indent=1))
    return 0 if all(r["met"] is not False for r in res.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
