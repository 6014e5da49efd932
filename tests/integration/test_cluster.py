"""Several nodes on one PostgreSQL database: two switchboard processes, one store.

Each test runs two nodes (harness Servers sharing one database, each on its own port,
with the same plugin configuration and the same key file, so that tokens sealed by one
open on the other) and checks what issue 19 promises of a cluster through HTTP and the
database: webhooks deduplicated and delivered once across nodes while one is killed and
restarted, keyed jobs one at a time and in order, a schedule once per period, an OAuth
install finished on the other node, and GET /admin/cluster on either node.

The module runs on PostgreSQL only: with SWITCHBOARD_TEST_STORAGE=postgresql on that
cluster (ctest's fixture), else on a private cluster the harness starts for this process,
else every test is skipped ("skipped: no PostgreSQL"). It prints its counts to stderr, e.g.
    cluster kill-9: rounds=4 acknowledged=N stored=N lost=0 duplicates-in-effect=0 ...
"""

import collections
import json
import os
import random
import threading
import time
import unittest
import urllib.parse

import harness
import pg_cluster
from harness import Server, ServerTestCase, envelope, http_get_no_redirect, wait_for
from test_faults import delivery_counts, post_webhook, report

LEASE_S = 5   # storage.lease_s: its minimum, so that a killed node's work comes back quickly


def setUpModule():
    # The whole module is about a shared database: it switches the harness to PostgreSQL
    # for its own process when the run is on SQLite (harness.cluster() then starts one).
    if harness.STORAGE != "postgresql":
        if pg_cluster.find_bindir() is None:
            raise unittest.SkipTest("skipped: no PostgreSQL")
        harness.STORAGE = "postgresql"


def admin_cluster(node):
    r = node.admin("GET", "/cluster")
    assert r.status == 200, r
    return r.json()


def node_named(view, name):
    """The newest registration of a node name in a GET /admin/cluster body."""
    return next((n for n in view["nodes"] if n["name"] == name), None)


class ClusterTestCase(ServerTestCase):
    """Two nodes, first and second, on one database, with one fake Intercom."""

    plugin_settings = None
    workspaces = ("ws1",)
    installed_before_second = False   # install the workspaces while only the first node runs

    def setUp(self):
        super().setUp()
        self.fake = self.fake_intercom()
        for ws in ("ws1", "ws2"):
            self.fake.add_workspace(id_code=ws, name=f"Workspace {ws}", region="US")
        self.first = self.node().start()
        if self.installed_before_second:
            self.install_workspaces()
        # The key file the first node made: tokens one node seals the other must open.
        self.second = self.node(database=self.first.database,
                                key_file=str(self.first.workdir / "data" / "secret.key")).start()
        self.nodes = (self.first, self.second)
        if not self.installed_before_second:
            self.install_workspaces()

    def wait_known(self, node, ws):
        """Wait until `node` serves an installation another node made (its product API)."""
        wait_for(lambda: node.api("testplug", "GET", "/settings", workspace=ws).status == 200,
                 message=f"{ws}'s installation known to the node")

    def install_workspaces(self):
        for ws in self.workspaces:
            self.assertEqual(self.first.install("testplug", ws).status, 200)

    def tearDown(self):
        # The node that made the database drops it when it closes: the sharer stops first.
        self.servers.reverse()
        super().tearDown()

    def node(self, database=None, key_file=None):
        settings = {"storage": {"lease_s": LEASE_S}}
        if key_file:
            settings["security"] = {"key_file": key_file}
        return self.server(plugins={"testplug": Server.plugin_config(settings=self.plugin_settings)},
                           intercom=self.fake, settings=settings, database=database)

    def node_name(self, node):
        return admin_cluster(node)["node"]

    def node_names_by_id(self):
        return dict(self.first.db_rows("SELECT id, name FROM nodes"))

    def installation_id(self, ws):
        return self.first.installation("testplug", ws)["id"]

    def set_settings(self, ws, **changes):
        r = self.first.admin("PUT", f"/installations/{self.installation_id(ws)}/settings",
                             json_body=changes)
        self.assertEqual(r.status, 200, r)

    def docs(self, collection, ws, node=None):
        return (node or self.first).docs("testplug", collection, ws)

    def enqueue(self, node, **body):
        r = node.api("testplug", "POST", "/jobs", workspace="ws1", json_body=body)
        self.assertEqual(r.status, 201, r)
        return r.json()["id"]

    def unfinished_deliveries(self):
        return self.first.db_rows("SELECT count(*) FROM events WHERE state IS NOT NULL"
                                  " AND state NOT IN ('done', 'dead')")[0][0]


