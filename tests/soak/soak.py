#!/usr/bin/env python3
"""Soak: mixed load against one server for a while, watching its memory and descriptors.

One switchboard (the real binary, loopback only) with testplug, sigsentry and
startdeliver installed into a workspace of the fake Intercom gets, at once and
for --seconds (default 600):

  webhooks   signed notifications to testplug and sigsentry (sigsentry's triage
             jobs call the fake Intercom)
  canvas     sigsentry's inbox panel: initialize, and submit ("Run analysis")
  admin      admin API reads, /healthz and /metrics
  api        product-API calls: startdeliver status, tickets and user upserts,
             sigsentry log ingestion, testplug's Intercom pass-through
  sync       startdeliver syncs against a workspace whose conversations keep
             changing

Every second it samples the server's RSS (VmRSS) and open descriptors
(/proc/PID/fd, each classified; TCP ones by peer and state from /proc/net/tcp).
It fails (exit 1) if either grows between the warm window (20-30 % into the
run) and the last window (the last 10 %), compared by median: RSS by more than
8 MB and 20 % both (the SQLite page cache and the allocator settle in the
first minutes; a leak keeps going), descriptors by more than 5. Connections to
Intercom are judged apart: libcurl keeps idle ones for reuse, up to
intercom.max_in_flight (32 here), so their number is a high-water mark of the
concurrency seen so far and may step up late in a run; more than 32 fails,
and a run of 300 s or more ends by letting them age out (libcurl drops one
idle for 118 s): more than 2 left after that fails. It also fails on any unexpected answer, a job left dead or
unfinished, or a server that does not shut down cleanly. In a sanitizer
build (SWITCHBOARD_SANITIZE) RSS is shown but not judged - ASan's quarantine
holds freed memory on purpose - and LeakSanitizer judges at exit instead. Each load loop stops
at the deadline (and after a fixed number of requests) by itself.

    python3 tests/soak/soak.py                      # ten minutes, build/
    python3 tests/soak/soak.py --seconds 45 --build build-asan
"""

import argparse
import collections
import json
import os
import statistics
import sys
import threading
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

WS = "soak-ws"
WORKSPACE_NAME = "Soak Test Workspace"
RSS_TOLERANCE_BYTES = 8 * 1024 * 1024
RSS_TOLERANCE_RATIO = 0.20
FD_TOLERANCE = 5
# Outbound connections to (the fake) Intercom: curl keeps idle ones for reuse, up to
# intercom.max_in_flight, so their number follows the highest concurrency seen so far.
OUTBOUND = "tcp to the fake Intercom"
MAX_IN_FLIGHT = 32
POOL_AFTER_IDLE = 2  # runs of --seconds >= 300 end with the pool drained to this

# Requests per second each load loop aims for; 2 cores are shared, so modest.
RATES = {"webhooks": 30, "canvas": 6, "admin": 6, "api": 10}
SYNC_EVERY_S = 5


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=600, help="length of the load (default 600)")
    p.add_argument("--samples", help="also write every sample to this CSV file")
    p.add_argument("--build", default=os.environ.get("SWITCHBOARD_BUILD", str(REPO / "build")),
                   help="build folder with switchboard and the plugins (default build/)")
    return p.parse_args()


args = parse_args()
os.environ["SWITCHBOARD_BUILD"] = str(Path(args.build).resolve())
sys.path.insert(0, str(REPO / "tests" / "integration"))
import harness  # noqa: E402  (reads SWITCHBOARD_BUILD when imported)
from harness import Server  # noqa: E402


def sanitized_build():
    cache = Path(os.environ["SWITCHBOARD_BUILD"]) / "CMakeCache.txt"
    return cache.exists() and "SWITCHBOARD_SANITIZE:BOOL=ON" in cache.read_text()


TCP_STATES = {"01": "ESTABLISHED", "06": "TIME_WAIT", "08": "CLOSE_WAIT", "0A": "LISTEN"}


