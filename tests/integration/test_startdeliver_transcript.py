"""startdeliver: a ticket's messages (GET /api/startdeliver/tickets/{id}/messages).

The real binary and the bundled plugin against the fake Intercom; every request
is checked against Intercom's OpenAPI description in tearDown. Expected
messages are computed here from what the fake holds, in the README's terms:
the first message and every part with text or attachments, oldest first,
notes only with include_notes, HTML as plain text, attachments as http(s) links.
"""

import json
import time

from harness import wait_for
from test_startdeliver import HOUR, WS, StartdeliverCase, conversations_of


def author(kind, who):
    return {"type": kind, "id": who["id"], "name": who["name"],
            "email": who["email"], "from_ai_agent": False, "is_ai_answer": False}


class Transcripts(StartdeliverCase):

    def seed(self):
        ws, now = self.ws, int(time.time())
        with ws.lock:
            ann = ws.add_contact(email="ann@acme.test", name="Ann", external_id="user-ann")
            admin = ws.owner()
        talk, quiet = conversations_of(ws, ann, 2, now - 5 * HOUR)
        with ws.lock:
            t0 = talk["created_at"]
            ws.add_part(talk, "comment", author("admin", admin),
                        "<p>Hi <b>Ann</b> &amp; <script>steal()</script>welcome&nbsp;back</p>"
                        "<p>Second&#32;line &#x1F600;</p>", at=t0 + 60)
            ws.add_part(talk, "assignment", author("admin", admin), None, at=t0 + 70)
            ws.add_part(talk, "note", author("admin", admin), "<p>VIP customer</p>", at=t0 + 80)
            ws.add_part(talk, "comment", {"type": "bot", "id": "b1", "name": "Fin"},
                        "<p>Anything else?</p>", at=t0 + 90)
            shot = ws.add_part(talk, "comment", author("user", ann), "<p>Screenshot:</p>",
                               at=t0 + 100)
            shot["attachments"] = [
                {"type": "upload", "name": "screen.png", "url": "https://files.example/screen.png",
                 "content_type": "image/png", "filesize": 1000, "width": 10, "height": 10},
                {"type": "upload", "name": "trap", "url": "javascript:alert(1)",
                 "content_type": "text/plain", "filesize": 1, "width": None, "height": None}]
            ws.add_part(talk, "close", author("admin", admin), None, at=t0 + 110)
            talk.update(state="closed", open=False)
        return ann, admin, talk, quiet

    def messages(self, conv_id, limit=1000):
        return self.all(f"/tickets/{conv_id}/messages", limit=limit)

    def test_messages_in_order_notes_and_incremental(self):
        ann, admin, talk, quiet = self.seed()
        since = self.mark()
        self.install(lambda: self.push_users([{"id": "user-ann", "email": "ann@acme.test"}]))
        # Only the conversation with parts is read; the other's first message is in the list.
        self.assertEqual([r["path"] for r in self.sent("GET", r"^/conversations/\d+$", since)],
                         [f"/conversations/{talk['id']}"])

        expected = [
            ("source", "user", "Ann", "From Ann #0", []),
            ("comment", "admin", admin["name"], "Hi Ann & welcome back\nSecond line \U0001F600", []),
            ("comment", "bot", "Fin", "Anything else?", []),
            ("comment", "user", "Ann", "Screenshot:",
             [{"name": "screen.png", "url": "https://files.example/screen.png",
               "content_type": "image/png"}]),
        ]
        got = self.messages(talk["id"])
        self.assertEqual([(m["part_type"], m["author"]["type"], m["author"]["name"], m["body"],
                           m["attachments"]) for m in got], expected)
        self.assertEqual([m["ordinal"] for m in got], [0, 1, 3, 4])  # 2 is the note
        self.assertEqual(got[0]["created_at"], talk["created_at"])
        self.assertEqual(got[1]["created_at"], talk["created_at"] + 60)
        self.assertEqual(got[0]["author"]["id"], ann["id"])
        self.assertEqual([m["body"] for m in self.messages(quiet["id"])], ["From Ann #1"])

        # include_notes shows the note in its place, for messages already stored too.
        self.set_settings(include_notes=True)
        got = self.messages(talk["id"])
        self.assertEqual([m["body"] for m in got][2], "VIP customer")
        self.assertEqual(([m["ordinal"] for m in got], got[2]["note"]), ([0, 1, 2, 3, 4], True))
        self.set_settings(include_notes=False)
        self.assertEqual(len(self.messages(talk["id"])), 4)

        # A reply: the next (incremental) sync reads that conversation and adds one message.
        self.fake.add_user_reply(WS, quiet["id"], "Still <broken")
        since = self.mark()
        self.sync()
        self.assertEqual([r["path"] for r in self.sent("GET", r"^/conversations/\d+$", since)],
                         [f"/conversations/{quiet['id']}"])
        got = self.messages(quiet["id"])
        self.assertEqual([(m["ordinal"], m["body"]) for m in got],
                         [(0, "From Ann #1"), (1, "Still")])
        self.assertEqual(len(self.messages(talk["id"])), 4)
        # Nothing new: no conversation is read again, nothing is added.
        since = self.mark()
        self.sync(full=True)
        self.assertEqual(self.sent("GET", r"^/conversations/\d+$", since), [])
        self.assertEqual(len(self.messages(quiet["id"])), 2)

    def test_pages_and_bad_input(self):
        ws, now = self.ws, int(time.time())
        with ws.lock:
            ann = ws.add_contact(email="ann@acme.test", name="Ann", external_id="user-ann")
        conv = conversations_of(ws, ann, 1, now - 5 * HOUR)[0]
        with ws.lock:
            for k in range(249):
                ws.add_part(conv, "comment", author("user", ann), f"<p>m{k}</p>",
                            at=conv["created_at"] + k + 1)
        self.install(lambda: self.push_users([{"id": "user-ann"}]))
        pages, after = [], None
        while True:
            page = self.get(f"/tickets/{conv['id']}/messages?limit=100"
                            + (f"&after={after}" if after else ""))
            pages.append(page)
            after = page["next"]
            if not after:
                break
        self.assertEqual([len(p["data"]) for p in pages], [100, 100, 50])
        bodies = [m["body"] for p in pages for m in p["data"]]
        self.assertEqual(bodies, ["From Ann #0"] + [f"m{k}" for k in range(249)])
        self.assertEqual({p["omitted"] for p in pages}, {0})
        self.assertEqual(pages[0]["ticket_id"], conv["id"])

        def error(path, status):
            r = self.api("GET", path, expect=status)
            return r.json()["error"]["code"]
        base = f"/tickets/{conv['id']}/messages"
        for limit in ("0", "1001", "x", "-1"):
            self.assertEqual(error(f"{base}?limit={limit}", 400), "invalid_limit")
        for after in ("x", "-1", "1e3", "12345678901", "%20"):
            self.assertEqual(error(f"{base}?after={after}", 400), "invalid_request")
        self.assertEqual(error("/tickets/999999/messages", 404), "unknown_ticket")
        self.assertEqual(error("/tickets/a%7Cb/messages", 404), "unknown_ticket")
        self.assertEqual(self.get(f"{base}?after=249"), {"data": [], "next": None, "omitted": 0,
                                                         "ticket_id": conv["id"]})


