"""OAuth installs, uninstall notices and revocation, against the fake Intercom."""

import html
import json
import time
import urllib.parse

from harness import (CLIENT_ID, CLIENT_SECRET, Server, ServerTestCase, envelope,
                     http_get_no_redirect, sign_canvas, wait_for)


NEEDS_ADMIN = "Authorization failed: sign in as an Intercom workspace admin"


class OAuthTestCase(ServerTestCase):
    plugin_settings = None
    extra_settings = None

    def setUp(self):
        super().setUp()
        self.fake = self.fake_intercom()
        self.fake.add_workspace(id_code="ws1", name="Acme Support", region="US")
        settings = {"security": {"oauth_state_ttl_s": 2}}
        settings.update(self.extra_settings or {})
        self.srv = self.server(
            plugins={"testplug": Server.plugin_config(settings=self.plugin_settings)},
            intercom=self.fake, settings=settings).start()

    def begin_install(self, **authorize):
        """The first two hops: our redirect, then Intercom's redirect back with a code."""
        self.fake.authorize_as("ws1", **authorize)
        start = self.srv.request("GET", "/oauth/testplug/install")
        self.assertEqual(start.status, 302)
        back = http_get_no_redirect(start.header("Location"))
        self.assertEqual(back.status, 302)
        return urllib.parse.urlsplit(back.header("Location"))

    def callback(self, query):
        return self.srv.request("GET", f"/oauth/testplug/callback?{query}")

    def requests_to(self, path):
        return [r for r in self.fake.requests if r["path"] == path]

    def installs_seen(self, workspace="ws1"):
        return [d["value"]["event"] for d in self.srv.docs("testplug", "installs", workspace)]


class Install(OAuthTestCase):
    def test_authorize_redirect(self):
        start = self.srv.request("GET", "/oauth/testplug/install")
        self.assertEqual(start.status, 302)
        url = urllib.parse.urlsplit(start.header("Location"))
        self.assertEqual(f"{url.scheme}://{url.netloc}{url.path}", self.fake.oauth_url)
        q = urllib.parse.parse_qs(url.query)
        self.assertEqual(q["client_id"], [CLIENT_ID])
        self.assertEqual(q["redirect_uri"], [f"{self.srv.url}/oauth/testplug/callback"])
        self.assertGreater(len(q["state"][0]), 40)
        second = self.srv.request("GET", "/oauth/testplug/install").header("Location")
        self.assertNotEqual(urllib.parse.parse_qs(urllib.parse.urlsplit(second).query)["state"], q["state"])

    def test_full_install(self):
        page = self.srv.install("testplug", "ws1")
        self.assertEqual(page.status, 200, page.text)
        self.assertIn("Installed", page.text)
        self.assertIn("Acme Support", page.text)
        inst = self.srv.installation("testplug", "ws1")
        self.assertEqual((inst["state"], inst["region"], inst["workspace_name"]),
                         ("active", "US", "Acme Support"))
        self.assertTrue(inst["admin_id"])
        # The code went to the token URL form-encoded, exactly as Intercom sent it.
        exchange = self.requests_to("/auth/eagle/token")
        self.assertEqual(len(exchange), 1)
        self.assertTrue(exchange[0]["headers"]["content-type"].startswith("application/x-www-form-urlencoded"))
        form = urllib.parse.parse_qs(exchange[0]["body"].decode(), keep_blank_values=True)
        self.assertEqual(form["client_id"], [CLIENT_ID])
        self.assertEqual(form["client_secret"], [CLIENT_SECRET])
        me = self.requests_to("/me")
        self.assertEqual(len(me), 1)
        token = me[0]["headers"]["authorization"].split(" ", 1)[1]
        self.assertEqual(me[0]["headers"]["authorization"], f"Bearer {token}")
        # The plugin's hook ran and the timeline says so.
        self.assertEqual(self.installs_seen(), ["installed"])
        audit = self.srv.admin("GET", f"/audit?installation={inst['id']}").json()["audit"]
        self.assertIn("installed", [a["action"] for a in audit])
        # The token is sealed at rest and never logged.
        self.srv.stop()
        self.assertNotIn(token.encode(), self.srv.db_dump())
        self.assertNotIn(token, self.srv.log_text())
        self.assertNotIn(CLIENT_SECRET, self.srv.log_text())

    def test_code_is_exchanged_byte_exact(self):
        for _ in range(3):  # the fake hands out some codes ending in '='
            callback = self.begin_install()
            code = urllib.parse.parse_qs(callback.query)["code"][0]
            self.assertEqual(self.callback(callback.query).status, 200)
            sent = self.requests_to("/auth/eagle/token")[-1]["body"].decode()
            self.assertEqual(urllib.parse.parse_qs(sent)["code"], [code])
        codes = [urllib.parse.parse_qs(r["body"].decode())["code"][0]
                 for r in self.requests_to("/auth/eagle/token")]
        self.assertTrue(any(c.endswith("=") for c in codes), codes)

    def test_reinstall_replaces_token(self):
        self.assertEqual(self.srv.install("testplug", "ws1").status, 200)
        first = self.srv.installation("testplug", "ws1")
        old_token = self.requests_to("/me")[-1]["headers"]["authorization"]
        self.assertEqual(self.srv.install("testplug", "ws1").status, 200)
        second = self.srv.installation("testplug", "ws1")
        new_token = self.requests_to("/me")[-1]["headers"]["authorization"]
        self.assertEqual(first["id"], second["id"])
        self.assertNotEqual(old_token, new_token)
        self.fake.revoked_tokens.add(old_token.split(" ", 1)[1])
        r = self.srv.api("testplug", "POST", "/intercom", workspace="ws1",
                         json_body={"method": "GET", "path": "/admins"})
        self.assertEqual(r.json()["status"], 200)
        self.assertEqual(self.fake.requests[-1]["headers"]["authorization"], new_token)
        self.assertEqual(self.installs_seen(), ["installed", "installed"])
        self.assertIn("reinstalled", [a["action"] for a in
                                      self.srv.admin("GET", "/audit").json()["audit"]])


