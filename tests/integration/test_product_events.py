"""Product events: product_event() deliveries to the vendor's product, signed per
Standard Webhooks and checked by an independent verifier (the standardwebhooks npm
package in a Node receiver), durable, retried, held after 410 and replayable."""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request

from harness import BUILD, REPO, Server, ServerTestCase, wait_for

NODE_PREFIX = BUILD / "standardwebhooks"
INSTALL = REPO / "tests" / "integration" / "install-standardwebhooks.sh"
RECEIVER = REPO / "tests" / "integration" / "product_receiver.js"
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

_verifier_ready = None


def verifier_ready():
    """Install the npm package once per run; False (with the reason printed) if it cannot be had."""
    global _verifier_ready
    if _verifier_ready is None:
        if not shutil.which("node"):
            reason = "node not found"
        else:
            subprocess.run(["bash", str(INSTALL), str(NODE_PREFIX)], timeout=300, check=True)
            found = (NODE_PREFIX / "node_modules" / "standardwebhooks").is_dir()
            reason = None if found else "the standardwebhooks npm package could not be installed"
        if reason:
            print(f"skipped: {reason}", file=sys.stderr)
        _verifier_ready = reason is None
    return _verifier_ready


class Receiver:
    """The Node receiver: deliveries verified by standardwebhooks, steered over HTTP."""

    def __init__(self, secret):
        env = dict(os.environ, WEBHOOK_SECRET=secret,
                   NODE_PATH=str(NODE_PREFIX / "node_modules"))
        self.proc = subprocess.Popen(["node", str(RECEIVER)], stdout=subprocess.PIPE, env=env)
        line = self.proc.stdout.readline().decode()
        m = re.match(r"control (\d+) hook (\d+)", line)
        if not m:
            self.proc.kill()
            raise AssertionError(f"the receiver did not start: {line!r}")
        self.control_port, self.hook_port = int(m.group(1)), int(m.group(2))

    @property
    def url(self):
        return f"http://127.0.0.1:{self.hook_port}/hooks/switchboard?source=test"

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.control_port}{path}", data=data,
                                     method=method)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def answer(self, status):
        self._call("POST", "/answer", {"status": status})

    def down(self):
        self._call("POST", "/down")

    def up(self):
        self._call("POST", "/up")

    def deliveries(self):
        return self._call("GET", "/deliveries")

    def delivered(self, type_=None):
        """Deliveries answered 2xx (of one event type), one per webhook-id."""
        seen = {}
        for d in self.deliveries():
            if 200 <= d["answered"] < 300 and (type_ is None or d["body"]["type"] == type_):
                seen.setdefault(d["id"], d)
        return list(seen.values())

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


def new_secret():
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


class ProductEventsTestCase(ServerTestCase):
    max_attempts = 50  # plenty: a delivery must never die in these tests unless asked to

    def setUp(self):
        super().setUp()
        if not verifier_ready():
            self.skipTest("skipped: standardwebhooks (npm) is not installed")
        self.secret = new_secret()
        self.receiver = Receiver(self.secret)
        self.addCleanup(self.receiver.stop)
        self.srv = self.server(plugins={"testplug": self.plugin_config()})
        (self.srv.workdir / "product.secret").write_text(self.secret + "\n")
        self.srv.start()

    def plugin_config(self, **product):
        cfg = Server.plugin_config()
        cfg["product"] = {"webhook_url": self.receiver.url, "webhook_secret_file": "product.secret",
                          "max_attempts": self.max_attempts, "timeout_s": 5, **product}
        return cfg

    def emit(self, type_, count=1, mode="direct", data=None, workspace=None):
        body = {"type": type_, "count": count, "mode": mode}
        if data is not None:
            body["data"] = data
        r = self.srv.api("testplug", "POST", "/product_events", json_body=body, workspace=workspace)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def product_jobs(self, state=None):
        query = "?plugin=testplug&limit=1000" + (f"&state={state}" if state else "")
        jobs = self.srv.admin("GET", "/jobs" + query).json()["jobs"]
        return [j for j in jobs if j["type"].startswith("product:")]

    def endpoint(self):
        r = self.srv.admin("GET", "/plugins/testplug/product")
        self.assertEqual(r.status, 200, r)
        return r.json()

    def wait_delivered(self, type_, count, timeout=30):
        return wait_for(lambda: len(self.receiver.delivered(type_)) >= count and
                        self.receiver.delivered(type_), timeout=timeout,
                        message=f"{count} deliveries of {type_}")

    def assert_all_verified(self):
        bad = [d for d in self.receiver.deliveries() if not d["verified"]]
        self.assertEqual(bad, [], "deliveries the standardwebhooks package refused")


