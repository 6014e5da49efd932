"""timebook: tagged conversations become feedback tickets; Intercom contacts mirrored.

The real binary and the bundled plugin against the fake Intercom, with a small
receiver standing in for the vendor's product (its product.webhook_url). Every
request the plugin sends is checked against Intercom's OpenAPI description in
tearDown. Tag notifications are built by the fake the way Intercom builds
conversation_part.tag.created: the conversation, the tagged part and
tags_added with each tag's applied_at.
"""

import http.server
import json
import threading
import time
import urllib.parse

import harness
from harness import Server, ServerTestCase, wait_for

WS = "tbws1"
PLUGIN = "timebook"
PRODUCT = "roadmap"
SECRET = "whsec_" + "dGltZWJvb2stdGVzdC1zZWNyZXQtMzItYnl0ZXMhIQ=="


class Receiver:
    """The vendor's product: records every event POSTed to it and answers 200."""

    def __init__(self):
        events = self.events = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                events.append({"id": self.headers.get("webhook-id"), "body": json.loads(body)})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of_type(self, type_):
        """One per webhook-id (a retried delivery keeps its id)."""
        seen = {}
        for e in self.events:
            if e["body"]["type"] == type_:
                seen.setdefault(e["id"], e)
        return list(seen.values())

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class TimebookCase(ServerTestCase):
    defaults = None

    def setUp(self):
        super().setUp()
        self.fake = self.fake_intercom()
        self.ws = self.fake.add_workspace(id_code=WS, name="Timebook Co")
        self.receiver = Receiver()
        self.addCleanup(self.receiver.stop)
        cfg = Server.plugin_config(settings=self.defaults)
        cfg["product"] = {"webhook_url": self.receiver.url, "webhook_secret": SECRET,
                          "timeout_s": 5}
        self.srv = self.server(plugins={PLUGIN: cfg}, intercom=self.fake,
                               plugin_dir=harness.BUNDLED_PLUGIN_DIR).start()
        self.assertEqual(self.srv.install(PLUGIN, WS).status, 200)
        self.inst = self.srv.installation(PLUGIN, WS)
        self.tags = {t["name"]: t["id"] for t in self.ws.tags.values()}

    # ---- helpers ----

    def api(self, path, expect=200):
        r = self.srv.api(PLUGIN, "GET", path, workspace=WS)
        self.assertEqual(r.status, expect, r)
        return r.json()

    def set_settings(self, **values):
        r = self.srv.admin("PUT", f"/installations/{self.inst['id']}/settings", json_body=values)
        self.assertEqual(r.status, 200, r)

    def webhook(self, topic, item, notification_id=None, created_at=None):
        status, _, body = self.fake.send_webhook(f"{self.srv.url}/webhooks/{PLUGIN}", topic, WS,
                                                 item, notification_id=notification_id,
                                                 created_at=created_at)
        self.assertEqual(status, 200, body)

    def wait_idle(self):
        """Every job of the plugin (webhook deliveries, the import) has ended."""
        def idle():
            for state in ("queued", "waiting", "running", "pending"):
                jobs = self.srv.admin("GET", f"/jobs?plugin={PLUGIN}&state={state}").json()["jobs"]
                if jobs:
                    return False
            return True
        wait_for(idle, timeout=60, message="the plugin's jobs to end")

    def inbox(self, query=""):
        return self.api(f"/products/{PRODUCT}/feedback?limit=200{query}")["feedback"]

    def conversation_reads(self):
        return [r for r in self.fake.requests if r["method"] == "GET"
                and r["path"].startswith("/conversations/")]


