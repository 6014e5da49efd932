"""The admin API views the web console reads: what a plugin lacks to be configured, refused plugins,
the Intercom app URLs and install link, an installation's activity (newest job and last result per
type, with the checkpoint of a running one), jobs filtered and paged with a cursor (fast at 10,000),
replaying every dead job of a plugin, events with outcome and body, and bad input."""

import time
import urllib.parse

from harness import TEST_PLUGIN_DIR, Server, ServerTestCase, envelope, http_get_no_redirect, wait_for


class ConsoleApiTestCase(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.fake = self.fake_intercom()
        self.fake.add_workspace(id_code="ws1", name="Acme", region="US")
        self.fake.add_workspace(id_code="ws2", name="Globex", region="EU")
        self.srv = self.server(plugins={
            "testplug": Server.plugin_config(),
            # testplug's module under another name: refused, with the reason.
            "impostor": Server.plugin_config(path=str(TEST_PLUGIN_DIR / "testplug.so")),
        }, intercom=self.fake).start()
        for ws in ("ws1", "ws2"):
            self.assertEqual(self.srv.install("testplug", ws).status, 200)
        self.inst = self.srv.installation("testplug", "ws1")
        self.other = self.srv.installation("testplug", "ws2")

    def enqueue(self, workspace="ws1", **body):
        r = self.srv.api("testplug", "POST", "/jobs", workspace=workspace, json_body=body)
        self.assertEqual(r.status, 201, r)
        return r.json()["id"]

    def job(self, job_id):
        return self.srv.admin("GET", f"/jobs/{job_id}").json()

    def wait_state(self, job_id, state, timeout=20):
        return wait_for(lambda: self.job(job_id)["state"] == state and self.job(job_id),
                        timeout=timeout, message=f"job {job_id} {state}")

    def assert_error(self, r, status, code=None):
        self.assertEqual(r.status, status, r)
        if code:
            self.assertEqual(r.json()["error"]["code"], code, r)


class Plugins(ConsoleApiTestCase):
    def test_configured_refused_and_urls(self):
        listed = self.srv.admin("GET", "/plugins").json()
        plugin = {p["name"]: p for p in listed["plugins"]}["testplug"]
        self.assertEqual((plugin["configured"], plugin["missing"]), (True, []))
        self.assertEqual([r["name"] for r in listed["refused"]], ["impostor"])
        self.assertIn("does not match the configured name", listed["refused"][0]["reason"])
        one = self.srv.admin("GET", "/plugins/testplug").json()
        self.assertEqual(one["missing"], [])
        self.assertEqual(one["urls"]["webhook"], f"{self.srv.url}/webhooks/testplug")
        self.assertEqual(one["urls"]["oauth_callback"], f"{self.srv.url}/oauth/testplug/callback")
        self.assertEqual(one["urls"]["uninstall"], f"{self.srv.url}/oauth/testplug/uninstalled")
        self.assertIn("canvas_initialize", one["urls"])
        self.assertIn("product", one)
        # "Connect a workspace" is a plain link: no token, a redirect to Intercom's authorize page.
        start = http_get_no_redirect(one["urls"]["oauth_install"])
        self.assertEqual(start.status, 302)
        authorize = urllib.parse.urlsplit(start.header("Location"))
        self.assertTrue(start.header("Location").startswith(self.fake.oauth_url), authorize)
        query = urllib.parse.parse_qs(authorize.query)
        self.assertIn("state", query)
        self.assertNotIn(self.srv.admin_token, start.header("Location"))
        self.assert_error(self.srv.admin("GET", "/plugins/impostor"), 404, "not_found")

    def test_what_is_missing(self):
        srv = self.server(plugins={"testplug": Server.plugin_config(credentials=False,
                                                                    client_id="only-the-id")},
                          intercom=self.fake).start()
        plugin = srv.admin("GET", "/plugins/testplug").json()
        self.assertEqual((plugin["configured"], plugin["missing"]), (False, ["client_secret"]))
        srv2 = self.server(plugins={"testplug": Server.plugin_config(credentials=False)},
                           intercom=self.fake).start()
        listed = srv2.admin("GET", "/plugins").json()["plugins"]
        self.assertEqual(listed[0]["missing"], ["client_id", "client_secret"])
        self.assertNotIn("client_secret\":\"", srv2.admin("GET", "/plugins").text)


class Jobs(ConsoleApiTestCase):
    def test_filters_and_cursor(self):
        dead = [self.enqueue(type="work", payload={"outcome": "fail"}) for _ in range(3)]
        for job_id in dead:
            self.wait_state(job_id, "dead")
        later = self.enqueue(type="later", delay_s=3600)
        elsewhere = self.enqueue(workspace="ws2", type="later", delay_s=3600)

        def ids(query):
            r = self.srv.admin("GET", "/jobs?" + query)
            self.assertEqual(r.status, 200, r)
            return [j["id"] for j in r.json()["jobs"]]

        self.assertEqual(ids("state=dead&plugin=testplug"), dead[::-1])
        self.assertEqual(ids("type=later"), [elsewhere, later])
        self.assertEqual(ids(f"type=later&installation={self.inst['id']}"), [later])
        self.assertEqual(ids(f"state=queued&installation={self.other['id']}"), [elsewhere])
        self.assertEqual(ids("state=dead&type=later"), [])
        self.assertEqual(ids("plugin=nosuch"), [])
        # A cursor: next_before until the last page, where it is null.
        seen, cursor = [], None
        while True:
            page = self.srv.admin("GET", "/jobs?state=dead&limit=2"
                                  + (f"&before={cursor}" if cursor else "")).json()
            seen += [j["id"] for j in page["jobs"]]
            cursor = page["next_before"]
            if cursor is None:
                break
            self.assertEqual(cursor, page["jobs"][-1]["id"])
        self.assertEqual(seen, dead[::-1])
        for query, field in (("installation=abc", "installation"), ("installation=-3", "installation"),
                             ("before=1x", "before"), ("before=0", "before")):
            r = self.srv.admin("GET", "/jobs?" + query)
            self.assert_error(r, 400, "bad_query")
            self.assertIn(field, r.json()["error"]["message"])
        self.assert_error(self.srv.admin("GET", "/jobs?state=sleeping"), 400, "bad_state")
        self.assert_error(self.srv.admin("GET", "/jobs/999999"), 404, "not_found")

    def test_replay_every_dead_job_of_a_plugin(self):
        dead = [self.enqueue(type="work", key="same", payload={"outcome": "fail"}) for _ in range(3)]
        for job_id in dead:
            self.wait_state(job_id, "dead")
        alive = self.enqueue(type="later", delay_s=3600)
        r = self.srv.admin("POST", "/jobs/dead/replay?plugin=testplug")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"plugin": "testplug", "replayed": 3})
        # They run again (and fail again); one key still runs one at a time.
        states = {self.job(j)["state"] for j in dead}
        self.assertTrue(states <= {"queued", "waiting", "running", "dead"}, states)
        for job_id in dead:
            self.assertEqual(self.wait_state(job_id, "dead")["attempts"], 1)
        self.assertEqual(self.job(alive)["state"], "queued")
        runs = self.srv.docs("testplug", "work", "ws1")
        self.assertEqual(len(runs), 6)
        self.assertEqual(self.srv.admin("POST", "/jobs/dead/replay?plugin=testplug").json()["replayed"], 3)
        self.assert_error(self.srv.admin("POST", "/jobs/dead/replay"), 400, "bad_query")
        self.assert_error(self.srv.admin("POST", "/jobs/dead/replay?plugin="), 400, "bad_query")
        self.assert_error(self.srv.admin("POST", "/jobs/dead/replay?plugin=nosuch"), 404, "not_found")
        self.assert_error(self.srv.admin("GET", "/jobs/dead/replay"), 405)
        self.assertEqual(self.srv.request("POST", "/admin/jobs/dead/replay?plugin=testplug").status, 401)
        self.assertIn("3 dead jobs of testplug replayed", self.srv.log_text())


