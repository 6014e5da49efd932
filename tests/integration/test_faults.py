"""Faults survived: kill -9 under webhook load, a misbehaving Intercom, a full or read-only disk.

Every test prints its counts to stderr (they show in the test output), e.g.
    kill-9: rounds=20 acknowledged=N stored=N delivered=N lost=0 duplicates-in-effect=0

"Delivered once in effect": testplug writes one document per delivery, in the same commit
turn as the delivery job's result (core/host.c), so a delivery a crash interrupted is run
again but leaves one document. Two documents for one notification id would be a
duplicate effect.
"""

import errno
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import harness
from harness import Server, ServerTestCase, envelope, sign_webhook, wait_for


def report(line):
    print(f"\n  {line}", file=sys.stderr, flush=True)


def post_webhook(port, env, timeout=10):
    """POST a signed notification; (status, JSON status or error code). Raises OSError."""
    body = json.dumps(env).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/webhooks/testplug", body=body,
                     headers={"Content-Type": "application/json",
                              "X-Hub-Signature": sign_webhook(body)})
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = {}
    what = parsed.get("status") or (parsed.get("error") or {}).get("code")
    return resp.status, what


def delivery_counts(srv):
    """notification id -> number of testplug 'events' documents (one per delivery that took effect)."""
    counts = {}
    for (key,) in srv.db_rows("SELECT key FROM documents WHERE plugin = 'testplug'"
                              " AND collection = 'events'"):
        nid = key.split("#", 1)[0]
        counts[nid] = counts.get(nid, 0) + 1
    return counts


def stored_ids(srv):
    return {row[0] for row in srv.db_rows("SELECT notification_id FROM events WHERE plugin = 'testplug'")}


def events_without_job(srv):
    """Notifications queued for delivery whose row carries no delivery (its state)."""
    return srv.db_rows("SELECT count(*) FROM events WHERE outcome = 'queued' AND state IS NULL")[0][0]


def unfinished_webhook_jobs(srv):
    """Webhook deliveries (events rows with a state) not yet done or dead."""
    return srv.db_rows("SELECT count(*) FROM events WHERE state IS NOT NULL"
                       " AND state NOT IN ('done', 'dead')")[0][0]