class Delivery(ProductEventsTestCase):
    def test_every_event_verified_with_the_specified_shape(self):
        self.assertEqual(self.emit("ticket.created", count=3, data={"ticket": "T-1"})["sent"], 3)
        self.assertEqual(self.emit("ticket.closed", count=2, mode="transaction")["sent"], 2)
        created = self.wait_delivered("ticket.created", 3)
        closed = self.wait_delivered("ticket.closed", 2)
        self.assert_all_verified()
        for d in created + closed:
            self.assertEqual(d["method"], "POST")
            self.assertEqual(d["path"], "/hooks/switchboard?source=test")
            self.assertEqual(d["content_type"], "application/json")
            self.assertRegex(d["id"], r"^msg_[0-9a-f]{32}$")
            self.assertEqual(sorted(d["body"]), ["data", "installation", "timestamp", "type"])
            self.assertRegex(d["body"]["timestamp"], RFC3339_UTC)
            self.assertIsNone(d["body"]["installation"])
            self.assertLessEqual(abs(int(d["timestamp"]) - d["received_at"]), 2)
        self.assertEqual(sorted(d["body"]["data"]["seq"] for d in created), [0, 1, 2])
        self.assertEqual({d["body"]["data"]["ticket"] for d in created}, {"T-1"})
        self.assertEqual(len({d["id"] for d in created + closed}), 5)  # unique ids
        wait_for(lambda: self.endpoint()["pending"] == 0, message="nothing pending")
        state = self.endpoint()
        self.assertEqual((state["enabled"], state["dead"], state["webhook_url"]),
                         (True, 0, self.receiver.url))
        self.assertEqual(self.srv.admin("GET", "/plugins/testplug").json()["product"]["enabled"],
                         True)
        # Neither the secret, its key nor any signature reaches the log (even at debug level
        # nothing of them is written; info is what runs here).
        log = self.srv.log_text()
        key_b64 = self.secret[len("whsec_"):]
        for d in created + closed:
            self.assertNotIn(d["signature"].split(",", 1)[1], log)
        self.assertNotIn(key_b64, log)
        self.assertNotIn(base64.b64decode(key_b64).hex(), log)

    def test_enqueued_in_a_rolled_back_transaction_is_never_delivered(self):
        r = self.emit("rolled.back", mode="rollback")
        self.assertEqual((r["sent"], r["rc"]), (1, 1))  # product_event succeeded, then undone
        self.emit("after.rollback")
        self.wait_delivered("after.rollback", 1)
        # Jobs run in creation order when due together: the rolled-back one would be sent by now.
        self.assertEqual([d for d in self.receiver.deliveries()
                          if d["body"]["type"] == "rolled.back"], [])
        self.assertEqual([j for j in self.product_jobs() if j["type"] == "product:rolled.back"], [])
        self.assert_all_verified()

    def test_wrong_calls_are_refused(self):
        self.assertEqual(self.emit("bad type!")["sent"], 0)
        self.assertEqual(self.emit(".leading.dot")["sent"], 0)
        r = self.srv.api("testplug", "POST", "/jobs", json_body={"type": "product:forged"})
        self.assertEqual(r.status, 500, r)  # the host's job type prefix is not the plugin's
        self.assertEqual(self.product_jobs(), [])


