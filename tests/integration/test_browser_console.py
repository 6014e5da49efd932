"""The web console in headless Chromium: what an integrator does, clicked as they would.

The real binary serves the console; the fake Intercom plays Intercom (its
authorize page approves the admin the test names). Chromium is Debian's, driven
by playwright-core through browser.py; elements are found by role, accessible
name and label - the names the console promises in CONSOLE_NOTES.md.

Every test ends by saving a screenshot (build/screenshots/<test>.png) and
checking the page had no uncaught JavaScript error, no Content-Security-Policy
violation and no console error beyond the refusals it provoked.

Why Python drives and Node only clicks: the server, the fake Intercom and its
controls (holding a sync at its first request, approving an OAuth grant) live
in the Python harness, and the scenarios interleave them with clicks.
"""

import json
import urllib.parse

import harness
from browser import Browser, Page, label, require_browser, role, text, text_matching, within
from harness import Server, ServerTestCase, envelope, wait_for

WS = "ws1"
WS_NAME = "Acme Support"
SYNC_TIMEOUT_S = 120     # the machine is shared and the sanitizer build is slow

_browser = None


def shared_browser():
    """One Chromium for the module; each test gets its own context (no shared storage)."""
    global _browser
    if _browser is None or not _browser.alive():   # a test that hung the driver had it killed
        _browser = Browser()
    return _browser


def tearDownModule():
    if _browser is not None:
        _browser.close()


class ConsoleCase(ServerTestCase):
    plugin = "testplug"
    plugin_dir = None          # the test plugins' folder (harness default)
    plugin_settings = None
    viewport = None            # the browser's default: a laptop

    def setUp(self):
        super().setUp()
        require_browser(self)
        self.fake = self.fake_intercom()
        self.fake.add_workspace(id_code=WS, name=WS_NAME, region="US")
        self.srv = self.server(
            plugins={self.plugin: Server.plugin_config(settings=self.plugin_settings)},
            intercom=self.fake, plugin_dir=self.plugin_dir).start()
        options = {"viewport": self.viewport} if self.viewport else {}
        self.page = Page(shared_browser(), self.screenshot_name(), **options)

    def screenshot_name(self):
        return self._testMethodName.removeprefix("test_")

    def failed(self):
        """Whether the test itself failed (Python >= 3.11 reports a failure as it happens)."""
        result = getattr(self._outcome, "result", None)
        return result is not None and any(
            case is self for case, _ in result.failures + result.errors)

    def tearDown(self):
        try:
            if getattr(self, "page", None) is not None:
                if self.failed():
                    print(f"screenshot of the failure: {self.page.screenshot('.failed')}")
                self.maxDiff = None
                self.assertEqual(self.page.problems(), [],
                                 "JavaScript errors or CSP violations in the console")
        finally:
            super().tearDown()

    # ---- steps shared by the scenarios ----

    def open_console(self, path="/"):
        self.page.goto(self.srv.url + path)

    def sign_in(self):
        self.open_console()
        self.page.fill(label("Admin token"), self.srv.admin_token)
        self.page.click(role("button", "Sign in", exact=True))
        self.page.see(role("button", "Sign out", exact=True))

    def go(self, link_name):
        """Follow a link of the navigation and wait for the page's heading."""
        self.page.click(within(role("navigation"), role("link", link_name, exact=True)))
        self.page.see(role("heading", link_name, exact=True, level=1))

    def installation_row(self, workspace=WS):
        return role("row", hasText=workspace)

    def save_screenshot(self):
        path = self.page.screenshot()
        print(f"screenshot: {path}")


