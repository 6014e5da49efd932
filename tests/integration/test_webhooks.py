"""Webhook intake: signatures, parsing, dedup, durability across kill -9."""

import json
import sqlite3

from harness import STORAGE, Server, ServerTestCase, envelope, metric, sign_webhook, wait_for


class WebhookTestCase(ServerTestCase):
    plugin_settings = None

    def setUp(self):
        super().setUp()
        self.fake = self.fake_intercom()
        self.fake.add_workspace(id_code="ws1", name="Acme", region="US")
        self.srv = self.server(plugins={"testplug": Server.plugin_config(settings=self.plugin_settings)},
                               intercom=self.fake).start()
        self.assertEqual(self.srv.install("testplug", "ws1").status, 200)

    def conversation(self, text="My app crashes"):
        return self.fake.create_conversation("ws1", text)

    def deliveries(self):
        return self.srv.docs("testplug", "events", "ws1")

    def events(self, **query):
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        return self.srv.admin("GET", f"/events?plugin=testplug&{qs}").json()["events"]


class Intake(WebhookTestCase):
    def test_head_validates_url(self):
        r = self.srv.request("HEAD", "/webhooks/testplug")
        self.assertEqual(r.status, 200)

    def test_signed_webhook_reaches_plugin_once(self):
        conv = self.conversation()
        status, headers, body = self.fake.send_webhook(f"{self.srv.url}/webhooks/testplug",
                                                       "conversation.user.created", "ws1", conv)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["status"], "queued")
        got = wait_for(self.deliveries, message="delivery")
        self.assertEqual(len(got), 1)
        value = got[0]["value"]
        self.assertEqual((value["topic"], value["item_id"], value["attempt"]),
                         ("conversation.user.created", str(conv["id"]), 1))
        job = self.srv.admin("GET", f"/jobs/{value['job']}").json()
        wait_for(lambda: self.srv.admin("GET", f"/jobs/{value['job']}").json()["state"] == "done",
                 message="job done")
        self.assertEqual(job["type"], "webhook")
        self.assertEqual(job["key"], f"item:{conv['id']}")
        event = self.events()[0]
        self.assertEqual((event["topic"], event["outcome"], event["workspace_id"]),
                         ("conversation.user.created", "queued", "ws1"))
        full = self.srv.admin("GET", f"/events/{event['id']}").json()
        self.assertEqual(full["body"]["data"]["item"]["id"], conv["id"])

    def test_forged_and_missing_signature(self):
        env = envelope("conversation.user.created", "ws1", {"type": "conversation", "id": "9"})
        r = self.srv.webhook("testplug", env, secret="not-the-secret")
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json()["error"]["code"], "bad_signature")
        r = self.srv.webhook("testplug", env, signature="")
        self.assertEqual(r.status, 401)
        self.assertIn("missing", r.json()["error"]["message"])
        r = self.srv.webhook("testplug", env, signature="sha256=" + "0" * 64)
        self.assertEqual(r.status, 401)
        self.assertEqual(self.events(), [])
        self.srv.wait_log(r"plugin testplug: wrong X-Hub-Signature")
        metrics = self.srv.request("GET", "/metrics").text
        self.assertIn('switchboard_webhooks_total{outcome="bad_signature"} 3', metrics)

    def test_store_connection_sharing_is_measured(self):
        # /metrics says how the store's one connection was shared: the commit thread holds it
        # to write and commit intake's rows, the loop's turn gathers hold it to deliver them.
        held = 'switchboard_store_connection_held_seconds_total{holder="%s"}'
        waited = "switchboard_store_connection_wait_seconds_total"

        def sample():
            text = self.srv.request("GET", "/metrics").text
            self.assertIn("# TYPE switchboard_store_connection_held_seconds_total counter", text)
            self.assertIn(f"# TYPE {waited} counter", text)
            return {name: metric(text, name)
                    for name in (held % "turn_gathers", held % "commit_thread", waited)}

        before = sample()
        for i in range(20):
            env = envelope("conversation.user.created", "ws1",
                           {"type": "conversation", "id": str(500 + i)})
            self.assertEqual(self.srv.webhook("testplug", env).status, 200)
        wait_for(lambda: len(self.deliveries()) == 20, message="20 deliveries")
        after = sample()
        self.assertGreater(after[held % "commit_thread"], before[held % "commit_thread"])
        self.assertGreater(after[held % "turn_gathers"], before[held % "turn_gathers"])
        self.assertGreaterEqual(after[waited], before[waited])
        # Shares of the wall clock: each holder at most the time the server has been up.
        uptime = metric(self.srv.request("GET", "/metrics").text, "switchboard_uptime_seconds")
        for name in (held % "turn_gathers", held % "commit_thread", waited):
            self.assertLessEqual(after[name], uptime)

    def test_log_syncs_are_a_histogram(self):
        # Each answer waits for the sync of the log that made its notification durable:
        # /metrics keeps their durations as a Prometheus histogram.
        name = "switchboard_store_log_sync_duration_seconds"

        def sample():
            text = self.srv.request("GET", "/metrics").text
            self.assertIn(f"# TYPE {name} histogram", text)
            buckets = []
            for line in text.splitlines():
                if line.startswith(name + '_bucket{le="'):
                    le = line.split('"')[1]
                    buckets.append((float("inf") if le == "+Inf" else float(le),
                                    float(line.split()[-1])))
            return buckets, metric(text, name + "_count"), metric(text, name + "_sum")

        _, count_before, sum_before = sample()
        for i in range(10):  # one after the other: no two answers can share a sync
            env = envelope("conversation.user.created", "ws1",
                           {"type": "conversation", "id": str(700 + i)})
            self.assertEqual(self.srv.webhook("testplug", env).status, 200)
        buckets, count, total = sample()
        if STORAGE != "sqlite":  # PostgreSQL's commits are durable when they return: no log here
            self.assertEqual((count, total), (0, 0))
            return
        self.assertGreaterEqual(count - count_before, 10)
        self.assertGreater(total, sum_before)
        bounds = [le for le, _ in buckets]
        self.assertEqual(bounds, sorted(bounds))
        self.assertEqual(bounds[-1], float("inf"))
        counts = [n for _, n in buckets]
        self.assertEqual(counts, sorted(counts))  # cumulative
        self.assertEqual(counts[-1], count)
        self.assertGreater(counts[-2], 0)  # (a sync of a few pages takes well under 1 s)

    def test_log_checkpoints_are_counted(self):
        # Once the log holds 1,000 pages the checkpoint thread copies them back into the
        # database file, and the next commit starts the log over: /metrics counts the
        # checkpoints and their time, and says how many pages the log holds.
        def sample():
            text = self.srv.request("GET", "/metrics").text
            self.assertIn("# TYPE switchboard_store_checkpoints_total counter", text)
            self.assertIn("# TYPE switchboard_store_log_frames gauge", text)
            by = 'switchboard_store_checkpoints_total{by="%s"}'
            return {"thread": metric(text, by % "checkpoint_thread"),
                    "writer": metric(text, by % "writer"),
                    "seconds": metric(text, "switchboard_store_checkpoint_seconds_total"),
                    "frames": metric(text, "switchboard_store_log_frames")}

        def send(n):
            env = envelope("conversation.user.created", "ws1",
                           {"type": "conversation", "id": str(n), "body": "x" * 3000})
            self.assertEqual(self.srv.webhook("testplug", env).status, 200)

        before = sample()
        if STORAGE != "sqlite":  # PostgreSQL's server checkpoints its own log
            self.assertEqual(before, {"thread": 0, "writer": 0, "seconds": 0, "frames": 0})
            return
        self.assertGreater(before["frames"], 0)  # the install's commits
        seen = before
        for n in range(2000):
            send(1000 + n)
            if n % 25 == 24:
                seen = sample()
                if seen["thread"] > before["thread"]:
                    break
        self.assertGreater(seen["thread"], before["thread"])
        self.assertGreater(seen["seconds"], before["seconds"])
        self.assertEqual(seen["writer"], 0)  # the thread kept up: the writer never stalled
        # Copied back whole while the server is quiet, the log starts over at a later commit.
        later = iter(range(5000, 6000))

        def started_over():
            send(next(later))
            return sample()["frames"] < 1000
        wait_for(started_over, message="the log started over")

    def test_duplicate_is_acknowledged_once(self):
        env = envelope("conversation.user.created", "ws1", {"type": "conversation", "id": "77"},
                       notification_id="notif_dup_1")
        first = self.srv.webhook("testplug", env)
        second = self.srv.webhook("testplug", env)
        self.assertEqual((first.status, first.json()["status"]), (200, "queued"))
        self.assertEqual((second.status, second.json()["status"]), (200, "duplicate"))
        wait_for(self.deliveries, message="delivery")
        jobs = self.srv.admin("GET", "/jobs?plugin=testplug").json()["jobs"]
        self.assertEqual(len([j for j in jobs if j["type"] == "webhook"]), 1)
        self.assertEqual(len(self.events()), 1)
        self.assertEqual(len(self.deliveries()), 1)

    def test_duplicate_recognized_after_a_restart_and_a_kill(self):
        """What Intercom sends again after an answer it did not get, recognized by the next
        process (SQLite: the newest notifications read back at start; PostgreSQL: its index)."""
        env = envelope("conversation.user.created", "ws1", {"type": "conversation", "id": "78"},
                       notification_id="notif_dup_restart")
        self.assertEqual(self.srv.webhook("testplug", env).json()["status"], "queued")
        wait_for(self.deliveries, message="delivery")
        self.srv.restart()
        r = self.srv.webhook("testplug", env)
        self.assertEqual((r.status, r.json()["status"]), (200, "duplicate"))
        self.srv.kill()
        self.srv.start()
        r = self.srv.webhook("testplug", env)
        self.assertEqual((r.status, r.json()["status"]), (200, "duplicate"))
        self.assertEqual(len(self.events()), 1)
        self.assertEqual(len(self.deliveries()), 1)

    def test_malformed_bodies_store_nothing(self):
        cases = [b"{not json", b"[1,2]", b'{"topic":"conversation.user.created"}',
                 json.dumps({"topic": "conversation.user.created", "id": "n1", "app_id": "ws1"}).encode(),
                 json.dumps({"id": "n2", "app_id": "ws1", "data": {"item": {}}}).encode()]
        for body in cases:
            r = self.srv.request("POST", "/webhooks/testplug", body=body,
                                 headers={"X-Hub-Signature": sign_webhook(body),
                                          "Content-Type": "application/json"})
            self.assertEqual(r.status, 400, body)
            self.assertEqual(r.json()["error"]["code"], "malformed_notification")
        self.assertEqual(self.events(), [])
        self.srv.wait_log(r"malformed notification .*data\.item")

    def test_ping(self):
        env = envelope("ping", "ws1", {"type": "ping", "message": "something"})
        env["id"] = None
        r = self.srv.webhook("testplug", env)
        self.assertEqual((r.status, r.json()["status"]), (200, "pong"))
        self.assertEqual(self.events(), [])

    def test_unsubscribed_topic_and_unknown_workspace(self):
        r = self.srv.webhook("testplug", envelope("contact.user.created", "ws1",
                                                  {"type": "contact", "id": "c1"}))
        self.assertEqual(r.json()["status"], "ignored")
        r = self.srv.webhook("testplug", envelope("conversation.user.created", "stranger",
                                                  {"type": "conversation", "id": "c2"}))
        self.assertEqual((r.status, r.json()["status"]), (200, "unrouted"))
        outcomes = sorted(e["outcome"] for e in self.events())
        self.assertEqual(outcomes, ["ignored", "unrouted"])
        self.assertEqual(self.srv.admin("GET", "/jobs?plugin=testplug&state=queued").json()["jobs"], [])

    def test_unknown_plugin(self):
        r = self.srv.request("POST", "/webhooks/nosuch", body=b"{}")
        self.assertEqual(r.status, 404)

    def test_oversize_body(self):
        item = {"type": "conversation", "id": "big", "body": "x" * 1100000}
        r = self.srv.webhook("testplug", envelope("conversation.user.created", "ws1", item))
        self.assertEqual(r.status, 413)
        self.assertEqual(self.events(), [])

    def test_burst_shares_commits(self):
        """Many notifications at once are all stored, each acknowledged after commit."""
        import concurrent.futures
        envs = [envelope("conversation.user.replied", "ws1", {"type": "conversation", "id": str(i)})
                for i in range(200)]
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(lambda e: self.srv.webhook("testplug", e).status, envs))
        self.assertEqual(statuses, [200] * 200)
        self.assertEqual(len(self.srv.admin("GET", "/events?plugin=testplug&limit=1000")
                             .json()["events"]), 200)
        wait_for(lambda: len(self.srv.docs("testplug", "events", "ws1")) == 200, timeout=30,
                 message="200 deliveries")


