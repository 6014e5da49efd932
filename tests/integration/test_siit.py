"""siit: Siit requests escalated to Intercom tickets, teams, links, the timeline.

The real binary and the bundled plugin against the fake Intercom (every request
checked against Intercom's OpenAPI description in tearDown), with Siit played by
the Node receiver of test_product_events, which verifies every product event's
Standard Webhooks signature.

The fake workspace has two teams: "Support", whose member is the installing
admin, and "Billing", with no members - the plugin's admin cannot reach it.
"""

import json
import urllib.parse

import harness
from harness import Server, ServerTestCase, wait_for
from test_product_events import Receiver, new_secret, verifier_ready

WS = "siitws1"
PLUGIN = "siit"
REQUEST_URL = "https://acme.siit.io/requests/{request_id}"


class SiitTestCase(ServerTestCase):
    def setUp(self):
        super().setUp()
        if not verifier_ready():
            self.skipTest("skipped: standardwebhooks (npm) is not installed")
        self.secret = new_secret()
        self.receiver = Receiver(self.secret)
        self.addCleanup(self.receiver.stop)
        self.fake = self.fake_intercom()
        self.ws = self.fake.add_workspace(id_code=WS, name="Acme IT")
        self.support = next(t for t in self.ws.teams.values() if t["name"] == "Support")
        self.billing = next(t for t in self.ws.teams.values() if t["name"] == "Billing")
        self.ticket_type = next(t for t in self.ws.ticket_types.values()
                                if t["name"] == "Escalation")
        cfg = Server.plugin_config(settings={"request_url_template": REQUEST_URL})
        cfg["product"] = {"webhook_url": self.receiver.url, "webhook_secret_file": "product.secret",
                          "max_attempts": 50, "timeout_s": 5}
        self.srv = self.server(plugins={PLUGIN: cfg}, intercom=self.fake,
                               plugin_dir=harness.BUNDLED_PLUGIN_DIR)
        (self.srv.workdir / "product.secret").write_text(self.secret + "\n")
        self.srv.start()
        self.assertEqual(self.srv.install(PLUGIN, WS).status, 200)
        # The install re-syncs teams and ticket types by itself.
        wait_for(lambda: (self.api("GET", "/teams").json().get("sync") or {}).get("state") == "ok",
                 timeout=20, message="the teams re-sync after the install")
        self.select_teams([self.support["id"], self.billing["id"]])

    # ---- helpers ----

    def api(self, method, path, json_body=None, headers=None, body=None):
        return self.srv.api(PLUGIN, method, path, json_body=json_body, workspace=WS,
                            headers=headers, body=body)

    def select_teams(self, team_ids):
        inst = self.srv.installation(PLUGIN, WS)
        r = self.srv.admin("PUT", f"/installations/{inst['id']}/settings",
                           json_body={"selectable_teams": team_ids})
        self.assertEqual(r.status, 200, r)

    def spec(self, **over):
        body = {"team_id": self.support["id"], "ticket_type_id": self.ticket_type["id"],
                "priority": "high", "subject": "VPN down for the Paris office",
                "message": "Nobody in Paris can reach the VPN since 9:00.",
                "requester": {"email": "lea@acme.example", "name": "Léa Martin"}}
        body.update(over)
        return body

    def escalate(self, request_id, key=None, **over):
        headers = {"Idempotency-Key": key} if key else None
        return self.api("POST", f"/requests/{request_id}/escalations", json_body=self.spec(**over),
                        headers=headers)

    def escalation(self, request_id, escalation_id):
        r = self.api("GET", f"/requests/{request_id}/escalations/{escalation_id}")
        self.assertEqual(r.status, 200, r)
        return r.json()

    def wait_state(self, request_id, escalation_id, state="created", timeout=30):
        return wait_for(lambda: (lambda e: e["state"] == state and e)(
            self.escalation(request_id, escalation_id)), timeout=timeout,
            message=f"escalation {escalation_id} {state}")

    def timeline(self, request_id, **query):
        qs = ("?" + urllib.parse.urlencode(query)) if query else ""
        r = self.api("GET", f"/requests/{request_id}/timeline{qs}")
        self.assertEqual(r.status, 200, r)
        return r.json()

    def kinds(self, request_id):
        return [e["kind"] for e in self.timeline(request_id)["entries"]]

    def tickets(self):
        return list(self.ws.tickets.values())

    def sent(self, method, path):
        return [r for r in self.fake.requests if r["method"] == method and r["path"] == path]

    def error(self, r, status, code):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.json()["error"]["code"], code, r)
        self.assertTrue(r.json()["error"]["message"])