class SignIn(ConsoleCase):
    def test_sign_in(self):
        """A wrong token is refused and kept nowhere; the right one opens the console, kept in
        the tab's session storage and sent only as a bearer header."""
        self.page.allow_status(401)
        self.open_console()
        self.page.see(role("heading", "Sign in", exact=True, level=1))
        wrong = "not-the-" + self.srv.admin_token
        self.page.fill(label("Admin token"), wrong)
        self.page.click(role("button", "Sign in", exact=True))
        self.page.see_text(role("alert"), "refused")
        self.page.see(label("Admin token"))                   # still signing in
        self.assertEqual(self.page.count(role("button", "Sign out")), 0)
        self.assertNotIn(wrong, json.dumps(self.page.storage()["local"]))
        # The right token, submitted from the keyboard.
        self.page.fill(label("Admin token"), self.srv.admin_token)
        self.page.press(label("Admin token"), "Enter")
        self.page.see(role("button", "Sign out", exact=True))
        self.page.see(role("heading", "Overview", exact=True, level=1))
        self.page.see(within(role("main"), text("ok", exact=True)))   # health, read with the token
        storage = self.page.storage()
        self.assertIn(self.srv.admin_token, storage["session"].values())
        self.assertNotIn(self.srv.admin_token, json.dumps(storage["local"]))
        self.assertEqual(self.page.cookies(), [])
        admin_calls = [r for r in self.page.requests() if "/admin/" in r["url"]]
        self.assertTrue(admin_calls)
        for r in self.page.requests():
            self.assertNotIn(self.srv.admin_token, r["url"])
            self.assertNotIn(wrong, r["url"])
        self.assertEqual(admin_calls[-1]["authorization"], f"Bearer {self.srv.admin_token}")
        self.save_screenshot()
        # Signing out forgets the token.
        self.page.click(role("button", "Sign out", exact=True))
        self.page.see(label("Admin token"))
        self.assertNotIn(self.srv.admin_token, json.dumps(self.page.storage()))


    def test_violations_are_caught(self):
        """The check every test ends with sees CSP violations and uncaught errors (a checker
        that saw nothing would pass every page)."""
        strict = urllib.parse.quote(
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'self'\">"
            "<p style='color: red'>inline style</p><script>window.ran = 1</script>")
        loose = urllib.parse.quote("<script>undefined_function()</script>")
        try:
            self.page.goto("data:text/html," + strict)
            # The page's securitypolicyviolation events are dispatched as tasks after the
            # load; leaving the page at once can drop them, so wait until both are seen.
            wait_for(lambda: all(f"CSP violation: {d}" in "\n".join(self.page.problems())
                                 for d in ("style-src-attr", "script-src-elem")),
                     timeout=15, message="the CSP violation events")
            self.page.goto("data:text/html," + loose)
            found = "\n".join(self.page.problems())
        finally:
            self.page = Page(shared_browser(), self.screenshot_name())   # a clean one for tearDown
        self.assertIn("CSP violation: style-src-attr", found)
        self.assertIn("CSP violation: script-src-elem", found)
        self.assertIn("Executing inline script violates the following Content Security Policy", found)
        self.assertIn("uncaught: ReferenceError: undefined_function is not defined", found)


class ConnectWorkspace(ConsoleCase):
    def test_connect_workspace(self):
        """"Connect a workspace" runs Intercom's OAuth (the fake's authorize page approves)
        and the installation appears, authenticated; revoking it asks first."""
        self.sign_in()
        self.go("Installations")
        self.fake.authorize_as(WS)
        self.page.click(role("link", "Connect a workspace", exact=True))
        self.page.wait_url(r"/oauth/testplug/callback\?")
        self.assertIsNotNone(wait_for(lambda: self.srv.installation(self.plugin, WS),
                                      message="the installation stored"))
        self.open_console("/#/installations")
        self.page.see(role("heading", "Installations", exact=True, level=1))
        row = self.installation_row()
        self.page.see_text(row, "authenticated", "US")
        self.page.see(within(row, role("button", "revoke", exact=True)))
        self.save_screenshot()
        # Revoking asks first; cancelled, nothing happens; confirmed, the state follows.
        self.page.click(within(row, role("button", "revoke", exact=True)))
        self.page.click(within(role("dialog"), role("button", "Cancel", exact=True)))
        self.page.gone(role("dialog"))
        self.assertEqual(self.srv.installation(self.plugin, WS)["state"], "active")
        self.page.click(within(row, role("button", "revoke", exact=True)))
        self.page.click(within(role("dialog"), role("button", "Revoke", exact=True)))
        self.page.see(within(row, text("revoked", exact=True)))
        self.assertEqual(self.srv.installation(self.plugin, WS)["state"], "revoked")