class StoreFailure(WebhookTestCase):
    def test_notification_not_stored_is_not_acknowledged(self):
        # A trigger makes the store refuse new events (as a full disk would): the
        # notification gets a 503 (Intercom retries it), nothing of it is kept, and
        # the same notification sent again once the store works is stored and delivered once.
        lift = self.srv.refuse_in_store("BEFORE INSERT ON events")
        env = envelope("conversation.user.created", "ws1", {"type": "conversation", "id": "sf1"})
        r = self.srv.webhook("testplug", env)
        self.assertEqual(r.status, 503)
        self.assertEqual(r.json()["error"]["code"], "store_unavailable")
        self.assertEqual(self.events(), [])
        jobs = self.srv.admin("GET", "/jobs?plugin=testplug").json()["jobs"]
        self.assertEqual([j for j in jobs if j["type"] == "webhook"], [])
        lift()
        r = self.srv.webhook("testplug", env)
        self.assertEqual((r.status, r.json()["status"]), (200, "queued"))
        wait_for(lambda: len(self.deliveries()) == 1, message="one delivery")
        self.assertEqual([e["notification_id"] for e in self.events()], [env["id"]])


    def test_store_locked_by_another_process_delays_the_answer(self):
        # Another process holds the write lock past the busy timeout: the turn cannot
        # open its transaction, does nothing and tries again; once the lock is gone the
        # notification is stored, answered 200 and delivered once.
        self.sqlite_only("the database file's write lock and busy timeout")
        import concurrent.futures
        # First let the install's own work (the first schedule tick) finish, so that the
        # webhook's turn is what meets the lock.
        wait_for(lambda: (jobs := self.srv.admin("GET", "/jobs?plugin=testplug").json()["jobs"])
                 and all(j["state"] == "done" for j in jobs), message="the first tick done")
        db = sqlite3.connect(self.srv.db_path, isolation_level=None)
        self.addCleanup(db.close)
        db.execute("BEGIN IMMEDIATE")
        env = envelope("conversation.user.created", "ws1", {"type": "conversation", "id": "lk1"})
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            answer = pool.submit(lambda: self.srv.request(
                "POST", "/webhooks/testplug", body=json.dumps(env).encode(), timeout=30,
                headers={"X-Hub-Signature": sign_webhook(json.dumps(env).encode()),
                         "Content-Type": "application/json"}))
            self.srv.wait_log(r"cannot open the transaction", timeout=15)
            db.execute("ROLLBACK")
            r = answer.result(timeout=30)
        self.assertEqual((r.status, r.json()["status"]), (200, "queued"))
        wait_for(lambda: len(self.deliveries()) == 1, message="one delivery")
        self.assertEqual([e["notification_id"] for e in self.events()], [env["id"]])

