"""The OpenAPI check itself: it must catch a request that breaks Intercom's
description, and it must never take another server on its port for Prism
(tests run in parallel; a probe answered by another test's fake Intercom
would land in that fake's request log and Prism's verdicts would come from
the wrong server)."""

import http.server
import sys
import threading
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fake_intercom"))
import openapi_check  # noqa: E402


def _skip_reason():
    if not openapi_check.find_spec():
        return "skipped: no OpenAPI description (set SWITCHBOARD_OPENAPI)"
    if not openapi_check.find_prism():
        return "skipped: Prism not installed (tests/fake_intercom/install-prism.sh)"
    return None


GOOD_HEADERS = {"Authorization": "Bearer tok", "Accept": "application/json",
                "Intercom-Version": "2.14"}


@unittest.skipIf(_skip_reason(), _skip_reason() or "")
class OpenAPICheck(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.validator = openapi_check.OpenAPIValidator()
        cls.validator.start()

    @classmethod
    def tearDownClass(cls):
        cls.validator.stop()

    def test_valid_request_passes(self):
        self.assertEqual(self.validator.validate(
            [{"method": "GET", "path": "/me", "headers": GOOD_HEADERS}]), [])

    def test_unknown_path_and_missing_token_are_flagged(self):
        found = self.validator.validate([
            {"method": "GET", "path": "/no_such_endpoint", "headers": GOOD_HEADERS},
            {"method": "GET", "path": "/me",
             "headers": {"Accept": "application/json", "Intercom-Version": "2.14"}},
        ])
        self.assertTrue(any(v.startswith("GET /no_such_endpoint:") for v in found), found)
        self.assertTrue(any(v.startswith("GET /me:") for v in found), found)

    def test_bad_body_is_flagged(self):
        found = self.validator.validate([{
            "method": "POST", "path": "/contacts",
            "headers": dict(GOOD_HEADERS, **{"Content-Type": "application/json"}),
            "body": b'{"role": 12}'}])
        self.assertTrue(any(v.startswith("POST /contacts:") for v in found), found)


@unittest.skipIf(_skip_reason(), _skip_reason() or "")
class PortTakenByAnotherServer(unittest.TestCase):

    def test_prism_is_not_confused_with_the_server_on_its_port(self):
        seen = []

        class Other(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append(self.path)
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Other)
        threading.Thread(target=other.serve_forever, daemon=True).start()
        taken = other.server_address[1]
        real_free_port = openapi_check._free_port
        handed_out = []

        def free_port_that_loses_the_race():
            # The first port handed to Prism is the one the other server holds.
            port = taken if not handed_out else real_free_port()
            handed_out.append(port)
            return port

        openapi_check._free_port = free_port_that_loses_the_race
        validator = openapi_check.OpenAPIValidator()
        try:
            validator.start()
            self.assertNotEqual(validator.port, taken)
            self.assertEqual(validator.validate(
                [{"method": "GET", "path": "/me", "headers": GOOD_HEADERS}]), [])
        finally:
            openapi_check._free_port = real_free_port
            validator.stop()
            other.shutdown()
            other.server_close()
        self.assertEqual(handed_out[0], taken)
        self.assertEqual(seen, [], "the check probed or replayed to a server that is not Prism")


if __name__ == "__main__":
    unittest.main()