class KillNine(ServerTestCase):
    """SIGKILL at random moments while several clients send signed webhooks."""

    ROUNDS = int(os.environ.get("SWITCHBOARD_KILL_ROUNDS", "20"))
    SENDERS = 4

    def test_kill_9_under_load_loses_nothing(self):
        fake = self.fake_intercom()
        fake.add_workspace(id_code="ws1", name="Acme", region="US")
        srv = self.server(plugins={"testplug": Server.plugin_config()}, intercom=fake).start()
        self.assertEqual(srv.install("testplug", "ws1").status, 200)
        seed = int(os.environ.get("SWITCHBOARD_FAULT_SEED", random.randrange(1 << 30)))
        rng = random.Random(seed)

        up = threading.Event()      # set while the server is serving
        stop = threading.Event()
        lock = threading.Lock()
        acked, answered_duplicate, resent, other_answers = set(), 0, 0, []
        attempted = set()

        def sender(number):
            nonlocal answered_duplicate, resent
            serial = 0
            pending = None          # a notification not yet acknowledged: sent again, as Intercom does
            while not stop.is_set():
                if pending is None:
                    serial += 1
                    pending = envelope("conversation.user.replied", "ws1",
                                       {"type": "conversation", "id": f"s{number}-{serial % 7}"},
                                       notification_id=f"notif_k{number}_{serial}")
                    with lock:
                        attempted.add(pending["id"])
                if not up.wait(timeout=0.2):
                    continue
                try:
                    status, what = post_webhook(srv.port, pending, timeout=10)
                except OSError:
                    with lock:
                        resent += 1
                    continue
                with lock:
                    if status == 200 and what in ("queued", "duplicate"):
                        acked.add(pending["id"])
                        answered_duplicate += what == "duplicate"
                        pending = None
                    else:
                        other_answers.append((status, what))
                        resent += 1
            # The last notification was never acknowledged: Intercom would send it again later.

        threads = [threading.Thread(target=sender, args=(i,), daemon=True) for i in range(self.SENDERS)]
        up.set()
        for t in threads:
            t.start()
        started = time.monotonic()
        restart_ms = []
        try:
            for _ in range(self.ROUNDS):
                # Let the load run for a random moment (this is the fault's timing, not a wait
                # for a condition), then kill the server without warning.
                time.sleep(rng.uniform(0.05, 0.6))
                up.clear()
                srv.kill()
                t0 = time.monotonic()
                srv.start()
                restart_ms.append((time.monotonic() - t0) * 1000)
                up.set()
            time.sleep(0.2)  # a last stretch of load on the final server
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=20)
        load_s = time.monotonic() - started

        wait_for(lambda: unfinished_webhook_jobs(srv) == 0, timeout=60,
                 message="every webhook job finished")
        stored = stored_ids(srv)
        deliveries = delivery_counts(srv)
        lost = acked - stored
        undelivered = {nid for nid in stored if deliveries.get(nid, 0) == 0}
        duplicates = {nid: n for nid, n in deliveries.items() if n > 1}
        states = dict(srv.db_rows("SELECT state, count(*) FROM events WHERE state IS NOT NULL"
                                  " GROUP BY state"))
        report(f"kill-9: seed={seed} rounds={self.ROUNDS} senders={self.SENDERS} load_s={load_s:.1f}"
               f" attempted={len(attempted)} acknowledged={len(acked)} stored={len(stored)}"
               f" stored-unacknowledged={len(stored - acked)} delivered={len(stored) - len(undelivered)}"
               f" deliveries-in-effect={sum(deliveries.values())} resent={resent}"
               f" answered-duplicate={answered_duplicate} lost={len(lost)}"
               f" undelivered={len(undelivered)} duplicates-in-effect={len(duplicates)}"
               f" jobs={states} restart_ms_max={max(restart_ms):.0f}")
        self.assertEqual(other_answers, [], "answers other than 200 while serving")
        self.assertGreater(len(acked), self.ROUNDS, "the load was too light to mean anything")
        self.assertEqual(lost, set(), "acknowledged but not stored")
        self.assertEqual(undelivered, set(), "stored but never delivered")
        self.assertEqual(duplicates, {}, "delivered more than once in effect")
        self.assertEqual(set(states), {"done"})
        self.assertEqual(events_without_job(srv), 0)
        self.assertTrue(stored <= attempted)
        # The admin API agrees with the table (a sample: the table holds thousands).
        rows = srv.db_rows("SELECT id, notification_id FROM events WHERE plugin = 'testplug'")
        for event_id, nid in rng.sample(rows, min(20, len(rows))):
            event = srv.admin("GET", f"/events/{event_id}").json()
            self.assertEqual((event["notification_id"], event["outcome"]), (nid, "queued"))