class InstallFailures(OAuthTestCase):
    def test_forged_state(self):
        callback = self.begin_install()
        q = urllib.parse.parse_qs(callback.query)
        state = q["state"][0]
        forged = state[:-3] + ("AAA" if not state.endswith("AAA") else "BBB")
        page = self.callback(urllib.parse.urlencode({"code": q["code"][0], "state": forged}))
        self.assertEqual(page.status, 400)
        self.assertIn("forged", page.text)
        self.assertEqual(self.requests_to("/auth/eagle/token"), [])

    def test_missing_and_garbage_state(self):
        self.assertIn("missing or malformed", self.callback("code=abc").text)
        self.assertEqual(self.callback("code=abc&state=%%%").status, 400)
        self.assertEqual(self.requests_to("/auth/eagle/token"), [])

    def test_reused_state(self):
        callback = self.begin_install()
        self.assertEqual(self.callback(callback.query).status, 200)
        again = self.callback(callback.query)
        self.assertEqual(again.status, 400)
        self.assertIn("already used", again.text)
        self.assertEqual(len(self.requests_to("/auth/eagle/token")), 1)

    def test_expired_state(self):
        callback = self.begin_install()
        time.sleep(3)  # oauth_state_ttl_s is 2: the link must expire
        page = self.callback(callback.query)
        self.assertEqual(page.status, 400)
        self.assertIn("expired", page.text)

    def test_access_denied(self):
        self.fake.authorize_as("ws1", deny=True)
        start = self.srv.request("GET", "/oauth/testplug/install")
        back = http_get_no_redirect(start.header("Location"))
        callback = urllib.parse.urlsplit(back.header("Location"))
        page = self.callback(callback.query)
        self.assertEqual(page.status, 403)
        self.assertIn(NEEDS_ADMIN, page.text)
        self.assertIn("Intercom said: access_denied (the admin denied access)", page.text)
        self.assertIsNone(self.srv.installation("testplug", "ws1"))

    def test_token_exchange_error_reaches_page_and_log(self):
        self.fake.inject(method="POST", path=r"^/auth/eagle/token$", status=401,
                         body={"type": "error.list", "errors": [{"code": "unauthorized",
                                                                 "message": "Unauthorized Code"}]})
        callback = self.begin_install()
        page = self.callback(callback.query)
        self.assertEqual(page.status, 403)
        self.assertIn(NEEDS_ADMIN, page.text)
        self.assertIn("Intercom answered 401: Unauthorized Code", page.text)
        self.srv.wait_log(r"install of testplug failed \(request [^)]+\): Authorization failed: "
                          r".* Intercom answered 401: Unauthorized Code")
        self.assertIsNone(self.srv.installation("testplug", "ws1"))

    def test_server_errors_keep_their_page(self):
        self.fake.inject(method="GET", path=r"^/me$", status=500)
        page = self.callback(self.begin_install().query)
        self.assertEqual(page.status, 400)
        self.assertIn("Intercom answered 500", page.text)
        self.assertNotIn("Authorization failed", page.text)
        self.assertIsNone(self.srv.installation("testplug", "ws1"))

    def test_intercom_unreachable(self):
        self.fake.inject(method="POST", path=r"^/auth/eagle/token$", drop=True)
        page = self.callback(self.begin_install().query)
        self.assertEqual(page.status, 400)
        self.assertIn("could not be reached", page.text)