class Retries(ProductEventsTestCase):
    def test_receiver_failing_then_down_then_back_loses_nothing(self):
        self.receiver.answer(500)
        self.emit("order.paid", count=3)
        # Each event is tried more than once, with the same id and a fresh timestamp.
        wait_for(lambda: all(n >= 2 for n in self.attempts_by_seq("order.paid", 3)), timeout=30,
                 message="two failed attempts of every event")
        self.receiver.down()
        refused = wait_for(lambda: [j for j in self.product_jobs("queued")
                                    if "refused" in (j["last_error"] or "")
                                    or "connect" in (j["last_error"] or "")],
                           timeout=30, message="an attempt against the closed port")
        self.assertTrue(refused)
        self.emit("order.paid.late", count=2)  # created while nothing listens
        self.receiver.answer(200)
        self.receiver.up()
        paid = self.wait_delivered("order.paid", 3)
        self.wait_delivered("order.paid.late", 2)
        self.assert_all_verified()
        for d in paid:
            tries = [t for t in self.receiver.deliveries() if t["id"] == d["id"]]
            self.assertGreaterEqual(len(tries), 3)
            self.assertEqual(len({json.dumps(t["body"], sort_keys=True) for t in tries}), 1)
            stamps = [int(t["timestamp"]) for t in tries]
            self.assertEqual(stamps, sorted(stamps))
        wait_for(lambda: self.endpoint()["pending"] == 0, message="nothing pending")
        self.assertEqual(self.product_jobs("dead"), [])

    def attempts_by_seq(self, type_, count):
        per_seq = {}
        ids = {}
        for d in self.receiver.deliveries():
            if d["body"]["type"] == type_:
                seq = d["body"]["data"]["seq"]
                per_seq[seq] = per_seq.get(seq, 0) + 1
                ids.setdefault(seq, set()).add(d["id"])
        self.assertTrue(all(len(v) == 1 for v in ids.values()), ids)  # one id per event
        return [per_seq.get(i, 0) for i in range(count)]

    def test_gone_disables_holds_and_enable_releases(self):
        self.receiver.answer(410)
        self.emit("first")
        wait_for(lambda: not self.endpoint()["enabled"], message="endpoint disabled")
        state = self.endpoint()
        self.assertIn("410", state["disabled_reason"])
        self.assertIsInstance(state["disabled_at"], int)
        self.receiver.answer(200)
        self.emit("second")
        # Held: queued, no attempt counted, not sent (the dispatcher saw it and held it).
        held = wait_for(lambda: [j for j in self.product_jobs("queued")
                                 if j["type"] == "product:second" and j["last_error"]],
                        message="second held")
        self.assertEqual(held[0]["attempts"], 0)
        first = [j for j in self.product_jobs("queued") if j["type"] == "product:first"]
        self.assertEqual(first[0]["attempts"], 0)
        self.assertEqual(self.endpoint()["pending"], 2)
        self.assertEqual(self.receiver.delivered(), [])
        # Disabled survives a restart.
        self.srv.restart()
        self.assertFalse(self.endpoint()["enabled"])
        r = self.srv.admin("POST", "/plugins/testplug/product/enable")
        self.assertEqual((r.status, r.json()["enabled"]), (200, True))
        self.wait_delivered("first", 1)
        self.wait_delivered("second", 1)
        self.assert_all_verified()
        ids = [d["id"] for d in self.receiver.deliveries() if d["body"]["type"] == "first"]
        self.assertEqual(len(set(ids)), 1)  # the 410'd attempt and the delivery: one id
        self.assertEqual(self.srv.admin("POST", "/plugins/nope/product/enable").status, 404)


class Timeout(ProductEventsTestCase):
    def plugin_config(self, **product):
        return super().plugin_config(timeout_s=1, **product)

    def test_a_receiver_that_never_answers_times_out_and_a_stop_abandons_cleanly(self):
        self.receiver.answer(0)
        self.emit("slow.one")
        timed_out = wait_for(lambda: [j for j in self.product_jobs("queued")
                                      if "timed out" in (j["last_error"] or "")],
                             timeout=20, message="an attempt that timed out")
        self.assertEqual(timed_out[0]["type"], "product:slow.one")
        # Stopped while an attempt hangs: a clean exit (no leak under the sanitizers), and
        # the delivery goes out after the restart.
        wait_for(lambda: len([d for d in self.receiver.deliveries()
                              if d["body"]["type"] == "slow.one"]) >= 2, timeout=20,
                 message="the next attempt in flight")
        self.assertEqual(self.srv.stop(), 0, self.srv.log_text()[-2000:])
        self.receiver.answer(200)
        self.srv.start()
        self.wait_delivered("slow.one", 1)
        self.assert_all_verified()


class DeadAndReplay(ProductEventsTestCase):
    max_attempts = 2

    def test_retries_exhausted_then_replay_delivers(self):
        self.receiver.answer(503)
        self.emit("invoice.failed")
        dead = wait_for(lambda: self.product_jobs("dead"), timeout=30, message="dead delivery")
        self.assertEqual(dead[0]["attempts"], 2)
        self.assertIn("gave up after 2 attempts", dead[0]["last_error"])
        self.assertIn("answered HTTP 503", dead[0]["last_error"])
        self.assertIn(dead[0]["id"], [j["id"] for j in self.srv.admin("GET", "/jobs/dead").json()["jobs"]])
        self.assertEqual((self.endpoint()["dead"], self.endpoint()["pending"]), (1, 0))
        self.receiver.answer(200)
        r = self.srv.admin("POST", f"/jobs/{dead[0]['id']}/replay")
        self.assertEqual(r.status, 200, r)
        delivered = self.wait_delivered("invoice.failed", 1)
        tries = [d for d in self.receiver.deliveries() if d["body"]["type"] == "invoice.failed"]
        self.assertEqual(len(tries), 3)
        self.assertEqual({t["id"] for t in tries}, {delivered[0]["id"]})
        self.assert_all_verified()
        wait_for(lambda: self.endpoint()["dead"] == 0, message="no dead delivery left")