class KillAndRestart(WebhookTestCase):
    # Each delivery stays PENDING for 50 ms, so the kill catches jobs mid-flight.
    plugin_settings = {"event_mode": "pending"}

    def test_every_acknowledged_event_is_processed(self):
        acked = []
        for i in range(50):
            env = envelope("conversation.user.created", "ws1", {"type": "conversation", "id": f"k{i}"})
            r = self.srv.webhook("testplug", env)
            self.assertEqual(r.status, 200)
            acked.append(env["id"])
        self.srv.kill()
        # Every acknowledged notification is in the database, with its job.
        stored = {row[0] for row in self.srv.db_rows("SELECT notification_id FROM events")}
        jobs = self.srv.db_rows("SELECT count(*) FROM events WHERE state IS NOT NULL")[0][0]
        self.assertEqual(stored, set(acked))
        self.assertEqual(jobs, 50)
        self.srv.start()
        wait_for(lambda: len({d["key"].split("#")[0] for d in self.deliveries()}) == 50,
                 timeout=30, message="all 50 processed after restart")
        states = {j["state"] for j in self.srv.admin("GET", "/jobs?plugin=testplug&limit=1000").json()["jobs"]}
        wait_for(lambda: {j["state"] for j in self.srv.admin(
            "GET", "/jobs?plugin=testplug&limit=1000").json()["jobs"]} == {"done"}, message="all done")
        self.assertTrue(states <= {"done", "queued", "running"})