class Feedback(TimebookCase):
    def enable(self, *tag_names):
        """As the product does: through the product API, which checks the tags with Intercom."""
        r = self.srv.api(PLUGIN, "PUT", "/settings", workspace=WS,
                         json_body={"sync_feedback": True, "product": PRODUCT,
                                    "trigger_tags": [self.tags[n] for n in tag_names]})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["settings"]["trigger_tags"], [self.tags[n] for n in tag_names])

    def test_a_tag_applied_after_enabling_makes_exactly_one_ticket(self):
        conv = self.fake.create_conversation(WS, "Export is <b>broken</b> &amp; slow")
        self.fake.add_user_reply(WS, conv["id"], "Also <i>CSV</i> please")
        self.enable("Feedback")
        item = self.fake.tag_conversation(WS, conv["id"], self.tags["Feedback"])
        self.webhook("conversation_part.tag.created", item, notification_id="notif_tb_1")
        items = wait_for(lambda: self.inbox(), timeout=30, message="the ticket")
        self.assertEqual(len(items), 1)
        t = items[0]
        contact = self.ws.contacts[conv["contacts"]["contacts"][0]["id"]]
        self.assertEqual(t["id"], f"{conv['id']}-{self.tags['Feedback']}")
        self.assertEqual(t["first_message"]["text"], "Export is broken & slow")
        self.assertEqual(t["tagged_part"]["text"], "Also CSV please")
        self.assertEqual((t["contact"]["name"], t["contact"]["email"]),
                         (contact["name"], contact["email"]))
        self.assertEqual(t["tag"], {"id": self.tags["Feedback"], "name": "Feedback"})
        self.assertEqual(t["link"],
                         f"https://app.intercom.com/a/inbox/{WS}/inbox/conversation/{conv['id']}")
        self.assertEqual(t["tagged_at"], item["tags_added"]["tags"][0]["applied_at"])
        self.assertEqual(self.api(f"/feedback/{t['id']}"), t)
        # The same notification again, a new one for the same application, and the tag
        # removed and applied again: still one ticket, one event.
        self.webhook("conversation_part.tag.created", item, notification_id="notif_tb_1")
        self.webhook("conversation_part.tag.created", item)
        self.fake.untag_conversation(WS, conv["id"], self.tags["Feedback"])
        again = self.fake.tag_conversation(WS, conv["id"], self.tags["Feedback"],
                                           at=int(time.time()) + 1)
        self.webhook("conversation_part.tag.created", again)
        self.wait_idle()
        self.assertEqual(len(self.inbox()), 1)
        self.assertEqual(len(self.conversation_reads()), 1)
        events = wait_for(lambda: self.receiver.of_type("feedback.created"), timeout=30,
                          message="the feedback.created event")
        self.wait_idle()
        time.sleep(0.2)  # a second event, if one were queued, would be on its way by now
        events = self.receiver.of_type("feedback.created")
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0]["body"]["data"]["id"], t["id"])

    def test_tags_before_enabling_and_other_tags_make_nothing(self):
        conv = self.fake.create_conversation(WS, "Dark mode?")
        early = self.fake.tag_conversation(WS, conv["id"], self.tags["Feedback"],
                                           at=int(time.time()) - 120)
        self.enable("Feedback")
        # The notification of the earlier application arrives late, after enabling.
        self.webhook("conversation_part.tag.created", early)
        other = self.fake.tag_conversation(WS, conv["id"], self.tags["Bug"])
        self.webhook("conversation_part.tag.created", other)
        self.wait_idle()
        self.assertEqual(self.inbox(), [])
        self.assertEqual(self.conversation_reads(), [])
        self.assertEqual(self.receiver.of_type("feedback.created"), [])
        # A later application of the trigger counts.
        later = self.fake.tag_conversation(WS, conv["id"], self.tags["Feedback"],
                                           at=int(time.time()) + 1)
        self.webhook("conversation_part.tag.created", later)
        wait_for(lambda: len(self.inbox()) == 1, timeout=30, message="the ticket")

    def test_the_inbox_by_tag_newest_first(self):
        self.enable("Feedback", "Bug")
        a = self.fake.create_conversation(WS, "First")
        b = self.fake.create_conversation(WS, "Second")
        self.webhook("conversation_part.tag.created",
                     self.fake.tag_conversation(WS, a["id"], self.tags["Feedback"]))
        wait_for(lambda: len(self.inbox()) == 1, timeout=30, message="ticket 1")
        self.webhook("conversation_part.tag.created",
                     self.fake.tag_conversation(WS, b["id"], self.tags["Bug"]))
        wait_for(lambda: len(self.inbox()) == 2, timeout=30, message="ticket 2")
        self.assertEqual([t["conversation_id"] for t in self.inbox()], [b["id"], a["id"]])
        self.assertEqual([t["conversation_id"] for t in self.inbox(f"&tag={self.tags['Bug']}")],
                         [b["id"]])
        first = self.api(f"/products/{PRODUCT}/feedback?limit=1")
        self.assertEqual(first["feedback"][0]["conversation_id"], b["id"])
        rest = self.api(f"/products/{PRODUCT}/feedback?limit=1&cursor="
                        + urllib.parse.quote(first["next"], safe=""))
        self.assertEqual([t["conversation_id"] for t in rest["feedback"]], [a["id"]])
        self.assertIsNone(rest["next"])

    def test_bad_input_is_refused_and_loses_nothing(self):
        self.enable("Feedback")
        # Settings: a tag id the workspace does not have, a malformed body, an unknown key.
        for body, status, code in (
                ({"trigger_tags": [self.tags["Bug"], "999999"]}, 422, "unknown_tag"),
                ({"sync_contacts": "on"}, 422, "invalid_settings"),
                ({"colour": "red"}, 422, "unknown_setting")):
            r = self.srv.api(PLUGIN, "PUT", "/settings", workspace=WS, json_body=body)
            self.assertEqual((r.status, r.json()["error"]["code"]), (status, code), r)
        r = self.srv.api(PLUGIN, "PUT", "/settings", workspace=WS, body=b'{"trigger_tags": [',
                         headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 400, r)
        settings = self.srv.admin("GET", f"/installations/{self.inst['id']}/settings").json()
        self.assertEqual(settings["settings"]["trigger_tags"], [self.tags["Feedback"]])
        self.assertFalse(settings["settings"]["sync_contacts"])
        r = self.srv.api(PLUGIN, "GET", "/feedback/123-456", workspace=WS)
        self.assertEqual((r.status, r.json()["error"]["code"]), (404, "unknown_feedback"))
        r = self.srv.api(PLUGIN, "GET", f"/products/{PRODUCT}/feedback?limit=x", workspace=WS)
        self.assertEqual((r.status, r.json()["error"]["code"]), (400, "invalid_limit"))
        r = self.srv.api(PLUGIN, "GET", f"/products/{PRODUCT}/feedback?cursor=nope", workspace=WS)
        self.assertEqual((r.status, r.json()["error"]["code"]), (400, "invalid_cursor"))
        r = self.srv.api(PLUGIN, "GET", "/feedback/1-1")
        self.assertEqual(r.status, 400)  # no workspace
        # A malformed notification is refused by the host and stores nothing.
        r = self.srv.request("POST", f"/webhooks/{PLUGIN}", body=b'{"type":',
                             headers={"Content-Type": "application/json",
                                      "X-Hub-Signature": harness.sign_webhook(b'{"type":')})
        self.assertEqual(r.status, 400)
        # A conversation id that is not Intercom's (an integer) ends its delivery, reads nothing.
        conv = self.fake.create_conversation(WS, "Hi")
        item = self.fake.tag_conversation(WS, conv["id"], self.tags["Feedback"])
        item["id"] = "../admins"
        self.webhook("conversation_part.tag.created", item)
        self.wait_idle()
        self.assertEqual(self.conversation_reads(), [])
        # The tag list comes from Intercom, with the trigger marked.
        tags = self.api("/tags")
        self.assertEqual({t["name"]: t["trigger"] for t in tags["tags"]},
                         {"VIP": False, "Bug": False, "Feedback": True})


