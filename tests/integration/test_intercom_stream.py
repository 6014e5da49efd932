"""intercom_stream (SDK 1.2): an Intercom answer read as it arrives, through testplug's
POST /stream, against the fake Intercom (every request checked against the OpenAPI description).

The elements of the named array go to the plugin one by one, in order, inside the host's
transaction scope (what the item callback stores is committed); the rest of the answer goes to
done(). An item callback that stops, or cancels, ends the transfer; errors are intercom_request's;
a body cut off is retried only until the first element went out. The tests run with one request
in flight per installation, so a slot that a stopped transfer kept would hang the next one.
"""

import json

from harness import Server, ServerTestCase

PARTS = "conversation_parts.conversation_parts"


class IntercomStream(ServerTestCase):
    N = 2000

    def setUp(self):
        super().setUp()
        self.fake = self.fake_intercom()
        self.ws = self.fake.add_workspace(id_code="ws1", name="Acme", region="US")
        settings = {"intercom": {"max_in_flight_per_installation": 1, "retry_base_ms": 10,
                                 "retry_cap_ms": 20}}
        self.srv = self.server(plugins={"testplug": Server.plugin_config()}, intercom=self.fake,
                               settings=settings).start()
        self.assertEqual(self.srv.install("testplug", "ws1").status, 200)
        ws = self.ws
        with ws.lock:
            contact = ws.add_contact(email="ann@acme.test", name="Ann")
            self.long = ws.add_conversation("Long", contact=contact)
            who = ws.author_of_contact(contact)
            for k in range(self.N):
                ws.add_part(self.long, "comment", who, f"<p>part {k} " + "x" * 200 + "</p>")
            self.short = ws.add_conversation("Short", contact=contact)
            ws.add_part(self.short, "comment", who, "<p>one</p>")
            ws.get_view = lambda c: json.loads(json.dumps(c))  # every part, in one answer
        self.part_ids = [p["id"] for p in self.long["conversation_parts"]["conversation_parts"]]

    def stream(self, conv, array=PARTS, expect=200, **options):
        r = self.srv.api("testplug", "POST", "/stream", workspace="ws1",
                         json_body={"method": "GET", "path": f"/conversations/{conv['id']}",
                                    "array": array, **options})
        self.assertEqual(r.status, expect, r)
        return r.json()

    def test_elements_in_order_then_the_rest(self):
        res = self.stream(self.long, store=True)
        self.assertEqual((res["kind"], res["error_code"], res["attempts"]), ("none", None, 1))
        self.assertEqual(res["items"], self.part_ids)
        rest = res["body"]
        self.assertEqual((rest["id"], rest["type"]), (self.long["id"], "conversation"))
        self.assertEqual(rest["conversation_parts"],
                         {"type": "conversation_part.list", "conversation_parts": [],
                          "total_count": self.N})
        # Written in the item callbacks, committed with their rounds.
        docs = self.srv.api("testplug", "GET", "/docs/streamed",
                            workspace="ws1").json()["documents"]
        self.assertEqual(sorted(int(d["key"]) for d in docs), list(range(self.N)))
        self.assertEqual({d["key"]: d["value"]["id"] for d in docs}["1999"], self.part_ids[-1])
        # No such array: nothing handed out, the whole answer to done().
        res = self.stream(self.short, array="conversation_parts.parts")
        self.assertEqual(res["items"], [])
        self.assertEqual(len(res["body"]["conversation_parts"]["conversation_parts"]), 1)

    def test_a_callback_stops_or_cancels(self):
        res = self.stream(self.long, stop_at=5)
        self.assertEqual((res["kind"], res["error_code"]), ("cancelled", "stopped"))
        self.assertEqual(res["items"], self.part_ids[:6])
        self.assertIsNone(res["body"])
        res = self.stream(self.long, cancel_at=3)
        self.assertEqual((res["kind"], res["error_code"]), ("cancelled", "cancelled"))
        self.assertEqual(res["items"], self.part_ids[:4])
        # The slot came back (one per installation): the next reading goes through.
        res = self.stream(self.short)
        self.assertEqual((res["kind"], len(res["items"])), ("none", 1))

    def test_errors_are_intercom_requests(self):
        res = self.stream({"id": "404404"})
        self.assertEqual((res["status"], res["kind"], res["items"]), (404, "not_found", []))
        self.assertEqual(res["classified"]["code"], "not_found")
        self.fake.inject("GET", rf"^/conversations/{self.long['id']}$", status=503, times=2)
        res = self.stream(self.long)
        self.assertEqual((res["kind"], res["attempts"], res["items"]),
                         ("none", 3, self.part_ids))
        # Wrong calls: 0, and no callback.
        for array in ("", "a..b", ".a", "a" * 65):
            self.assertEqual(self.stream(self.short, array=array, expect=400)["error"]["code"],
                             "wrong_call")

    def test_cut_off_bodies(self):
        # Cut before the first part: sent again at once.
        self.fake.inject("GET", rf"^/conversations/{self.short['id']}$", truncate=True)
        res = self.stream(self.short)
        self.assertEqual((res["kind"], res["attempts"], len(res["items"])), ("none", 2, 1))
        # Cut after some: elements went out, so no silent retry - the caller decides.
        self.fake.inject("GET", rf"^/conversations/{self.long['id']}$", truncate=True)
        res = self.stream(self.long)
        self.assertEqual((res["kind"], res["error_code"], res["attempts"]),
                         ("server_error", "invalid_response", 1))
        self.assertIn("unexpected end of input", res["error_message"])
        self.assertGreater(len(res["items"]), 100)
        self.assertLess(len(res["items"]), self.N)
        self.assertEqual(res["items"], self.part_ids[:len(res["items"])])
