"""SDK 1.1 error vocabulary: every Intercom failure reaches the plugin with its kind, the
classifier (result_from_error) turns it into a result, product-API failures carry the
plugin's code in the host's JSON error, transaction() keeps its return rule, and
routes get their sb_route.arg and the needs-installation answers."""

from harness import API_KEY, Server, ServerTestCase


class ErrorsTestCase(ServerTestCase):
    settings = None

    def setUp(self):
        super().setUp()
        self.fake = self.fake_intercom()
        self.fake.add_workspace(id_code="ws1", name="Acme")
        self.srv = self.server(plugins={"testplug": Server.plugin_config()}, intercom=self.fake,
                               settings=self.settings).start()
        self.assertEqual(self.srv.install("testplug", "ws1").status, 200)
        self.conv = self.fake.create_conversation("ws1", "Hello")
        self.admin = self.srv.installation("testplug", "ws1")["admin_id"]

    def call(self, method, path, body=None, timeout=10, **extra):
        payload = {"method": method, "path": path, **extra}
        if body is not None:
            payload["body"] = body
        r = self.srv.request("POST", "/api/testplug/intercom?workspace_id=ws1", json_body=payload,
                             headers={"Authorization": f"Bearer {API_KEY}"}, timeout=timeout)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def sent(self, path):
        return [q for q in self.fake.requests if q["path"] == path]

    def reply_path(self):
        return f"/conversations/{self.conv['id']}/reply"

    def note(self):
        return {"message_type": "note", "type": "admin", "admin_id": self.admin,
                "body": "<p>note</p>"}