class Contacts(TimebookCase):
    N = 20_000

    def mirror(self):
        out, cursor = {}, None
        while True:
            page = self.api("/contacts?limit=200"
                            + (f"&cursor={urllib.parse.quote(cursor, safe='')}" if cursor else ""))
            for c in page["contacts"]:
                out[c["id"]] = c
            cursor = page["next"]
            if not cursor:
                return out

    def intercom_contacts(self):
        with self.ws.lock:
            return {c["id"]: (c["email"], c["name"], c["role"]) for c in self.ws.contacts.values()}

    def assert_mirror_equal(self):
        mirror = {k: (c["email"], c["name"], c["role"]) for k, c in self.mirror().items()}
        self.assertEqual(mirror, self.intercom_contacts())

    def contact_reads(self, since=0):
        return [r for r in list(self.fake.requests)[since:]
                if r["method"] == "GET" and r["path"] == "/contacts"]

    def test_an_import_killed_midway_resumes_and_ends_equal(self):
        self.fake.seed_contacts(WS, self.N)
        gate = self.fake.hold("GET", r"^/contacts$", skip=40)  # page 41 of 134
        self.set_settings(sync_contacts=True)
        gate.wait_arrived()
        # Progress: 40 pages are committed.
        status = wait_for(lambda: (lambda s: s["done"] == 6000 and s)(self.api("/sync")["contacts"]),
                          timeout=30, message="the progress of 40 pages")
        self.assertEqual((status["state"], status["total"]), ("importing", self.N))
        jobs = self.srv.admin("GET", f"/jobs?plugin={PLUGIN}").json()["jobs"]
        self.assertEqual([(j["state"], j["checkpoint"]["done"], j["checkpoint"]["total"])
                          for j in jobs if j["type"] == "contacts_import"],
                         [("running", 6000, self.N)])
        self.srv.kill()
        gate.release()
        mark = len(self.fake.requests)
        # After the restart, stop the resumed import at its sixth page, and meanwhile in
        # Intercom: a new user, an update and two deletions (one imported, one not yet), each
        # with its webhook.
        during = self.fake.hold("GET", r"^/contacts$", skip=5)
        self.srv.start()
        during.wait_arrived()
        with self.ws.lock:
            ids = list(self.ws.contacts)
            new = self.ws.add_contact(email="late@example.com", name="Late Comer")
            changed = self.ws.update_contact(self.ws.contacts[ids[0]], {"name": "Changed Name"})
            gone = [self.ws.contacts[ids[1]], self.ws.contacts[ids[-2]]]
            for contact in gone:
                self.ws.delete_contact(contact)
            new, changed = json.loads(json.dumps(new)), json.loads(json.dumps(changed))
        self.webhook("contact.user.created", new)
        self.webhook("contact.user.updated", changed)
        for contact in gone:
            self.webhook("contact.deleted", {"type": "contact", "id": contact["id"],
                                             "external_id": contact["external_id"],
                                             "deleted": True})
        wait_for(lambda: self.api("/contacts?email=late%40example.com")["contacts"], timeout=30,
                 message="the webhook's contact, while the import waits")
        self.assertEqual(self.api("/sync")["contacts"]["state"], "importing")
        during.release()
        wait_for(lambda: self.api("/sync")["contacts"]["state"] == "live", timeout=120,
                 message="the import to finish")
        self.wait_idle()
        reads = self.contact_reads(mark)
        self.assertTrue(reads and all("starting_after" in r["query"] for r in reads), reads[:2])
        self.assertLessEqual(len(reads), 134 - 40 + 1)
        self.assert_mirror_equal()
        found = self.api("/contacts?email=LATE%40example.com")["contacts"]
        self.assertEqual([c["id"] for c in found], [new["id"]])

    def test_turning_the_sync_off_stops_it_and_drops_the_mirror(self):
        self.fake.seed_contacts(WS, 600)
        self.set_settings(sync_contacts=True)
        wait_for(lambda: self.api("/sync")["contacts"]["state"] == "live", timeout=60,
                 message="the import")
        self.assert_mirror_equal()
        self.set_settings(sync_contacts=False)
        self.assertEqual(self.api("/sync")["contacts"]["state"], "off")
        self.assertEqual(self.mirror(), {})
        with self.ws.lock:
            new = json.loads(json.dumps(self.ws.add_contact(email="x@example.com", name="X")))
        self.webhook("contact.user.created", new)
        self.wait_idle()
        self.assertEqual(self.mirror(), {})


if __name__ == "__main__":
    import unittest
    unittest.main()