class Escalate(SiitTestCase):
    def test_escalation_creates_an_assigned_ticket_linked_on_both_sides(self):
        r = self.escalate("REQ-1", key="k1")
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.json()["state"], "queued")
        esc_id = r.json()["id"]
        esc = self.wait_state("REQ-1", esc_id)

        [ticket] = self.tickets()
        self.assertEqual(esc["ticket_id"], ticket["id"])
        self.assertIn(ticket["id"], esc["ticket_url"])
        self.assertIn(WS, esc["ticket_url"])
        self.assertEqual(ticket["ticket_type"]["id"], self.ticket_type["id"])
        self.assertEqual(ticket["team_assignee_id"], self.support["id"])
        attrs = ticket["ticket_attributes"]
        self.assertEqual(attrs["_default_title_"], "VPN down for the Paris office")
        self.assertIn("https://acme.siit.io/requests/REQ-1", attrs["_default_description_"])
        self.assertIn("Nobody in Paris", attrs["_default_description_"])
        self.assertIn("Priority: high", attrs["_default_description_"])
        # The requester's contact was created (none existed) and is the ticket's.
        contact = self.ws.contacts_by_email["lea@acme.example"]
        self.assertEqual(ticket["contacts"]["contacts"][0]["id"], contact["id"])
        self.assertEqual(esc["contact_id"], contact["id"])

        [event] = wait_for(lambda: self.receiver.delivered("escalation.created"), timeout=20,
                           message="escalation.created delivered")
        self.assertEqual(event["body"]["data"], {"request_id": "REQ-1", "escalation_id": esc_id,
                                                 "ticket_id": ticket["id"],
                                                 "ticket_url": esc["ticket_url"]})
        self.assertEqual(self.kinds("REQ-1"), ["escalation_queued", "contact_created",
                                               "ticket_created", "ticket_assigned", "link_sent"])

    def test_an_existing_contact_is_found_not_created(self):
        known = self.fake.workspaces[WS].add_contact(email="lea@acme.example", name="Léa")
        r = self.escalate("REQ-2")
        esc = self.wait_state("REQ-2", r.json()["id"])
        self.assertEqual(esc["contact_id"], known["id"])
        self.assertEqual(self.sent("POST", "/contacts"), [])
        self.assertIn("contact_found", self.kinds("REQ-2"))

    def test_an_admin_destination_and_the_settings_defaults(self):
        inst = self.srv.installation(PLUGIN, WS)
        self.srv.admin("PUT", f"/installations/{inst['id']}/settings",
                       json_body={"default_ticket_type": self.ticket_type["id"],
                                  "default_priority": "urgent"})
        other = next(a for a in self.ws.admins.values() if a["name"] == "Ben Support")
        body = self.spec(admin_id=other["id"])
        for name in ("team_id", "ticket_type_id", "priority"):
            del body[name]
        r = self.api("POST", "/requests/REQ-3/escalations", json_body=body)
        self.assertEqual(r.status, 202, r)
        esc = self.wait_state("REQ-3", r.json()["id"])
        self.assertEqual(esc["priority"], "urgent")
        [ticket] = self.tickets()
        self.assertEqual(ticket["admin_assignee_id"], other["id"])
        self.assertEqual(ticket["ticket_type"]["id"], self.ticket_type["id"])