class NonAdminInstall(OAuthTestCase):
    """A teammate without admin rights approves the app: Intercom refuses them at one step."""

    def setUp(self):
        super().setUp()
        self.teammate = self.fake.workspace("ws1").add_admin(
            "Nina Agent", "nina@ws1.example", workspace_admin=False)["id"]

    def install_as_teammate(self, refused_at, status=403):
        callback = self.begin_install(admin_id=self.teammate, refused_at=refused_at,
                                      refusal_status=status)
        return self.callback(callback.query), callback.query

    def assert_refused(self, page, query, intercom_said):
        self.assertEqual(page.status, 403)
        self.assertTrue(page.header("Content-Type").startswith("text/html"))
        self.assertIn(NEEDS_ADMIN, page.text)
        self.assertIn(intercom_said, html.unescape(page.text))
        self.assertIsNone(self.srv.installation("testplug", "ws1"))
        self.srv.wait_log(r"install of testplug failed \(request [^)]+\): Authorization failed")
        audit = self.srv.admin("GET", "/audit?plugin=testplug").json()["audit"]
        failed = [a for a in audit if a["action"] == "install_failed"]
        self.assertEqual(len(failed), 1, audit)
        self.assertEqual((failed[0]["installation_id"], failed[0]["subject"]), (0, "installation"))
        self.assertIn(intercom_said, failed[0]["detail"])
        # No credential anywhere: the client secret, and any token Intercom handed out.
        shown = page.text + self.srv.log_text() + json.dumps(audit)
        for secret in [CLIENT_SECRET, *self.fake.tokens]:
            self.assertNotIn(secret, shown)
        # The state was used up: the same callback cannot be replayed.
        again = self.callback(query)
        self.assertEqual(again.status, 400)
        self.assertIn("already used", again.text)

    def assert_token_not_kept(self, token):
        self.srv.stop()
        self.assertNotIn(token.encode(), self.srv.db_dump())

    def test_refused_at_the_authorize_step(self):
        page, query = self.install_as_teammate("authorize")
        self.assert_refused(page, query, "Intercom said: access_denied (Only admins of this "
                                         "workspace can install apps)")
        self.assertEqual(self.requests_to("/auth/eagle/token"), [])

    def check_token_exchange_refuses(self, status):
        page, query = self.install_as_teammate("token", status)
        self.assert_refused(page, query, f"Intercom answered {status}: The teammate who "
                                         "authorized this app is not a workspace admin")
        self.assertEqual(self.fake.tokens, {})
        self.assertEqual(self.requests_to("/me"), [])

    def test_token_exchange_answers_403(self):
        self.check_token_exchange_refuses(403)

    def test_token_exchange_answers_401(self):
        self.check_token_exchange_refuses(401)

    def check_me_refuses(self, status):
        page, query = self.install_as_teammate("me", status)
        self.assert_refused(page, query, f"Intercom answered {status}: The teammate who "
                                         "authorized this app is not a workspace admin")
        # Intercom did hand out a token; it was dropped, never stored.
        (token,) = self.fake.tokens
        self.assertEqual(self.requests_to("/me")[0]["headers"]["authorization"], f"Bearer {token}")
        self.assert_token_not_kept(token)

    def test_me_answers_403(self):
        self.check_me_refuses(403)

    def test_me_answers_401(self):
        self.check_me_refuses(401)

    def test_an_admin_installs_after_a_refusal(self):
        page, _ = self.install_as_teammate("me")
        self.assertEqual(page.status, 403)
        page = self.srv.install("testplug", "ws1")
        self.assertEqual(page.status, 200, page.text)
        inst = self.srv.installation("testplug", "ws1")
        self.assertEqual(inst["state"], "active")
        self.assertEqual(inst["admin_id"], self.fake.workspace("ws1").owner()["id"])
        self.assertEqual(self.installs_seen(), ["installed"])

    def test_a_refusal_leaves_an_earlier_installation_alone(self):
        self.assertEqual(self.srv.install("testplug", "ws1").status, 200)
        before = self.srv.installation("testplug", "ws1")
        page, _ = self.install_as_teammate("me")
        self.assertEqual(page.status, 403)
        self.assertEqual(self.srv.installation("testplug", "ws1"), before)
        r = self.srv.api("testplug", "POST", "/intercom", workspace="ws1",
                         json_body={"method": "GET", "path": "/admins"})
        self.assertEqual(r.json()["status"], 200)

    def test_what_intercom_said_is_escaped_and_capped(self):
        start = self.srv.request("GET", "/oauth/testplug/install")
        state = urllib.parse.parse_qs(urllib.parse.urlsplit(start.header("Location")).query)["state"][0]
        hostile = "<script>alert(1)</script>\u00e9" + "x" * 5000
        query = urllib.parse.urlencode({"state": state, "error_description": hostile})
        page = self.callback(query + "&error=access%FFdenied")
        self.assertEqual(page.status, 403)
        self.assertIn(NEEDS_ADMIN, page.text)
        self.assertIn("Intercom said: access?denied (", page.text)  # not UTF-8: replaced
        self.assertNotIn("<script>", page.text)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;\u00e9xxx", page.text)
        self.assertNotIn("x" * 300, page.text)
        self.assertIn("xxx...)", page.text)
        self.assertLess(len(page.text), 2000)


