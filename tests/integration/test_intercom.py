"""The Intercom client: headers, regions, rate governor, retries, errors, pagination."""

import time

from harness import Server, ServerTestCase, envelope, wait_for


class ClientTestCase(ServerTestCase):
    region = "US"
    settings = None

    def setUp(self):
        super().setUp()
        self.fake = self.fake_intercom()
        self.fake.add_workspace(id_code="ws1", name="Acme", region=self.region)
        self.srv = self.server(plugins={"testplug": Server.plugin_config()}, intercom=self.fake,
                               settings=self.settings).start()
        self.assertEqual(self.srv.install("testplug", "ws1").status, 200)
        self.fake.clear_requests()

    def call(self, method, path, body=None, retry_safe=False):
        payload = {"method": method, "path": path, "retry_safe": retry_safe}
        if body is not None:
            payload["body"] = body
        r = self.srv.api("testplug", "POST", "/intercom", workspace="ws1", json_body=payload)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def sent(self, path_prefix):
        return [r for r in self.fake.requests if r["path"].startswith(path_prefix)]


class Requests(ClientTestCase):
    def test_headers_and_body(self):
        res = self.call("GET", "/admins")
        self.assertEqual(res["status"], 200)
        self.assertEqual(res["body"]["type"], "admin.list")
        req = self.sent("/admins")[0]
        h = req["headers"]
        self.assertTrue(h["authorization"].startswith("Bearer "))
        self.assertEqual(h["accept"], "application/json")
        self.assertEqual(h["intercom-version"], "2.14")
        self.assertEqual(req["region"], "US")

    def test_write_with_json_body(self):
        conv = self.fake.create_conversation("ws1", "Hello")
        admin = self.srv.installation("testplug", "ws1")["admin_id"]
        res = self.call("POST", f"/conversations/{conv['id']}/reply",
                        {"message_type": "note", "type": "admin", "admin_id": admin,
                         "body": "<p>internal</p>"})
        self.assertEqual(res["status"], 200)
        req = self.sent(f"/conversations/{conv['id']}/reply")[0]
        self.assertEqual(req["headers"]["content-type"], "application/json")
        self.assertEqual(req["json"]["message_type"], "note")

    def test_error_list_is_parsed(self):
        res = self.call("GET", "/conversations/999999999")
        self.assertEqual(res["status"], 404)
        self.assertEqual(res["error_code"], "not_found")
        self.assertTrue(res["error_message"])
        self.assertEqual(res["attempts"], 1)

    def test_bad_requests_fail_without_sending(self):
        """A wrong call is refused at once (0, no callback): nothing is sent."""
        before = len(self.fake.requests)
        for method, path in (("FETCH", "/admins"), ("GET", "admins")):
            r = self.srv.api("testplug", "POST", "/intercom", workspace="ws1",
                             json_body={"method": method, "path": path})
            self.assertEqual((r.status, r.json()["error"]["code"]), (400, "wrong_call"))
        self.assertEqual(len(self.fake.requests), before)


class Retries(ClientTestCase):
    def test_5xx_on_get_is_retried(self):
        self.fake.inject(method="GET", path=r"^/admins$", status=503, times=2)
        res = self.call("GET", "/admins")
        self.assertEqual((res["status"], res["attempts"]), (200, 3))
        self.assertEqual(len(self.sent("/admins")), 3)

    def test_5xx_gives_up_after_max_attempts(self):
        self.fake.inject(method="GET", path=r"^/admins$", status=500, times=100)
        res = self.call("GET", "/admins")
        self.assertEqual((res["status"], res["error_code"], res["attempts"]), (500, "server_error", 5))

    def test_write_not_retried_unless_marked_safe(self):
        conv = self.fake.create_conversation("ws1", "Hi")
        path = f"/conversations/{conv['id']}"
        self.fake.inject(method="PUT", path=rf"^{path}$", status=502, times=1)
        res = self.call("PUT", path, {"custom_attributes": {"severity": "high"}})
        self.assertEqual((res["status"], res["attempts"]), (502, 1))
        self.fake.inject(method="PUT", path=rf"^{path}$", status=502, times=1)
        res = self.call("PUT", path, {"custom_attributes": {"severity": "high"}}, retry_safe=True)
        self.assertEqual((res["status"], res["attempts"]), (200, 2))

    def test_dropped_connection_is_retried(self):
        self.fake.inject(method="GET", path=r"^/teams$", drop=True, times=1)
        res = self.call("GET", "/teams")
        self.assertEqual((res["status"], res["attempts"]), (200, 2))

    def test_401_flags_installation(self):
        self.call("GET", "/admins")  # learn the token the server uses
        used = self.sent("/admins")[-1]["headers"]["authorization"].split(" ", 1)[1]
        self.fake.revoked_tokens.add(used)
        res = self.call("GET", "/admins")
        self.assertEqual((res["status"], res["error_code"]), (401, "unauthorized"))
        inst = self.srv.installation("testplug", "ws1")
        self.assertEqual(inst["state"], "needs_reauth")
        events = [d["value"]["event"] for d in self.srv.docs("testplug", "installs", "ws1")]
        self.assertIn("needs_reauth", events)
        before = len(self.fake.requests)
        res = self.call("GET", "/admins")
        self.assertEqual(res["error_code"], "needs_reauth")
        self.assertEqual(len(self.fake.requests), before)
        # A new install brings it back.
        self.assertEqual(self.srv.install("testplug", "ws1").status, 200)
        self.assertEqual(self.srv.installation("testplug", "ws1")["state"], "active")
        self.assertEqual(self.call("GET", "/admins")["status"], 200)