class Teams(SiitTestCase):
    def test_teams_listed_with_selectable_and_reachable(self):
        self.select_teams([self.support["id"]])
        teams = {t["id"]: t for t in self.api("GET", "/teams").json()["teams"]}
        self.assertEqual(set(teams), set(self.ws.teams))
        self.assertEqual(teams[self.support["id"]]["selectable"], True)
        self.assertEqual(teams[self.support["id"]]["reachable"], True)
        billing = teams[self.billing["id"]]
        self.assertEqual((billing["selected"], billing["reachable"], billing["selectable"]),
                         (False, False, False))
        self.assertIn("not a member", billing["problem"])
        types = {t["id"] for t in self.api("GET", "/ticket_types").json()["ticket_types"]}
        self.assertEqual(types, set(self.ws.ticket_types))

    def test_unselected_and_unreachable_teams_are_refused_with_422(self):
        self.select_teams([self.billing["id"]])
        self.error(self.escalate("REQ-4", team_id=self.support["id"]), 422, "team_not_selectable")
        self.error(self.escalate("REQ-4", team_id=self.billing["id"]), 422, "team_unreachable")
        self.assertIn("re-sync", self.escalate("REQ-4", team_id=self.billing["id"])
                      .json()["error"]["message"])
        self.assertEqual(self.sent("POST", "/tickets"), [])
        self.assertEqual(self.kinds("REQ-4"), [])

    def test_resync_sees_a_new_membership(self):
        owner = self.ws.owner()
        self.ws.teams[self.billing["id"]]["admin_ids"].append(int(owner["id"]))
        r = self.api("POST", "/teams/sync")
        self.assertEqual(r.status, 202, r)
        wait_for(lambda: next(t for t in self.api("GET", "/teams").json()["teams"]
                              if t["id"] == self.billing["id"])["reachable"], timeout=20,
                 message="Billing reachable after the re-sync")
        r = self.escalate("REQ-5", team_id=self.billing["id"])
        self.assertEqual(r.status, 202, r)
        self.wait_state("REQ-5", r.json()["id"])


class Idempotency(SiitTestCase):
    def test_the_same_call_retried_answers_the_same_escalation(self):
        first = self.escalate("REQ-6", key="retry-me")
        again = self.escalate("REQ-6", key="retry-me")
        self.assertEqual(again.status, 202, again)
        self.assertEqual(again.json()["id"], first.json()["id"])
        self.assertTrue(again.json()["replayed"])
        self.wait_state("REQ-6", first.json()["id"])
        after = self.escalate("REQ-6", key="retry-me")
        self.assertEqual((after.json()["id"], after.json()["state"]), (first.json()["id"], "created"))
        self.assertEqual(len(self.tickets()), 1)
        self.assertEqual(len(self.sent("POST", "/tickets")), 1)
        # Another key is another escalation; the same key on another request too.
        other = self.escalate("REQ-7", key="retry-me")
        self.assertNotEqual(other.json()["id"], first.json()["id"])
        self.wait_state("REQ-7", other.json()["id"])
        self.assertEqual(len(self.tickets()), 2)

    def test_kill_9_after_the_ticket_was_created_does_not_create_a_second(self):
        gate = self.fake.hold("POST", r"^/tickets$", answered=True)
        r = self.escalate("REQ-8", key="crash")
        esc_id = r.json()["id"]
        gate.wait_arrived()
        self.assertEqual(len(self.tickets()), 1)  # Intercom acted; the answer never arrives
        self.srv.kill()
        gate.release()
        self.srv.restart()
        esc = self.wait_state("REQ-8", esc_id, timeout=60)
        [ticket] = self.tickets()
        self.assertEqual(esc["ticket_id"], ticket["id"])
        self.assertEqual(len(self.sent("POST", "/tickets")), 1)
        self.assertEqual(len(self.sent("POST", "/tickets/search")), 1)
        created = [e for e in self.timeline("REQ-8")["entries"] if e["kind"] == "ticket_created"]
        self.assertEqual(len(created), 1)
        self.assertIn("found by its marker", created[0]["text"])

    def test_an_answer_lost_in_flight_is_searched_for_not_created_again(self):
        self.fake.inject("POST", r"^/tickets$", status=503)  # Intercom failed: nothing made
        r = self.escalate("REQ-9")
        esc = self.wait_state("REQ-9", r.json()["id"], timeout=60)
        self.assertEqual(len(self.tickets()), 1)
        self.assertEqual(esc["ticket_id"], self.tickets()[0]["id"])
        # The retry first looked for a ticket carrying the marker, found none, created one.
        self.assertEqual(len(self.sent("POST", "/tickets/search")), 1)
        self.assertEqual(len(self.sent("POST", "/tickets")), 2)