class InstallHookFails(OAuthTestCase):
    plugin_settings = {"label": "fail_install"}

    def test_hook_failure_is_shown(self):
        page = self.srv.install("testplug", "ws1")
        self.assertEqual(page.status, 400)
        self.assertIn("could not finish setting up: install hook refused", page.text)


class InstallHookNotStored(OAuthTestCase):
    def test_hook_writes_not_committed_fail_the_install(self):
        # The hook's document is written, but its commit fails: the install did not take.
        lift = self.srv.fail_commits_in_store("AFTER INSERT ON documents",
                                              when="NEW.collection = 'installs'")
        page = self.srv.install("testplug", "ws1")
        self.assertEqual(page.status, 400, page.text)
        self.assertIn("Installation failed", page.text)
        self.assertIn("could not finish setting up: what it recorded could not be stored",
                      page.text)
        self.srv.wait_log("the turn's writes could not be committed")
        self.assertEqual(self.installs_seen(), [])
        lift()
        again = self.srv.install("testplug", "ws1")
        self.assertEqual(again.status, 200, again.text)
        self.assertEqual(self.installs_seen(), ["installed"])


class AppStore(OAuthTestCase):
    extra_settings = {"intercom": {"appstore_redirect_url": "https://app.intercom.com/appstore/redirect"}}

    def test_redirects_back_to_the_app_store(self):
        ok = self.callback(self.begin_install().query)
        self.assertEqual(ok.status, 302)
        self.assertEqual(ok.header("Location"),
                         "https://app.intercom.com/appstore/redirect?install_success=true")
        self.fake.authorize_as("ws1", deny=True)
        start = self.srv.request("GET", "/oauth/testplug/install")
        back = urllib.parse.urlsplit(http_get_no_redirect(start.header("Location")).header("Location"))
        failed = self.callback(back.query)
        self.assertEqual(failed.status, 302)
        self.assertIn("install_success=false&error_message=Authorization%20failed", failed.header("Location"))