class Kinds(ErrorsTestCase):
    # The last test waits out ten rate-limit windows of about a second each.
    settings = {"server": {"api_deadline_ms": 40000}}

    def assert_kind(self, res, kind, status, code):
        self.assertEqual((res["kind"], res["status"]), (kind, status), res)
        c = res["classified"]
        self.assertEqual(c["code"], kind)
        self.assertEqual(c["status"], code, c)  # sb_status: 2 RETRY, 3 FAIL
        self.assertTrue(c["message"].startswith("calling Intercom: "), c)
        return c

    def test_success_has_no_kind(self):
        res = self.call("GET", "/admins")
        self.assertEqual((res["status"], res["kind"], res["retry_after_s"]), (200, "none", 0))
        self.assertNotIn("classified", res)

    def test_not_found_ends_skipped(self):
        res = self.call("GET", "/conversations/999999999")
        c = self.assert_kind(res, "not_found", 404, 3)
        self.assertEqual(c["http_status"], 404)
        self.assertEqual(res["error_code"], "not_found")  # Intercom's own code is kept
        self.assertIn("(HTTP 404)", c["message"])

    def test_gone_is_not_found(self):
        self.fake.inject(method="GET", path=r"^/admins$", status=410)
        c = self.assert_kind(self.call("GET", "/admins"), "not_found", 410, 3)
        self.assertEqual(c["http_status"], 404)

    def test_forbidden(self):
        self.fake.inject(method="GET", path=r"^/teams$", status=403)
        c = self.assert_kind(self.call("GET", "/teams"), "forbidden", 403, 3)
        self.assertEqual(c["http_status"], 0)

    def test_other_4xx_is_invalid_request(self):
        for status in (400, 422):
            self.fake.inject(method="POST", path=self.reply_path(), status=status)
            self.assert_kind(self.call("POST", self.reply_path(), self.note()),
                             "invalid_request", status, 3)

    def test_5xx_is_server_error_with_retry_after(self):
        self.fake.inject(method="POST", path=self.reply_path(), status=503,
                         headers={"Retry-After": "3"})
        res = self.call("POST", self.reply_path(), self.note())
        c = self.assert_kind(res, "server_error", 503, 2)
        self.assertEqual((res["retry_after_s"], c["retry_after_s"], res["attempts"]), (3, 3, 1))

    def test_unreadable_2xx_is_server_error(self):
        self.fake.inject(method="POST", path=self.reply_path(), truncate=True)
        res = self.call("POST", self.reply_path(), self.note())
        self.assert_kind(res, "server_error", 0, 2)
        self.assertEqual(res["error_code"], "invalid_response")

    def test_dropped_connection_is_network(self):
        self.fake.inject(method="POST", path=self.reply_path(), drop=True)
        res = self.call("POST", self.reply_path(), self.note())
        self.assert_kind(res, "network", 0, 2)
        self.assertEqual(res["error_code"], "connection")

    def test_401_then_needs_reauth(self):
        self.fake.inject(method="GET", path=r"^/admins$", status=401)
        self.assert_kind(self.call("GET", "/admins"), "needs_reauth", 401, 2)
        self.assertEqual(self.srv.installation("testplug", "ws1")["state"], "needs_reauth")
        res = self.call("GET", "/admins")
        self.assert_kind(res, "needs_reauth", 0, 2)
        self.assertEqual(res["error_code"], "needs_reauth")
        self.assertEqual(len(self.sent("/admins")), 1)

    def test_revoked_and_unknown_installations_call_back(self):
        """Not a wrong call: the callback runs, later, with REVOKED (410: a job ends skipped)."""
        own = self.srv.installation("testplug", "ws1")["id"]
        res = self.call("GET", "/admins", installation=own + 1000)
        c = self.assert_kind(res, "revoked", 0, 3)
        self.assertEqual(c["http_status"], 410)
        self.assertEqual(self.srv.api("testplug", "POST", "/revoke", workspace="ws1").status, 200)
        res = self.call("GET", "/admins")
        self.assert_kind(res, "revoked", 0, 3)
        self.assertEqual(res["error_code"], "revoked")
        self.assertEqual(self.sent("/admins"), [])

    def test_stopped_walk_is_cancelled(self):
        self.fake.seed_contacts("ws1", 5)
        r = self.srv.api("testplug", "POST", "/paginate", workspace="ws1",
                         json_body={"method": "GET", "path": "/contacts?per_page=2",
                                    "stop_after": 1})
        self.assertEqual(r.status, 200, r)
        res = r.json()
        self.assertEqual((res["kind"], res["error_code"], len(res["pages"])),
                         ("cancelled", "stopped", 1))
        self.assertEqual(res["classified"]["status"], 2)

    def test_wrong_calls_return_zero_and_never_call_back(self):
        before = len(self.fake.requests)
        for payload in ({"method": "FETCH", "path": "/admins"}, {"method": "GET", "path": "admins"}):
            r = self.srv.api("testplug", "POST", "/intercom", workspace="ws1", json_body=payload)
            self.assertEqual(r.status, 400, r)
            self.assertEqual(r.json()["error"]["code"], "wrong_call")
        r = self.srv.api("testplug", "POST", "/paginate", workspace="ws1",
                         json_body={"method": "GET", "path": "contacts"})
        self.assertEqual((r.status, r.json()["error"]["code"]), (400, "wrong_call"))
        self.assertEqual(len(self.fake.requests), before)
        self.srv.wait_log(r"intercom_paginate refused: path must start with '/'")

    def test_rate_limited_after_the_host_waited(self):
        """Ten 429s are waited out by the host; the eleventh reaches the plugin."""
        self.fake.inject(method="GET", path=r"^/tags$", status=429, times=11, reset_in_s=1,
                         headers={"Retry-After": "7"})
        res = self.call("GET", "/tags", timeout=40)
        c = self.assert_kind(res, "rate_limited", 429, 2)
        self.assertEqual((res["retry_after_s"], c["retry_after_s"]), (7, 7))
        self.assertEqual(len(self.sent("/tags")), 11)


class Timeouts(ErrorsTestCase):
    settings = {"intercom": {"request_timeout_s": 1}}

    def test_timeout_is_network(self):
        self.fake.inject(method="POST", path=self.reply_path(), delay_ms=3000)
        res = self.call("POST", self.reply_path(), self.note())
        self.assertEqual((res["kind"], res["error_code"], res["attempts"]), ("network", "timeout", 1))
        self.assertEqual(res["classified"]["status"], 2)


class RouteErrors(ErrorsTestCase):
    def fail(self, **body):
        return self.srv.api("testplug", "POST", "/fail_code", workspace="ws1", json_body=body)

    def test_code_and_status_reach_the_json_error(self):
        r = self.fail(status="fail", code="bad_project", http_status=422, message="no such project")
        self.assertEqual(r.status, 422, r)
        err = r.json()["error"]
        self.assertEqual((err["code"], err["message"], err["status"]),
                         ("bad_project", "no such project", 422))
        self.assertTrue(err["request_id"])

    def test_code_is_cleaned(self):
        r = self.fail(status="fail", code='Bad "Code"\n<x>')
        self.assertEqual((r.status, r.json()["error"]["code"]), (500, "bad__code___x_"))

    def test_no_code_is_plugin_error(self):
        r = self.fail(status="fail")
        self.assertEqual((r.status, r.json()["error"]["code"]), (500, "plugin_error"))

    def test_retry_answers_503_with_retry_after(self):
        r = self.fail(status="retry", code="busy", retry_after_s=9)
        self.assertEqual((r.status, r.header("Retry-After"), r.json()["error"]["code"]),
                         (503, "9", "busy"))
        r = self.fail(status="retry")
        self.assertEqual((r.status, r.header("Retry-After")), (503, None))

    def test_transaction_return_rule(self):
        for returns, rc, kept in ((0, 0, True), (5, 5, False), (-3, -1, False)):
            r = self.srv.api("testplug", "POST", "/transaction", workspace="ws1",
                             json_body={"returns": returns})
            self.assertEqual(r.status, 200, r)
            self.assertEqual((r.json()["rc"], r.json()["kept"]), (rc, kept), returns)


