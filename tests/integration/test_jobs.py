"""Durable jobs: retries and dead jobs, replay, PENDING completion, ordering, schedules."""

import time

from harness import Server, ServerTestCase, envelope, wait_for


class JobsTestCase(ServerTestCase):
    plugin_settings = None

    def setUp(self):
        super().setUp()
        self.fake = self.fake_intercom()
        self.fake.add_workspace(id_code="ws1", name="Acme", region="US")
        self.srv = self.server(plugins={"testplug": Server.plugin_config(settings=self.plugin_settings)},
                               intercom=self.fake).start()
        self.assertEqual(self.srv.install("testplug", "ws1").status, 200)
        self.inst = self.srv.installation("testplug", "ws1")

    def enqueue(self, **body):
        r = self.srv.api("testplug", "POST", "/jobs", workspace="ws1", json_body=body)
        self.assertEqual(r.status, 201, r)
        return r.json()["id"]

    def job(self, job_id):
        return self.srv.admin("GET", f"/jobs/{job_id}").json()

    def wait_state(self, job_id, state, timeout=20):
        return wait_for(lambda: self.job(job_id)["state"] == state and self.job(job_id),
                        timeout=timeout, message=f"job {job_id} {state}")

    def settings(self, **changes):
        r = self.srv.admin("PUT", f"/installations/{self.inst['id']}/settings", json_body=changes)
        self.assertEqual(r.status, 200, r)


class Retries(JobsTestCase):
    def test_retry_then_dead_then_replay(self):
        job_id = self.enqueue(type="work", payload={"outcome": "retry"})
        dead = self.wait_state(job_id, "dead")
        self.assertEqual(dead["attempts"], 3)  # jobs.max_attempts in the harness
        self.assertIn("gave up after 3 attempts: payload asked to retry", dead["last_error"])
        runs = [d for d in self.srv.docs("testplug", "work", "ws1")]
        self.assertEqual([d["value"]["attempt"] for d in runs], [1, 2, 3])
        gaps = [b["value"]["at"] - a["value"]["at"] for a, b in zip(runs, runs[1:])]
        self.assertTrue(all(g >= 400 for g in gaps), gaps)  # backoff, base 1 s with jitter >= 0.5 s
        self.assertIn(job_id, [j["id"] for j in self.srv.admin("GET", "/jobs/dead").json()["jobs"]])
        r = self.srv.admin("POST", f"/jobs/{job_id}/replay")
        self.assertEqual((r.status, r.json()["state"]), (200, "queued"))
        wait_for(lambda: len(self.srv.docs("testplug", "work", "ws1")) >= 4, message="replayed run")
        self.assertEqual(self.srv.admin("POST", "/jobs/999999/replay").status, 404)

    def test_replay_of_live_job_is_refused(self):
        job_id = self.enqueue(type="work", delay_s=3600)
        r = self.srv.admin("POST", f"/jobs/{job_id}/replay")
        self.assertEqual(r.status, 409)

    def test_fail_is_dead_at_once(self):
        job_id = self.enqueue(type="work", payload={"outcome": "fail"})
        dead = self.wait_state(job_id, "dead")
        self.assertEqual((dead["attempts"], dead["last_error"]), (1, "payload asked to fail"))

    def test_fail_with_404_is_skipped_with_its_reason(self):
        """FAIL with http_status 404: the job's object is gone - skipped, not dead, not retried."""
        job_id = self.enqueue(type="work", payload={"outcome": "gone"})
        skipped = self.wait_state(job_id, "skipped")
        self.assertEqual((skipped["attempts"], skipped["last_error"]),
                         (1, "conversation 42 no longer exists"))
        listed = self.srv.admin("GET", "/jobs?state=skipped").json()["jobs"]
        self.assertEqual([j["id"] for j in listed], [job_id])
        self.assertEqual(self.srv.admin("GET", "/jobs/dead").json()["jobs"], [])
        self.assertEqual(len(self.srv.docs("testplug", "work", "ws1")), 1)  # ran once
        # An integrator who knows the object is back can still run it again.
        r = self.srv.admin("POST", f"/jobs/{job_id}/replay")
        self.assertEqual((r.status, r.json()["state"]), (200, "queued"))
        wait_for(lambda: len(self.srv.docs("testplug", "work", "ws1")) == 2, message="replayed run")

    def dead_delivery(self, item_id):
        """A notification whose delivery is retried until dead (event_mode retry): its job id."""
        self.settings(event_mode="retry")
        r = self.srv.webhook("testplug", envelope("conversation.user.created", "ws1",
                                                  {"type": "conversation", "id": item_id}))
        self.assertEqual(r.status, 200)
        return wait_for(lambda: self.srv.admin("GET", "/jobs/dead").json()["jobs"], timeout=20,
                        message="dead webhook job")[0]["id"]

    def test_event_retry_until_dead_then_replay(self):
        job_id = self.dead_delivery("5")
        self.settings(event_mode="ok")
        self.srv.admin("POST", f"/jobs/{job_id}/replay")
        self.wait_state(job_id, "done")
        attempts = [d["value"]["attempt"] for d in self.srv.docs("testplug", "events", "ws1")]
        self.assertEqual(attempts, [1, 2, 3, 1])

    def test_a_stored_body_that_is_not_json_is_dead_with_its_reason(self):
        """A retry reads the notification back from the store; a body that no longer parses
        (changed in the database) is not handed to the plugin: the delivery is dead, saying why."""
        job_id = self.dead_delivery("6")
        self.srv.db_execute("UPDATE events SET body = '{\"type\":\"notification_event\",' "
                            "WHERE id = ?", (job_id,))
        self.settings(event_mode="ok")
        self.srv.admin("POST", f"/jobs/{job_id}/replay")
        dead = wait_for(lambda: (j := self.job(job_id))["state"] == "dead" and j["attempts"] == 1
                        and j, message="the replay dead")
        self.assertEqual(dead["last_error"], f"event {job_id}: its stored body is not JSON")
        self.assertEqual(len(self.srv.docs("testplug", "events", "ws1")), 3)  # not run again


