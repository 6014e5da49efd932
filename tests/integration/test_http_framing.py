"""HTTP framing per RFC 9112, hostile input and answers under pressure.

The verdict corpus (http_corpus.py) holds odd-but-legal requests that must be
served and illegal ones that must be refused; each is sent on its own
connection and its verdict asserted. The same corpus is also sent to Node.js's
HTTP server (llhttp, an independent parser) where Node is installed, and the
verdicts compared.
"""

import json
import os
import shutil
import socket
import subprocess
import time
import unittest
from pathlib import Path

from harness import (API_KEY, Server, ServerTestCase, envelope, raw_exchange, sign_canvas,
                     sign_webhook, wait_for)
from http_corpus import CORPUS, FOLLOW_UP, KNOWN_NODE_DIFFERENCES

HERE = Path(__file__).resolve().parent


def split_responses(data: bytes):
    """Parse a byte stream of HTTP/1.1 responses (Content-Length framed) into
    (status, headers, body) tuples; raises on anything malformed."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            raise AssertionError(f"incomplete response head: {data[:200]!r}")
        lines = head.split(b"\r\n")
        status_line = lines[0].split(b" ", 2)
        if status_line[0] != b"HTTP/1.1" or len(status_line) < 2:
            raise AssertionError(f"bad status line {lines[0]!r}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower().decode()] = value.strip().decode()
        status = int(status_line[1])
        if status == 100:
            data = rest
            continue
        length = int(headers.get("content-length", "0"))
        if len(rest) < length:
            raise AssertionError(f"body shorter than Content-Length {length}: {rest!r}")
        out.append((status, headers, rest[:length]))
        data = rest[length:]
    return out


def exchange_with_eof(port, data: bytes, timeout=5.0, half_close=False):
    """Send data (then half-close if asked; by default our side stays open); return
    (bytes read, whether the server closed the connection)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return b"".join(chunks), True
                chunks.append(chunk)
        except socket.timeout:
            return b"".join(chunks), False


def verdict(responses, closed):
    """'accept' if the first request was served, else the refusal status."""
    if not responses:
        return "no answer"
    status = responses[0][0]
    if status in (400, 413, 431, 505):
        return status if closed else f"{status} but the connection stayed open"
    return "accept"