class Links(SiitTestCase):
    def test_receiver_down_the_ticket_id_is_on_the_timeline_then_relink(self):
        self.receiver.down()
        r = self.escalate("REQ-10")
        esc = self.wait_state("REQ-10", r.json()["id"])
        created = [e for e in self.timeline("REQ-10")["entries"] if e["kind"] == "ticket_created"]
        self.assertEqual(created[0]["details"]["ticket_id"], esc["ticket_id"])
        self.assertIn(esc["ticket_id"], created[0]["text"])
        self.assertEqual(self.receiver.delivered("escalation.created"), [])
        self.receiver.up()
        r = self.api("POST", "/requests/REQ-10/relink")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["ticket_id"], esc["ticket_id"])
        relinked = wait_for(lambda: [d for d in self.receiver.delivered("escalation.created")
                                     if d["body"]["data"].get("relinked")], timeout=20,
                            message="the relink delivered")
        self.assertEqual(relinked[0]["body"]["data"]["ticket_id"], esc["ticket_id"])
        self.assertEqual(self.kinds("REQ-10")[-2:], ["link_sent", "link_sent"])

    def test_relink_without_a_ticket_is_refused(self):
        self.error(self.api("POST", "/requests/REQ-11/relink"), 409, "no_ticket")
        self.error(self.api("POST", "/requests/REQ-11/relink", json_body={"escalation_id": "esc_99"}),
                   404, "unknown_escalation")


class TicketState(SiitTestCase):
    def test_ticket_state_changes_reach_the_timeline_and_siit(self):
        r = self.escalate("REQ-12")
        esc = self.wait_state("REQ-12", r.json()["id"])
        hook = f"{self.srv.url}/webhooks/{PLUGIN}"
        self.fake.change_ticket_state(WS, esc["ticket_id"], "in_progress", webhook_url=hook)
        self.fake.change_ticket_state(WS, esc["ticket_id"], "in_progress", webhook_url=hook)
        self.fake.change_ticket_state(WS, esc["ticket_id"], "resolved", webhook_url=hook,
                                      open_=False)
        events = wait_for(lambda: (lambda d: len(d) >= 2 and d)(
            self.receiver.delivered("ticket.state_changed")), timeout=20,
            message="two ticket.state_changed events")
        data = sorted((d["body"]["data"] for d in events), key=lambda d: d["closed"])
        self.assertEqual([(d["state"], d["closed"]) for d in data],
                         [("in_progress", False), ("resolved", True)])
        self.assertEqual({d["request_id"] for d in data}, {"REQ-12"})
        changes = [e for e in self.timeline("REQ-12")["entries"]
                   if e["kind"] == "ticket_state_changed"]
        self.assertEqual(len(changes), 2)  # the repeated state added nothing
        self.assertIn("(closed)", changes[1]["text"])

    def test_a_ticket_the_plugin_did_not_create_is_ignored(self):
        r = self.escalate("REQ-16")
        esc = self.wait_state("REQ-16", r.json()["id"])
        foreign = self.ws.tickets[esc["ticket_id"]].copy()
        foreign.update(id="999999", ticket_state={"type": "ticket_state", "category": "resolved"})
        r = self.srv.webhook(PLUGIN, harness.envelope("ticket.state.updated", WS, foreign))
        self.assertEqual(r.status, 200, r)
        wait_for(lambda: not [j for j in self.srv.admin("GET", f"/jobs?plugin={PLUGIN}").json()["jobs"]
                              if j["state"] in ("queued", "running")], timeout=20,
                 message="every job of the plugin done")
        self.fake.change_ticket_state(WS, esc["ticket_id"], "in_progress",
                                      webhook_url=f"{self.srv.url}/webhooks/{PLUGIN}")
        [event] = wait_for(lambda: self.receiver.delivered("ticket.state_changed"), timeout=20,
                           message="the plugin's own ticket change delivered")
        self.assertEqual(event["body"]["data"]["ticket_id"], esc["ticket_id"])
        self.assertEqual([e["details"]["ticket_id"] for e in self.timeline("REQ-16")["entries"]
                          if e["kind"] == "ticket_state_changed"], [esc["ticket_id"]])


