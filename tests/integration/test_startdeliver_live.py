"""startdeliver: changes within seconds (conversation webhooks) and usage mapped to products.

The real binary and the bundled plugin against the fake Intercom, as in
test_startdeliver.py (whose StartdeliverCase this reuses): every request the
plugin sends is checked against Intercom's OpenAPI description in tearDown.
Webhooks are signed and sent by the fake as Intercom sends them; the ticket
and health a test expects follow from the README's rules and the seeded data.
"""

import json
import time

from harness import wait_for
from test_startdeliver import HOUR, WS, StartdeliverCase, conversations_of

TOPICS = ("conversation.user.created", "conversation.admin.single.created",
          "conversation.user.replied", "conversation.admin.replied",
          "conversation.operator.replied", "conversation.admin.noted",
          "conversation.admin.assigned", "conversation.admin.open.assigned",
          "conversation.admin.closed", "conversation.admin.opened",
          "conversation.admin.snoozed", "conversation.admin.unsnoozed",
          "conversation.contact.attached", "conversation.contact.detached")


class LiveCase(StartdeliverCase):
    def hook(self, conv_id, topic, notification_id=None):
        """Intercom notifies Switchboard about the conversation as it is now."""
        status, _, body = self.fake.send_webhook(
            f"{self.srv.url}/webhooks/startdeliver", topic, WS,
            {"type": "conversation", "id": str(conv_id)}, notification_id=notification_id)
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def jobs(self, type_="conversation"):
        jobs = self.srv.admin("GET", "/jobs?plugin=startdeliver&limit=1000").json()["jobs"]
        return [j for j in jobs if j["type"] == type_]

    def wait_jobs_done(self, n):
        """Wait until @n conversation jobs are done; none may be dead."""
        def done():
            jobs = self.jobs()
            self.assertEqual([j for j in jobs if j["state"] == "dead"], [])
            return len([j for j in jobs if j["state"] == "done"]) >= n and jobs
        return wait_for(done, timeout=15, interval=0.05, message=f"{n} conversation jobs done")

    def ticket(self, conv_id):
        return self.get(f"/tickets/{conv_id}")

    def health(self, customer_id):
        return self.get(f"/customers/{customer_id}/health")