class IntercomStorm(ServerTestCase):
    """Jobs calling an Intercom that answers 429, 5xx, slowly, with resets and cut-off JSON."""

    RATE_PER_MINUTE = 180           # the fake's limit: 30 requests per 10-second window
    settings = {
        "intercom": {"request_timeout_s": 1, "max_attempts": 3, "retry_base_ms": 100,
                     "retry_cap_ms": 400},
        "jobs": {"max_attempts": 3, "backoff_base_s": 1, "backoff_cap_s": 2},
    }

    def test_every_job_ends_with_a_readable_reason(self):
        fake = self.fake_intercom(rate_limit_per_minute=self.RATE_PER_MINUTE)
        fake.add_workspace(id_code="ws1", name="Acme", region="US")
        srv = self.server(plugins={"testplug": Server.plugin_config(settings={"event_mode": "call"})},
                          intercom=fake, settings=self.settings).start()
        self.assertEqual(srv.install("testplug", "ws1").status, 200)
        seed = int(os.environ.get("SWITCHBOARD_FAULT_SEED", random.randrange(1 << 30)))
        rng = random.Random(seed)

        convs = [fake.create_conversation("ws1", f"Storm {i}") for i in range(40)]
        # Two conversations always fail (their jobs must die, saying why); two do not exist.
        always_500 = [str(c["id"]) for c in convs[:2]]
        for cid in always_500:
            fake.inject(method="GET", path=rf"^/conversations/{cid}$", status=500, times=1000)
        missing = ["990001", "990002"]
        # The mix, in a random order, interleaved with requests let through.
        kinds = (["429"] * 3 + ["500"] * 6 + ["503"] * 6 + ["slow"] * 6 + ["reset"] * 6
                 + ["drop"] * 6 + ["truncate"] * 6 + ["pass"] * 25)
        rng.shuffle(kinds)
        injected = {}
        for kind in kinds:
            injected[kind] = injected.get(kind, 0) + 1
            rule = {"429": dict(status=429, reset_in_s="window"), "500": dict(status=500),
                    "503": dict(status=503), "slow": dict(delay_ms=1600),
                    "reset": dict(reset=True), "drop": dict(drop=True),
                    "truncate": dict(truncate=True), "pass": {}}[kind]
            fake.inject(method="GET", path=r"^/conversations/\d+$", times=1, **rule)
        fake.clear_requests()

        # /healthz answers while the storm goes on.
        latencies, stop = [], threading.Event()

        def poll_health():
            while not stop.is_set():
                t0 = time.monotonic()
                try:
                    ok = srv.request("GET", "/healthz", timeout=5).status == 200
                except OSError:
                    ok = False
                latencies.append((time.monotonic() - t0) * 1000 if ok else float("inf"))
                stop.wait(0.02)

        poller = threading.Thread(target=poll_health, daemon=True)
        poller.start()
        try:
            items = [str(c["id"]) for c in convs] + missing
            for cid in items:
                env = envelope("conversation.user.created", "ws1", {"type": "conversation", "id": cid})
                self.assertEqual(srv.webhook("testplug", env).status, 200)

            def webhook_jobs():
                jobs = srv.admin("GET", "/jobs?plugin=testplug&limit=1000").json()["jobs"]
                return [j for j in jobs if j["type"] == "webhook"]

            wait_for(lambda: len(webhook_jobs()) == len(items)
                     and all(j["state"] in ("done", "dead") for j in webhook_jobs()),
                     timeout=90, interval=0.2, message="every job done or dead")
        finally:
            stop.set()
            poller.join(timeout=10)

        jobs = [srv.admin("GET", f"/jobs/{j['id']}").json() for j in webhook_jobs()]
        by_item = {j["key"].split(":", 1)[1]: j for j in jobs}
        for job in jobs:
            self.assertIn(job["state"], ("done", "dead"), job)
            reason = job.get("last_error")
            if job["state"] == "dead":
                self.assertTrue(reason, job)
            if reason is not None:
                self.assertTrue(reason.strip() and reason.isprintable() and len(reason) < 1024,
                                f"unreadable reason {reason!r}")
        for cid in always_500:
            self.assertEqual(by_item[cid]["state"], "dead")
            self.assertRegex(by_item[cid]["last_error"], r"server_error|http_500")
        for cid in missing:
            self.assertEqual(by_item[cid]["state"], "dead")
            # (errors[0].code, or the status when a cut-off body hid it)
            self.assertRegex(by_item[cid]["last_error"], r"not_found|http_404")
        done = [j for j in jobs if j["state"] == "done"]
        dead = [j for j in jobs if j["state"] == "dead"]

        # The outbound rate never went past the workspace's budget, as the fake counts it (as
        # Intercom does: every request it answers, 429s included; connections it reset or cut
        # off count for nothing, so the arrivals per window may be a few more).
        counted = {w: n for (ws, w), n in fake.window_counts.items() if ws == "ws1"}
        arrivals = {}
        for r in fake.requests:
            w = int(r["time"] // 10)
            arrivals[w] = arrivals.get(w, 0) + 1
        budget = self.RATE_PER_MINUTE // 6
        answered = [r["status"] for r in fake.requests if r["path"].startswith("/conversations/")]
        statuses = {}
        for s in answered:
            statuses[s] = statuses.get(s, 0) + 1
        finite = sorted(x for x in latencies if x != float("inf"))
        failed_polls = len(latencies) - len(finite)
        p99 = finite[int(len(finite) * 0.99) - 1] if finite else float("nan")
        report(f"intercom-storm: seed={seed} jobs={len(jobs)} done={len(done)} dead={len(dead)}"
               f" injected={injected} requests={len(answered)} by-status={statuses}"
               f" counted-per-10s-window={[counted[w] for w in sorted(counted)]} budget={budget}"
               f" arrivals-per-10s-window={[arrivals[w] for w in sorted(arrivals)]}"
               f" healthz-polls={len(latencies)} healthz-failed={failed_polls}"
               f" healthz-p99-ms={p99:.1f} healthz-max-ms={max(finite):.1f}")
        self.assertLessEqual(max(counted.values()), budget, counted)
        self.assertGreater(len(counted), 1, "the storm fitted in one window: the cap was never tested")
        self.assertEqual(failed_polls, 0)
        self.assertLess(max(finite), 500.0, "healthz was slow during the storm")
        self.assertGreater(len(latencies), 20)
        # Each kind of fault was met (the mix ran before the jobs finished).
        self.assertTrue(all(r["times"] == 0 for r in fake._injections
                            if r["path"].pattern == r"^/conversations/\d+$"),
                        "not every injected fault was met")
        self.assertGreaterEqual(len(done), len(items) - len(always_500) - len(missing) - 6)


class SigsentryStorm(ServerTestCase):
    """sigsentry's triage (read the conversation, post a note, write attributes) and analysis
    jobs against the same misbehaving Intercom: each job ends done or dead, saying why."""

    settings = IntercomStorm.settings
    TEXTS = ["Checkout is down for everyone!",
             "Our checkout integration keeps failing with a 502 error, urgent",
             "Checkout feels slow today", "How do I export my checkout receipts?"]

    def test_every_sigsentry_job_ends_with_a_readable_reason(self):
        fake = self.fake_intercom()
        fake.add_workspace(id_code="ws1", name="Acme", region="US")
        srv = self.server(plugins={"sigsentry": Server.plugin_config()}, intercom=fake,
                          plugin_dir=harness.BUNDLED_PLUGIN_DIR, settings=self.settings).start()
        self.assertEqual(srv.install("sigsentry", "ws1").status, 200)

        def api(method, path, body):
            r = srv.api("sigsentry", method, path, workspace="ws1", json_body=body)
            self.assertIn(r.status, (200, 201), r)

        api("POST", "/projects", {"id": "shop", "name": "Shop", "retention_days": 7})
        api("PUT", "/projects/shop/services/checkout-api", {"aliases": []})
        seed = int(os.environ.get("SWITCHBOARD_FAULT_SEED", random.randrange(1 << 30)))
        rng = random.Random(seed)
        kinds = (["429"] * 2 + ["500"] * 5 + ["503"] * 5 + ["slow"] * 4 + ["reset"] * 5
                 + ["drop"] * 5 + ["truncate"] * 5 + ["pass"] * 20)
        rng.shuffle(kinds)
        for kind in kinds:
            rule = {"429": dict(status=429, reset_in_s="window"), "500": dict(status=500),
                    "503": dict(status=503), "slow": dict(delay_ms=1600),
                    "reset": dict(reset=True), "drop": dict(drop=True),
                    "truncate": dict(truncate=True), "pass": {}}[kind]
            fake.inject(path=r"^/conversations/\d+(/reply)?$", times=1, **rule)
        convs = [fake.create_conversation("ws1", self.TEXTS[i % len(self.TEXTS)]) for i in range(16)]
        for conv in convs:
            status, _, _ = fake.send_webhook(f"{srv.url}/webhooks/sigsentry",
                                             "conversation.user.created", "ws1", conv)
            self.assertEqual(status, 200)

        def jobs():
            listed = srv.admin("GET", "/jobs?plugin=sigsentry&limit=1000").json()["jobs"]
            return [j for j in listed if j["type"] in ("webhook", "post_analysis")]

        wait_for(lambda: len([j for j in jobs() if j["type"] == "webhook"]) == len(convs)
                 and all(j["state"] in ("done", "dead") for j in jobs()),
                 timeout=120, interval=0.25, message="every sigsentry job done or dead")
        final = [srv.admin("GET", f"/jobs/{j['id']}").json() for j in jobs()]
        for job in final:
            reason = job.get("last_error")
            if job["state"] == "dead":
                self.assertTrue(reason, job)
            if reason is not None:
                self.assertTrue(reason.strip() and reason.isprintable() and len(reason) < 1024,
                                f"unreadable reason {reason!r}")
        notes = {}
        for r in fake.requests:
            if r["method"] == "POST" and (r.get("json") or {}).get("message_type") == "note" \
                    and r["status"] == 200 and not r.get("truncated"):
                notes[r["path"]] = notes.get(r["path"], 0) + 1
        states = {}
        for job in final:
            states[(job["type"], job["state"])] = states.get((job["type"], job["state"]), 0) + 1
        dead_reasons = sorted({j["last_error"][:80] for j in final if j["state"] == "dead"})
        report(f"sigsentry-storm: seed={seed} jobs={len(final)} by-type-and-state={states}"
               f" requests={len(fake.requests)} conversations-with-a-note={len(notes)}"
               f" most-notes-on-one={max(notes.values()) if notes else 0} dead-reasons={dead_reasons}")
        self.assertTrue(all(r["times"] == 0 for r in fake._injections), "not every fault was met")


class CutOffAnswers(ServerTestCase):
    """A 2xx whose JSON was cut short (Content-Length matching) is no answer: retried when safe,
    an error otherwise; never handed to a plugin as an empty body (an empty page would end a
    sync early)."""

    def setUp(self):
        super().setUp()
        self.fake = self.fake_intercom()
        self.fake.add_workspace(id_code="ws1", name="Acme", region="US")
        self.srv = self.server(plugins={"testplug": Server.plugin_config()}, intercom=self.fake).start()
        self.assertEqual(self.srv.install("testplug", "ws1").status, 200)

    def product_api(self, route, **body):
        r = self.srv.api("testplug", "POST", route, workspace="ws1", json_body=body)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_cut_off_page_is_fetched_again_not_taken_as_the_end(self):
        self.fake.seed_conversations("ws1", 30)
        self.fake.inject(method="GET", path=r"^/conversations$", truncate=True, times=1, skip=1)
        res = self.product_api("/paginate", method="GET", path="/conversations?per_page=10")
        report(f"cut-off-page: pages={[p['items'] for p in res['pages']]} error={res['error_code']}")
        self.assertIsNone(res["error_code"])
        self.assertEqual([p["items"] for p in res["pages"]], [10, 10, 10])

    def test_cut_off_answer_to_a_read_is_retried(self):
        self.fake.inject(method="GET", path=r"^/admins$", truncate=True, times=1)
        res = self.product_api("/intercom", method="GET", path="/admins")
        self.assertEqual((res["status"], res["error_code"], res["attempts"]), (200, None, 2))
        self.assertEqual(res["body"]["type"], "admin.list")

    def test_cut_off_answer_to_a_write_is_an_error(self):
        conv = self.fake.create_conversation("ws1", "Hi")
        path = f"/conversations/{conv['id']}"
        self.fake.inject(method="PUT", path=rf"^{path}$", truncate=True, times=1)
        res = self.product_api("/intercom", method="PUT", path=path,
                               body={"custom_attributes": {"severity": "high"}})
        self.assertEqual((res["status"], res["error_code"], res["attempts"]), (0, "invalid_response", 1))
        self.assertTrue(res["error_message"].isprintable())


class SmallFilesystem:
    """A small filesystem mounted on a fresh data folder: tmpfs, or ext4 on a loop file
    (ext4 refuses writes to an immutable file even through descriptors already open,
    which is how a database turns read-only under a running server)."""

    def __init__(self, kind="tmpfs", size_mb=8):
        self.root = Path(tempfile.mkdtemp(prefix="switchboard-faults-"))
        self.data = self.root / "data"
        self.data.mkdir()
        self.image = None
        if kind == "tmpfs":
            cmd = ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(self.data)]
        else:
            self.image = Path(tempfile.mkdtemp(prefix="switchboard-faults-img-")) / "fs.img"
            with open(self.image, "wb") as f:
                f.truncate(size_mb << 20)
            subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", str(self.image)], check=True,
                           capture_output=True)
            cmd = ["mount", "-o", "loop", str(self.image), str(self.data)]
        p = subprocess.run(cmd, capture_output=True)
        if p.returncode != 0:
            self.cleanup()
            raise OSError(p.stderr.decode().strip() or "mount failed")
        self.mounted = True

    def remount(self, mode):
        subprocess.run(["mount", "-o", f"remount,{mode}", str(self.data)], check=True,
                       capture_output=True)

    def fill(self):
        """Take every free block with a filler file; returns its size."""
        filler = self.data / "filler"
        chunk = b"\0" * (64 << 10)
        written = 0
        with open(filler, "wb", buffering=0) as f:
            for size in (len(chunk), 4096, 512, 1):
                while True:
                    try:
                        written += f.write(chunk[:size])
                    except OSError as e:
                        if e.errno != errno.ENOSPC:
                            raise
                        break
        return written

    def unfill(self):
        (self.data / "filler").unlink()

    def cleanup(self):
        if getattr(self, "mounted", False):
            subprocess.run(["umount", str(self.data)], capture_output=True)
            self.mounted = False
        shutil.rmtree(self.root, ignore_errors=True)
        if self.image:
            shutil.rmtree(self.image.parent, ignore_errors=True)


