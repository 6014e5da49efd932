"""The admin API: installations, settings (validated, masked), events, audit."""

from harness import Server, ServerTestCase, envelope, wait_for


class Admin(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.fake = self.fake_intercom()
        self.fake.add_workspace(id_code="ws1", name="Acme", region="US")
        self.fake.add_workspace(id_code="ws2", name="Globex", region="AU")
        self.srv = self.server(plugins={"testplug": Server.plugin_config(settings={"label": "team-a"})},
                               intercom=self.fake).start()
        for ws in ("ws1", "ws2"):
            self.assertEqual(self.srv.install("testplug", ws).status, 200)
        self.inst = self.srv.installation("testplug", "ws1")

    def test_installations(self):
        all_ = self.srv.admin("GET", "/installations").json()["installations"]
        self.assertEqual(sorted(i["workspace_id"] for i in all_), ["ws1", "ws2"])
        self.assertEqual({i["region"] for i in all_}, {"US", "AU"})
        one = self.srv.admin("GET", f"/installations/{self.inst['id']}").json()
        self.assertEqual(one["settings"]["label"], "team-a")  # plugin default from the config
        self.assertIn("rate_governor", one)
        self.assertEqual(self.srv.admin("GET", "/installations/424242").status, 404)
        self.assertEqual(self.srv.admin("GET", "/installations?state=revoked").json()["installations"], [])

    def test_settings_validated_and_masked(self):
        path = f"/installations/{self.inst['id']}/settings"
        r = self.srv.admin("PUT", path, json_body={"event_mode": "sometimes", "tick_interval_s": 0,
                                                   "nope": 1})
        self.assertEqual(r.status, 422)
        msg = r.json()["error"]["message"]
        for part in ["event_mode: must be one of", "tick_interval_s: must be between 1 and 86400",
                     "nope: unknown setting"]:
            self.assertIn(part, msg)
        r = self.srv.admin("PUT", path, json_body={"endpoint_key": "hunter2", "tags": ["x"]})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["settings"]["endpoint_key"], "********")
        self.assertEqual(r.json()["settings"]["tags"], ["x"])
        self.assertNotIn("hunter2", self.srv.admin("GET", f"/installations/{self.inst['id']}").text)
        # The plugin sees the real values, merged with defaults.
        seen = self.srv.api("testplug", "GET", "/settings", workspace="ws1").json()
        self.assertEqual((seen["endpoint_key"], seen["label"], seen["event_mode"]),
                         ("hunter2", "team-a", "ok"))
        other = self.srv.api("testplug", "GET", "/settings", workspace="ws2").json()
        self.assertEqual(other["endpoint_key"], "")
        self.assertIn("settings_changed", [d["value"]["event"] for d in
                                           self.srv.docs("testplug", "installs", "ws1")])
        self.assertEqual(self.srv.admin("PUT", path, json_body=[1]).status, 400)
        # The plugin's own rule over the settings as a whole (check_settings): the label
        # must not be one of the tags, whichever of the two the change touches.
        r = self.srv.admin("PUT", path, json_body={"label": "x"})
        self.assertEqual(r.status, 422)
        self.assertEqual(r.json()["error"]["code"], "invalid_settings")
        self.assertEqual(r.json()["error"]["message"], "label: 'x' is one of the tags")
        r = self.srv.admin("PUT", path, json_body={"tags": ["y", "team-a"]})
        self.assertEqual(r.status, 422)
        self.assertIn("'team-a' is one of the tags", r.json()["error"]["message"])
        self.assertEqual(self.srv.admin("GET", path).json()["settings"]["tags"], ["x"])  # nothing stored
        self.assertEqual(self.srv.admin("PUT", path, json_body={"label": "x", "tags": ["y"]}).status, 200)

    def test_events_and_audit(self):
        for i in range(3):
            self.srv.webhook("testplug", envelope("conversation.user.created", "ws1",
                                                  {"type": "conversation", "id": str(i)}))
        events = self.srv.admin("GET", "/events?plugin=testplug&limit=2").json()["events"]
        self.assertEqual(len(events), 2)
        older = self.srv.admin("GET", f"/events?plugin=testplug&before={events[-1]['id']}").json()["events"]
        self.assertEqual(len(older), 1)
        self.assertNotIn("body", events[0])
        self.assertIn("body", self.srv.admin("GET", "/events?body=1&limit=1").json()["events"][0])
        audit = self.srv.admin("GET", f"/audit?installation={self.inst['id']}").json()["audit"]
        self.assertEqual([a["action"] for a in audit][-1], "installed")
        plugin_view = self.srv.api("testplug", "GET", "/audit", workspace="ws1").json()["audit"]
        self.assertEqual([a["action"] for a in plugin_view], [a["action"] for a in audit])
        jobs = wait_for(lambda: [j for j in self.srv.admin("GET", "/jobs?state=done").json()["jobs"]
                                 if j["type"] == "webhook"] or None, message="done jobs")
        self.assertTrue(all(j["plugin"] == "testplug" for j in jobs))
        # A delivery is its event's row: the job's id is the event's, and the event says how
        # its delivery went.
        for job in jobs:
            self.assertEqual(job["event_id"], job["id"])
            event = self.srv.admin("GET", f"/events/{job['id']}").json()
            self.assertEqual(event["delivery_state"], "done")
            self.assertEqual(self.srv.admin("GET", f"/jobs/{job['id']}").json()["type"], "webhook")
        self.assertEqual(self.srv.admin("GET", "/jobs?state=sleeping").status, 400)