class Activity(ConsoleApiTestCase):
    def test_newest_job_and_last_result_per_type(self):
        failed = self.enqueue(type="steps", payload={"until": 1, "final": "fail"})
        self.wait_state(failed, "dead")
        # A resumable job that is between its steps: its checkpoint shows how far it got.
        running = self.enqueue(type="steps", payload={"until": 50})
        wait_for(lambda: (self.job(running).get("checkpoint") or {}).get("step", 0) >= 1,
                 message="first step saved")
        self.enqueue(type="later", delay_s=3600)
        r = self.srv.admin("GET", f"/installations/{self.inst['id']}/activity")
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual(body["installation_id"], self.inst["id"])
        by_type = {a["type"]: a for a in body["jobs"]}
        self.assertLessEqual({"steps", "later"}, set(by_type))  # and testplug's schedule, "tick"
        steps = by_type["steps"]
        self.assertEqual(steps["latest"]["id"], running)
        self.assertGreaterEqual(steps["latest"]["checkpoint"]["step"], 1)
        self.assertIn(steps["latest"]["state"], ("queued", "running"))
        self.assertEqual(steps["last_finished"]["id"], failed)
        self.assertEqual((steps["last_finished"]["state"], steps["last_finished"]["last_error"]),
                         ("dead", "the last step failed"))
        self.assertIsNone(by_type["later"]["last_finished"])
        # Another installation's activity is its own.
        theirs = self.srv.admin("GET", f"/installations/{self.other['id']}/activity").json()["jobs"]
        self.assertFalse({"steps", "later"} & {a["type"] for a in theirs}, theirs)
        self.assert_error(self.srv.admin("GET", "/installations/424242/activity"), 404, "not_found")
        self.assert_error(self.srv.admin("GET", "/installations/abc/activity"), 404, "not_found")