class Keyboard(ConsoleCase):
    def test_keyboard(self):
        """Signing in and connecting a workspace need no mouse: every step is reached with Tab
        and taken with Enter."""
        self.open_console()
        self.page.tab_to(label("Admin token"))
        self.page.type(self.srv.admin_token)
        self.page.tab_to(role("button", "Sign in", exact=True))
        self.page.key("Enter")
        self.page.see(role("button", "Sign out", exact=True))
        self.page.tab_to(within(role("navigation"), role("link", "Installations", exact=True)))
        self.page.key("Enter")
        self.page.see(role("heading", "Installations", exact=True, level=1))
        self.page.tab_to(role("link", "Connect a workspace", exact=True))
        self.save_screenshot()   # the focus ring on the link
        self.fake.authorize_as(WS)
        self.page.key("Enter")
        self.page.wait_url(r"/oauth/testplug/callback\?")
        self.assertIsNotNone(wait_for(lambda: self.srv.installation(self.plugin, WS),
                                      message="the installation stored"))


class Settings(ConsoleCase):
    def test_settings(self):
        """An out-of-bounds value is refused with the API's problem next to its field;
        a valid one is saved."""
        self.assertEqual(self.srv.install(self.plugin, WS).status, 200)
        inst = self.srv.installation(self.plugin, WS)
        self.page.allow_status(422)
        self.sign_in()
        self.go("Installations")
        self.page.click(within(self.installation_row(), role("link", "Settings", exact=True)))
        self.page.see(role("heading", "Settings", exact=True, level=1))
        field = label("tick_interval_s")
        self.page.fill(field, "0")
        self.page.click(role("button", "Save settings", exact=True))
        self.page.see_text({"css": "#error-tick_interval_s"}, "must be between 1 and 86400")
        self.assertEqual(self.page.attr(field, "aria-invalid"), "true")
        settings_puts = self.page.responses("PUT", rf"/admin/installations/{inst['id']}/settings$")
        self.assertEqual([r["status"] for r in settings_puts], [422])  # the server's refusal
        self.assertIn("must be between 1 and 86400", self.page.description(field))
        stored = self.srv.admin("GET", f"/installations/{inst['id']}/settings").json()["settings"]
        self.assertNotEqual(stored.get("tick_interval_s"), 0)
        self.save_screenshot()   # the refusal next to its field is the picture worth keeping
        self.page.fill(field, "120")
        self.page.click(role("button", "Save settings", exact=True))
        self.page.see_text(role("status"), "Settings saved.")
        self.assertEqual([r["status"] for r in self.page.responses(
            "PUT", rf"/admin/installations/{inst['id']}/settings$")], [422, 200])
        self.assertNotEqual(self.page.attr(field, "aria-invalid"), "true")
        stored = self.srv.admin("GET", f"/installations/{inst['id']}/settings").json()["settings"]
        self.assertEqual(stored["tick_interval_s"], 120)


