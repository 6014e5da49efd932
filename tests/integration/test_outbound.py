"""Outbound HTTP (sb_host.outbound_request): testplug's /outbound route calls a
loopback receiver that records every request; hosts not in outbound_hosts are
refused before anything leaves, which a listening socket outside the list
proves by its empty accept queue."""

import json
import os
import socket
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import ServerTestCase, Server, sdk_header_version, wait_for


class Receiver:
    """A loopback HTTP server that records requests and answers by path."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        self.release = threading.Event()  # lets /slow answer (set at the end)
        self.active = 0
        self.max_active = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver.lock:
                    receiver.requests.append({"method": self.command, "path": self.path,
                                              "headers": dict(self.headers.items()),
                                              "header_list": list(self.headers.items()),
                                              "body": body})
                    receiver.active += 1
                    receiver.max_active = max(receiver.max_active, receiver.active)
                try:
                    receiver.answer(self)
                finally:
                    with receiver.lock:
                        receiver.active -= 1

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_one

        class Quiet(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a cancelled or timed-out caller closed its end; nothing to report

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, h):
        path = h.path.split("?")[0]
        if path == "/slow":
            self.release.wait(10)
        status, headers, body = 200, {"Content-Type": "application/json"}, b'{"ok":true,"n":[1,2]}'
        if path.startswith("/status/"):
            status = int(path.rsplit("/", 1)[1])
            body = b'{"error":"nope"}'
            if status in (429, 503):
                headers["Retry-After"] = "7"
        elif path == "/redirect":
            status, headers = 302, {"Location": h.headers.get("X-Location", "/"),
                                    "Content-Type": "text/plain"}
            body = b"moved"
        elif path == "/text":
            headers = {"Content-Type": "text/plain; charset=utf-8"}
            body = b"plain words"
        elif path == "/badjson":
            body = b'{"cut": off'
        elif path == "/problem":
            status, headers = 422, {"Content-Type": "application/problem+json"}
            body = b'{"title":"invalid"}'
        headers["X-Echo"] = "yes"
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def stop(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class Guard:
    """A listening socket that no request may reach: it is never in outbound_hosts."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def connections(self):
        """How many connections are waiting in the accept queue (accepting them)."""
        n = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return n
            conn.close()
            n += 1

    def close(self):
        self.sock.close()


class OutboundTestCase(ServerTestCase):
    log_level = "info"

    def setUp(self):
        super().setUp()
        self.receiver = Receiver()
        self.guard = Guard()
        self.addCleanup(self.receiver.stop)
        self.addCleanup(self.guard.close)
        self.secret = "s3cr3t-" + os.urandom(6).hex()
        hosts = [f"http://127.0.0.1:{self.receiver.port}", "api.vendor.example"]
        self.srv = self.server(
            plugins={"testplug": Server.plugin_config(outbound_hosts=hosts)},
            settings={"log": {"level": self.log_level}})
        self.srv.start()

    def url(self, path, port=None):
        return f"http://127.0.0.1:{port or self.receiver.port}{path}"

    def call(self, url, method="GET", **extra):
        r = self.srv.api("testplug", "POST", "/outbound",
                         json_body={"method": method, "url": url, **extra})
        self.assertEqual(r.status, 200, r)
        out = r.json()
        self.assertTrue(out["same_id"], out)
        return out