class Corpus(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.srv = self.server(plugins={"testplug": Server.plugin_config()},
                               settings={"server": {"max_body_bytes": 4096,
                                                    "header_timeout_s": 3}}).start()

    def test_corpus_verdicts(self):
        """Each request gets its verdict: served (and the pipelined follow-up too, so the
        body was framed exactly), or refused with its status and the connection closed."""
        failures = []
        for case in CORPUS:
            data = case.raw + (FOLLOW_UP if case.expect == "accept" else b"")
            out, closed = exchange_with_eof(self.srv.port, data)
            try:
                responses = split_responses(out)
            except AssertionError as e:
                failures.append(f"{case.name}: {e}")
                continue
            got = verdict(responses, closed)
            if got != case.expect:
                failures.append(f"{case.name}: expected {case.expect}, got {got} ({out[:120]!r})")
                continue
            if case.expect == "accept":
                persistent = responses[0][1].get("connection") != "close"
                if persistent and (len(responses) != 2 or responses[1][0] != 200):
                    failures.append(f"{case.name}: the pipelined follow-up was not served: {out!r}")
                elif case.status and responses[0][0] != case.status:
                    failures.append(f"{case.name}: expected status {case.status}, got {responses[0][0]}")
            else:
                status, headers, body = responses[0]
                err = json.loads(body)["error"]
                if err["request_id"] != headers.get("x-request-id") or not err["message"]:
                    failures.append(f"{case.name}: error body without request id or reason: {body!r}")
                if len(responses) != 1:
                    failures.append(f"{case.name}: bytes after a refused request were served")
        print(f"\nhttp corpus: {len(CORPUS)} requests, "
              f"{sum(c.expect == 'accept' for c in CORPUS)} odd-but-legal served, "
              f"{sum(c.expect != 'accept' for c in CORPUS)} illegal refused, "
              f"{len(failures)} wrong", flush=True)
        self.assertEqual(failures, [])
        self.assertEqual(self.srv.request("GET", "/healthz").status, 200)

    def test_node_agrees(self):
        """An independent parser (Node.js's llhttp) reaches the same verdict on the corpus,
        apart from differences that are listed with the reason."""
        node = shutil.which("node")
        if not node:
            self.skipTest("skipped: no Node.js for the independent HTTP parser")
        proc = subprocess.Popen([node, str(HERE / "http_reference_server.js")],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            port = int(proc.stdout.readline())
            disagreements, differences = [], set()
            for case in CORPUS:
                # Half-closed, so that Node stops waiting for a body it was promised: a request
                # cut short that way gets no answer, which is no acceptance.
                out, closed = exchange_with_eof(port, case.raw, timeout=2.0, half_close=True)
                status = int(out.split(b" ", 2)[1]) if out.startswith(b"HTTP/1.1 ") else None
                node_accepts = status is not None and status < 400
                if node_accepts != (case.expect == "accept"):
                    differences.add(case.name)
                    if case.name not in KNOWN_NODE_DIFFERENCES:
                        disagreements.append(f"{case.name}: node says {status}, we expect {case.expect}")
            stale = set(KNOWN_NODE_DIFFERENCES) - differences
            self.assertEqual(stale, set(), "listed as differences, but Node agrees")
            print(f"\nnode llhttp: {len(CORPUS)} requests, "
                  f"{len(KNOWN_NODE_DIFFERENCES)} known differences, "
                  f"{len(disagreements)} unexpected", flush=True)
            self.assertEqual(disagreements, [])
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()


class Hostile(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.srv = self.server(plugins={"testplug": Server.plugin_config()},
                               settings={"server": {"max_body_bytes": 65536,
                                                    "max_connections": 4}}).start()

    def rss_kb(self):
        with open(f"/proc/{self.srv.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def test_huge_chunk_sizes_are_refused_at_once(self):
        """A chunk size that would overflow the limit check is 413 before any data is
        read, and the server then stops reading: nothing is streamed into memory."""
        head = (b"POST /webhooks/testplug HTTP/1.1\r\nHost: x\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")
        before = self.rss_kb()
        for size in [b"FFFFFFFFFFFFFFFF", b"8000000000000000", b"ffffffffffffffffffff",
                     b"10001", b"0000000000000000000000000010001"]:
            with socket.create_connection(("127.0.0.1", self.srv.port), timeout=5) as s:
                s.sendall(head + size + b"\r\n")
                answer = s.recv(4096)  # no more bytes sent: the answer must not wait for them
                self.assertTrue(answer.startswith(b"HTTP/1.1 413 "), (size, answer[:80]))
                # The server does not take a stream of data after refusing.
                sent = 0
                try:
                    s.settimeout(2)
                    while sent < 64 * 1024 * 1024:
                        sent += s.send(b"A" * 65536)
                except OSError:
                    pass
                self.assertLess(sent, 64 * 1024 * 1024, "the server kept reading after its 413")
        for size in [b"-1", b"+5", b"0x5", b" 5", b"5 ", b""]:
            out, closed = exchange_with_eof(self.srv.port, head + size + b"\r\n")
            self.assertTrue(out.startswith(b"HTTP/1.1 400 ") and closed, (size, out[:80]))
        self.assertLess(self.rss_kb() - before, 16 * 1024, "memory grew while refusing bodies")

    def test_nul_in_path_is_refused_not_cut_short(self):
        """`/webhooks/testplug%00x` must not reach testplug's intake as `testplug`."""
        body = json.dumps(envelope("ping", "ws", {})).encode()
        for path in ["/webhooks/testplug%00x", "/webhooks/testplug%00", "/webhooks/test%0aplug",
                     "/webhooks/testplug%7f", "/admin/plugins%00", "/api/testplug/jobs%00"]:
            r = self.srv.request("POST", path, body=body,
                                 headers={"X-Hub-Signature": sign_webhook(body),
                                          "Content-Type": "application/json"})
            self.assertEqual(r.status, 400, (path, r.body))
            self.assertEqual(r.json()["error"]["code"], "bad_path")
        # The same notification on the real path is served.
        r = self.srv.webhook("testplug", json.loads(body))
        self.assertEqual(r.status, 200)

    def test_busy_answer_is_framed(self):
        """The 503 past max_connections has a true Content-Length and the usual error body."""
        held = []
        try:
            for _ in range(4):
                s = socket.create_connection(("127.0.0.1", self.srv.port))
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                s.recv(1024)
                held.append(s)
            out = raw_exchange(self.srv.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            [(status, headers, body)] = split_responses(out)
            self.assertEqual(status, 503)
            self.assertEqual(int(headers["content-length"]), len(body))
            err = json.loads(body)["error"]
            self.assertEqual((err["status"], err["code"]), (503, "busy"))
            self.assertEqual(err["request_id"], headers["x-request-id"])
            self.assertTrue(err["request_id"])
        finally:
            for s in held:
                s.close()

    def test_log_escapes_control_bytes(self):
        """Bytes from a rejected or hostile request reach the log escaped: no control
        byte (C0, DEL, C1) and no invalid UTF-8 in any line."""
        since = len(self.srv.lines)
        raw_exchange(self.srv.port, b"G\x9b31mT /x HTTP/1.1\r\nHost: x\r\n\r\n")
        raw_exchange(self.srv.port, b"G\xc2\x9b2J /x HTTP/1.1\r\nHost: x\r\n\r\n")
        # A signed notification whose workspace id carries escape sequences and a newline.
        evil = envelope("conversation.user.created", "ws\u001b[31m\nFORGED ERROR line\u009b\u007f",
                        {"type": "conversation", "id": "1"})
        r = self.srv.webhook("testplug", evil)
        self.assertIn(r.status, (200, 202))
        self.srv.wait_log(r"ws\\x1b\[31m\\x0aFORGED ERROR line\\xc2\\x9b\\x7f", since=since)
        self.srv.wait_log(r'"G\\x9b31mT -" 400', since=since)
        self.srv.wait_log(r'"G\\xc2\\x9b2J -" 400', since=since)
        with self.srv.lines_lock:
            lines = self.srv.lines[since:]
        for line in lines:
            self.assertNotIn("\ufffd", line)  # the harness decodes invalid UTF-8 to U+FFFD
            for ch in line:
                self.assertFalse(ord(ch) < 0x20 or 0x7f <= ord(ch) <= 0x9f, repr(line))
            self.assertFalse(line.startswith("FORGED"))


class StrictPayloads(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.fake = self.fake_intercom()
        self.fake.add_workspace(id_code="ws1", name="Acme", region="US")
        self.srv = self.server(plugins={"testplug": Server.plugin_config()},
                               intercom=self.fake).start()

    def stored_events(self):
        return self.srv.admin("GET", "/events?plugin=testplug").json()["events"]

    def test_trailing_bytes_after_json_are_refused(self):
        self.assertEqual(self.srv.install("testplug", "ws1").status, 200)
        good = json.dumps(envelope("conversation.user.created", "ws1",
                                   {"type": "conversation", "id": "7"})).encode()
        for tail in [b"garbage", b"{}", b"\x00", b"\x00{\"topic\":\"x\"}", b" ]", b"\n1"]:
            body = good + tail
            r = self.srv.request("POST", "/webhooks/testplug", body=body,
                                 headers={"X-Hub-Signature": sign_webhook(body),
                                          "Content-Type": "application/json"})
            self.assertEqual(r.status, 400, (tail, r.body))
            self.assertIn("after the JSON value", r.json()["error"]["message"])
            canvas = json.dumps({"workspace_id": "ws1", "admin": {"id": "1"}}).encode() + tail
            r = self.srv.request("POST", "/canvas/testplug/initialize", body=canvas,
                                 headers={"X-Body-Signature": sign_canvas(canvas),
                                          "Content-Type": "application/json"})
            self.assertEqual(r.status, 400, (tail, r.body))
            r = self.srv.request("POST", "/api/testplug/jobs", body=b'{"type":"work"}' + tail,
                                 headers={"Authorization": f"Bearer {API_KEY}",
                                          "Content-Type": "application/json",
                                          "X-Switchboard-Workspace": "ws1"})
            self.assertEqual(r.status, 400, (tail, r.body))
        self.assertEqual(self.stored_events(), [])
        # Trailing whitespace is still one JSON value.
        r = self.srv.request("POST", "/webhooks/testplug", body=good + b" \r\n",
                             headers={"X-Hub-Signature": sign_webhook(good + b" \r\n"),
                                      "Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r.body)
        wait_for(lambda: len(self.stored_events()) == 1, message="the event stored")


if __name__ == "__main__":
    unittest.main()