class DeadJob(ConsoleCase):
    def test_dead_job_replay(self):
        """A dead webhook job is listed with its reason; Replay runs it again (now it succeeds)."""
        self.assertEqual(self.srv.install(self.plugin, WS).status, 200)
        inst = self.srv.installation(self.plugin, WS)
        path = f"/installations/{inst['id']}/settings"
        self.assertEqual(self.srv.admin("PUT", path, json_body={"event_mode": "fail"}).status, 200)
        self.assertEqual(self.srv.webhook(self.plugin, envelope(
            "conversation.user.created", WS, {"type": "conversation", "id": "7"})).status, 200)
        job = wait_for(lambda: self.srv.admin("GET", "/jobs/dead").json()["jobs"], timeout=30,
                       message="a dead job")[0]
        self.assertEqual(self.srv.admin("PUT", path, json_body={"event_mode": "ok"}).status, 200)
        self.sign_in()
        self.go("Jobs")
        self.page.select(label("State"), "dead")
        replay = role("button", f"Replay job {job['id']}", exact=True)
        row = role("row", hasText="event_mode is fail")
        self.page.see(within(row, replay))
        self.save_screenshot()
        self.page.click(replay)
        wait_for(lambda: self.srv.admin("GET", f"/jobs/{job['id']}").json()["state"] == "done",
                 timeout=30, message="the replayed job done")
        # The console sees it too: no longer among the dead, done when asked for done jobs.
        self.page.gone(replay)
        self.assertEqual([r["status"] for r in self.page.responses(
            "POST", rf"/admin/jobs/{job['id']}/replay$")], [200])
        self.page.select(label("State"), "done")
        self.page.see(within(role("row", hasText=job["key"]), text("done", exact=True)))


class StartdeliverSync(ConsoleCase):
    plugin = "startdeliver"
    plugin_dir = harness.BUNDLED_PLUGIN_DIR

    def test_sync_progress(self):
        """Connect a workspace for startdeliver and watch its first sync run and finish,
        without reloading the page (the console polls)."""
        contacts = self.fake.seed_contacts(WS, 20)
        self.fake.seed_conversations(WS, 300, contacts=contacts, created_at=None)
        # The first sync waits for its second page of conversations (150 of 300 stored) until
        # the page has shown it running.
        gate = self.fake.hold("GET", r"^/conversations$", query="starting_after",
                              timeout_s=SYNC_TIMEOUT_S)
        self.sign_in()
        self.go("Installations")
        self.fake.authorize_as(WS)
        self.page.click(role("link", "Connect a workspace", exact=True))
        self.page.wait_url(r"/oauth/startdeliver/callback\?")
        gate.wait_arrived(timeout=SYNC_TIMEOUT_S)
        self.open_console("/#/installations")
        row = self.installation_row()
        progress = within(row, role("progressbar", f"Sync progress of {WS_NAME}", exact=True))
        self.page.see(progress)
        self.page.see_text(row, "150 of 300")
        self.assertEqual((self.page.attr(progress, "value"), self.page.attr(progress, "max")),
                         ("150", "300"))
        self.page.screenshot(".running", height=470)   # the README's picture (docs/console.png)
        gate.release()
        self.page.gone(progress, timeout=SYNC_TIMEOUT_S * 1000)
        self.page.see(within(row, text_matching(r"^ok\b")), timeout=SYNC_TIMEOUT_S * 1000)
        status = self.srv.api(self.plugin, "GET", "/status", workspace=WS).json()
        self.assertEqual(status["last_sync"]["result"], "ok")
        self.save_screenshot()


class Phone(ConsoleCase):
    viewport = {"width": 390, "height": 844}

    def test_phone(self):
        """On a phone's width every page fits its content: nothing scrolls sideways."""
        self.assertEqual(self.srv.install(self.plugin, WS).status, 200)
        self.open_console()
        self.page.see(label("Admin token"))
        self.assert_fits("Sign in")
        self.sign_in()
        # Each page once its content came (what fits before the data may not after).
        shown = {"Overview": text("Queue depth"), "Plugins": role("heading", self.plugin, level=2),
                 "Jobs": role("table"), "Events": label("Plugin"), "Audit": role("table"),
                 "Installations": within(self.installation_row(), role("link", "Settings"))}
        for name, content in shown.items():
            self.go(name)
            self.page.see(content)
            self.assert_fits(name)
        self.save_screenshot()

    def assert_fits(self, page_name):
        layout = self.page.layout()
        self.assertLessEqual(layout["documentWidth"], layout["windowWidth"],
                             f"{page_name} scrolls sideways on a phone")