class StorageFaults(ServerTestCase):
    """A full disk and a read-only database, at start and while serving."""

    def mount(self, kind="tmpfs", size_mb=8):
        self.sqlite_only("a full or read-only disk under the database file")
        if os.geteuid() != 0:
            self.skipTest("skipped: needs root to mount a small filesystem")
        if kind == "ext4" and not (shutil.which("mkfs.ext4") and shutil.which("chattr")):
            self.skipTest("skipped: needs mkfs.ext4 and chattr (e2fsprogs)")
        try:
            fs = SmallFilesystem(kind, size_mb)
        except (OSError, subprocess.CalledProcessError) as e:
            self.skipTest(f"skipped: needs root to mount a small filesystem ({e})")
        self.addCleanup(fs.cleanup)   # runs after tearDown has stopped the servers
        return fs

    def start_on(self, fs):
        fake = self.fake_intercom()
        fake.add_workspace(id_code="ws1", name="Acme", region="US")
        srv = self.server(plugins={"testplug": Server.plugin_config()}, intercom=fake,
                          workdir=fs.root).start()
        self.assertEqual(srv.install("testplug", "ws1").status, 200)
        return srv

    def envelopes(self, prefix, n):
        return [envelope("conversation.user.replied", "ws1", {"type": "conversation", "id": f"{prefix}{i}"},
                         notification_id=f"notif_{prefix}_{i}") for i in range(n)]

    def resend_after_recovery(self, srv, refused, acked, more, condition):
        """Re-send what was answered 503, as Intercom would, until the server takes it; then
        send `more` new ones. Returns how long the first acceptance took (ms)."""
        recovered_at = time.monotonic()
        for env in refused:
            wait_for(lambda: srv.webhook("testplug", env).status == 200, timeout=15, interval=0.1,
                     message=f"a re-sent webhook accepted after {condition}")
            acked.append(env["id"])
        recovery_ms = (time.monotonic() - recovered_at) * 1000
        for env in self.envelopes("after", more):
            self.assertEqual(srv.webhook("testplug", env).status, 200)
            acked.append(env["id"])
        return recovery_ms

    def check_database(self, srv, acked):
        """integrity_check passes; every acknowledged notification is stored with its job and
        delivered once in effect; nothing is stored without its job. Returns the counts."""
        self.assertEqual(srv.db_rows("PRAGMA integrity_check"), [("ok",)])
        self.assertEqual(events_without_job(srv), 0, "an event stored without its job")
        wait_for(lambda: unfinished_webhook_jobs(srv) == 0, timeout=30,
                 message="every webhook job finished")
        stored = stored_ids(srv)
        deliveries = delivery_counts(srv)
        lost = set(acked) - stored
        duplicates = {k: v for k, v in deliveries.items() if v > 1}
        undelivered = {k for k in stored if not deliveries.get(k)}
        self.assertEqual(lost, set())
        self.assertEqual(undelivered, set())
        self.assertEqual(duplicates, {})
        return {"stored": len(stored), "delivered": len(stored) - len(undelivered),
                "lost": len(lost), "duplicates-in-effect": len(duplicates)}

    def test_disk_full_mid_run(self):
        fs = self.mount("tmpfs", 8)
        srv = self.start_on(fs)
        acked = []
        for env in self.envelopes("before", 20):
            self.assertEqual(srv.webhook("testplug", env).status, 200)
            acked.append(env["id"])
        filler_bytes = fs.fill()
        # SQLite may still have room in pages it already owns: send until the store refuses.
        refused, accepted_while_full = [], 0
        for env in self.envelopes("full", 400):
            r = srv.webhook("testplug", env)
            if r.status == 200:
                acked.append(env["id"])
                accepted_while_full += 1
                continue
            self.assertEqual((r.status, r.json()["error"]["code"]), (503, "store_unavailable"), r)
            refused.append(env)
            if len(refused) >= 10:
                break
        self.assertEqual(len(refused), 10, "a full disk never made the store refuse")
        self.assertTrue(srv.request("GET", "/healthz", timeout=2).status == 200)
        # Nothing half-written while full.
        self.assertEqual(srv.db_rows("PRAGMA integrity_check"), [("ok",)])
        self.assertEqual(events_without_job(srv), 0)
        self.assertEqual(stored_ids(srv) & {e["id"] for e in refused}, set())
        srv.wait_log(r"(?i)full")
        # Space returns: the server recovers by itself; Intercom's retries are stored once.
        fs.unfill()
        recovery_ms = self.resend_after_recovery(srv, refused, acked, 20, "the disk has room again")
        counts = self.check_database(srv, acked)
        report(f"disk-full-mid-run: filler_bytes={filler_bytes} acknowledged={len(acked)}"
               f" accepted-while-filling={accepted_while_full} answered-503={len(refused)}"
               f" recovery_ms={recovery_ms:.0f} " + " ".join(f"{k}={v}" for k, v in counts.items()))
        self.assertEqual(srv.proc.poll(), None, "the server died")

    def test_disk_full_under_load(self):
        """The disk fills while four clients keep sending: every answer is 200 (stored) or 503
        (not stored), and once there is room the 503'd notifications, sent again, are stored."""
        fs = self.mount("tmpfs", 8)
        srv = self.start_on(fs)
        lock, stop = threading.Lock(), threading.Event()
        acked, refused, odd = [], [], []

        def sender(number):
            serial = 0
            while not stop.is_set():
                serial += 1
                env = envelope("conversation.user.replied", "ws1",
                               {"type": "conversation", "id": f"l{number}-{serial % 5}"},
                               notification_id=f"notif_load{number}_{serial}")
                try:
                    status, what = post_webhook(srv.port, env)
                except OSError as e:
                    status, what = 0, repr(e)
                with lock:
                    if status == 200 and what == "queued":
                        acked.append(env["id"])
                    elif (status, what) == (503, "store_unavailable"):
                        refused.append(env)
                    else:
                        odd.append((status, what))
                if status == 503:
                    stop.wait(0.02)  # Intercom backs off too; this only keeps the log short

        threads = [threading.Thread(target=sender, args=(i,), daemon=True) for i in range(4)]
        for t in threads:
            t.start()
        try:
            wait_for(lambda: len(acked) >= 100, timeout=20, message="load before the fill")
            filler_bytes = fs.fill()
            wait_for(lambda: len(refused) >= 40, timeout=20, message="503s once the disk is full")
            self.assertTrue(srv.request("GET", "/healthz", timeout=2).status == 200)
            self.assertEqual(srv.db_rows("PRAGMA integrity_check"), [("ok",)])
            self.assertEqual(events_without_job(srv), 0)
            fs.unfill()
            with lock:
                refused_before = len(refused)
            wait_for(lambda: len(acked) >= 100 + refused_before + 100, timeout=20,
                     message="load accepted again once there is room")
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=20)
        self.assertEqual(odd, [])
        refused_ids = {e["id"] for e in refused}
        self.assertEqual(stored_ids(srv) & refused_ids, set(), "a notification answered 503 was kept")
        resent = 0
        for env in refused:  # Intercom's retries
            status, what = post_webhook(srv.port, env)
            self.assertEqual((status, what), (200, "queued"))
            acked.append(env["id"])
            resent += 1
        counts = self.check_database(srv, acked)
        report(f"disk-full-under-load: filler_bytes={filler_bytes} acknowledged={len(acked)}"
               f" answered-503={len(refused)} resent-and-stored={resent} "
               + " ".join(f"{k}={v}" for k, v in counts.items()))
        self.assertEqual(srv.proc.poll(), None, "the server died")

    def test_disk_full_at_start(self):
        fs = self.mount("tmpfs", 4)
        srv = self.start_on(fs)
        self.assertEqual(srv.webhook("testplug", self.envelopes("first", 1)[0]).status, 200)
        self.assertEqual(srv.stop(), 0)
        fs.fill()
        since = len(srv.lines)
        srv.start(expect_ready=False)
        code = srv.wait_exit(timeout=30)
        log = "\n".join(srv.lines[since:])
        report(f"disk-full-at-start: exit={code} error={log.strip().splitlines()[-1] if log.strip() else ''!r}")
        self.assertEqual(code, 1, log)
        self.assertIn("switchboard.db", log)
        self.assertRegex(log, r"(?i)full|no space")
        # With room again it starts, and what was stored before is still there.
        fs.unfill()
        srv.start()
        self.check_database(srv, ["notif_first_0"])

    def test_read_only_database_at_start(self):
        fs = self.mount("tmpfs", 4)
        srv = self.start_on(fs)
        self.assertEqual(srv.webhook("testplug", self.envelopes("first", 1)[0]).status, 200)
        self.assertEqual(srv.stop(), 0)
        fs.remount("ro")
        since = len(srv.lines)
        srv.start(expect_ready=False)
        code = srv.wait_exit(timeout=30)
        log = "\n".join(srv.lines[since:])
        report(f"read-only-at-start: exit={code} error={log.strip().splitlines()[-1] if log.strip() else ''!r}")
        self.assertEqual(code, 1, log)
        self.assertIn("switchboard.db", log)
        self.assertRegex(log, r"(?i)read-only")
        fs.remount("rw")
        srv.start()
        self.check_database(srv, ["notif_first_0"])

    def test_read_only_database_mid_run(self):
        fs = self.mount("ext4", 16)
        srv = self.start_on(fs)
        acked = []
        for env in self.envelopes("before", 10):
            self.assertEqual(srv.webhook("testplug", env).status, 200)
            acked.append(env["id"])
        files = [p for p in (fs.data / "switchboard.db", fs.data / "switchboard.db-wal") if p.exists()]
        subprocess.run(["chattr", "+i", *map(str, files)], check=True)
        self.addCleanup(subprocess.run, ["chattr", "-i", *map(str, files)], capture_output=True)
        refused = []
        for env in self.envelopes("ro", 5):
            r = srv.webhook("testplug", env)
            self.assertEqual((r.status, (r.json().get("error") or {}).get("code")),
                             (503, "store_unavailable"), r)
            refused.append(env)
        self.assertTrue(srv.request("GET", "/healthz", timeout=2).status == 200)
        subprocess.run(["chattr", "-i", *map(str, files)], check=True)
        recovery_ms = self.resend_after_recovery(srv, refused, acked, 10,
                                                 "the database is writable again")
        counts = self.check_database(srv, acked)
        report(f"read-only-mid-run: acknowledged={len(acked)} answered-503={len(refused)}"
               f" recovery_ms={recovery_ms:.0f} " + " ".join(f"{k}={v}" for k, v in counts.items()))
        self.assertEqual(srv.proc.poll(), None, "the server died")