class Timeline(SiitTestCase):
    def test_pages_in_order(self):
        for i in range(3):
            r = self.escalate("REQ-13", key=f"k{i}")
            self.wait_state("REQ-13", r.json()["id"])
        whole = self.timeline("REQ-13", limit=1000)["entries"]
        self.assertEqual([e["seq"] for e in whole], list(range(1, len(whole) + 1)))
        seen, after = [], None
        while True:
            page = self.timeline("REQ-13", limit=4, **({"after": after} if after else {}))
            seen += page["entries"]
            after = page["next"]
            if not after:
                break
        self.assertEqual(seen, whole)
        self.assertEqual(self.timeline("REQ-unknown")["entries"], [])


class BadInput(SiitTestCase):
    def test_bad_requests_get_clear_errors_and_change_nothing(self):
        path = "/requests/REQ-14/escalations"
        self.error(self.api("POST", path, body=b"{not json", headers={"Content-Type": "application/json"}),
                   400, "malformed_json")
        self.error(self.api("POST", path, json_body=[1, 2]), 400, "invalid_request")
        self.error(self.api("POST", "/requests/bad%20id/escalations", json_body=self.spec()), 400,
                   "invalid_request_id")
        self.error(self.escalate("REQ-14", requester={"name": "no email"}), 400, "requester_required")
        self.error(self.escalate("REQ-14", requester={"email": "not-an-email"}), 400, "invalid_requester")
        self.error(self.escalate("REQ-14", requester="lea"), 400, "invalid_requester")
        self.error(self.escalate("REQ-14", subject=""), 400, "subject_required")
        self.error(self.escalate("REQ-14", subject=42), 400, "invalid_request")
        self.error(self.escalate("REQ-14", priority="asap"), 400, "invalid_priority")
        self.error(self.escalate("REQ-14", team_id=None), 400, "destination_required")
        self.error(self.escalate("REQ-14", admin_id="1"), 400, "invalid_destination")
        self.error(self.escalate("REQ-14", team_id="../x"), 400, "invalid_team_id")
        self.error(self.escalate("REQ-14", ticket_type_id="424242"), 422, "unknown_ticket_type")
        self.error(self.escalate("REQ-14", request_url="javascript:alert(1)"), 400, "invalid_request_url")
        self.error(self.escalate("REQ-14", key="bad key"), 400, "invalid_idempotency_key")
        self.error(self.api("GET", "/requests/REQ-14/escalations/esc_1"), 404, "unknown_escalation")
        self.error(self.api("GET", "/requests/REQ-14/timeline?after=zz"), 400, "invalid_after")
        self.error(self.api("GET", "/requests/REQ-14/timeline?limit=0"), 400, "invalid_limit")
        self.assertEqual(self.api("GET", "/requests/REQ-14/escalations").json()["escalations"], [])
        self.assertEqual(self.kinds("REQ-14"), [])
        self.assertEqual(self.sent("POST", "/tickets"), [])

    def test_no_request_url_is_refused_when_no_template_is_set(self):
        inst = self.srv.installation(PLUGIN, WS)
        self.srv.admin("PUT", f"/installations/{inst['id']}/settings",
                       json_body={"request_url_template": ""})
        self.error(self.escalate("REQ-15"), 422, "request_url_unknown")
        r = self.escalate("REQ-15", request_url="https://acme.siit.io/r/15")
        self.assertEqual(r.status, 202, r)