class ReadFailures(StartdeliverCase):
    """A conversation that cannot be read stops its page (and the job resumes it); one deleted
    since it was listed is no reason to stop."""
    ATTEMPTS = 3
    server_settings = {"jobs": {"backoff_base_s": 1, "backoff_cap_s": 1},
                       "intercom": {"max_attempts": ATTEMPTS}}

    def test_failed_read_resumes_deleted_is_passed(self):
        ws, now = self.ws, int(time.time())
        with ws.lock:
            ann = ws.add_contact(email="ann@acme.test", name="Ann", external_id="user-ann")
        kept, gone = conversations_of(ws, ann, 2, now - 5 * HOUR)
        with ws.lock:
            for conv in (kept, gone):
                ws.add_part(conv, "comment", author("user", ann), "<p>more</p>",
                            at=conv["created_at"] + 1)
        self.fake.inject("GET", rf"^/conversations/{kept['id']}$", status=503, times=self.ATTEMPTS)
        # Deleted between the list and the read, in both runs.
        self.fake.inject("GET", rf"^/conversations/{gone['id']}$", status=404, times=2,
                         body={"type": "error.list", "errors": [
                             {"code": "not_found", "message": "Resource Not Found"}]})
        first = self.install(lambda: self.push_users([{"id": "user-ann"}]), wait=False)
        failed = wait_for(lambda: (s := self.status())["last_sync"]
                          and s["last_sync"]["result"] == "failed" and s, message="a failed sync")
        self.assertEqual(failed["last_sync"]["error"],
                         "reading a conversation: service_unavailable: Service Unavailable (HTTP 503)")
        self.assertEqual(failed["last_sync"]["counts"]["synced"], 0)  # the page did not commit
        self.assertIsNone(first)
        # The job comes back and reads the conversation again; the deleted one has no messages
        # beyond the first (from the list) and its ticket is kept.
        last = self.wait_sync(None)
        self.assertEqual((last["result"], last["counts"]["synced"]), ("ok", 2))
        self.assertEqual([m["body"] for m in self.messages(kept["id"])], ["From Ann #0", "more"])
        self.assertEqual(self.messages(gone["id"]), [])
        self.assertEqual(self.get(f"/tickets/{gone['id']}")["id"], gone["id"])

    messages = Transcripts.messages