class Pending(JobsTestCase):
    plugin_settings = {"event_mode": "pending"}

    def test_pending_completed_later(self):
        self.srv.webhook("testplug", envelope("conversation.user.created", "ws1",
                                              {"type": "conversation", "id": "p1"}))
        deliveries = wait_for(lambda: self.srv.docs("testplug", "events", "ws1"), message="delivery")
        job_id = deliveries[0]["value"]["job"]
        self.wait_state(job_id, "done")
        self.assertEqual(self.job(job_id)["attempts"], 1)


class Ordering(JobsTestCase):
    def test_same_key_runs_in_order_one_at_a_time(self):
        ids = [self.enqueue(type="work", key="conv-1", payload={"n": i}) for i in range(5)]
        other = self.enqueue(type="work", key="conv-2", payload={"n": 99})
        for job_id in ids + [other]:
            self.wait_state(job_id, "done")
        runs = [d["value"] for d in self.srv.docs("testplug", "work", "ws1")]
        order = [r["payload"]["n"] for r in sorted(runs, key=lambda r: r["at"]) if r["payload"]["n"] != 99]
        self.assertEqual(order, [0, 1, 2, 3, 4])

    def test_job_waiting_behind_a_pending_one_runs_after_it(self):
        # Each delivery stays PENDING for 50 ms: the second notification of the
        # conversation is stored as 'waiting' and must be promoted when the first ends.
        self.settings(event_mode="pending")
        for n in range(2):
            r = self.srv.webhook("testplug", envelope("conversation.user.replied", "ws1",
                                                      {"type": "conversation", "id": "same"},
                                                      notification_id=f"notif_wait_{n}"))
            self.assertEqual(r.status, 200)

        def both_done():
            jobs = self.srv.admin("GET", "/jobs?plugin=testplug").json()["jobs"]
            done = [j for j in jobs if j["type"] == "webhook" and j["state"] == "done"]
            return len(done) == 2 and done

        webhooks = sorted(wait_for(both_done, message="both deliveries done"), key=lambda j: j["id"])
        self.assertEqual([j["key"] for j in webhooks], ["item:same", "item:same"])
        self.assertLessEqual(webhooks[0]["finished_at"], webhooks[1]["finished_at"])

    def test_blocked_by_earlier_retrying_job(self):
        first = self.enqueue(type="work", key="k", payload={"outcome": "fail"})
        second = self.enqueue(type="work", key="k", payload={"n": 2})
        self.wait_state(second, "done")
        self.assertEqual(self.job(first)["state"], "dead")
        a = self.job(first)["finished_at"]
        b = self.job(second)["finished_at"]
        self.assertLessEqual(a, b)

    def test_delayed_job_waits(self):
        job_id = self.enqueue(type="work", delay_s=1)
        queued = self.job(job_id)
        self.assertEqual(queued["state"], "queued")
        self.assertGreaterEqual(queued["run_at"] - queued["created_at"], 1000)
        done = self.wait_state(job_id, "done")
        self.assertGreaterEqual(done["finished_at"], queued["run_at"])


