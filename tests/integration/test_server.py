"""The server itself: command line, configuration, plugin loading, HTTP limits,
health and metrics, product-API plumbing. No Intercom traffic here."""

import os
import re
import socket
import stat
import subprocess
import tempfile
import threading
import time
import unittest
from pathlib import Path

from harness import (API_KEY, BIN, Server, ServerTestCase, metric, prometheus_text_parser,
                     raw_exchange, sdk_header_version, wait_for)


class CommandLine(ServerTestCase):
    def test_version_and_help(self):
        out = subprocess.run([str(BIN), "--version"], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0)
        release, abi = sdk_header_version()
        self.assertEqual(out.stdout, f"switchboard {release} (plugin SDK ABI {abi})\n")
        out = subprocess.run([str(BIN), "--help"], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0)
        self.assertIn("--check-config", out.stdout)
        out = subprocess.run([str(BIN), "--bogus"], capture_output=True, text=True)
        self.assertEqual(out.returncode, 2)

    def test_check_config_ok(self):
        srv = self.server(plugins={"testplug": Server.plugin_config()})
        code, out, err = srv.run_once(["--check-config"])
        self.assertEqual(code, 0, err)
        self.assertIn("configuration OK (1 plugins, 0 warnings)", out)

    def test_check_config_typo_names_file_and_line(self):
        srv = self.server()
        srv.write_config()
        text = srv.config_path.read_text().replace("header_timeout_s", "header_timeout")
        srv.config_path.write_text(text)
        line = next(i + 1 for i, l in enumerate(text.splitlines()) if "header_timeout =" in l)
        p = subprocess.run([str(BIN), "-c", str(srv.config_path), "--check-config"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn(f"{srv.config_path}:{line}: unknown key 'header_timeout' in 'server'", p.stderr)
        # The server refuses to start on it too, with the same message.
        p = subprocess.run([str(BIN), "-c", str(srv.config_path)], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown key 'header_timeout'", p.stderr)

    def test_check_config_plugin_settings_and_warnings(self):
        srv = self.server(plugins={
            "testplug": Server.plugin_config(credentials=False,
                                             settings={"event_mode": "sometimes"}),
        })
        code, out, err = srv.run_once(["--check-config"])
        self.assertEqual(code, 2)
        self.assertRegex(err, r"switchboard\.conf:\d+: plugins\.testplug\.settings\.event_mode: "
                              r"must be one of: ok, retry, fail, pending, call")
        self.assertIn("plugin 'testplug' has no client_id/client_secret", err)

    def test_check_config_unknown_plugin(self):
        srv = self.server(plugins={"nosuch": {}})
        code, out, err = srv.run_once(["--check-config"])
        self.assertEqual(code, 2)
        self.assertIn("plugin 'nosuch' cannot be loaded: cannot read the file", err)


class PluginLoading(ServerTestCase):
    CORPUS = ["bad_major", "bad_minor", "bad_oversize", "bad_noentry", "bad_nullcb", "bad_initfail"]

    def corpus_server(self):
        plugins = {"testplug": Server.plugin_config()}
        for name in self.CORPUS:
            plugins[name] = {}
        return self.server(plugins=plugins)

    def test_bad_plugins_refused_good_one_serves(self):
        srv = self.corpus_server().start()
        for name in self.CORPUS:
            line = srv.wait_log(rf"refused plugin '{name}' \(.*{name}\.so\): (.*)").group(1)
            self.assertTrue(line)
        self.assertEqual(srv.log_text().count("refused plugin"), len(self.CORPUS))
        health = srv.request("GET", "/healthz").json()
        self.assertEqual(health["plugins"], 1)
        self.assertEqual(health["plugins_refused"], len(self.CORPUS))
        plugins = srv.admin("GET", "/plugins").json()
        self.assertEqual([p["name"] for p in plugins["plugins"]], ["testplug"])
        reasons = {r["name"]: r["reason"] for r in plugins["refused"]}
        self.assertIn("ABI 2.0", reasons["bad_major"])
        self.assertIn("init failed", reasons["bad_initfail"])
        # The good plugin really works.
        self.assertEqual(srv.api("testplug", "GET", "/public/ping", key=None).text, "pong\n")

    def test_strict_plugins_exits_nonzero(self):
        srv = self.corpus_server()
        srv.start(args=["--strict-plugins"], expect_ready=False)
        self.assertEqual(srv.wait_exit(), 1)
        srv.wait_log(r"--strict-plugins: 6 plugins were refused; exiting")

    def test_descriptor_in_admin_api(self):
        srv = self.server(plugins={"testplug": Server.plugin_config()}).start()
        p = srv.admin("GET", "/plugins/testplug").json()
        self.assertEqual(p["version"], "1.0.0")  # testplug's own
        self.assertEqual(p["abi"], sdk_header_version()[1])
        self.assertTrue(p["configured"])
        self.assertEqual(p["topics"], ["conversation.user.created", "conversation.user.replied"])
        self.assertIn({"method": "GET", "path": "/api/testplug/public/ping", "public": True,
                       "installation": None}, p["routes"])
        # What each route needs of its installation: an active one, one in any state, none.
        needs = {r["path"]: r["installation"] for r in p["routes"]}
        self.assertEqual((needs["/api/testplug/which/installed"], needs["/api/testplug/which/any"],
                          needs["/api/testplug/which/one"]), ("active", "any", None))
        names = [s["name"] for s in p["settings"]]
        self.assertEqual(names, ["event_mode", "canvas_mode", "tick_interval_s", "label",
                                 "endpoint_key", "tags"])
        key = next(s for s in p["settings"] if s["name"] == "endpoint_key")
        self.assertTrue(key["sensitive"])
        self.assertEqual(p["schedules"][0]["name"], "tick")
        self.assertEqual(srv.admin("GET", "/plugins/nosuch").status, 404)

    def test_unconfigured_plugin_loads_and_answers_503(self):
        srv = self.server(plugins={"testplug": Server.plugin_config(credentials=False)}).start()
        srv.wait_log("not configured for Intercom")
        r = srv.request("POST", "/webhooks/testplug", body=b"{}")
        self.assertEqual(r.status, 503)
        self.assertIn("client_id", r.json()["error"]["message"])
        self.assertEqual(srv.request("GET", "/oauth/testplug/install").status, 503)
        self.assertFalse(srv.admin("GET", "/plugins/testplug").json()["configured"])


class Http(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.srv = self.server(plugins={"testplug": Server.plugin_config()},
                               settings={"server": {"max_body_bytes": 4096, "max_connections": 8,
                                                    "api_deadline_ms": 500}}).start()

    def test_health_metrics_and_errors(self):
        r = self.srv.request("GET", "/healthz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["status"], "ok")
        release, abi = sdk_header_version()
        self.assertEqual(r.json()["version"], release)
        self.assertRegex(r.header("X-Request-Id"), r"^[0-9a-f]{16,}$")
        r = self.srv.request("GET", "/nowhere", headers={"X-Request-Id": "trace-123"})
        self.assertEqual(r.status, 404)
        self.assertEqual(r.header("X-Request-Id"), "trace-123")
        err = r.json()["error"]
        self.assertEqual((err["status"], err["code"], err["request_id"]), (404, "not_found", "trace-123"))
        m = self.srv.request("GET", "/metrics")
        self.assertEqual(m.status, 200)
        self.assertTrue(m.header("Content-Type").startswith("text/plain; version=0.0.4"))
        health = metric(m.text, 'switchboard_http_requests_total{route="health",code="2xx"}')
        self.assertGreaterEqual(health, 1)
        self.assertEqual(metric(m.text, 'switchboard_http_requests_total{route="other",code="4xx"}'), 1)
        self.srv.request("GET", "/healthz")
        m2 = self.srv.request("GET", "/metrics").text
        self.assertEqual(metric(m2, 'switchboard_http_requests_total{route="health",code="2xx"}'), health + 1)
        self.assertEqual(metric(m2, 'switchboard_http_requests_total{route="metrics",code="2xx"}'), 1)
        self.assertGreater(metric(m2, 'switchboard_http_request_duration_seconds_sum{route="health"}'), 0)
        self.assertIn('switchboard_plugins{state="running"} 1', m.text)
        self.assertIn(f'switchboard_build_info{{version="{release}",abi="{abi}"}} 1', m.text)
        for line in m.text.splitlines():  # every sample line is "name{labels} number"
            if line and not line.startswith("#"):
                self.assertRegex(line, r'^[a-z_]+(\{[^}]*\})? -?[0-9.e+]+$')
        self.srv.wait_log(r'"GET /nowhere" 404')  # the access line may follow the answer

    def test_metrics_page_parses_as_prometheus_text(self):
        """The whole /metrics page, read by the Prometheus project's own Python parser."""
        parser = prometheus_text_parser()
        if not parser:
            self.skipTest("skipped: no Prometheus parser (./dev test installs "
                          "python3-prometheus-client)")
        self.srv.request("GET", "/healthz")
        self.srv.request("GET", "/nowhere")
        text = self.srv.request("GET", "/metrics").text
        declared = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
        families = {f.name: f for f in parser(text)}
        for name, kind in declared.items():  # (the parser drops a counter's _total)
            family = families.get(name) or families.get(name.removesuffix("_total"))
            self.assertIsNotNone(family, name)
            self.assertEqual(family.type, kind, name)
        histograms = [f for f in families.values() if f.type == "histogram"]
        self.assertIn("switchboard_store_log_sync_duration_seconds", [f.name for f in histograms])
        for family in histograms:
            series = {}
            for s in family.samples:
                labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
                series.setdefault(labels, {}).setdefault(s.name.rsplit("_", 1)[1], []).append(s)
            for labels, parts in series.items():
                bounds = [float(s.labels["le"]) for s in parts["bucket"]]
                counts = [s.value for s in parts["bucket"]]
                where = (family.name, labels)
                self.assertEqual(bounds, sorted(bounds), where)
                self.assertEqual(bounds[-1], float("inf"), where)
                self.assertEqual(counts, sorted(counts), where)  # cumulative
                self.assertEqual(counts[-1], parts["count"][0].value, where)
                self.assertGreaterEqual(parts["sum"][0].value, 0)

    def test_idle_server_does_not_spin(self):
        """An idle server sleeps in the event loop: no timer or event re-arms itself."""
        def cpu_seconds():
            fields = open(f"/proc/{self.srv.proc.pid}/stat").read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        self.srv.request("GET", "/healthz")
        before = cpu_seconds()
        time.sleep(1.0)  # measuring idleness needs wall time to pass
        self.assertLess(cpu_seconds() - before, 0.1)

    def test_admin_requires_token(self):
        self.assertEqual(self.srv.admin("GET", "/plugins", token="wrong").status, 401)
        r = self.srv.request("GET", "/admin/plugins")
        self.assertEqual(r.status, 401)
        self.assertEqual(r.header("WWW-Authenticate"), "Bearer")
        self.assertEqual(self.srv.admin("GET", "/plugins").status, 200)
        self.assertEqual(self.srv.admin("DELETE", "/plugins").status, 405)
        self.assertEqual(self.srv.admin("GET", "/nothing").status, 404)

    def test_body_limit(self):
        r = self.srv.api("testplug", "POST", "/jobs", body=b"x" * 5000,
                         headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 413)
        self.assertEqual(r.json()["error"]["code"], "payload_too_large")
        # Chunked bodies are held to the same limit.
        chunk = b"1000\r\n" + b"y" * 4096 + b"\r\n1\r\nz\r\n0\r\n\r\n"
        out = raw_exchange(self.srv.port, b"POST /webhooks/testplug HTTP/1.1\r\nHost: x\r\n"
                                          b"Transfer-Encoding: chunked\r\n\r\n" + chunk)
        self.assertTrue(out.startswith(b"HTTP/1.1 413 "), out[:80])

    def test_malformed_requests(self):
        # The full corpus is in test_http_framing; these carry a Host so each fails for its own reason.
        for raw, status in [(b"GARBAGE\r\n\r\n", 400),
                            (b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505),
                            (b"GET healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400),
                            (b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400),
                            (b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
                            (b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
                            (b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 20000 + b"\r\n\r\n", 431)]:
            out = raw_exchange(self.srv.port, raw)
            self.assertTrue(out.startswith(b"HTTP/1.1 %d " % status), (raw[:40], out[:80]))
        self.assertEqual(self.srv.request("GET", "/healthz").status, 200)

    def test_keep_alive_and_pipelining(self):
        two = (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
               b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        out = raw_exchange(self.srv.port, two)
        self.assertEqual(out.count(b"HTTP/1.1 "), 2)
        self.assertLess(out.index(b"HTTP/1.1 200"), out.index(b"HTTP/1.1 404"))

    def test_chunked_and_expect_continue(self):
        body = b'{"type":"work","payload":{"n":1}}'
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        with socket.create_connection(("127.0.0.1", self.srv.port), timeout=5) as s:
            s.sendall(b"POST /api/testplug/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                      + API_KEY.encode() + b"\r\nContent-Type: application/json\r\n"
                      b"Expect: 100-continue\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
            first = s.recv(100)
            self.assertTrue(first.startswith(b"HTTP/1.1 100 Continue"), first)
            s.sendall(chunked)
            rest = b""
            while True:
                data = s.recv(4096)
                if not data:
                    break
                rest += data
        self.assertIn(b"HTTP/1.1 201 Created", first + rest)

    def test_header_timeout(self):
        started = time.monotonic()
        out = raw_exchange(self.srv.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 408 "), out[:60])
        self.assertLess(time.monotonic() - started, 4.5)

    def test_connection_limit(self):
        held = []
        try:
            for _ in range(8):
                s = socket.create_connection(("127.0.0.1", self.srv.port))
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                s.recv(1024)  # answered, connection kept alive
                held.append(s)
            out = raw_exchange(self.srv.port, b"")
            self.assertTrue(out.startswith(b"HTTP/1.1 503 "), out[:60])
            self.assertIn(b"too many open connections", out)
        finally:
            for s in held:
                s.close()
        def recovered():
            try:
                return self.srv.request("GET", "/healthz").status == 200
            except OSError:  # refused while the closed connections are still counted
                return False
        wait_for(recovered, message="recovery")

    def test_webhook_never_410(self):
        for path in ["/webhooks/nosuch", "/webhooks/testplug"]:
            for method in ["GET", "PUT", "DELETE", "POST"]:
                self.assertNotEqual(self.srv.request(method, path).status, 410)
        self.assertEqual(self.srv.request("HEAD", "/webhooks/testplug").status, 200)

    def test_product_api_plumbing(self):
        r = self.srv.api("testplug", "POST", "/jobs", json_body={"type": "work"}, key="wrong")
        self.assertEqual(r.status, 401)
        self.assertEqual(self.srv.api("testplug", "POST", "/jobs", key=None).status, 401)
        self.assertEqual(self.srv.api("testplug", "GET", "/public/ping", key=None).status, 200)
        r = self.srv.api("testplug", "POST", "/jobs", body=b"{not json",
                         headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"]["code"], "malformed_json")
        r = self.srv.api("testplug", "POST", "/fail")
        self.assertEqual(r.status, 409)
        self.assertEqual(r.json()["error"]["message"], "conflict requested")
        r = self.srv.api("testplug", "GET", "/settings", workspace="never-installed")
        self.assertEqual(r.status, 404)
        self.assertEqual(self.srv.api("testplug", "DELETE", "/jobs").status, 405)
        self.assertEqual(self.srv.api("testplug", "GET", "/missing").status, 404)
        self.assertEqual(self.srv.api("nosuch", "GET", "/x").status, 404)
        started = time.monotonic()
        r = self.srv.api("testplug", "POST", "/silent")
        self.assertEqual(r.status, 504)
        self.assertLess(time.monotonic() - started, 3)
        self.assertIn("did not answer", r.json()["error"]["message"])


class EmbeddedDefault(unittest.TestCase):
    def test_runs_without_config(self):
        with tempfile.TemporaryDirectory() as tmp:
            # Port 0: the kernel picks a free port and the server logs it, so no
            # other test's server can sit on a port chosen in advance.
            p = subprocess.Popen([str(BIN), "--listen", "127.0.0.1:0"], cwd=tmp,
                                 stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
            lines = []
            reader = threading.Thread(target=lambda: lines.extend(
                line.decode(errors="replace") for line in p.stderr), daemon=True)
            reader.start()
            try:
                def listening_port():
                    for line in list(lines):
                        found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
                        if found:
                            return int(found.group(1))
                    return None
                wait_for(listening_port, timeout=15, message="embedded default listening")
                port = listening_port()

                def healthy():
                    try:
                        import http.client
                        c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                        c.request("GET", "/healthz")
                        return c.getresponse().status == 200
                    except OSError:
                        return False
                wait_for(healthy, timeout=15, message="embedded default /healthz")
                key = Path(tmp) / "var" / "secret.key"
                self.assertTrue(key.exists())
                self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
                self.assertTrue((Path(tmp) / "var" / "switchboard.db").exists())
            finally:
                p.terminate()
                p.wait(timeout=10)
                reader.join(timeout=10)
                err = "".join(lines)
            self.assertEqual(p.returncode, 0, err)
            self.assertIn("using the embedded default configuration", err)

if __name__ == "__main__":
    unittest.main()