class EventsAndAudit(ConsoleApiTestCase):
    def test_outcome_body_cursor_and_bad_input(self):
        for i in range(3):
            self.srv.webhook("testplug", envelope("conversation.user.created", "ws1",
                                                  {"type": "conversation", "id": str(i)}))
        page = self.srv.admin("GET", "/events?plugin=testplug&limit=2&body=1").json()
        self.assertEqual(len(page["events"]), 2)
        self.assertEqual(page["next_before"], page["events"][-1]["id"])
        first = page["events"][0]
        self.assertEqual(first["outcome"], "queued")
        self.assertEqual(first["body"]["data"]["item"]["id"], "2")
        rest = self.srv.admin("GET", f"/events?plugin=testplug&limit=2&before={page['next_before']}").json()
        self.assertEqual((len(rest["events"]), rest["next_before"]), (1, None))
        self.assert_error(self.srv.admin("GET", "/events?installation=x"), 400, "bad_query")
        self.assert_error(self.srv.admin("GET", "/events/999999"), 404, "not_found")
        audit = self.srv.admin("GET", f"/audit?installation={self.inst['id']}&limit=1").json()
        self.assertEqual(len(audit["audit"]), 1)
        self.assertEqual(audit["next_before"], audit["audit"][0]["id"])
        self.assert_error(self.srv.admin("GET", "/audit?before=soon"), 400, "bad_query")


class TenThousandJobs(ConsoleApiTestCase):
    def test_lists_walk_indexes_and_page(self):
        n = 10_000
        self.srv.stop()
        now = int(time.time() * 1000)
        rows = []
        for i in range(n):
            inst = self.inst["id"] if i % 2 else self.other["id"]
            state = "dead" if i % 100 == 0 else "done"
            rows.append(("testplug", inst, f"bulk{i % 5}", state, 1, 3, now, "bulk failure" if state == "dead"
                         else None, now, now, now))
        self.srv.db_execute_many("INSERT INTO jobs (plugin, installation_id, type, state, attempts,"
                                 " max_attempts, run_at, last_error, created_at, updated_at, finished_at)"
                                 " VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
        # The query plans are SQLite's (PostgreSQL's planner picks by its statistics).
        plans = {} if self.srv.storage != "sqlite" else {
            sql: " ".join(r[3] for r in self.srv.db_rows("EXPLAIN QUERY PLAN " + sql))
            for sql in ("SELECT id FROM jobs WHERE state = 'dead' AND id < 99999 ORDER BY id DESC",
                        "SELECT id FROM jobs WHERE installation_id = 1 AND id < 99999 "
                        "ORDER BY id DESC",
                        "SELECT id FROM jobs WHERE installation_id = 1 AND type = 'bulk3' "
                        "AND id < 99999 ORDER BY id DESC",
                        "SELECT max(id) FROM jobs WHERE installation_id = 1 GROUP BY type")}
        for sql, plan in plans.items():
            self.assertIn("USING", plan, f"{sql}: {plan}")  # an index, not a scan of the table
            self.assertNotIn("TEMP B-TREE", plan, f"{sql}: {plan}")  # in its order: no sort
        self.srv.start()
        queries = ["/jobs?limit=100", "/jobs?state=dead&limit=100", "/jobs?state=dead&plugin=testplug",
                   f"/jobs?installation={self.inst['id']}&limit=100",
                   f"/jobs?installation={self.inst['id']}&type=bulk3&limit=100",
                   "/jobs?type=bulk4&limit=100", f"/installations/{self.inst['id']}/activity"]
        # How fast they answer is the benchmark's business (tests/bench); here: they answer.
        for query in queries:
            r = self.srv.admin("GET", query)
            self.assertEqual(r.status, 200, r)
        page = self.srv.admin("GET", "/jobs?state=dead&limit=1000").json()
        self.assertEqual(len(page["jobs"]), n // 100)
        last = self.srv.admin("GET", f"/jobs?limit=100&before={page['jobs'][-1]['id']}").json()
        self.assertTrue(all(j["id"] < page["jobs"][-1]["id"] for j in last["jobs"]))
        activity = self.srv.admin("GET", f"/installations/{self.inst['id']}/activity").json()["jobs"]
        self.assertLessEqual({f"bulk{k}" for k in range(5)}, {a["type"] for a in activity})