class Timeouts(ClientTestCase):
    settings = {"intercom": {"request_timeout_s": 1, "max_attempts": 2}}

    def test_slow_answer_times_out_and_is_retried(self):
        self.fake.inject(method="GET", path=r"^/tags$", delay_ms=3000, times=10)
        started = time.monotonic()
        res = self.call("GET", "/tags")
        self.assertEqual((res["status"], res["error_code"], res["attempts"]), (0, "timeout", 2))
        self.assertLess(time.monotonic() - started, 6)


class RateLimits(ClientTestCase):
    # A call held for the next 10-second window can wait up to 10 s: more than the default deadline.
    settings = {"server": {"api_deadline_ms": 15000}}

    def test_429_waits_for_reset(self):
        reset_in = 2
        self.fake.inject(method="GET", path=r"^/admins$", status=429, times=1, reset_in_s=reset_in)
        started = time.time()
        res = self.call("GET", "/admins")
        elapsed = time.time() - started
        self.assertEqual(res["status"], 200)
        self.assertEqual(res["attempts"], 1)  # a 429 is not a spent attempt
        calls = self.sent("/admins")
        self.assertEqual(len(calls), 2)
        gap = calls[1]["time"] - calls[0]["time"]
        self.assertGreaterEqual(gap, reset_in - 1.05, gap)  # Reset is whole seconds
        self.assertLess(elapsed, reset_in + 3)
        metrics = self.srv.request("GET", "/metrics").text
        self.assertIn("switchboard_intercom_rate_limited_total 1", metrics)

    def test_next_call_waits_too(self):
        """After a 429, other requests of the installation also hold until the reset."""
        self.fake.inject(method="GET", path=r"^/admins$", status=429, times=1, reset_in_s=2)
        self.call("GET", "/admins")
        first_429 = self.sent("/admins")[0]["time"]
        self.call("GET", "/teams")
        self.assertGreaterEqual(self.sent("/teams")[0]["time"] - first_429, 0.9)

    def test_governor_slows_near_the_end_of_the_budget(self):
        self.fake.set_rate_limit(60)  # 10 per 10-second window
        # The fake's windows follow the clock (every 10 s): start in a window's first half,
        # so that the window cannot roll over while the calls run unthrottled.
        wait_for(lambda: time.time() % 10 < 5, timeout=11, message="a window's first half")
        started = time.time()
        for _ in range(12):
            self.assertEqual(self.call("GET", "/admins")["status"], 200)
        sent = self.sent("/admins")
        self.assertEqual([r["status"] for r in sent].count(429), 0)
        per_window = {}
        for r in sent:
            per_window[int(r["time"] // 10)] = per_window.get(int(r["time"] // 10), 0) + 1
        self.assertLessEqual(max(per_window.values()), 10, per_window)
        # 12 requests cannot fit in one window of 10: the governor waited for the next one.
        self.assertGreater(time.time() - started, 1.0)


class EuRegion(ClientTestCase):
    region = "EU"

    def test_eu_workspace_uses_eu_host(self):
        self.assertEqual(self.srv.installation("testplug", "ws1")["region"], "EU")
        self.call("GET", "/admins")
        self.assertEqual(self.sent("/admins")[0]["region"], "EU")


class Pagination(ClientTestCase):
    def walk(self, **body):
        r = self.srv.api("testplug", "POST", "/paginate", workspace="ws1", json_body=body)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_get_pages(self):
        self.fake.seed_conversations("ws1", 45)
        res = self.walk(method="GET", path="/conversations?per_page=20")
        self.assertIsNone(res["error_code"])
        self.assertEqual([p["items"] for p in res["pages"]], [20, 20, 5])
        ids = [i for p in res["pages"] for i in p["ids"]]
        self.assertEqual(len(ids), 45)
        self.assertEqual(len(set(ids)), 45)
        self.assertIsNone(res["pages"][-1]["next"])
        sent = self.sent("/conversations")
        self.assertNotIn("starting_after", sent[0]["query"])
        self.assertEqual(sent[1]["query"]["starting_after"], res["pages"][0]["next"])

    def test_search_pages_carry_cursor_in_body(self):
        self.fake.seed_conversations("ws1", 30)
        query = {"query": {"field": "updated_at", "operator": ">", "value": 0},
                 "pagination": {"per_page": 25}}
        res = self.walk(method="POST", path="/conversations/search", body=query)
        self.assertEqual([p["items"] for p in res["pages"]], [25, 5])
        second = self.sent("/conversations/search")[1]["json"]
        self.assertEqual(second["pagination"]["starting_after"], res["pages"][0]["next"])
        self.assertEqual(second["pagination"]["per_page"], 25)

    def test_resume_from_cursor(self):
        self.fake.seed_conversations("ws1", 30)
        first = self.walk(method="GET", path="/conversations?per_page=10")
        cursor = first["pages"][1]["next"]
        rest = self.walk(method="GET", path="/conversations?per_page=10", starting_after=cursor)
        self.assertEqual([p["ids"] for p in rest["pages"]], [first["pages"][2]["ids"]])

    def test_error_mid_walk_ends_it(self):
        self.fake.seed_conversations("ws1", 30)
        self.fake.inject(method="GET", path=r"^/conversations$", status=400, times=1)
        res = self.walk(method="GET", path="/conversations?per_page=10")
        self.assertEqual((res["status"], len(res["pages"])), (400, 0))
        self.assertTrue(res["error_code"])