class LongConversation(StartdeliverCase):
    """Intercom lists a conversation's 500 most recent parts: older ones are counted as omitted."""

    def test_beyond_500_parts(self):
        ws, now = self.ws, int(time.time())
        with ws.lock:
            ann = ws.add_contact(email="ann@acme.test", name="Ann", external_id="user-ann")
        conv = conversations_of(ws, ann, 1, now - 5 * HOUR)[0]
        with ws.lock:
            for k in range(520):
                ws.add_part(conv, "comment", author("user", ann), f"<p>m{k}</p>",
                            at=conv["created_at"] + k + 1)
        self.install(lambda: self.push_users([{"id": "user-ann"}]))
        got = self.messages(conv["id"])
        self.assertEqual([m["body"] for m in got], ["From Ann #0"] + [f"m{k}" for k in range(20, 520)])
        page = self.get(f"/tickets/{conv['id']}/messages?limit=1")
        self.assertEqual(page["omitted"], 20)

    messages = Transcripts.messages


class StreamedConversation(StartdeliverCase):
    """GET /conversations/{id} answered in one body far longer than a read buffer (3,000 parts,
    beyond Intercom's 500, ~0.7 MB): the host hands the parts over as they arrive and each is
    stored then (intercom_stream). The transcript is complete and in order; a reading cut off
    after some parts went out is not retried by the host, the job's retry rewrites the same
    ordinals; one cut off before any part is retried by the host at once."""
    PARTS = 3000
    server_settings = {"jobs": {"backoff_base_s": 1, "backoff_cap_s": 1}}

    def seed(self):
        ws, now = self.ws, int(time.time())
        with ws.lock:
            ann = ws.add_contact(email="ann@acme.test", name="Ann", external_id="user-ann")
            admin = ws.owner()
        long_one, short_one = conversations_of(ws, ann, 2, now - 5 * HOUR)
        filler = " and a line of a long support conversation, with <b>markup</b>" * 3
        with ws.lock:
            t0 = long_one["created_at"]
            for k in range(self.PARTS):
                who = author("admin", admin) if k % 2 else author("user", ann)
                ws.add_part(long_one, "comment", who, f"<p>m{k}{filler}</p>", at=t0 + k + 1)
            ws.add_part(short_one, "comment", author("admin", admin), "<p>short</p>",
                        at=short_one["created_at"] + 1)
            # Every part in the one answer, as no read buffer holds it.
            ws.get_view = lambda c: json.loads(json.dumps(c))
        self.assertGreater(len(json.dumps(ws.get_view(long_one))), 500_000)
        filler_text = filler.replace("<b>", "").replace("</b>", "")
        expected = ["From Ann #0"] + [f"m{k}{filler_text}" for k in range(self.PARTS)]
        return long_one, short_one, expected

    def test_every_part_in_order(self):
        long_one, short_one, expected = self.seed()
        since = self.mark()
        last = self.install(lambda: self.push_users([{"id": "user-ann"}]))
        self.assertEqual((last["result"], last["counts"]["synced"]), ("ok", 2))
        self.assertEqual(len(self.sent("GET", rf"^/conversations/{long_one['id']}$", since)), 1)
        got = self.messages(long_one["id"])
        self.assertEqual([m["body"] for m in got], expected)
        self.assertEqual([m["ordinal"] for m in got], list(range(self.PARTS + 1)))
        self.assertEqual([m["author"]["type"] for m in got[:4]], ["user", "user", "admin", "user"])
        self.assertEqual(self.get(f"/tickets/{long_one['id']}/messages?limit=1")["omitted"], 0)
        self.assertEqual([m["body"] for m in self.messages(short_one["id"])],
                         ["From Ann #1", "short"])
        # A new part: the next sync streams the conversation again and adds that one only.
        self.fake.add_user_reply(WS, long_one["id"], "one more")
        self.sync()
        got = self.messages(long_one["id"])
        self.assertEqual(len(got), self.PARTS + 2)
        self.assertEqual((got[-1]["ordinal"], got[-1]["body"]), (self.PARTS + 1, "one more"))

    def test_cut_off_readings(self):
        long_one, short_one, expected = self.seed()
        # The long answer cut in half: some 1,500 parts went out, so the host does not retry;
        # the sync fails its page and the job, retried, reads the conversation whole.
        self.fake.inject("GET", rf"^/conversations/{long_one['id']}$", truncate=True)
        # The short one cut before its first part: the host retries it at once.
        self.fake.inject("GET", rf"^/conversations/{short_one['id']}$", truncate=True)
        since = self.mark()
        self.install(lambda: self.push_users([{"id": "user-ann"}]), wait=False)
        failed = wait_for(lambda: (s := self.status())["last_sync"]
                          and s["last_sync"]["result"] == "failed" and s, message="a failed sync")
        self.assertIn("invalid_response", failed["last_sync"]["error"])
        last = self.wait_sync(None)
        self.assertEqual((last["result"], last["counts"]["synced"]), ("ok", 2))
        self.assertEqual(len(self.sent("GET", rf"^/conversations/{long_one['id']}$", since)), 2)
        self.assertEqual(len(self.sent("GET", rf"^/conversations/{short_one['id']}$", since)), 2)
        got = self.messages(long_one["id"])
        self.assertEqual([m["body"] for m in got], expected)
        self.assertEqual([m["ordinal"] for m in got], list(range(self.PARTS + 1)))
        self.assertEqual([m["body"] for m in self.messages(short_one["id"])],
                         ["From Ann #1", "short"])
        log = self.srv.log_text()
        self.assertIn(f"GET /conversations/{short_one['id']}: HTTP 200 with a body that is not "
                      "valid JSON (attempt 1); retrying", log)
        self.assertNotIn(f"GET /conversations/{long_one['id']}: HTTP 200 with a body", log)

    messages = Transcripts.messages
