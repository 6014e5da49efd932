"""The web console served from the binary: `/` and `/console/<path>`, the files compiled in from
core/console/, their content types, ETag revalidation and security headers, no way out of the table."""

import hashlib
from pathlib import Path

from harness import ServerTestCase, raw_exchange

CONSOLE_DIR = Path(__file__).resolve().parents[2] / "core" / "console"
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def console_file(suffix):
    """A console file with that extension (its path under core/console/), if there is one."""
    found = sorted(p for p in CONSOLE_DIR.rglob(f"*{suffix}") if not p.name.startswith("."))
    return found[0].relative_to(CONSOLE_DIR).as_posix() if found else None


def raw_head_and_body(port, request: bytes):
    raw = raw_exchange(port, request)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


class ConsoleServing(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.srv = self.server().start()

    def assert_console_headers(self, r):
        csp = r.header("Content-Security-Policy")
        self.assertIsNotNone(csp, r)
        directives = {d.strip().split()[0]: d.strip().split()[1:] for d in csp.split(";") if d.strip()}
        self.assertEqual(directives["default-src"], ["'self'"])
        self.assertEqual(directives["frame-ancestors"], ["'none'"])
        self.assertEqual(directives["base-uri"], ["'none'"])
        for name, value in SECURITY_HEADERS.items():
            self.assertEqual(r.header(name), value, name)
        self.assertNotIn("unsafe-inline", csp)
        self.assertNotIn("unsafe-eval", csp)

    def test_index_at_root_without_a_token(self):
        r = self.srv.request("GET", "/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        self.assertEqual(r.body, (CONSOLE_DIR / "index.html").read_bytes())
        self.assertIn(b"<html", r.body)
        self.assert_console_headers(r)
        self.assertEqual(r.header("Cache-Control"), "no-cache")
        for path in ("/console/index.html", "/console/", "/console"):
            again = self.srv.request("GET", path)
            self.assertEqual((again.status, again.body, again.header("ETag")),
                             (200, r.body, r.header("ETag")), path)
        # The data behind the pages keeps its bearer check.
        self.assertEqual(self.srv.request("GET", "/admin/plugins").status, 401)

    def test_files_have_their_content_type_and_content_hash_etag(self):
        checked = 0
        for suffix, content_type in ((".js", "text/javascript; charset=utf-8"),
                                     (".css", "text/css; charset=utf-8"),
                                     (".html", "text/html; charset=utf-8")):
            name = console_file(suffix)
            if name is None:
                continue
            data = (CONSOLE_DIR / name).read_bytes()
            r = self.srv.request("GET", f"/console/{name}")
            self.assertEqual(r.status, 200, name)
            self.assertEqual(r.header("Content-Type"), content_type, name)
            self.assertEqual(r.body, data, name)
            self.assertEqual(r.header("ETag"), '"' + hashlib.sha256(data).hexdigest()[:32] + '"')
            self.assert_console_headers(r)
            checked += 1
        self.assertGreaterEqual(checked, 1)
        self.assertIsNotNone(console_file(".js"), "the console has JavaScript")

    def test_etag_revalidation(self):
        etag = self.srv.request("GET", "/").header("ETag")
        self.assertRegex(etag, r'^"[0-9a-f]{32}"$')
        for value in (etag, "W/" + etag, f'"nope", {etag}', "*"):
            r = self.srv.request("GET", "/", headers={"If-None-Match": value})
            self.assertEqual((r.status, r.body), (304, b""), value)
            self.assertEqual(r.header("ETag"), etag)
            self.assertIsNone(r.header("Content-Length"))  # a 304 does not give the unsent length
            self.assert_console_headers(r)
        for value in ('"other"', etag[:-2] + '"', "garbage"):
            r = self.srv.request("GET", "/", headers={"If-None-Match": value})
            self.assertEqual(r.status, 200, value)
        # The connection stays usable after a 304 (no body to frame): a second request follows.
        raw = raw_exchange(self.srv.port,
                           f"GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n\r\n"
                           "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        self.assertTrue(raw.startswith(b"HTTP/1.1 304 Not Modified\r\n"), raw)
        self.assertIn(b"HTTP/1.1 200 OK", raw)

    def test_favicon_is_the_console_icon(self):
        # Browsers ask /favicon.ico on every page here, the OAuth pages too: no 404 in their consoles.
        r = self.srv.request("GET", "/favicon.ico")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "image/svg+xml")
        self.assertEqual(r.body, (CONSOLE_DIR / "icon.svg").read_bytes())
        self.assert_console_headers(r)

    def test_head(self):
        full = self.srv.request("GET", "/")
        status, headers, body = raw_head_and_body(
            self.srv.port, b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual((status, body), (200, b""))
        self.assertEqual(int(headers["content-length"]), len(full.body))
        self.assertEqual(headers["etag"], full.header("ETag"))
        self.assertEqual(headers["x-frame-options"], "DENY")

    def test_unknown_files_and_methods(self):
        r = self.srv.request("GET", "/console/no-such-file.js")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json()["error"]["code"], "not_found")
        self.assert_console_headers(r)
        r = self.srv.request("POST", "/", body=b"x")
        self.assertEqual(r.status, 405)
        self.assertEqual(r.header("Allow"), "GET, HEAD")
        self.assert_console_headers(r)
        self.assertEqual(self.srv.request("GET", "/index.html").status, 404)  # only `/` and /console/

    def test_no_path_leaves_the_embedded_files(self):
        attempts = [
            "/console/../CMakeLists.txt",
            "/console/../../etc/passwd",
            "/console/%2e%2e/CMakeLists.txt",
            "/console/..%2fCMakeLists.txt",
            "/console/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
            "/console//etc/passwd",
            "/console/./index.html",
            "/console/pages/../index.html",
            "/console/index.html%00.js",
            "/console/INDEX.HTML",
            "/console/index.html/",
            "/console/\\..\\CMakeLists.txt",
        ]
        for path in attempts:
            status, headers, body = raw_head_and_body(
                self.srv.port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            self.assertIn(status, (400, 404), path)
            self.assertNotIn(b"cmake_minimum_required", body, path)
            self.assertNotIn(b"root:", body, path)
        # The server's own files under other routes stay out of reach as well.
        status, _, _ = raw_head_and_body(
            self.srv.port, b"GET /console/../admin/plugins HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(status, 404)