class Crash(ProductEventsTestCase):
    def test_kill_9_with_deliveries_pending_then_delivered_after_restart(self):
        self.receiver.down()
        self.emit("crash.before", count=3)
        wait_for(lambda: any(j["attempts"] >= 1 for j in self.product_jobs("queued")),
                 timeout=20, message="a failed attempt")
        self.assertEqual(self.endpoint()["pending"], 3)
        self.srv.kill()
        self.receiver.up()
        self.srv.start()
        self.wait_delivered("crash.before", 3)
        self.assert_all_verified()


class WithInstallation(ProductEventsTestCase):
    def test_installation_in_the_body(self):
        fake = self.fake_intercom()
        fake.add_workspace(id_code="ws1", name="Acme", region="US")
        self.srv.stop()
        self.srv.intercom = fake
        self.srv.start()
        self.assertEqual(self.srv.install("testplug", "ws1").status, 200)
        inst = self.srv.installation("testplug", "ws1")
        self.emit("contact.synced", workspace="ws1")
        d = self.wait_delivered("contact.synced", 1)[0]
        self.assertEqual(d["body"]["installation"], {"id": inst["id"], "workspace_id": "ws1"})
        # Revoking the installation does not cancel what it already told.
        self.receiver.down()
        self.emit("contact.removed", workspace="ws1")
        wait_for(lambda: any(j["type"] == "product:contact.removed" and j["attempts"] >= 1
                             for j in self.product_jobs("queued")), message="a failed attempt")
        self.assertEqual(self.srv.admin("POST", f"/installations/{inst['id']}/revoke").status, 200)
        self.receiver.up()
        self.wait_delivered("contact.removed", 1)
        self.assert_all_verified()


class Configuration(ServerTestCase):
    def check(self, product, files=None):
        srv = self.server(plugins={"testplug": dict(Server.plugin_config(), product=product)})
        for name, text in (files or {}).items():
            (srv.workdir / name).write_text(text)
        return srv.run_once(["--check-config"])

    def test_valid_group_passes(self):
        os.environ["SB_TEST_PRODUCT_SECRET"] = new_secret()
        self.addCleanup(os.environ.pop, "SB_TEST_PRODUCT_SECRET")
        code, out, err = self.check({"webhook_url": "https://product.example.com/hooks",
                                     "webhook_secret_env": "SB_TEST_PRODUCT_SECRET",
                                     "max_attempts": 30, "timeout_s": 20})
        self.assertEqual(code, 0, err)
        self.assertIn("configuration OK", out)

    def test_problems_are_reported_with_file_and_line(self):
        short = "whsec_" + base64.b64encode(os.urandom(8)).decode()
        cases = [
            ({"webhook_url": "https://x.example/h", "webhook_secret": "not-a-secret"},
             "webhook_secret is not a Standard Webhooks secret"),
            ({"webhook_url": "https://x.example/h", "webhook_secret": short},
             "webhook_secret is not a Standard Webhooks secret"),
            ({"webhook_url": "https://x.example/h", "webhook_secret_file": "empty.secret"},
             "empty.secret is empty"),
            ({"webhook_url": "https://x.example/h"}, "has a webhook_url but no webhook_secret"),
            ({"webhook_secret": new_secret()}, "has a webhook secret but no webhook_url"),
            ({"webhook_url": "ftp://x.example/h", "webhook_secret": new_secret()},
             "webhook_url must start with https://"),
            ({"webhook_url": "https://user:pw@x.example/h", "webhook_secret": new_secret()},
             "must not carry credentials"),
            ({"webhook_url": "https://x.example/h", "webhook_secret": new_secret(), "retries": 3},
             "unknown key 'retries' in plugins.testplug.product"),
            ({"webhook_url": "https://x.example/h", "webhook_secret": new_secret(),
              "max_attempts": 0}, "plugins.testplug.product.max_attempts must be between 1 and"),
        ]
        for product, message in cases:
            with self.subTest(message=message):
                code, out, err = self.check(product, {"empty.secret": "\n"})
                self.assertEqual(code, 2, err)
                self.assertRegex(err, r"switchboard\.conf:\d+: .*" + re.escape(message))
                for value in product.values():
                    if isinstance(value, str) and value.startswith("whsec_"):
                        self.assertNotIn(value[6:], err + out)
                self.assertNotIn("not-a-secret", err + out)

    def test_plain_http_to_another_host_is_warned_about(self):
        code, out, err = self.check({"webhook_url": "http://product.example.com/hooks",
                                     "webhook_secret": new_secret()})
        self.assertEqual(code, 0, err)
        self.assertIn("is not https: events travel unencrypted", err)