class WebhooksUnderKill(ClusterTestCase):
    """Signed webhooks through both nodes while the second is killed (SIGKILL) and restarted."""

    ROUNDS = int(os.environ.get("SWITCHBOARD_CLUSTER_KILL_ROUNDS", "4"))
    SENDERS = 4
    # ws1 delivers at once ("delivered once in effect": testplug's one document per delivery
    # is written in the commit that records it done); ws2's deliveries stay PENDING for
    # 50 ms, so a kill leaves some running on the killed node, to be taken back.
    workspaces = ("ws1", "ws2")

    def test_every_acknowledged_notification_stored_and_delivered_once(self):
        self.set_settings("ws2", event_mode="pending")
        seed = int(os.environ.get("SWITCHBOARD_FAULT_SEED", random.randrange(1 << 30)))
        rng = random.Random(seed)
        stop = threading.Event()
        lock = threading.Lock()
        acked, attempted = set(), set()
        resends = collections.Counter()     # answers to an acknowledged id sent to the other node
        other_answers = []
        failed_sends = 0

        def sender(number):
            nonlocal failed_sends
            serial, target, pending = 0, number % 2, None
            while not stop.is_set():
                if pending is None:
                    serial += 1
                    pending = envelope("conversation.user.replied", "ws1" if serial % 2 else "ws2",
                                       {"type": "conversation", "id": f"c{number}-{serial % 5}"},
                                       notification_id=f"notif_c{number}_{serial}")
                    with lock:
                        attempted.add(pending["id"])
                # Each attempt goes to the other node, as a round-robin balancer would send it:
                # one that is down refuses the connection and the next attempt reaches the other.
                node, target = self.nodes[target], 1 - target
                try:
                    status, what = post_webhook(node.port, pending, timeout=10)
                except OSError:
                    with lock:
                        failed_sends += 1
                    continue
                if status != 200 or what not in ("queued", "duplicate"):
                    with lock:
                        other_answers.append((status, what))
                    continue
                with lock:
                    acked.add(pending["id"])
                if serial % 3 == 0:
                    # Intercom sends again what it is not sure of; the other node must know it.
                    try:
                        again = post_webhook(self.nodes[target].port, pending, timeout=10)
                    except OSError:
                        again = "refused"
                    with lock:
                        resends[again] += 1
                pending = None

        def acknowledged():
            with lock:
                return len(acked)

        def more_acknowledged(n):
            goal = acknowledged() + n
            wait_for(lambda: acknowledged() >= goal, timeout=60,
                     message=f"{n} more acknowledged notifications")

        threads = [threading.Thread(target=sender, args=(i,), daemon=True)
                   for i in range(self.SENDERS)]
        for t in threads:
            t.start()
        started = time.monotonic()
        try:
            for _ in range(self.ROUNDS):
                # The fault's timing: a random amount of load on both nodes, then the kill.
                more_acknowledged(rng.randint(20, 100))
                self.second.kill()
                more_acknowledged(30)   # the first node alone takes the load meanwhile
                self.second.start()     # the same port, so the same node name
            more_acknowledged(20)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
        load_s = time.monotonic() - started

        wait_for(lambda: self.unfinished_deliveries() == 0, timeout=60,
                 message="every delivery finished on the nodes that are up")
        rows = self.first.db_rows("SELECT notification_id, workspace_id, state, node_id FROM events"
                                  " WHERE plugin = 'testplug'")
        stored = {nid for nid, _, _, _ in rows}
        immediate = {nid for nid, ws, _, _ in rows if ws == "ws1"}
        effects = delivery_counts(self.first)
        names = self.node_names_by_id()
        ran_on = collections.Counter(names.get(node_id) for _, _, _, node_id in rows)
        states = collections.Counter(state for _, _, state, _ in rows)
        lost = acked - stored
        undelivered = {nid for nid in stored if effects.get(nid, 0) == 0}
        duplicates = {nid: n for nid, n in effects.items() if nid in immediate and n > 1}
        rerun = sum(1 for nid, n in effects.items() if nid not in immediate and n > 1)
        report(f"cluster kill-9: seed={seed} rounds={self.ROUNDS} senders={self.SENDERS}"
               f" load_s={load_s:.1f} attempted={len(attempted)} acknowledged={len(acked)}"
               f" stored={len(stored)} lost={len(lost)} undelivered={len(undelivered)}"
               f" duplicates-in-effect={len(duplicates)} pending-rerun={rerun}"
               f" failed-sends={failed_sends} resends={dict(resends)} states={dict(states)}"
               f" ran-on={dict(ran_on)}")
        self.assertGreater(len(acked), self.ROUNDS * 20, "the load was too light to mean anything")
        self.assertEqual(lost, set(), "acknowledged but not stored")
        self.assertTrue(stored <= attempted)
        self.assertEqual(len(rows), len(stored), "a notification stored twice")
        self.assertEqual(undelivered, set(), "stored but never delivered")
        self.assertEqual(duplicates, {}, "delivered more than once in effect")
        self.assertEqual(set(states), {"done"})
        # Every resend of an acknowledged id that the other node took was known there.
        self.assertGreater(resends[(200, "duplicate")], 0, resends)
        self.assertNotIn((200, "queued"), resends, "deduplication failed across nodes")
        # Both nodes delivered, each under its own name (the second under one name across
        # restarts), and every delivery names the node that ran it.
        self.assertEqual(set(ran_on), {self.node_name(self.first), self.node_name(self.second)})
        for node in self.nodes:
            wait_for(lambda: all(n["running"] == 0 for n in admin_cluster(node)["nodes"]),
                     message="no node left with running work")
        # Last, as they are not about what was stored: the nodes did not get in each other's
        # way. A statement that fails (a deadlock between two nodes' turns) fails its turn,
        # whose webhooks are answered 503.
        failed = [line for node in self.nodes for line in node.log_text().splitlines()
                  if "[store] statement failed" in line]
        self.assertEqual(failed, [], "statements failed")
        other_answers += [answer for answer in resends if answer not in ((200, "duplicate"), "refused")]
        self.assertEqual(other_answers, [], "answers other than 200 queued/duplicate")