class ResultsNotWritten(JobsTestCase):
    def test_job_is_not_run_again_while_its_result_is_owed(self):
        # The install's first tick runs first: in the same round as the job, its result
        # would be refused with the job's (one write), and the count below would be of two.
        wait_for(lambda: self.srv.docs("testplug", "ticks", "ws1"), message="the first tick")
        # A trigger makes the store refuse to record jobs as done (as a full disk or
        # a broken file would): the handler ran and its writes committed, its result did not.
        lift = self.srv.refuse_in_store("BEFORE UPDATE OF state ON jobs",
                                        when="NEW.state = 'done' AND NEW.type = 'work'")
        job_id = self.enqueue(type="work", payload={"n": 1})
        # Retries (one a second) fail too; meanwhile the job must not be handed out
        # again. Its row: still 'queued' on SQLite; on PostgreSQL marked 'running' by
        # its node at dispatch, so no other node takes it either.
        wait_for(lambda: self.srv.log_text().count("cannot record 1 job results; retrying") >= 3,
                 timeout=30, message="three failed attempts to record the result")
        self.assertEqual(self.job(job_id)["state"],
                         "queued" if self.srv.storage == "sqlite" else "running")
        self.assertEqual(len(self.srv.docs("testplug", "work", "ws1")), 1)
        lift()
        done = self.wait_state(job_id, "done")
        self.assertEqual(done["attempts"], 1)
        runs = self.srv.docs("testplug", "work", "ws1")
        self.assertEqual([r["value"]["attempt"] for r in runs], [1])
        # Dispatch goes on once the results are written.
        self.wait_state(self.enqueue(type="work", payload={"n": 2}), "done")


    def test_jobs_run_again_after_a_failed_commit_at_a_pause(self):
        # The handler's document breaks a deferred foreign key: every commit of a turn that
        # ran the job fails, its writes are undone, so the job must run again - once a
        # second, not in a tight loop - and be recorded once the store works.
        lift = self.srv.fail_commits_in_store("AFTER INSERT ON documents", when="NEW.collection = 'work'")
        job_id = self.enqueue(type="work", payload={"n": 1})
        line = "the commit failed: 1 jobs will run again"
        wait_for(lambda: self.srv.log_text().count(line) >= 3, message="three failed commits")
        stamps = [l[:24] for l in self.srv.log_text().splitlines() if line in l][:3]
        at = [time.mktime(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) + float(t[19:23]) for t in stamps]
        self.assertTrue(all(b - a >= 0.9 for a, b in zip(at, at[1:])), stamps)
        self.assertEqual(self.srv.docs("testplug", "work", "ws1"), [])  # undone with the commit
        self.assertEqual(self.job(job_id)["state"], "queued")
        lift()
        done = self.wait_state(job_id, "done")
        self.assertEqual(done["attempts"], 1)
        self.assertEqual([r["value"]["attempt"] for r in self.srv.docs("testplug", "work", "ws1")], [1])

class Schedules(JobsTestCase):
    plugin_settings = {"tick_interval_s": 2}

    def ticks(self):
        return self.srv.docs("testplug", "ticks", "ws1")

    def test_fires_once_per_interval_across_restart(self):
        first = wait_for(self.ticks, message="first tick")
        self.assertEqual(len(first), 1)
        sched = self.srv.admin("GET", "/schedules?plugin=testplug").json()["schedules"]
        self.assertEqual([(s["name"], s["interval_s"]) for s in sched], [("tick", 2)])
        next_run = sched[0]["next_run_at"]
        self.srv.restart()  # before the next one is due
        wait_for(lambda: len(self.ticks()) >= 2, timeout=10, message="second tick")
        ticks = self.ticks()
        self.assertEqual(len(ticks), 2, ticks)
        at = [t["value"]["at"] for t in ticks]
        self.assertGreaterEqual(at[1], next_run)  # not early, not doubled by the restart
        self.assertGreaterEqual(at[1] - at[0], 1900)

    def test_missed_ticks_run_once(self):
        wait_for(self.ticks, message="first tick")
        self.srv.stop()
        time.sleep(5)  # two intervals pass while the server is down
        self.srv.start()
        wait_for(lambda: len(self.ticks()) >= 2, timeout=10, message="catch-up tick")
        started = time.monotonic()
        # The catch-up runs once, then the normal interval resumes (no burst of missed runs).
        wait_for(lambda: len(self.ticks()) >= 3, timeout=10, message="next tick")
        self.assertGreater(time.monotonic() - started, 1.0)

    def test_interval_follows_settings(self):
        wait_for(self.ticks, message="first tick")
        self.settings(tick_interval_s=3600)
        sched = self.srv.admin("GET", "/schedules").json()["schedules"][0]
        self.assertEqual(sched["interval_s"], 3600)
        self.assertGreater(sched["next_run_at"], time.time() * 1000 + 3000 * 1000)