class Allowed(OutboundTestCase):
    def test_request_arrives_intact(self):
        headers = [f"Authorization: Bearer {self.secret}", "Content-Type: application/json",
                   "X-Custom: two  spaces"]
        body = '{"x": 1, "text": "caf\u00e9"}'
        out = self.call(self.url("/echo?page=2&key=k"), "POST", headers=headers, body=body,
                        want_headers=["x-echo", "Content-Type", "Missing"])
        self.assertEqual(out["kind"], "none", out)
        self.assertEqual(out["status"], 200)
        self.assertIsNone(out["error_message"])
        self.assertEqual(out["json"], {"ok": True, "n": [1, 2]})
        self.assertEqual(out["content_type"], "application/json")
        self.assertEqual(out["headers"], {"x-echo": "yes", "Content-Type": "application/json",
                                          "Missing": None})
        self.assertEqual(len(self.receiver.requests), 1)
        got = self.receiver.requests[0]
        self.assertEqual(got["method"], "POST")
        self.assertEqual(got["path"], "/echo?page=2&key=k")
        self.assertEqual(got["body"], body.encode())
        self.assertEqual(got["headers"]["Authorization"], f"Bearer {self.secret}")
        self.assertEqual(got["headers"]["Content-Type"], "application/json")
        self.assertEqual(got["headers"]["X-Custom"], "two  spaces")
        self.assertEqual(got["headers"]["User-Agent"], f"switchboard/{sdk_header_version()[0]}")
        self.assertNotIn("Expect", got["headers"])

    def test_methods_and_no_invented_content_type(self):
        for method in ("PUT", "PATCH", "DELETE", "GET"):
            out = self.call(self.url("/echo"), method, body="raw" if method != "GET" else None)
            self.assertEqual(out["kind"], "none", out)
        methods = [r["method"] for r in self.receiver.requests]
        self.assertEqual(methods, ["PUT", "PATCH", "DELETE", "GET"])
        put = self.receiver.requests[0]
        self.assertEqual(put["body"], b"raw")
        self.assertNotIn("Content-Type", put["headers"])  # not curl's form default
        post = self.call(self.url("/echo"), "POST")
        self.assertEqual(post["kind"], "none")
        self.assertEqual(self.receiver.requests[-1]["headers"]["Content-Length"], "0")

    def test_status_kinds(self):
        cases = {500: ("server_error", 0), 503: ("server_error", 7), 429: ("rate_limited", 7),
                 404: ("not_found", 0), 410: ("not_found", 0), 401: ("forbidden", 0),
                 403: ("forbidden", 0), 400: ("invalid_request", 0)}
        for status, (kind, retry_after) in cases.items():
            out = self.call(self.url(f"/status/{status}"))
            self.assertEqual((out["status"], out["kind"], out["retry_after_s"]),
                             (status, kind, retry_after), out)
            self.assertIn(f"HTTP {status}", out["error_message"])
            self.assertEqual(out["json"], {"error": "nope"})  # error bodies are parsed too

    def test_json_only_when_the_content_type_says_so(self):
        text = self.call(self.url("/text"))
        self.assertEqual((text["kind"], text["body"], text["json"]), ("none", "plain words", None))
        problem = self.call(self.url("/problem"))
        self.assertEqual(problem["kind"], "invalid_request")
        self.assertEqual(problem["json"], {"title": "invalid"})
        bad = self.call(self.url("/badjson"))
        self.assertEqual((bad["status"], bad["kind"], bad["json"]), (200, "server_error", None))
        self.assertIn("does not parse", bad["error_message"])

    def test_redirect_is_not_followed(self):
        target = self.url("/stolen", port=self.guard.port)
        out = self.call(self.url("/redirect"), headers=[f"X-Location: {target}"],
                        want_headers=["Location"])
        self.assertEqual((out["status"], out["kind"]), (302, "server_error"), out)
        self.assertEqual(out["headers"]["Location"], target)
        self.assertIn("redirects are not followed", out["error_message"])
        self.assertEqual(len(self.receiver.requests), 1)
        self.assertEqual(self.guard.connections(), 0)

    def test_timeout_is_network(self):
        started = time.monotonic()
        out = self.call(self.url("/slow"), timeout_ms=300)
        self.assertLess(time.monotonic() - started, 3)
        self.assertEqual((out["status"], out["kind"]), (0, "network"), out)
        self.assertIn("no answer within 300 ms", out["error_message"])

    def test_connection_refused_is_network(self):
        self.receiver.stop()
        out = self.call(self.url("/echo"))
        self.assertEqual((out["status"], out["kind"]), (0, "network"), out)

    def test_cancel(self):
        out = self.call(self.url("/slow"), cancel_after_ms=0)
        self.assertEqual((out["status"], out["kind"]), (0, "cancelled"), out)
        started = time.monotonic()
        out = self.call(self.url("/slow"), cancel_after_ms=100)
        self.assertEqual(out["kind"], "cancelled", out)
        self.assertLess(time.monotonic() - started, 3)  # /slow holds for 10 s

    def test_in_flight_per_plugin_is_bounded(self):
        results = []

        def one():
            results.append(self.call(self.url("/slow"), timeout_ms=4500))
        threads = [threading.Thread(target=one) for _ in range(20)]
        for t in threads:
            t.start()
        wait_for(lambda: self.receiver.active == 16, timeout=10, message="16 requests in flight")
        # The four others wait for a slot: nothing more arrives while the 16 are held.
        time.sleep(0.5)
        self.assertEqual(len(self.receiver.requests), 16)
        self.receiver.release.set()
        for t in threads:
            t.join(15)
        self.assertEqual([r["kind"] for r in results], ["none"] * 20)
        self.assertEqual(self.receiver.max_active, 16)