class Webhooks(LiveCase):
    def seed(self):
        ws, now = self.ws, int(time.time())
        with ws.lock:
            self.contact = ws.add_contact(email="ann@acme.test", name="Ann", external_id="ann")
        # Waiting 30 h: overdue (threshold 24 h), so the customer's health is Fair.
        (self.conv,) = conversations_of(ws, self.contact, 1, now - 30 * HOUR)
        with ws.lock:
            self.conv["waiting_since"] = now - 30 * HOUR
        self.first = self.install(lambda: (self.push_customers([{"id": "acme"}]),
                                           self.push_users([{"id": "ann", "customer_id": "acme"}])))
        return self.conv["id"]

    def test_topics_are_the_readmes(self):
        r = self.srv.admin("GET", "/plugins/startdeliver")
        self.assertEqual(r.status, 200, r)
        plugin = r.json()
        self.assertEqual(sorted(plugin["topics"]), sorted(TOPICS))

    def test_answered_then_closed_shows_within_seconds(self):
        conv_id = self.seed()
        self.assertEqual(self.ticket(conv_id)["status"], "overdue")
        self.assertEqual(self.health("acme")["health"], "Fair")
        syncs = self.srv.admin("GET", "/jobs?plugin=startdeliver&limit=1000").json()["jobs"]
        sync_count = len([j for j in syncs if j["type"] == "sync"])

        # An admin answers: the customer no longer waits, the ticket is open, health Good.
        since = self.mark()
        self.fake.touch_conversation(WS, conv_id)
        self.hook(conv_id, "conversation.admin.replied")
        wait_for(lambda: self.ticket(conv_id)["status"] == "open", timeout=10, interval=0.05,
                 message="the ticket open after the reply")
        h = self.health("acme")
        self.assertEqual((h["health"], h["tickets"]), ("Good", {"open": 1, "overdue": 0,
                                                                "resolved": 0}))
        # The job read the conversation itself; nothing was listed or searched.
        self.assertEqual([r["path"] for r in self.sent(since=since)], [f"/conversations/{conv_id}"])

        # The admin closes it: resolved within seconds.
        self.fake.close_conversation(WS, conv_id)
        self.hook(conv_id, "conversation.admin.closed")
        wait_for(lambda: self.ticket(conv_id)["status"] == "resolved", timeout=10, interval=0.05,
                 message="the ticket resolved after the close")
        h = self.health("acme")
        self.assertEqual((h["health"], h["tickets"]), ("Good", {"open": 0, "overdue": 0,
                                                                "resolved": 1}))
        t = self.ticket(conv_id)
        self.assertEqual((t["state"], t["user_id"], t["customer_id"]), ("closed", "ann", "acme"))
        self.assertEqual(t["updated_at"], self.ws.conversation(conv_id)["updated_at"])
        # Its transcript came with it: the first message and the answer, in order (the close
        # has no text: not a message).
        messages = self.get(f"/tickets/{conv_id}/messages")["data"]
        self.assertEqual([(m["part_type"], m["author"]["type"], m["body"]) for m in messages],
                         [("source", "user", "From Ann #0"),
                          ("comment", "admin", "Thanks, looking into it.")])
        self.wait_jobs_done(2)
        # No sync ran for it: the webhook alone did this.
        syncs = self.srv.admin("GET", "/jobs?plugin=startdeliver&limit=1000").json()["jobs"]
        self.assertEqual(len([j for j in syncs if j["type"] == "sync"]), sync_count)
        self.assertEqual(self.status()["last_sync"]["run"], self.first["run"])

        # The user replies again: open and waiting (not overdue yet).
        self.fake.add_user_reply(WS, conv_id, "It is back")
        with self.ws.lock:
            self.ws.conversation(conv_id).update(state="open", open=True)
        self.hook(conv_id, "conversation.user.replied")
        wait_for(lambda: self.ticket(conv_id)["status"] == "open", timeout=10, interval=0.05,
                 message="the ticket open again")
        self.assertEqual(self.ticket(conv_id)["waiting_since"],
                         self.ws.conversation(conv_id)["waiting_since"])

    def test_repeated_and_out_of_order_notifications(self):
        conv_id = self.seed()
        self.fake.close_conversation(WS, conv_id)
        # The same notification twice (Intercom delivers at least once), then an older topic
        # arriving late: each job reads the conversation as it is now.
        self.hook(conv_id, "conversation.admin.closed", notification_id="notif_same")
        # The host drops the repeated notification id; a new id for the same change is a
        # second job, and the job of a reply that came before the close runs last.
        self.assertEqual(self.hook(conv_id, "conversation.admin.closed",
                                   notification_id="notif_same")["status"], "duplicate")
        self.hook(conv_id, "conversation.admin.closed")
        self.hook(conv_id, "conversation.user.replied")
        jobs = self.wait_jobs_done(3)
        self.assertEqual({j["key"] for j in jobs}, {f"conversation:{conv_id}"})
        self.assertEqual(self.ticket(conv_id)["status"], "resolved")
        self.assertEqual(len(self.all("/tickets")), 1)
        self.assertEqual(self.health("acme")["tickets"], {"open": 0, "overdue": 0, "resolved": 1})

    def test_killed_while_the_job_reads_the_conversation(self):
        conv_id = self.seed()
        self.fake.close_conversation(WS, conv_id)
        gate = self.fake.hold("GET", rf"^/conversations/{conv_id}$")
        self.hook(conv_id, "conversation.admin.closed")
        gate.wait_arrived()
        self.assertEqual(self.ticket(conv_id)["state"], "open")
        self.srv.kill()          # SIGKILL: the job was handed out, nothing of it committed
        gate.release()
        self.srv.start()
        # The host hands the job out again; it reads the conversation and completes.
        wait_for(lambda: self.ticket(conv_id)["status"] == "resolved", timeout=30, interval=0.1,
                 message="the ticket resolved after the restart")
        self.wait_jobs_done(1)
        self.assertEqual(len(self.jobs()), 1)

    def test_unknown_contact_unknown_conversation_and_bad_notification(self):
        self.seed()
        ws, now = self.ws, int(time.time())
        with ws.lock:
            stranger = ws.add_contact(email="who@else.test", name="Who", external_id="who")
        conv = self.fake.create_conversation(WS, "Hello?", contact=ws.contacts[stranger["id"]],
                                             created_at=now - 60)
        since = self.mark()
        self.hook(conv["id"], "conversation.user.created")
        self.wait_jobs_done(1)
        # No user has its external id: the contact is read (to match by email), and the
        # conversation is skipped (create_users is off) like a sync skips it.
        self.assertEqual(sorted(r["path"] for r in self.sent(since=since)),
                         sorted([f"/conversations/{conv['id']}", f"/contacts/{stranger['id']}"]))
        skipped = self.get("/skipped")["data"]
        self.assertEqual([s["conversation"]["id"] for s in skipped], [conv["id"]])
        self.assertEqual(self.api("GET", f"/tickets/{conv['id']}").status, 404)

        # The product pushes the user: the next notification makes it a ticket.
        self.push_users([{"id": "who", "email": "who@else.test", "customer_id": "acme"}])
        self.hook(conv["id"], "conversation.user.replied")
        self.wait_jobs_done(2)
        self.assertEqual(self.ticket(conv["id"])["user_id"], "who")
        self.assertEqual(self.get("/skipped")["data"], [])

        # A conversation Intercom no longer has: 404, nothing changes, the job is done.
        gone = self.fake.create_conversation(WS, "Soon gone", contact=ws.contacts[stranger["id"]])
        self.fake.delete_conversation(WS, gone["id"])
        self.hook(gone["id"], "conversation.admin.closed")
        self.wait_jobs_done(3)
        self.srv.wait_log(rf"conversation {gone['id']} no longer exists in Intercom \(404\)")
        self.assertEqual(self.api("GET", f"/tickets/{gone['id']}").status, 404)

        # A conversation whose contact was deleted: as in a sync, it cannot become a ticket.
        with ws.lock:
            ghost = ws.add_contact(email="ghost@else.test", name="Ghost", external_id="ghost")
        haunted = self.fake.create_conversation(WS, "Boo", contact=ws.contacts[ghost["id"]])
        self.fake.delete_contact(WS, ghost["id"])
        self.hook(haunted["id"], "conversation.user.created")
        self.wait_jobs_done(4)
        self.srv.wait_log(rf"contact {ghost['id']} of conversation {haunted['id']} no longer "
                          r"exists in Intercom")
        self.assertEqual(self.api("GET", f"/tickets/{haunted['id']}").status, 404)
        self.assertEqual(self.get("/skipped")["data"], [])

        # A notification whose item has no usable id (conversation ids are numbers) queues
        # nothing: it fails for good, with why.
        for bad in ("../7", "..", None):
            status, _, body = self.fake.send_webhook(
                f"{self.srv.url}/webhooks/startdeliver", "conversation.admin.closed", WS,
                {"type": "conversation", "id": bad})
            self.assertEqual(status, 200, body)
        dead = wait_for(lambda: len([j for j in self.jobs("webhook") if j["state"] == "dead"]) == 3
                        and [j for j in self.jobs("webhook") if j["state"] == "dead"],
                        timeout=10, interval=0.05, message="the bad notifications refused")
        self.assertTrue(all("has no usable conversation id" in (j.get("last_error") or "")
                            for j in dead), dead)
        self.assertEqual(len(self.jobs()), 4)

    def test_sync_page_read_before_the_webhook_does_not_undo_it(self):
        conv_id = self.seed()
        self.fake.touch_conversation(WS, conv_id, at=int(time.time()) - 5)   # in the next sync
        # The sync's search is carried out now, and its answer (the conversation open) held.
        gate = self.fake.hold("POST", r"^/conversations/search$", answered=True)
        before = self.status()["last_sync"]["run"]
        self.api("POST", "/sync", expect=202)
        gate.wait_arrived()
        self.fake.close_conversation(WS, conv_id)
        self.hook(conv_id, "conversation.admin.closed")
        wait_for(lambda: self.ticket(conv_id)["status"] == "resolved", timeout=10, interval=0.05,
                 message="the ticket resolved while the sync waits")
        gate.release()
        last = self.wait_sync(before)
        self.assertEqual(last["counts"]["synced"], 1)
        self.assertEqual(self.ticket(conv_id)["status"], "resolved")
        # The next sync reads it again and agrees.
        self.sync()
        self.assertEqual(self.ticket(conv_id)["status"], "resolved")