class Uninstall(OAuthTestCase):
    def setUp(self):
        super().setUp()
        self.assertEqual(self.srv.install("testplug", "ws1").status, 200)
        self.inst = self.srv.installation("testplug", "ws1")
        self.token = self.requests_to("/me")[-1]["headers"]["authorization"].split(" ", 1)[1]

    def notify(self, signed=True):
        body = b'{"app_id":"ws1"}'
        headers = {"Content-Type": "application/json"}
        if signed:
            headers["X-Body-Signature"] = sign_canvas(body)
        return self.srv.request("POST", "/oauth/testplug/uninstalled", body=body, headers=headers)

    def assert_revoked(self):
        wait_for(lambda: self.srv.installation("testplug", "ws1")["state"] == "revoked",
                 message="installation revoked")
        self.assertIn("uninstalled", self.installs_seen())
        # Its webhooks are still acknowledged and recorded, but reach no plugin.
        r = self.srv.webhook("testplug", envelope("conversation.user.created", "ws1",
                                                  {"type": "conversation", "id": "1"}))
        self.assertEqual((r.status, r.json()["status"]), (200, "revoked"))
        self.assertEqual(self.srv.docs("testplug", "events", "ws1"), [])

    def test_signed_notice(self):
        r = self.notify()
        self.assertEqual((r.status, r.json()["status"]), (200, "revoked"))
        self.assert_revoked()

    def test_wrongly_signed_notice_is_refused(self):
        body = b'{"app_id":"ws1"}'
        r = self.srv.request("POST", "/oauth/testplug/uninstalled", body=body,
                             headers={"X-Body-Signature": "0" * 64})
        self.assertEqual(r.status, 401)
        self.assertEqual(self.srv.installation("testplug", "ws1")["state"], "active")

    def test_unsigned_notice_is_confirmed_with_intercom(self):
        r = self.notify(signed=False)
        self.assertEqual(r.json()["status"], "checking")
        self.srv.wait_log(r"uninstall notice for installation \d+ not confirmed")
        self.assertEqual(self.srv.installation("testplug", "ws1")["state"], "active")
        self.fake.revoked_tokens.add(self.token)  # as when the workspace really uninstalled
        self.notify(signed=False)
        self.assert_revoked()

    def test_unknown_workspace_and_bad_body(self):
        body = b'{"app_id":"nobody"}'
        r = self.srv.request("POST", "/oauth/testplug/uninstalled", body=body,
                             headers={"X-Body-Signature": sign_canvas(body)})
        self.assertEqual(r.json()["status"], "unknown_workspace")
        r = self.srv.request("POST", "/oauth/testplug/uninstalled", body=b"[1]",
                             headers={"X-Body-Signature": sign_canvas(b"[1]")})
        self.assertEqual(r.status, 400)

    def test_admin_revoke_tells_intercom(self):
        job = self.srv.api("testplug", "POST", "/jobs", workspace="ws1",
                           json_body={"type": "work", "delay_s": 3600}).json()["id"]
        r = self.srv.admin("POST", f"/installations/{self.inst['id']}/revoke")
        self.assertEqual((r.status, r.json()["state"]), (200, "revoked"))
        wait_for(lambda: self.requests_to("/auth/uninstall"), message="POST /auth/uninstall")
        revoke = self.requests_to("/auth/uninstall")[0]
        self.assertEqual(revoke["method"], "POST")
        self.assertEqual(revoke["headers"]["authorization"], f"Bearer {self.token}")
        wait_for(lambda: self.token in self.fake.revoked_tokens, message="token revoked at Intercom")
        self.assertEqual(self.srv.admin("GET", f"/jobs/{job}").json()["state"], "cancelled")
        self.assert_revoked()
        # Intercom calls for it now fail fast, without a request.
        before = len(self.fake.requests)
        r = self.srv.api("testplug", "POST", "/intercom", workspace="ws1",
                         json_body={"method": "GET", "path": "/admins"})
        self.assertEqual(r.json()["error_code"], "revoked")
        self.assertEqual(len(self.fake.requests), before)

    def test_plugin_revokes_through_host(self):
        r = self.srv.api("testplug", "POST", "/revoke", workspace="ws1")
        self.assertEqual(r.status, 200)
        wait_for(lambda: self.requests_to("/auth/uninstall"), message="POST /auth/uninstall")
        self.assert_revoked()
        self.assertIn("revoked through testplug",
                      [a["detail"] for a in self.srv.admin("GET", "/audit").json()["audit"]])