class Routes(ErrorsTestCase):
    def test_route_arg(self):
        for which in ("one", "two"):
            r = self.srv.api("testplug", "GET", f"/which/{which}")
            self.assertEqual((r.status, r.json()["arg"]), (200, which))

    def test_needs_installation(self):
        inst = self.srv.installation("testplug", "ws1")["id"]
        r = self.srv.api("testplug", "GET", "/which/installed", workspace="ws1")
        self.assertEqual((r.status, r.json()["installation"], r.json()["arg"]),
                         (200, inst, "installed"))
        r = self.srv.api("testplug", "GET", "/which/installed")
        self.assertEqual((r.status, r.json()["error"]["code"]), (400, "installation_required"))
        r = self.srv.api("testplug", "GET", "/which/installed",
                         headers={"X-Switchboard-Workspace": "nope"})
        self.assertEqual((r.status, r.json()["error"]["code"]), (404, "unknown_installation"))
        # A route without the flag still runs without an installation, and refuses an
        # uninstalled workspace with the same code as a flagged route.
        r = self.srv.api("testplug", "GET", "/which/one")
        self.assertEqual((r.status, r.json()["installation"]), (200, 0))
        r = self.srv.api("testplug", "GET", "/which/one", workspace="nope")
        self.assertEqual((r.status, r.json()["error"]["code"]), (404, "unknown_installation"))
        # Any state: presence is still the host's to check.
        r = self.srv.api("testplug", "GET", "/which/any", workspace="ws1")
        self.assertEqual((r.status, r.json()["installation"], r.json()["state"]),
                         (200, inst, "active"))
        r = self.srv.api("testplug", "GET", "/which/any")
        self.assertEqual((r.status, r.json()["error"]["code"]), (400, "installation_required"))
        r = self.srv.api("testplug", "GET", "/which/any", workspace="nope")
        self.assertEqual((r.status, r.json()["error"]["code"]), (404, "unknown_installation"))
        # Public routes too: no API key, still an installation.
        r = self.srv.api("testplug", "GET", "/which/public", workspace="ws1", key=None)
        self.assertEqual((r.status, r.json()["installation"]), (200, inst))
        r = self.srv.api("testplug", "GET", "/which/public", key=None)
        self.assertEqual(r.status, 400)
        # The API key is still checked first on a private route.
        r = self.srv.api("testplug", "GET", "/which/installed", workspace="ws1", key="wrong")
        self.assertEqual(r.status, 401)

    def test_needs_reauth_and_revoked_installations_are_refused_unless_any_state(self):
        self.fake.inject(method="GET", path=r"^/admins$", status=401)
        self.srv.api("testplug", "POST", "/intercom", workspace="ws1",
                     json_body={"method": "GET", "path": "/admins"})
        r = self.srv.api("testplug", "GET", "/which/installed", workspace="ws1")
        self.assertEqual((r.status, r.json()["error"]["code"]), (409, "installation_needs_reauth"))
        r = self.srv.api("testplug", "GET", "/which/any", workspace="ws1")
        self.assertEqual((r.status, r.json()["state"]), (200, "needs_reauth"))
        self.assertEqual(self.srv.api("testplug", "POST", "/revoke", workspace="ws1").status, 200)
        r = self.srv.api("testplug", "GET", "/which/installed", workspace="ws1")
        self.assertEqual((r.status, r.json()["error"]["code"]), (409, "installation_revoked"))
        r = self.srv.api("testplug", "GET", "/which/any", workspace="ws1")
        self.assertEqual((r.status, r.json()["state"]), (200, "revoked"))
        self.assertNotIn(API_KEY, self.srv.log_text())