def tcp_sockets():
    """Socket inode -> (local port, remote port, state), from /proc/net/tcp and tcp6."""
    out = {}
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    local, remote, state, inode = cols[1], cols[2], cols[3], cols[9]
                    out[inode] = (int(local.rsplit(":", 1)[1], 16),
                                  int(remote.rsplit(":", 1)[1], 16),
                                  TCP_STATES.get(state, state))
        except OSError:
            pass
    return out


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.sent = {}
        self.errors = {}
        self.busy = {}
        self.first_errors = []

    def count(self, kind, ok=True, busy=False, what=None):
        with self.lock:
            self.sent[kind] = self.sent.get(kind, 0) + 1
            if busy:
                self.busy[kind] = self.busy.get(kind, 0) + 1
            if not ok:
                self.errors[kind] = self.errors.get(kind, 0) + 1
                if len(self.first_errors) < 10:
                    self.first_errors.append(f"{kind}: {what}")


class Soak:
    def __init__(self, seconds):
        self.seconds = seconds
        self.stats = Stats()
        self.samples = []  # (seconds since start, rss bytes, open fds, of them to the fake)
        self.stop_at = None
        self.crashed = []
        self.fds_warm = self.fds_end = None  # descriptors by kind, 25 % in and at the end
        self.pool_drained = None  # (pool left, seconds) after the idle drain

    # ---- set-up ----

    def start(self):
        from fake_intercom import FakeIntercom
        self.fake = FakeIntercom(client_id=harness.CLIENT_ID, client_secret=harness.CLIENT_SECRET)
        self.fake.start()
        self.fake.add_workspace(id_code=WS, name=WORKSPACE_NAME, region="US")
        testplug = Server.plugin_config(path=str(harness.TEST_PLUGIN_DIR / "testplug.so"))
        self.srv = Server(
            plugins={"testplug": testplug,
                     "sigsentry": Server.plugin_config(settings={"auto_analyze_threshold": "critical"}),
                     "startdeliver": Server.plugin_config()},
            intercom=self.fake, plugin_dir=harness.BUNDLED_PLUGIN_DIR,
            settings={"log": {"access": False}, "intercom": {"max_in_flight": MAX_IN_FLIGHT}})
        self.srv.start()
        self.fake.seed_conversations(WS, 300, spacing_s=60)
        for plugin in ("testplug", "sigsentry", "startdeliver"):
            page = self.srv.install(plugin, WS)
            if page.status != 200:
                raise RuntimeError(f"install of {plugin} failed: {page!r}")
        r = self.srv.api("sigsentry", "POST", "/projects", workspace=WS,
                         json_body={"id": "shop", "name": "Shop", "retention_days": 7})
        if r.status != 201:
            raise RuntimeError(f"sigsentry project: {r!r}")
        for service in ("checkout-api", "search"):
            self.srv.api("sigsentry", "PUT", f"/projects/shop/services/{service}", workspace=WS,
                         json_body={"aliases": []})
        self.conversations = [c["id"] for c in self.fake.seed_conversations(WS, 20)]
        self.pid = self.srv.proc.pid

    # ---- sampling ----

    def sample(self):
        with open(f"/proc/{self.pid}/status") as f:
            rss_kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        kinds = self.fd_kinds()
        pool = sum(n for kind, n in kinds.items() if kind.startswith(OUTBOUND))
        return rss_kb * 1024, sum(kinds.values()), pool, kinds

    def sampler(self, t0):
        next_at = time.monotonic()
        warm_at = t0 + 0.25 * self.seconds
        while time.monotonic() < self.stop_at:
            rss, fds, pool, kinds = self.sample()
            self.samples.append((time.monotonic() - t0, rss, fds, pool))
            if self.fds_warm is None and time.monotonic() >= warm_at:
                self.fds_warm = kinds
            if time.monotonic() >= self.stop_at - 1.5:
                self.fds_end = kinds
            next_at += 1.0
            time.sleep(max(0.0, next_at - time.monotonic()))

    def fd_kinds(self):
        """The server's descriptors by kind (TCP peer and state, file name, pipe...)."""
        tcp = tcp_sockets()
        fake_ports = {srv.server_address[1] for srv in self.fake._servers.values()}
        kinds = collections.Counter()
        for fd in os.listdir(f"/proc/{self.pid}/fd"):
            try:
                target = os.readlink(f"/proc/{self.pid}/fd/{fd}")
            except OSError:
                continue  # closed meanwhile
            if target.startswith("socket:["):
                conn = tcp.get(target[8:-1])
                if conn is None:
                    kinds["socket (not TCP)"] += 1
                elif conn[2] == "LISTEN":
                    kinds["tcp listening"] += 1
                elif conn[1] in fake_ports:
                    kinds[f"{OUTBOUND}, {conn[2]}"] += 1
                elif conn[0] == self.srv.port:
                    kinds[f"tcp from clients, {conn[2]}"] += 1
                else:
                    kinds[f"tcp other, {conn[2]}"] += 1
            elif target.startswith("/"):
                kinds["file " + os.path.basename(target)] += 1
            else:
                kinds[target.split(":")[0] + (":" + target.split(":")[1].split("]")[0] + "]"
                                              if target.startswith("anon_inode") else "")] += 1
        return kinds

    # ---- load loops ----

    def paced(self, kind, rate, step):
        """Call step(n) about rate times a second until the deadline (or a fixed count)."""
        interval, limit = 1.0 / rate, int(rate * self.seconds * 2) + 10
        next_at = time.monotonic()
        for n in range(limit):
            if time.monotonic() >= self.stop_at:
                return
            try:
                step(n)
            except Exception as e:  # a refused connection or timeout is an error, not a crash
                self.stats.count(kind, ok=False, what=f"{type(e).__name__}: {e}")
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))

    def expect(self, kind, r, *statuses, busy=()):
        ok = r.status in statuses or r.status in busy
        self.stats.count(kind, ok=ok, busy=r.status in busy, what=repr(r))
        return r if ok else None

    def webhook(self, n):
        if n % 5 == 0:  # sigsentry: a new conversation in the fake, then its notification
            conv = self.fake.create_conversation(WS, "Checkout feels slow today" if n % 3
                                                 else "How do I export my receipts?")
            self.conversations.append(conv["id"])
            status, _, body = self.fake.send_webhook(f"{self.srv.url}/webhooks/sigsentry",
                                                     "conversation.user.created", WS, conv)
            self.stats.count("webhooks", ok=status == 200, what=f"sigsentry {status} {body[:200]!r}")
        else:
            env = harness.envelope("conversation.user.created", WS,
                                   {"type": "conversation", "id": str(100000 + n)})
            self.expect("webhooks", self.srv.webhook("testplug", env), 200)

    def canvas(self, n):
        conv = self.conversations[n % len(self.conversations)]
        url = f"{self.srv.url}/canvas/sigsentry"
        body = self.fake.inbox_canvas_body(WS, conv)
        status, _, raw = self.fake.canvas_request(f"{url}/initialize", body)
        ok = status == 200 and "canvas" in json.loads(raw)
        self.stats.count("canvas", ok=ok, what=f"initialize {status} {raw[:200]!r}")
        if ok and n % 4 == 0:
            panel = json.loads(raw)["canvas"]
            body = self.fake.inbox_canvas_body(WS, conv, component_id="run_analysis",
                                               current_canvas=panel)
            status, _, raw = self.fake.canvas_request(f"{url}/submit", body)
            self.stats.count("canvas", ok=status == 200, what=f"submit {status} {raw[:200]!r}")

    ADMIN_READS = ("/installations", "/jobs?limit=20", "/jobs/dead", "/events?limit=20",
                   "/plugins", "/schedules", "/audit?plugin=startdeliver")

    def admin(self, n):
        k = n % (len(self.ADMIN_READS) + 2)
        if k == len(self.ADMIN_READS):
            self.expect("admin", self.srv.request("GET", "/healthz"), 200)
        elif k == len(self.ADMIN_READS) + 1:
            self.expect("admin", self.srv.request("GET", "/metrics"), 200)
        else:
            self.expect("admin", self.srv.admin("GET", self.ADMIN_READS[k]), 200)

    def api(self, n):
        k = n % 5
        if k == 0:
            self.expect("api", self.srv.api("startdeliver", "GET", "/status", workspace=WS), 200)
        elif k == 1:
            self.expect("api", self.srv.api("startdeliver", "GET", "/tickets?limit=50",
                                            workspace=WS), 200)
        elif k == 2:  # a bounded set of users, so the store does not just grow
            users = [{"id": f"u-{(n * 7 + i) % 400}", "email": f"user{(n * 7 + i) % 400}@example.com",
                      "name": f"User {i}", "health_score": (n + i) % 100}
                     for i in range(5)]
            self.expect("api", self.srv.api("startdeliver", "POST", "/users", workspace=WS,
                                            json_body={"users": users}), 200)
        elif k == 3:
            now = time.time()
            lines = "".join(json.dumps({
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - i)),
                "service": "checkout-api", "level": "error" if i % 3 else "info",
                "message": f"timeout calling bank after {1000 + i}ms"}) + "\n" for i in range(10))
            self.expect("api", self.srv.api("sigsentry", "POST", "/projects/shop/logs", workspace=WS,
                                            body=lines,
                                            headers={"Content-Type": "application/x-ndjson"}), 200)
        else:
            r = self.srv.api("testplug", "POST", "/intercom", workspace=WS,
                             json_body={"method": "GET", "path": "/admins"})
            ok = r.status == 200 and r.json().get("status") == 200
            self.stats.count("api", ok=ok, what=repr(r))

    def sync_loop(self):
        """Change some conversations, ask for a sync, wait for it to finish; repeat."""
        limit = int(self.seconds / SYNC_EVERY_S) + 5
        for n in range(limit):
            started = time.monotonic()
            if started >= self.stop_at:
                return
            try:
                for conv in self.conversations[n % 7::max(1, len(self.conversations) // 10)][:10]:
                    self.fake.touch_conversation(WS, conv)
                r = self.srv.api("startdeliver", "POST", "/sync", workspace=WS,
                                 json_body={"full": True} if n % 10 == 9 else None)
                if self.expect("sync", r, 202, busy=(409,)) and r.status == 202:
                    self.wait_sync_idle(deadline=started + 120)
            except Exception as e:
                self.stats.count("sync", ok=False, what=f"{type(e).__name__}: {e}")
            time.sleep(max(0.0, started + SYNC_EVERY_S - time.monotonic()))

    def wait_sync_idle(self, deadline):
        while time.monotonic() < deadline:
            s = self.srv.api("startdeliver", "GET", "/status", workspace=WS)
            if s.status == 200 and s.json().get("running") is None:
                return
            time.sleep(0.2)
        self.stats.count("sync", ok=False, what="a sync still running after 120 s")

    def guarded(self, fn, *a):
        try:
            fn(*a)
        except Exception:
            self.crashed.append(traceback.format_exc())

    # ---- the run ----

    def run(self):
        t0 = time.monotonic()
        self.stop_at = t0 + self.seconds
        threads = [threading.Thread(target=self.guarded, args=(self.sampler, t0))]
        for kind, step in (("webhooks", self.webhook), ("canvas", self.canvas),
                           ("admin", self.admin), ("api", self.api)):
            threads.append(threading.Thread(target=self.guarded,
                                            args=(self.paced, kind, RATES[kind], step)))
        threads.append(threading.Thread(target=self.guarded, args=(self.sync_loop,)))
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def drain_pool(self, timeout=180):
        """After the load: the idle connections to Intercom must go (libcurl closes one
        idle past 118 s when it next looks for one to reuse, so one call every 5 s).
        Returns (pool left, seconds it took); a leaked socket would stay."""
        t0 = time.monotonic()
        while True:
            r = self.srv.api("testplug", "POST", "/intercom", workspace=WS,
                             json_body={"method": "GET", "path": "/admins"})
            self.stats.count("api", ok=r.status == 200, what=repr(r))
            pool = self.sample()[2]
            if pool <= POOL_AFTER_IDLE or time.monotonic() - t0 >= timeout:
                return pool, time.monotonic() - t0
            time.sleep(5)

    def drain_jobs(self, timeout=120):
        """Wait until no job is queued, waiting or running; returns the count left."""
        deadline = time.monotonic() + timeout
        while True:
            left = sum(len(self.srv.admin("GET", f"/jobs?state={s}&limit=500").json()["jobs"])
                       for s in ("queued", "waiting", "running", "pending"))
            if left == 0 or time.monotonic() >= deadline:
                return left
            time.sleep(0.2)

    def window(self, start_frac, end_frac):
        """Medians of RSS, descriptors, outbound pool and the other descriptors in a window."""
        lo, hi = start_frac * self.seconds, end_frac * self.seconds
        picked = [s for s in self.samples if lo <= s[0] <= hi]
        if len(picked) < 3:
            raise RuntimeError(f"only {len(picked)} samples between {lo:.0f} s and {hi:.0f} s")
        return (statistics.median(s[1] for s in picked), statistics.median(s[2] for s in picked),
                statistics.median(s[3] for s in picked),
                statistics.median(s[2] - s[3] for s in picked))

    def report(self, unfinished, dead, exit_code):
        mb = lambda b: f"{b / 1048576:.1f} MB"
        warm_rss, warm_fd, warm_pool, warm_other = self.window(0.2, 0.3)
        end_rss, end_fd, end_pool, end_other = self.window(0.9, 1.0)
        first = self.samples[0]
        start_rss, start_fd, start_pool, start_other = first[1], first[2], first[3], first[2] - first[3]
        max_rss = max(s[1] for s in self.samples)
        max_fd = max(s[2] for s in self.samples)
        max_pool = max(s[3] for s in self.samples)
        max_other = max(s[2] - s[3] for s in self.samples)
        rss_growth = end_rss - warm_rss
        rss_leak = rss_growth > RSS_TOLERANCE_BYTES and rss_growth > RSS_TOLERANCE_RATIO * warm_rss
        if sanitized_build():
            print("\nsanitizer build: RSS is not judged (LeakSanitizer checks at exit)")
            rss_leak = False
        fd_leak = end_other - warm_other > FD_TOLERANCE
        pool_leak = max_pool > MAX_IN_FLIGHT
        errors = sum(self.stats.errors.values())
        print(f"\nsoak: {self.seconds:.0f} s of mixed load, {len(self.samples)} samples, "
              f"server pid {self.pid}")
        print(f"\n{'kind':<10} {'sent':>8} {'errors':>7} {'busy':>6} {'per s':>7}")
        for kind in ("webhooks", "canvas", "admin", "api", "sync"):
            sent = self.stats.sent.get(kind, 0)
            print(f"{kind:<10} {sent:>8} {self.stats.errors.get(kind, 0):>7} "
                  f"{self.stats.busy.get(kind, 0):>6} {sent / self.seconds:>7.1f}")
        print(f"{'total':<10} {sum(self.stats.sent.values()):>8} {errors:>7}")
        print(f"\n{'':<6} {'start':>10} {'warm':>10} {'end':>10} {'max':>10} {'growth':>10}")
        print(f"{'RSS':<6} {mb(start_rss):>10} {mb(warm_rss):>10} {mb(end_rss):>10} "
              f"{mb(max_rss):>10} {mb(rss_growth):>10}")
        print(f"{'fds':<6} {start_fd:>10} {warm_fd:>10g} {end_fd:>10g} {max_fd:>10} "
              f"{end_fd - warm_fd:>10g}")
        print(f"{' pool':<6} {start_pool:>10} {warm_pool:>10g} {end_pool:>10g} {max_pool:>10} "
              f"{end_pool - warm_pool:>10g}")
        print(f"{' other':<6} {start_other:>10} {warm_other:>10g} {end_other:>10g} {max_other:>10} "
              f"{end_other - warm_other:>10g}")
        print("(warm: median of 20-30 % into the run; end: median of the last 10 %; pool: "
              f"connections to Intercom kept for reuse, at most {MAX_IN_FLIGHT}; other: the rest)")
        if self.fds_warm is not None and self.fds_end is not None:
            print(f"\n{'descriptors by kind':<44} {'warm':>6} {'end':>6}")
            for kind in sorted(set(self.fds_warm) | set(self.fds_end)):
                print(f"{kind:<44} {self.fds_warm.get(kind, 0):>6} {self.fds_end.get(kind, 0):>6}")
        if args.samples:
            with open(args.samples, "w") as f:
                f.write("seconds,rss_bytes,fds,outbound_pool\n")
                f.writelines(f"{t:.1f},{rss},{fds},{pool}\n" for t, rss, fds, pool in self.samples)
        problems = []
        if rss_leak:
            problems.append(f"RSS grew by {mb(rss_growth)} (> 8 MB and > 20 %) after warm-up")
        if fd_leak:
            problems.append(f"open descriptors (other than the outbound pool) grew by "
                            f"{end_other - warm_other:g} (> {FD_TOLERANCE})")
        if pool_leak:
            problems.append(f"{max_pool} connections to Intercom open at once, past "
                            f"intercom.max_in_flight = {MAX_IN_FLIGHT}")
        if errors:
            problems.append(f"{errors} unexpected answers, first: " + "; ".join(self.stats.first_errors))
        if unfinished:
            problems.append(f"{unfinished} jobs still unfinished 120 s after the load")
        if dead:
            problems.append(f"{dead} dead jobs")
        if exit_code != 0:
            problems.append(f"the server exited with {exit_code} on SIGTERM")
        if self.crashed:
            problems.append("a load loop crashed:\n" + "\n".join(self.crashed))
        if self.pool_drained is not None:
            left, took = self.pool_drained
            print(f"connections to Intercom after the load, once idle ones aged out: {left} "
                  f"(after {took:.0f} s)")
            if left > POOL_AFTER_IDLE:
                problems.append(f"{left} connections to Intercom still open {took:.0f} s after "
                                f"the load (> {POOL_AFTER_IDLE}): sockets nobody reuses")
        print(f"jobs: {unfinished} unfinished, {dead} dead; server exit status {exit_code}")
        print("\nverdict: " + ("PASS" if not problems else "FAIL\n  " + "\n  ".join(problems)))
        return not problems


def main():
    soak = Soak(args.seconds)
    try:
        soak.start()
        soak.run()
        unfinished = soak.drain_jobs()
        if soak.seconds >= 300:
            soak.pool_drained = soak.drain_pool()
        dead = len(soak.srv.admin("GET", "/jobs/dead?limit=500").json()["jobs"])
    except Exception:
        traceback.print_exc()
        if getattr(soak, "srv", None):
            print(soak.srv.log_text()[-3000:], file=sys.stderr)
            soak.srv.close()
        if getattr(soak, "fake", None):
            soak.fake.stop()
        return 1
    exit_code = soak.srv.close()
    soak.fake.stop()
    if exit_code != 0:
        print(soak.srv.log_text()[-3000:], file=sys.stderr)
    return 0 if soak.report(unfinished, dead, exit_code) else 1


if __name__ == "__main__":
    sys.exit(main())