class Refused(OutboundTestCase):
    def assert_refused(self, url, why, method="GET", **extra):
        out = self.call(url, method, **extra)
        self.assertEqual((out["status"], out["kind"]), (0, "not_allowed"), out)
        self.assertIn(why, out["error_message"])
        return out

    def test_nothing_leaves_for_a_host_not_listed(self):
        guard = self.guard.port
        self.assert_refused(self.url("/x", port=guard), "is not in plugins.testplug.outbound_hosts")
        self.assert_refused(f"https://127.0.0.1:{self.receiver.port}/x", "is not in plugins")
        self.assert_refused(f"http://localhost:{self.receiver.port}/x", "is not in plugins")
        self.assert_refused("http://api.vendor.example/x", "is not in plugins")  # https only
        self.assert_refused(f"http://u:p@127.0.0.1:{guard}/x", "user or password")
        self.assert_refused(f"http://127.0.0.1:{self.receiver.port}@127.0.0.1:{guard}/",
                            "user or password")
        self.assert_refused(f"ftp://127.0.0.1:{guard}/x", "only http and https")
        self.assert_refused(f"http://2130706433:{guard}/x", "IPv4")
        self.assert_refused("not a url", "not an absolute")
        self.assertEqual(self.guard.connections(), 0)
        self.assertEqual(self.receiver.requests, [])

    def test_wrong_requests_to_an_allowed_host_never_leave(self):
        echo = self.url("/echo")
        self.assert_refused(echo, "header line 2 holds CR, LF",
                            headers=["X-A: 1", "X-B: 2\r\nX-Injected: 3"])
        self.assert_refused(echo, "header line 1 is not", headers=["NoColonHere"])
        self.assert_refused(echo, "header line 1 is not", headers=[": empty name"])
        self.assert_refused(echo, "the host sets Host itself", headers=["Host: evil"])
        self.assert_refused(echo, "the method must be", method="TRACE")
        self.assert_refused(echo, "larger than 4 MiB", method="POST", body_size=4 * 1024 * 1024 + 1)
        self.assertEqual(self.receiver.requests, [])
        # The limit itself still goes.
        out = self.call(echo, "POST", body_size=4 * 1024 * 1024)
        self.assertEqual(out["kind"], "none", out)
        self.assertEqual(len(self.receiver.requests[0]["body"]), 4 * 1024 * 1024)

    def test_refusal_is_logged_without_the_header(self):
        self.assert_refused(self.url("/x", port=self.guard.port), "is not in plugins",
                            headers=[f"Authorization: Bearer {self.secret}"])
        self.srv.wait_log(r"outbound GET refused: http://127\.0\.0\.1:\d+ is not in plugins")
        self.assertNotIn(self.secret, self.srv.log_text())


