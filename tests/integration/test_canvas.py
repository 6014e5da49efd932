"""Canvas Kit: signatures, installation lookup, plugin answers, deadlines, checks."""

import json
import time

from harness import Server, ServerTestCase, sign_canvas


class CanvasTestCase(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.fake = self.fake_intercom()
        self.fake.add_workspace(id_code="ws1", name="Acme", region="US")
        self.srv = self.server(plugins={"testplug": Server.plugin_config()}, intercom=self.fake,
                               settings={"server": {"canvas_deadline_ms": 800}}).start()
        self.assertEqual(self.srv.install("testplug", "ws1").status, 200)
        self.inst = self.srv.installation("testplug", "ws1")
        self.conv = self.fake.create_conversation("ws1", "Checkout is broken")

    def mode(self, mode):
        r = self.srv.admin("PUT", f"/installations/{self.inst['id']}/settings",
                           json_body={"canvas_mode": mode})
        self.assertEqual(r.status, 200)

    def body(self, **kw):
        return self.fake.inbox_canvas_body("ws1", self.conv["id"], **kw)

    def send(self, flow, payload):
        """Sign as Intercom does and POST; returns (status, canvas json)."""
        status, headers, body = self.fake.canvas_request(f"{self.srv.url}/canvas/testplug/{flow}", payload)
        return status, json.loads(body)

    @staticmethod
    def texts(answer):
        return [c.get("text") for c in answer["canvas"]["content"]["components"]]


class Canvas(CanvasTestCase):
    def test_initialize_and_submit_round_trip(self):
        status, answer = self.send("initialize", self.body())
        self.assertEqual(status, 200)
        self.assertEqual(self.texts(answer)[0], f"hello (conversation {self.conv['id']})")
        button = answer["canvas"]["content"]["components"][1]
        status, answer = self.send("submit", self.body(component_id=button["id"],
                                                       current_canvas=answer["canvas"]))
        self.assertEqual(status, 200)
        self.assertEqual(self.texts(answer)[0], f"clicked go (conversation {self.conv['id']})")

    def test_bad_signature(self):
        payload = json.dumps(self.body()).encode()
        r = self.srv.request("POST", "/canvas/testplug/initialize", body=payload,
                             headers={"X-Body-Signature": sign_canvas(payload, "wrong")})
        self.assertEqual(r.status, 401)
        r = self.srv.request("POST", "/canvas/testplug/initialize", body=payload)
        self.assertEqual(r.status, 401)
        # The webhook scheme (sha1=) is not accepted here.
        r = self.srv.request("POST", "/canvas/testplug/initialize", body=payload,
                             headers={"X-Body-Signature": "sha1=" + "0" * 40})
        self.assertEqual(r.status, 401)

    def test_malformed_and_unknown(self):
        payload = b"[]"
        r = self.srv.request("POST", "/canvas/testplug/initialize", body=payload,
                             headers={"X-Body-Signature": sign_canvas(payload)})
        self.assertEqual(r.status, 400)
        self.assertEqual(self.srv.canvas("testplug", "configure", self.body()).status, 404)
        self.assertEqual(self.srv.canvas("nosuch", "initialize", self.body()).status, 404)
        self.assertEqual(self.srv.request("GET", "/canvas/testplug/initialize").status, 405)

    def test_workspace_not_installed(self):
        body = self.body()
        body["workspace_id"] = "someone-else"
        r = self.srv.canvas("testplug", "initialize", body)
        self.assertEqual(r.status, 200)
        self.assertIn("has not connected", r.json()["canvas"]["content"]["components"][0]["text"])

    def test_late_plugin_gets_error_canvas_in_time(self):
        self.mode("late")
        started = time.monotonic()
        status, answer = self.send("initialize", self.body())
        elapsed = time.monotonic() - started
        self.assertEqual(status, 200)
        self.assertLess(elapsed, 2.0)
        self.assertGreaterEqual(elapsed, 0.75)
        comp = answer["canvas"]["content"]["components"][0]
        self.assertEqual(comp["style"], "error")
        self.assertIn("took too long", comp["text"])

    def test_slow_but_in_time(self):
        self.mode("slow_ok")
        status, answer = self.send("initialize", self.body())
        self.assertEqual(self.texts(answer)[0], f"slow hello (conversation {self.conv['id']})")

    def test_invalid_and_failing_plugin(self):
        self.mode("invalid")
        status, answer = self.send("initialize", self.body())
        self.assertEqual(status, 200)
        self.assertIn("invalid canvas", self.texts(answer)[0])
        self.srv.wait_log(r"invalid canvas .*no \"canvas\" object")
        self.mode("fail")
        status, answer = self.send("initialize", self.body())
        self.assertEqual(answer["canvas"]["content"]["components"][0]["style"], "error")
        self.assertNotIn("canvas_mode is fail", json.dumps(answer))  # the plugin's reason stays in the log
        self.srv.wait_log(r"canvas handler failed: canvas_mode is fail")

    def test_revoked_installation(self):
        self.srv.admin("POST", f"/installations/{self.inst['id']}/revoke")
        status, answer = self.send("initialize", self.body())
        self.assertEqual(status, 200)
        self.assertIn("disconnected", self.texts(answer)[0])