class KeyedOrdering(ClusterTestCase):
    """Notifications about one conversation, received by both nodes."""

    PAIRS = 8
    BURST = 8
    # Each delivery stays PENDING for 50 ms: two of one key running at once would overlap.
    plugin_settings = {"event_mode": "pending"}

    def send(self, node, sent):
        env = envelope("conversation.user.replied", "ws1", {"type": "conversation", "id": "same"},
                       notification_id=f"notif_order_{len(sent):02d}")
        r = node.webhook("testplug", env)
        self.assertEqual((r.status, r.json()["status"]), (200, "queued"))
        sent.append(env["id"])

    def all_done(self, count):
        return self.first.db_rows("SELECT count(*) FROM events WHERE key = 'item:same'"
                                  " AND state = 'done'")[0][0] == count

    def test_one_at_a_time_in_the_order_received(self):
        sent = []
        # Pairs: the first notification goes to one node, which starts it at once; the second
        # reaches the other node while it runs, and must wait. The pairs begin on either node.
        for n in range(self.PAIRS):
            self.send(self.nodes[n % 2], sent)
            self.send(self.nodes[1 - n % 2], sent)
            wait_for(lambda: self.all_done(len(sent)), timeout=20, message=f"pair {n} done")
        # Then a burst, alternately, faster than they run.
        for n in range(self.BURST):
            self.send(self.nodes[n % 2], sent)
        wait_for(lambda: self.all_done(len(sent)), timeout=30, message="the burst done")
        rows = self.first.db_rows("SELECT notification_id, finished_at, node_id, received_at"
                                  " FROM events WHERE key = 'item:same' ORDER BY id")
        self.assertEqual([row[0] for row in rows], sent, "stored in the order received")
        # The test means something only if a second one came while the first still ran.
        contended = sum(1 for first, second in zip(rows[0:2 * self.PAIRS:2], rows[1:2 * self.PAIRS:2])
                        if second[3] < first[1])
        self.assertGreaterEqual(contended, self.PAIRS // 2)
        # When each delivery began: testplug's document key is "<notification>#<ms>-<attempt>".
        began = {}
        for doc in self.docs("events", "ws1"):
            nid, rest = doc["key"].split("#", 1)
            self.assertNotIn(nid, began, "a delivery ran twice")
            began[nid] = int(rest.split("-", 1)[0])
        self.assertEqual(set(began), set(sent))
        for (nid, finished, _, _), (later, _, _, _) in zip(rows, rows[1:]):
            self.assertGreaterEqual(began[later], finished,
                                    f"{later} began before {nid} finished: two ran at once")
        names = self.node_names_by_id()
        ran_on = collections.Counter(names[row[2]] for row in rows)
        report(f"cluster keyed ordering: count={len(sent)} contended-pairs={contended}"
               f" ran-on={dict(ran_on)}")
        self.assertEqual(set(ran_on), {self.node_name(self.first), self.node_name(self.second)},
                         "one node ran them all: the ordering was not across nodes")


class ScheduleTestCase(ClusterTestCase):
    """testplug's tick schedule every 2 seconds on ws1."""

    plugin_settings = {"tick_interval_s": 2}

    def ticks(self, node=None):
        return self.docs("ticks", "ws1", node=node)

    def scheduled(self):
        """The tick jobs' scheduled_at, in job order, after checking each job ran once."""
        jobs = self.first.db_rows("SELECT id, payload FROM jobs WHERE type = 'tick' ORDER BY id")
        ticks = self.ticks(node=self.second)
        # Each job ran once: a document per run, its key beginning with the job's id.
        ran = [int(t["key"].split("#", 1)[0]) for t in ticks]
        self.assertEqual(len(ran), len(set(ran)), f"a tick ran twice: {ran}")
        self.assertLessEqual(set(ran), {job_id for job_id, _ in jobs})
        self.assertIn(len(jobs) - len(ran), (0, 1))   # the last may be due but not yet run
        for tick in ticks:
            self.assertGreaterEqual(tick["value"]["at"], tick["value"]["payload"]["scheduled_at"])
        scheduled = [json.loads(payload)["scheduled_at"] for _, payload in jobs]
        self.assertEqual(len(scheduled), len(set(scheduled)), f"two runs for one period: {scheduled}")
        self.assertEqual(sorted(scheduled), scheduled)
        # Never two within one period.
        self.assertGreaterEqual(min(b - a for a, b in zip(scheduled, scheduled[1:])), 2000, scheduled)
        return scheduled, [t["value"]["at"] for t in ticks]


class ScheduleOnce(ScheduleTestCase):
    """Known to both nodes from their start: once per period, cluster-wide."""

    PERIODS = 6
    installed_before_second = True   # both nodes' timers wait for the same run

    def test_fires_once_per_period(self):
        wait_for(lambda: len(self.ticks()) >= self.PERIODS, timeout=self.PERIODS * 2 + 15,
                 message=f"{self.PERIODS} ticks")
        scheduled, at = self.scheduled()
        # Over the span they cover, as many runs as periods (one more or less at the edges).
        self.assertLessEqual(abs(len(at) - ((at[-1] - at[0]) // 2000 + 1)), 1, at)
        report(f"cluster schedule: ticks={len(scheduled)} span_ms={at[-1] - at[0]}")


class ScheduleAfterStop(ScheduleTestCase):
    """Made on the first node while both run, it goes on when the first stops."""

    def test_fires_on_the_other_node_once_the_first_stops(self):
        self.wait_known(self.second, "ws1")
        wait_for(lambda: len(self.ticks(node=self.second)) >= 2, timeout=15, message="two ticks")
        self.assertEqual(self.first.stop(), 0)
        seen = len(self.ticks(node=self.second))
        wait_for(lambda: len(self.ticks(node=self.second)) >= seen + 2, timeout=15,
                 message="two more ticks, fired by the second node")
        self.scheduled()


class OAuthAcrossNodes(ClusterTestCase):
    def install_across(self, ws):
        """Begin the install of `ws` on the first node; the balancer sends Intercom's redirect
        back to the second, which finishes it."""
        self.fake.authorize_as(ws)
        start = self.first.request("GET", "/oauth/testplug/install")
        self.assertEqual(start.status, 302)
        back = http_get_no_redirect(start.header("Location"))
        self.assertEqual(back.status, 302)
        callback = urllib.parse.urlsplit(back.header("Location"))
        self.assertEqual(callback.path, "/oauth/testplug/callback")
        page = self.second.request("GET", f"{callback.path}?{callback.query}")
        self.assertEqual(page.status, 200, page.text)
        self.assertIn("Installed", page.text)
        return callback

    def test_install_started_on_one_node_completes_on_the_other(self):
        callback = self.install_across("ws2")
        # At once, to the node that began it and has not seen the installation yet.
        env = envelope("conversation.user.created", "ws2", {"type": "conversation", "id": "o1"})
        r = self.first.webhook("testplug", env)
        self.assertEqual((r.status, r.json()["status"]), (200, "queued"))
        inst = self.first.installation("testplug", "ws2")
        self.assertEqual((inst["state"], inst["workspace_name"]), ("active", "Workspace ws2"))
        wait_for(lambda: self.docs("events", "ws2"), message="the delivery")
        # A state is used once, whichever node sees it again.
        self.assertNotEqual(self.first.request("GET", f"{callback.path}?{callback.query}").status, 200)

    def test_token_sealed_on_one_node_opens_on_the_other(self):
        self.install_across("ws2")
        self.wait_known(self.first, "ws2")
        # The first node calls Intercom with the token the second sealed (the same key file).
        conv = self.fake.create_conversation("ws2", "hello")
        r = self.first.api("testplug", "POST", "/intercom", workspace="ws2",
                           json_body={"method": "GET", "path": f"/conversations/{conv['id']}"})
        self.assertEqual((r.status, r.json()["status"], r.json()["error_code"]), (200, 200, None), r)


class BudgetShared(ClusterTestCase):
    """Intercom's budget is one per installation: each live node plans with 1/n of it."""

    def test_live_nodes_counted_at_each_heartbeat(self):
        # A node counts the live nodes when it starts and at each heartbeat (lease_s / 3).
        for node in self.nodes:
            wait_for(lambda: admin_cluster(node)["nodes_sharing"] == 2, timeout=LEASE_S * 2,
                     message="two nodes sharing the budget")
        self.assertEqual(self.second.stop(), 0)
        # Stopped cleanly: it is not alive at the first node's next heartbeat.
        wait_for(lambda: admin_cluster(self.first)["nodes_sharing"] == 1, timeout=LEASE_S * 2,
                 message="the first node alone with the budget")


class Takeover(ClusterTestCase):
    def test_both_nodes_listed_then_a_killed_one_stopped_and_its_work_requeued(self):
        names = [self.node_name(node) for node in self.nodes]
        self.assertNotEqual(names[0], names[1])
        for node, name in zip(self.nodes, names):
            view = admin_cluster(node)
            self.assertEqual((view["driver"], view["node"], view["lease_s"]),
                             ("postgresql", name, LEASE_S))
            for other in names:
                entry = node_named(view, other)
                self.assertIsNotNone(entry, view)
                self.assertIsNone(entry["stopped_at"])
                self.assertIsInstance(entry["running"], int)
            self.assertEqual(node_named(view, name)["id"], view["node_id"])
        # A job that stays PENDING where it runs (testplug's steps: the last step never ends).
        job_id = self.enqueue(self.first, type="steps", payload={"until": 1, "final": "pending"})
        job = wait_for(lambda: (j := self.first.admin("GET", f"/jobs/{job_id}").json())["state"]
                       == "running" and j, message="the job running")
        runner_id = job["node_id"]
        runner = next(node for node in self.nodes if admin_cluster(node)["node_id"] == runner_id)
        survivor = self.second if runner is self.first else self.first
        runner_name = self.node_name(runner)
        for node in self.nodes:
            self.assertEqual(node.admin("GET", f"/jobs/{job_id}").json()["node_id"], runner_id)
            entry = node_named(admin_cluster(node), runner_name)
            self.assertEqual(entry["id"], runner_id)
            self.assertGreaterEqual(entry["running"], 1)
        runner.kill()
        killed_at = time.time() * 1000
        entry = wait_for(lambda: (e := node_named(admin_cluster(survivor), runner_name))["stopped_at"]
                         and e, timeout=LEASE_S * 3 + 10, message="the killed node stopped")
        # Declared gone by its lease, not before: its last heartbeat is older than the lease.
        self.assertGreaterEqual(entry["stopped_at"] - entry["heartbeat_at"], LEASE_S * 1000)
        self.assertGreaterEqual(entry["stopped_at"], killed_at)
        done = wait_for(lambda: (j := survivor.admin("GET", f"/jobs/{job_id}").json())["state"]
                        == "done" and j, timeout=20, message="the job done on the survivor")
        self.assertEqual(done["node_id"], admin_cluster(survivor)["node_id"])
        survivor.wait_log(r"requeued \d+ jobs and deliveries of nodes that are gone")
        # It went on from its checkpoint: a second run, at step 2.
        runs = [d["value"] for d in self.docs("work", "ws1", node=survivor)]
        self.assertEqual([(r["attempt"], (r["checkpoint"] or {}).get("step")) for r in runs],
                         [(1, None), (2, 1)])
        self.assertEqual(node_named(admin_cluster(survivor), runner_name)["running"], 0)

    def test_queued_work_of_a_stopped_node_runs_on_the_other(self):
        # Due a moment after it was enqueued, on a node that stops before then: nothing of
        # it runs anywhere yet, and the other node, idle, must find it due.
        job_id = self.enqueue(self.first, type="work", delay_s=1, payload={"n": 1})
        self.assertEqual(self.first.stop(), 0)
        done = wait_for(lambda: (j := self.second.admin("GET", f"/jobs/{job_id}").json())["state"]
                        == "done" and j, timeout=15, message="the job done on the other node")
        self.assertEqual(done["attempts"], 1)
        self.assertEqual(len(self.docs("work", "ws1", node=self.second)), 1)