class UsageMapping(LiveCase):
    defaults = {"events_as_usage": True}

    MAPPING = [{"event": "login", "product": "App", "usage_type": "Login"},
               {"event": "feature.*", "product": "App", "usage_type": "Feature"},
               {"event": "feature.export", "product": "Reports", "usage_type": "Export"}]

    def put_mapping(self, mappings, expect=200):
        return self.api("PUT", "/usage_mapping", {"mappings": mappings}, expect=expect)

    def refused(self, body, message):
        r = self.api("PUT", "/usage_mapping", body, expect=422)
        err = r.json()["error"]
        self.assertEqual((err["code"], err["message"]), ("invalid_request", message))

    def test_mapping_is_validated(self):
        self.install()
        self.assertEqual(self.get("/usage_mapping"), {"mappings": [], "updated_at": None})
        ok = {"event": "a", "product": "P", "usage_type": "U"}
        self.refused({"mappings": [{**ok, "event": ""}]},
                     "mappings[0].event must be 1-255 characters of text (not empty or blank, "
                     "no control characters)")
        self.refused({"mappings": [ok, {**ok, "product": "Q"}]},
                     "mappings[1].event 'a' is already mapped by mappings[0]")
        self.refused({"mappings": [{**ok, "prefix": True}]},
                     "mappings[0]: unknown field 'prefix' (allowed: event, product, usage_type)")
        self.refused({"mappings": [], "more": 1},
                     "unknown field 'more' (send {\"mappings\": [...]})")
        self.refused({"mappings": [{**ok, "event": f"e{i}"} for i in range(501)]},
                     "at most 500 mappings (got 501)")
        self.refused({"mappings": [{**ok, "event": "a*b"}]},
                     "mappings[0].event: '*' may only end a prefix (\"feature.*\")")
        self.refused({"mappings": [{"event": "a", "product": "P"}]},
                     "mappings[0].usage_type is required (a string)")
        self.refused([], "send {\"mappings\": [{\"event\", \"product\", \"usage_type\"}]}")
        r = self.srv.api("startdeliver", "PUT", "/usage_mapping", workspace=WS, body=b"{not json",
                         headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(self.get("/usage_mapping")["mappings"], [])   # nothing stored
        stored = self.put_mapping([{**ok, "event": f"e{i}"} for i in range(500)]).json()
        self.assertEqual(len(stored["mappings"]), 500)
        self.assertEqual(self.get("/usage_mapping"), stored)
        self.assertEqual(self.status()["usage"]["mappings"], 500)

    def test_exact_prefix_unmatched_and_a_later_change(self):
        ws, now = self.ws, int(time.time())
        with ws.lock:
            ca = ws.add_contact(email="a@usage.test", name="A", external_id="ua")
        conversations_of(ws, ca, 1, now - 3 * HOUR)
        events = [("login", now - 9000), ("feature.export", now - 8000),
                  ("feature.share", now - 7000), ("page-view", now - 6000),
                  ("page-view", now - 5000), ("Login", now - 4000)]
        self.fake.seed_events(WS, ws.contacts[ca["id"]], events)

        def product():
            self.push_users([{"id": "ua"}])
            self.put_mapping(self.MAPPING)
        last = self.install(product)
        self.assertEqual((last["counts"]["usage_events"], last["counts"]["usage_unmatched"]), (3, 3))
        usage = {(u["event"], u["at"]): (u["product"], u["usage_type"])
                 for u in self.all("/usage?user_id=ua")}
        self.assertEqual(usage, {("login", now - 9000): ("App", "Login"),
                                 ("feature.export", now - 8000): ("Reports", "Export"),
                                 ("feature.share", now - 7000): ("App", "Feature")})
        self.assertEqual(self.status()["usage"],
                         {"mappings": 3, "unmatched": {"Login": 1, "page-view": 2},
                          "unmatched_more": False})

        # Nothing new: nothing counted again (the newest event's second is read again).
        last = self.sync()
        self.assertEqual((last["counts"]["usage_events"], last["counts"]["usage_unmatched"]), (0, 0))
        self.assertEqual(self.status()["usage"]["unmatched"], {"Login": 1, "page-view": 2})

        # The product maps page views: later page views are imported, earlier ones stay counted.
        self.put_mapping(self.MAPPING + [{"event": "page-*", "product": "Web", "usage_type": "View"}])
        self.fake.seed_events(WS, ws.contacts[ca["id"]], [("page-view", now - 100),
                                                          ("signup", now - 90)])
        last = self.sync()
        self.assertEqual((last["counts"]["usage_events"], last["counts"]["usage_unmatched"]), (1, 1))
        views = [(u["at"], u["product"], u["usage_type"]) for u in self.all("/usage?user_id=ua")
                 if u["event"] == "page-view"]
        self.assertEqual(views, [(now - 100, "Web", "View")])
        self.assertEqual(self.status()["usage"]["unmatched"],
                         {"Login": 1, "page-view": 2, "signup": 1})

        # Clearing the mapping: new events are only counted.
        self.put_mapping([])
        self.fake.seed_events(WS, ws.contacts[ca["id"]], [("login", now - 50)])
        last = self.sync()
        self.assertEqual((last["counts"]["usage_events"], last["counts"]["usage_unmatched"]), (0, 1))
        self.assertEqual(self.status()["usage"]["unmatched"]["login"], 1)

