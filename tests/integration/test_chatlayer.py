"""chatlayer: Intercom as a bot channel, against the fake Intercom.

Scripted conversations through the configuration's flows (greeting, answer,
handover with the transcript note; close with a reason), several messages of
one conversation at once, the bot's own reply echoed back, an external bot
endpoint that is slow, fails and recovers (or stays down: handover), a
conversation outside the bot teams, kill -9 in the middle of a handover, and
the product API. Every request the plugin sends to the fake is checked
against Intercom's OpenAPI description in tearDown.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import harness
from harness import LibconfigList, Server, ServerTestCase, wait_for

WS = "ws1"



def libconfig_lists(value):
    """@value with every list of groups made a libconfig list, ( ... ), as flows and intents are."""
    if isinstance(value, dict):
        return {k: libconfig_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [libconfig_lists(v) for v in value]
        return LibconfigList(items) if any(isinstance(v, dict) for v in items) else items
    return value


FLOWS = {
    "flows": [
        {"name": "greeting", "intents": [{"keywords": ["hello", "hi"]}],
         "reply": "Hello {{contact.name}}! Ask me about prices."},
        {"name": "pricing", "intents": [{"match": "pric(e|ing)|cost", "icase": True}],
         "reply": ["Plans start at 10 EUR.", "Your conversation is #{{intercom.conversationId}}."]},
        {"name": "human", "intents": [{"keywords": ["agent", "human"]}],
         "reply": "Passing you to a colleague.", "action": "handover"},
        {"name": "bye", "intents": [{"keywords": ["bye"]}],
         "action": {"type": "close", "reason": "Glad we could help, {{contact.name}} <3"}},
    ],
    "fallback": {"reply": "Sorry, I did not get that."},
    "endpoint_attempts": 3,
    "endpoint_backoff_s": 1,
    "endpoint_timeout_ms": 1000,
}


class Endpoint:
    """The vendor's bot engine on loopback: echoes the text back, or misbehaves on demand."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        self.faults = []          # per request, in order: "fail", "slow", "garbage" or None
        self.always_fail = False
        self.delay_s = 0.0
        self.active = {}          # conversation id -> requests in flight
        self.max_active = {}
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                conv = body["conversation_id"]
                with endpoint.lock:
                    endpoint.requests.append({"body": body, "headers": dict(self.headers.items())})
                    fault = endpoint.faults.pop(0) if endpoint.faults else None
                    if endpoint.always_fail:
                        fault = "fail"
                    endpoint.active[conv] = endpoint.active.get(conv, 0) + 1
                    endpoint.max_active[conv] = max(endpoint.max_active.get(conv, 0),
                                                    endpoint.active[conv])
                try:
                    time.sleep(endpoint.delay_s + (3.0 if fault == "slow" else 0))
                    if fault == "fail":
                        status, out = 500, b'{"error":"engine down"}'
                    elif fault == "garbage":
                        status, out = 200, b'{"replies": [1'
                    else:
                        turn = (body["state"] or {}).get("turn", 0) + 1
                        status, out = 200, json.dumps({
                            "replies": [f"You said: {body['text']}"],
                            "state": {"turn": turn},
                            "action": {"type": "close", "reason": "Done"}
                            if body["text"] == "close it" else None}).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except OSError:
                    pass  # the caller gave up (timeout)
                finally:
                    with endpoint.lock:
                        endpoint.active[conv] -= 1

        class Quiet(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/turn"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class ChatlayerTestCase(ServerTestCase):
    external = False

    def setUp(self):
        super().setUp()
        self.fake = self.fake_intercom()
        ws = self.fake.add_workspace(id_code=WS, name="Acme", region="US")
        self.ws = ws
        self.bot = ws.add_admin("Chatbot", "bot@acme.example")
        self.bot_team = ws.add_team("Bot L1", [])
        self.other_bot_team = ws.add_team("Bot L2", [])
        self.humans = ws.add_team("Humans", [ws.owner()["id"]])
        self.endpoint = Endpoint()
        self.addCleanup(self.endpoint.stop)
        settings = {"bot_team_ids": [self.bot_team["id"], self.other_bot_team["id"]],
                    "bot_admin_id": self.bot["id"], "offload_team_id": self.humans["id"]}
        if self.external:
            settings.update(bot="external", endpoint_url=self.endpoint.url,
                            endpoint_key="engine-key-123")
        self.srv = self.server(
            plugins={"chatlayer": Server.plugin_config(
                settings=settings, options=libconfig_lists(FLOWS),
                outbound_hosts=[f"http://127.0.0.1:{self.endpoint.port}"])},
            intercom=self.fake, plugin_dir=harness.BUNDLED_PLUGIN_DIR,
            settings={"jobs": {"max_attempts": 5, "backoff_base_s": 1, "backoff_cap_s": 2}})
        self.srv.start()
        self.assertEqual(self.srv.install("chatlayer", WS).status, 200)
        self.inst = self.srv.installation("chatlayer", WS)
        # The channel check that follows the install settles first.
        wait_for(lambda: self.api("GET", "/channel").json()["last_check"], message="channel check")

    # ---- helpers ----

    def api(self, method, path, body=None, workspace=WS):
        return self.srv.api("chatlayer", method, path, workspace=workspace, json_body=body)

    def start_conversation(self, text, team=None, contact=None):
        conv = self.fake.create_conversation(WS, text, contact=contact)
        team = self.bot_team if team is None else team
        if team:
            self.fake.assign_conversation(WS, conv["id"], team_id=team["id"])
        return conv["id"]

    def webhook(self, cid, topic="conversation.user.replied"):
        status, _, body = self.fake.send_webhook(f"{self.srv.url}/webhooks/chatlayer", topic, WS,
                                                 {"type": "conversation", "id": cid})
        self.assertEqual(status, 200, body)

    def user_says(self, cid, text):
        self.fake.add_user_reply(WS, cid, text)
        self.webhook(cid)

    def parts(self, cid, part_type=None, by_bot=True):
        with self.ws.lock:
            parts = list(self.ws.conversation(cid)["conversation_parts"]["conversation_parts"])
        return [p for p in parts if (not by_bot or p["author"]["id"] == self.bot["id"])
                and (part_type is None or p["part_type"] == part_type)]

    def bot_says(self, cid):
        return [p["body"] for p in self.parts(cid, "comment")]

    def wait_bot_says(self, cid, count, timeout=15):
        return wait_for(lambda: len(self.bot_says(cid)) >= count and self.bot_says(cid),
                        timeout=timeout, message=f"{count} bot replies in {cid}")

    def message_jobs(self, state):
        r = self.srv.admin("GET", f"/jobs?plugin=chatlayer&state={state}&limit=1000")
        return [j for j in r.json()["jobs"] if j["type"] == "message"]

    def wait_jobs_done(self, count, timeout=15):
        wait_for(lambda: len(self.message_jobs("done")) >= count, timeout=timeout,
                 message=f"{count} message jobs done; jobs: "
                 + json.dumps(self.srv.admin("GET", "/jobs?plugin=chatlayer").json()))

    def state(self, cid):
        r = self.api("GET", f"/conversations/{cid}")
        self.assertEqual(r.status, 200, r)
        return r.json()


class FlowsTest(ChatlayerTestCase):
    def test_greeting_answer_and_handover_with_the_transcript(self):
        cid = self.start_conversation("Hello there")
        self.webhook(cid, "conversation.user.created")
        contact = self.ws.contact(self.ws.conversation(cid)["contacts"]["contacts"][0]["id"])
        self.assertEqual(self.wait_bot_says(cid, 1),
                         [f"<p>Hello {contact['name']}! Ask me about prices.</p>"])
        self.user_says(cid, "What does it cost?")
        self.assertEqual(self.wait_bot_says(cid, 3)[1:],
                         ["<p>Plans start at 10 EUR.</p>", f"<p>Your conversation is #{cid}.</p>"])
        self.user_says(cid, "something else")
        self.assertEqual(self.wait_bot_says(cid, 4)[3], "<p>Sorry, I did not get that.</p>")
        self.user_says(cid, "I want a human please")
        wait_for(lambda: self.ws.conversation(cid)["team_assignee_id"] == int(self.humans["id"]),
                 message="assigned to the offload team")
        self.assertEqual(self.bot_says(cid)[4], "<p>Passing you to a colleague.</p>")
        # The human team finds the transcript in a note, posted before the assignment.
        notes = self.parts(cid, "note")
        self.assertEqual(len(notes), 1)
        for line in ("User: Hello there", "Bot: Plans start at 10 EUR.", "User: What does it cost?",
                     "User: I want a human please", "Bot: Passing you to a colleague."):
            self.assertIn(f"<li>{line}</li>", notes[0]["body"])
        kinds = [p["part_type"] for p in self.parts(cid)]
        self.assertEqual(kinds[-2:], ["note", "assignment"])
        # Handed over: silent when the user writes again - the conversation is the human
        # team's now - and even if someone puts it back in a bot team.
        self.user_says(cid, "hello? hi?")
        self.srv.wait_log(rf"conversation {cid}: part \d+ ignored: not assigned to a bot team")
        self.fake.assign_conversation(WS, cid, team_id=self.bot_team["id"])
        self.user_says(cid, "hi again")
        self.wait_jobs_done(5)
        self.srv.wait_log(rf"conversation {cid}: message \d+ not answered: handed over")
        self.assertEqual(len(self.bot_says(cid)), 5)
        st = self.state(cid)
        self.assertEqual(st["status"], "handed_over")
        self.assertEqual(st["turns"], 4)
        self.assertEqual(st["last_flow"], "human")
        self.assertEqual(self.api("GET", "/stats").json(),
                         {"handled": 1, "handed_over": 1, "closed": 0})
        # The requests as Intercom receives them: replies and the note as the bot agent.
        replies = [r for r in self.fake.requests if r["path"] == f"/conversations/{cid}/reply"]
        self.assertEqual({r["json"]["admin_id"] for r in replies}, {self.bot["id"]})
        assign = [r["json"] for r in self.fake.requests
                  if r["path"] == f"/conversations/{cid}/parts"]
        self.assertEqual(assign, [{"message_type": "assignment", "type": "team",
                                   "admin_id": self.bot["id"], "assignee_id": self.humans["id"]}])

    def test_close_with_a_reason(self):
        cid = self.start_conversation("hi", team=self.other_bot_team)
        self.webhook(cid, "conversation.user.created")
        self.wait_bot_says(cid, 1)
        self.user_says(cid, "ok, bye")
        wait_for(lambda: self.ws.conversation(cid)["state"] == "closed", message="closed")
        close = self.parts(cid, "close")
        contact = self.ws.contact(self.ws.conversation(cid)["contacts"]["contacts"][0]["id"])
        # The reason, escaped, as the closing message to the user.
        self.assertEqual(close[0]["body"], f"<p>Glad we could help, {contact['name']} &lt;3</p>")
        wait_for(lambda: self.state(cid)["status"] == "closed", message="state closed")
        self.assertEqual(self.state(cid)["close_reason"],
                         f"Glad we could help, {contact['name']} <3")
        self.assertEqual(self.api("GET", "/stats").json(),
                         {"handled": 1, "handed_over": 0, "closed": 1})

    def test_the_bots_own_message_echoed_back_is_not_answered(self):
        cid = self.start_conversation("hello")
        self.webhook(cid, "conversation.user.created")
        self.wait_bot_says(cid, 1)
        self.wait_jobs_done(1)
        # The notification of the bot's reply: its newest part is the bot's comment.
        self.webhook(cid)
        self.srv.wait_log(rf"conversation {cid}: part \d+ ignored: the bot's own message")
        # A teammate's note and reply are ignored too.
        self.fake.touch_conversation(WS, cid)
        self.webhook(cid)
        self.srv.wait_log(rf"conversation {cid}: part \d+ ignored: not written by the contact")
        self.assertEqual(len(self.bot_says(cid)), 1)
        self.assertEqual(len(self.message_jobs("done")), 1)

    def test_conversations_outside_the_bot_teams_are_ignored(self):
        other = self.start_conversation("hello", team=self.humans)
        unassigned = self.start_conversation("hello", team=False)
        self.webhook(other, "conversation.user.created")
        self.webhook(unassigned, "conversation.user.created")
        self.srv.wait_log(rf"conversation {other}: part \d+ ignored: not assigned to a bot team")
        self.srv.wait_log(rf"conversation {unassigned}: part \d+ ignored: not assigned to a bot team")
        self.assertEqual(self.bot_says(other) + self.bot_says(unassigned), [])
        self.assertEqual(self.message_jobs("done") + self.message_jobs("queued"), [])
        self.assertEqual(self.api("GET", f"/conversations/{other}").status, 404)

    def test_kill_9_in_the_middle_of_a_handover(self):
        cid = self.start_conversation("hello")
        self.webhook(cid, "conversation.user.created")
        self.wait_bot_says(cid, 1)
        # The assignment is held at the fake: the reply and the note are out, the job waits.
        gate = self.fake.hold("POST", rf"/conversations/{cid}/parts")
        self.user_says(cid, "agent")
        gate.wait_arrived(1)
        self.assertEqual(len(self.parts(cid, "note")), 1)
        self.srv.kill()
        gate.release()
        self.srv.start()
        # The turn resumes from its checkpoint: the assignment again, no second reply or note.
        wait_for(lambda: self.state(cid)["status"] == "handed_over", timeout=20,
                 message="handed over after the restart")
        self.assertEqual(self.ws.conversation(cid)["team_assignee_id"], int(self.humans["id"]))
        self.assertEqual(len(self.bot_says(cid)), 2)
        self.assertEqual(len(self.parts(cid, "note")), 1)
        self.srv.wait_log(rf"conversation {cid}: resuming the turn at step 3")
        # The state survived: the transcript holds both turns.
        self.assertEqual([e["from"] for e in self.state(cid)["transcript"]],
                         ["user", "bot", "user", "bot"])


class ExternalEndpointTest(ChatlayerTestCase):
    external = True

    def test_several_messages_of_one_conversation_at_once_are_answered_in_order(self):
        self.endpoint.delay_s = 0.05
        first = self.start_conversation("m0")
        second = self.start_conversation("n0")
        # Every notification is written first, then they are delivered back to back: the
        # engine takes 50 ms a turn, so they wait behind each other as one conversation's.
        bodies = []
        for i in range(1, 6):
            for cid, prefix in ((first, "m"), (second, "n")):
                self.fake.add_user_reply(WS, cid, f"{prefix}{i}")
                bodies.append(self.fake.webhook_body("conversation.user.replied", WS,
                                                     {"type": "conversation", "id": cid}))
        for body in bodies:
            status = self.srv.webhook("chatlayer", body).status
            self.assertEqual(status, 200)
        self.wait_bot_says(first, 5)
        self.wait_bot_says(second, 5)
        self.assertEqual(self.bot_says(first), [f"<p>You said: m{i}</p>" for i in range(1, 6)])
        self.assertEqual(self.bot_says(second), [f"<p>You said: n{i}</p>" for i in range(1, 6)])
        # One at a time per conversation; the engine's state goes from turn to turn.
        self.assertEqual(self.endpoint.max_active, {first: 1, second: 1})
        turns = [r["body"]["state"] for r in self.endpoint.requests
                 if r["body"]["conversation_id"] == first]
        self.assertEqual(turns, [None, {"turn": 1}, {"turn": 2}, {"turn": 3}, {"turn": 4}])
        self.assertEqual(self.endpoint.requests[0]["headers"]["Authorization"],
                         "Bearer engine-key-123")
        self.assertNotIn("engine-key-123", self.srv.log_text())

    def test_slow_then_failing_then_recovering_endpoint(self):
        self.endpoint.faults = ["slow", "fail"]
        cid = self.start_conversation("hello there")
        self.webhook(cid, "conversation.user.created")
        self.assertEqual(self.wait_bot_says(cid, 1, timeout=30), ["<p>You said: hello there</p>"])
        self.assertEqual(len(self.endpoint.requests), 3)
        self.srv.wait_log(rf"conversation {cid}: bot endpoint, attempt 1 of 3")
        self.srv.wait_log(rf"conversation {cid}: bot endpoint, attempt 2 of 3")
        self.assertEqual(self.state(cid)["bot_state"], {"turn": 1})
        # The engine closes on request.
        self.user_says(cid, "close it")
        wait_for(lambda: self.ws.conversation(cid)["state"] == "closed", message="closed")

    def test_endpoint_down_hands_the_conversation_over(self):
        self.endpoint.always_fail = True
        cid = self.start_conversation("hello")
        self.webhook(cid, "conversation.user.created")
        wait_for(lambda: self.ws.conversation(cid)["team_assignee_id"] == int(self.humans["id"]),
                 timeout=30, message="handed over")
        self.assertEqual(len(self.endpoint.requests), 3)
        self.assertEqual(self.bot_says(cid), [])
        note = self.parts(cid, "note")[0]["body"]
        self.assertIn("the bot endpoint failed 3 times", note)
        self.assertIn("<li>User: hello</li>", note)
        wait_for(lambda: self.state(cid)["status"] == "handed_over", message="state")


class ChannelTest(ChatlayerTestCase):
    def set_settings(self, **values):
        r = self.srv.admin("PUT", f"/installations/{self.inst['id']}/settings", json_body=values)
        self.assertEqual(r.status, 200, r)

    def test_channel_webhook_url_admins_and_checks(self):
        r = self.api("GET", "/channel")
        self.assertEqual(r.status, 200, r)
        ch = r.json()
        self.assertEqual(ch["webhook_url"], f"{self.srv.url}/webhooks/chatlayer")
        # The admin API shows the same URL, with the plugin's other Intercom app URLs.
        urls = self.srv.admin("GET", "/plugins/chatlayer").json()["urls"]
        self.assertEqual(urls["webhook"], ch["webhook_url"])
        self.assertEqual(urls["oauth_callback"], f"{self.srv.url}/oauth/chatlayer/callback")
        self.assertNotIn("canvas_initialize", urls)  # no Canvas Kit app
        self.assertEqual(ch["problems"], [])
        self.assertTrue(ch["last_check"]["valid"], ch)
        self.assertEqual(ch["last_check"]["bot_agent"]["id"], self.bot["id"])
        self.assertFalse(ch["settings"]["endpoint_key_set"])
        admins = self.api("GET", "/admins").json()["admins"]
        self.assertEqual([a["id"] for a in admins if a["bot_agent"]], [self.bot["id"]])
        self.assertEqual(len(admins), len(self.ws.admins))

        # The offload team may not be a bot team: the plugin's check_settings refuses the
        # change before it is stored, whichever setting makes the clash.
        path = f"/installations/{self.inst['id']}/settings"
        r = self.srv.admin("PUT", path, json_body={"offload_team_id": self.bot_team["id"]})
        self.assertEqual(r.status, 422, r)
        self.assertEqual(r.json()["error"]["code"], "invalid_settings")
        self.assertIn("offload_team_id: the offload team is one of the bot teams",
                      r.json()["error"]["message"])
        r = self.srv.admin("PUT", path, json_body={"bot_team_ids": [self.bot_team["id"],
                                                                    self.humans["id"]]})
        self.assertEqual(r.status, 422, r)
        r = self.srv.admin("PUT", path, json_body={"bot_admin_id": "not-a-number"})
        self.assertEqual(r.status, 422, r)
        self.assertIn("bot_admin_id: not an admin id", r.json()["error"]["message"])
        stored = self.srv.admin("GET", path).json()["settings"]
        self.assertEqual((stored["offload_team_id"], stored["bot_team_ids"]),
                         (self.humans["id"], [self.bot_team["id"], self.other_bot_team["id"]]))
        self.assertEqual(self.api("GET", "/channel").json()["problems"], [])

        # A bot agent who is no admin of the workspace: the live check says so.
        self.set_settings(offload_team_id=self.humans["id"], bot_admin_id="999999")
        r = self.api("POST", "/channel/check")
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.json()["valid"])
        self.assertIn("admin 999999 is not an admin of this workspace",
                      r.json()["problems"][0]["problem"])

    def test_product_api_refusals(self):
        r = self.api("GET", "/conversations/not%2Fan-id")
        self.assertEqual((r.status, r.json()["error"]["code"]), (400, "invalid_conversation_id"))
        r = self.api("GET", "/conversations/123456")
        self.assertEqual((r.status, r.json()["error"]["code"]), (404, "unknown_conversation"))
        r = self.srv.api("chatlayer", "GET", "/stats")
        self.assertEqual(r.status, 400)
        r = self.api("GET", "/stats", workspace="nope")
        self.assertEqual(r.status, 404)
        r = self.srv.request("GET", "/api/chatlayer/stats?workspace_id=ws1")
        self.assertEqual(r.status, 401)

    def test_check_config_names_file_and_line(self):
        bad = json.loads(json.dumps(FLOWS))
        bad["flows"][1]["intents"][0]["match"] = "pric(e"
        self.srv.plugins["chatlayer"]["options"] = libconfig_lists(bad)
        code, out, err = self.srv.run_once(["--check-config"])
        self.assertEqual(code, 2, out + err)
        self.assertRegex(out + err, r"switchboard\.conf:\d+: .*flows\[1\]\.intents\[0\]\.match: "
                                    r"invalid regular expression")
        bad = json.loads(json.dumps(FLOWS))
        bad["flows"][2]["action"] = {"type": "transfer"}
        self.srv.plugins["chatlayer"]["options"] = libconfig_lists(bad)
        code, out, err = self.srv.run_once(["--check-config"])
        self.assertEqual(code, 2, out + err)
        self.assertRegex(out + err, r"switchboard\.conf:\d+: .*flows\[2\]\.action\.type: "
                                    r"unknown action 'transfer'")