class Secrets(OutboundTestCase):
    log_level = "debug"

    def test_secret_header_values_and_queries_never_reach_the_log(self):
        auth = [f"Authorization: Bearer {self.secret}"]
        since = len(self.srv.lines)
        for path in ("/echo", "/status/500", "/status/429", "/redirect", "/badjson"):
            self.call(self.url(f"{path}?api_key={self.secret}"), "POST", headers=auth,
                      body=f'{{"token": "{self.secret}"}}')
        self.call(self.url("/slow"), headers=auth, timeout_ms=200)
        self.call(self.url("/slow"), headers=auth, cancel_after_ms=50)
        self.call(self.url("/x", port=self.guard.port), headers=auth)
        self.call(self.url("/echo"), headers=auth + [f"X-Bad: {self.secret}\nX: y"])
        self.call(f"http://{self.secret}:pw@127.0.0.1:{self.receiver.port}/", headers=auth)
        # The outcome lines are there (debug included), each without the secret.
        self.srv.wait_log(r"\[outbound\] plugin testplug: POST http://127\.0\.0\.1:\d+/echo -> 200 none",
                          since=since)
        self.srv.wait_log(r"POST http://127\.0\.0\.1:\d+/status/500 -> 500 server_error", since=since)
        self.srv.wait_log(r"GET http://127\.0\.0\.1:\d+/slow -> 0 network", since=since)
        self.srv.wait_log(r"GET http://127\.0\.0\.1:\d+/slow -> cancelled", since=since)
        self.assertTrue(all(r["headers"]["Authorization"] == f"Bearer {self.secret}"
                            for r in self.receiver.requests))
        self.assertNotIn(self.secret, self.srv.log_text())


class Lifecycle(ServerTestCase):
    def test_shutdown_cancels_requests_in_flight(self):
        receiver = Receiver()
        self.addCleanup(receiver.stop)
        srv = self.server(plugins={"testplug": Server.plugin_config(
            outbound_hosts=[f"http://127.0.0.1:{receiver.port}"])})
        srv.start()
        caller = threading.Thread(target=lambda: self._call_ignoring_errors(
            srv, f"http://127.0.0.1:{receiver.port}/slow"))
        caller.start()
        wait_for(lambda: receiver.active == 1, message="the slow request in flight")
        self.assertEqual(srv.stop(), 0, srv.log_text()[-2000:])
        srv.wait_log(r"GET http://127\.0\.0\.1:\d+/slow -> cancelled")
        caller.join(10)

    @staticmethod
    def _call_ignoring_errors(srv, url):
        try:
            srv.api("testplug", "POST", "/outbound", json_body={"method": "GET", "url": url})
        except OSError:
            pass  # the server went away while the call was pending

    def test_bad_entries_are_configuration_errors(self):
        srv = self.server(plugins={"testplug": Server.plugin_config(
            outbound_hosts=["api.vendor.example", "https://x.example/path", "*.vendor.example"])})
        code, _, err = srv.run_once(["--check-config"])
        self.assertEqual(code, 2, err)
        self.assertRegex(err, r"switchboard\.conf:\d+: plugins\.testplug\.outbound_hosts\[1\] "
                              r"\"https://x\.example/path\": an entry is a host")
        self.assertIn('outbound_hosts[2] "*.vendor.example"', err)
        self.assertNotIn("outbound_hosts[0]", err)
        srv = self.server(plugins={"testplug": Server.plugin_config(outbound_hosts="api.x.example")})
        code, _, err = srv.run_once(["--check-config"])
        self.assertEqual(code, 2, err)
        self.assertIn("plugins.testplug.outbound_hosts must be a list", err)


if __name__ == "__main__":
    unittest.main()
