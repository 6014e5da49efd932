"""SDK 1.1 typed Intercom writes: set_attributes and conversation_reply send the request
Intercom documents (checked against its OpenAPI description in tearDown), with escaped ids,
the installing admin by default, retries only where they are safe."""

from harness import Server, ServerTestCase


class TypedWrites(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.fake = self.fake_intercom()
        self.ws = self.fake.add_workspace(id_code="ws1", name="Acme")
        self.srv = self.server(plugins={"testplug": Server.plugin_config()},
                               intercom=self.fake).start()
        self.assertEqual(self.srv.install("testplug", "ws1").status, 200)
        self.admin = self.srv.installation("testplug", "ws1")["admin_id"]
        for model in ("contact", "company"):
            self.ws.add_data_attribute({"name": "plan", "model": model, "data_type": "string"},
                                       self.admin)
        self.conv = self.fake.create_conversation("ws1", "Hello")
        self.fake.clear_requests()

    def write(self, **body):
        r = self.srv.api("testplug", "POST", "/typed_write", workspace="ws1", json_body=body)
        return r

    def written(self, **body):
        r = self.write(**body)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def sent(self, method, path):
        return [q for q in self.fake.requests if q["method"] == method and q["path"] == path]

    def test_set_attributes_on_each_object(self):
        contact = self.fake.seed_contacts("ws1", 1)[0]
        company = self.fake.seed_companies("ws1", 1)[0]
        for object_type, collection, object_id in (("contact", "contacts", contact["id"]),
                                                   ("company", "companies", company["id"]),
                                                   ("conversation", "conversations",
                                                    self.conv["id"])):
            res = self.written(write="attributes", object=object_type, id=object_id,
                               attributes={"plan": "gold"})
            self.assertEqual((res["status"], res["kind"]), (200, "none"), res)
            self.assertEqual(res["body"]["custom_attributes"]["plan"], "gold")
            calls = self.sent("PUT", f"/{collection}/{object_id}")
            self.assertEqual(len(calls), 1, object_type)
            self.assertEqual(calls[0]["json"], {"custom_attributes": {"plan": "gold"}})
            self.assertEqual(calls[0]["headers"]["content-type"], "application/json")

    def test_set_attributes_is_retried(self):
        path = f"/conversations/{self.conv['id']}"
        self.fake.inject(method="PUT", path=rf"^{path}$", status=502, times=2)
        res = self.written(write="attributes", object="conversation", id=self.conv["id"],
                           attributes={"severity": "high"})
        self.assertEqual((res["status"], res["attempts"]), (200, 3))
        self.assertEqual(len(self.sent("PUT", path)), 3)

    def test_ids_are_one_escaped_path_segment(self):
        res = self.written(write="attributes", object="contact", id="a/b c?d",
                           attributes={"plan": "gold"})
        self.assertEqual((res["status"], res["kind"]), (404, "not_found"), res)
        call = [q for q in self.fake.requests if q["method"] == "PUT"][0]
        self.assertEqual(call["path"], "/contacts/a%2Fb%20c%3Fd")

    def test_note_from_the_installing_admin(self):
        res = self.written(write="reply", id=self.conv["id"], reply="note",
                           body="<p>internal <b>note</b></p>")
        self.assertEqual((res["status"], res["kind"]), (200, "none"), res)
        calls = self.sent("POST", f"/conversations/{self.conv['id']}/reply")
        self.assertEqual(len(calls), 1)
        self.assertEqual(calls[0]["json"], {"message_type": "note", "type": "admin",
                                            "admin_id": self.admin,
                                            "body": "<p>internal <b>note</b></p>"})

    def test_comment_from_another_admin(self):
        other = self.ws.add_admin("Other Admin", "other@acme.example")["id"]
        res = self.written(write="reply", id=self.conv["id"], reply="comment",
                           body="<p>Hi there</p>", admin_id=other)
        self.assertEqual(res["status"], 200, res)
        call = self.sent("POST", f"/conversations/{self.conv['id']}/reply")[0]
        self.assertEqual((call["json"]["message_type"], call["json"]["admin_id"]),
                         ("comment", other))

    def test_reply_is_not_retried(self):
        path = f"/conversations/{self.conv['id']}/reply"
        self.fake.inject(method="POST", path=rf"^{path}$", status=502)
        res = self.written(write="reply", id=self.conv["id"], reply="note", body="<p>once</p>")
        self.assertEqual((res["status"], res["kind"], res["attempts"]), (502, "server_error", 1))
        self.assertEqual(len(self.sent("POST", path)), 1)

    def test_wrong_calls_send_nothing(self):
        for body in ({"write": "attributes", "object": "ticket", "id": "1", "attributes": {}},
                     {"write": "attributes", "object": "contact", "id": "1", "attributes": [1]},
                     {"write": "attributes", "object": "contact", "id": "..", "attributes": {}},
                     {"write": "attributes", "object": "contact", "id": "", "attributes": {}},
                     {"write": "reply", "id": self.conv["id"], "reply": "note", "body": ""},
                     {"write": "reply", "reply": "note", "body": "<p>x</p>"}):
            r = self.write(**body)
            self.assertEqual((r.status, r.json()["error"]["code"]), (400, "wrong_call"), body)
        self.assertEqual(self.fake.requests, [])
        self.srv.wait_log(r"set_attributes refused: unknown object type")
