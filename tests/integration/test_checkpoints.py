"""SDK 1.1 job checkpoints: what a job saves with job_checkpoint comes back on every later
attempt - after a retry, a kill -9 and restart, an admin replay - and is cleared when the
job ends done or skipped; only the plugin running the job may save one. A job's last
error keeps the code of its sb_result."""

from harness import envelope, wait_for
from test_jobs import JobsTestCase


class Checkpoints(JobsTestCase):
    def steps(self, until, final=None):
        payload = {"until": until}
        if final:
            payload["final"] = final
        return self.enqueue(type="steps", payload=payload)

    def runs(self):
        """(attempt, checkpoint handed to the run) for every run, in order."""
        return [(d["value"]["attempt"], d["value"]["checkpoint"])
                for d in self.srv.docs("testplug", "work", "ws1")]

    def test_retries_resume_from_the_checkpoint(self):
        job_id = self.steps(until=3)
        done = self.wait_state(job_id, "done")
        self.assertEqual(self.runs(), [(1, None), (2, {"step": 1}), (3, {"step": 2})])
        self.assertIsNone(done["checkpoint"])  # cleared: nothing left to resume

    def test_checkpoint_survives_kill_and_restart(self):
        job_id = self.steps(until=1, final="pending")  # saves step 1, then never completes
        wait_for(lambda: self.job(job_id)["checkpoint"] == {"step": 1}, timeout=20,
                 message="the checkpoint committed")
        self.assertEqual(self.job(job_id)["state"], "running")
        self.srv.kill()
        self.srv.start()
        done = self.wait_state(job_id, "done")
        self.assertEqual(self.runs(), [(1, None), (2, {"step": 1})])
        self.assertIsNone(done["checkpoint"])

    def test_dead_job_replayed_resumes_and_keeps_its_code(self):
        job_id = self.steps(until=2, final="fail")
        dead = self.wait_state(job_id, "dead")
        self.assertEqual((dead["last_error"], dead["last_error_code"], dead["checkpoint"]),
                         ("the last step failed", "step_failed", {"step": 2}))
        r = self.srv.admin("POST", f"/jobs/{job_id}/replay")
        self.assertEqual(r.status, 200, r)
        done = self.wait_state(job_id, "done")
        self.assertEqual(self.runs(), [(1, None), (2, {"step": 1}), (1, {"step": 2})])
        self.assertIsNone(done["checkpoint"])

    def test_skipped_job_clears_its_checkpoint(self):
        job_id = self.steps(until=1, final="gone")  # FAIL with 410
        skipped = self.wait_state(job_id, "skipped")
        self.assertEqual(skipped["last_error"], "what the steps were about is gone")
        self.assertIsNone(skipped["checkpoint"])

    def test_webhook_delivery_gets_its_checkpoint(self):
        r = self.srv.admin("PUT", f"/installations/{self.inst['id']}/settings",
                           json_body={"event_mode": "checkpoint"})
        self.assertEqual(r.status, 200, r)
        r = self.srv.webhook("testplug", envelope("conversation.user.created", "ws1",
                                                  {"type": "conversation", "id": "7"}))
        self.assertEqual(r.status, 200)
        deliveries = wait_for(lambda: len(self.srv.docs("testplug", "events", "ws1")) >= 2
                              and self.srv.docs("testplug", "events", "ws1"), timeout=20,
                              message="a second delivery")
        seen = [(d["value"]["attempt"], d["value"]["checkpoint"]) for d in deliveries]
        self.assertEqual(seen, [(1, None), (2, {"seen_at_attempt": 1})])
        done = self.wait_state(deliveries[0]["value"]["job"], "done")
        self.assertIsNone(done["checkpoint"])

    def test_only_a_running_job_takes_a_checkpoint(self):
        job_id = self.steps(until=1)
        self.wait_state(job_id, "done")
        for target in (job_id, 999999):
            r = self.srv.api("testplug", "POST", "/checkpoint", workspace="ws1",
                             json_body={"job": target})
            self.assertEqual((r.status, r.json()["rc"]), (200, -1))
        self.srv.wait_log(rf"saved a checkpoint for job {job_id}, which it is not running")
        self.assertIsNone(self.job(job_id)["checkpoint"])
