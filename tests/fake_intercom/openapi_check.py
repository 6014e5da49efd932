"""Checks the requests Switchboard sent to the fake Intercom against Intercom's OpenAPI description.

The check runs Prism (@stoplight/prism-cli, installed by install-prism.sh) as a
mock server on the description and replays each recorded request to it. Prism
validates the request (route, security, headers, query, path parameters, body)
before it builds a mock answer, and tells what it found in one of two ways
(Prism 5, default mode, i.e. without --errors, which only adds checks of its own
mock *responses*):

- the operation declares a 400/401/422 response: Prism answers with it and lists
  the violations in an `sl-violations` header (JSON; entries located under
  "request" or, for its own mock response, "response");
- the operation declares none: Prism answers application/problem+json, type
  ...#UNPROCESSABLE_ENTITY with a `validation` list, ...#UNAUTHORIZED or
  ...#INVALID_CONTENT_TYPE; a route it does not know gives
  ...#NO_PATH_MATCHED_ERROR (404) or ...#NO_METHOD_MATCHED_ERROR (405).

Only request-side findings count. Standard library only.
"""

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SPEC = REPO.parent / "shared" / "reference" / "intercom-openapi-2.14.yaml"
DEFAULT_PRISM = REPO / "build" / "prism" / "node_modules" / ".bin" / "prism"

# Endpoints Switchboard calls that are not in the REST API description: the
# OAuth token exchange, the self-uninstall, and the fake's authorize page.
NOT_IN_SPEC = {"/auth/eagle/token", "/auth/uninstall"}
NOT_IN_SPEC_PREFIXES = ("/oauth",)

# The headers that take part in validation. Everything else (host,
# content-length, connection, user-agent, ...) is dropped.
FORWARDED_HEADERS = ("authorization", "content-type", "accept", "intercom-version")

# Problem types that mean "the request breaks the description".
REQUEST_PROBLEMS = {
    "UNPROCESSABLE_ENTITY",     # headers/query/path/body invalid, listed in `validation`
    "UNAUTHORIZED",             # no or malformed `Authorization: Bearer ...`
    "INVALID_CONTENT_TYPE",     # body media type not declared for the operation
    "NO_PATH_MATCHED_ERROR",    # path not in the description
    "NO_METHOD_MATCHED_ERROR",  # path known, method not
    "NO_SERVER_MATCHED_ERROR",
    "NO_RESOURCE_PROVIDED_ERROR",
}

STARTUP_TIMEOUT = 60.0


def find_spec():
    """Path of Intercom's OpenAPI description, or None. Never copied into the repo."""
    env = os.environ.get("SWITCHBOARD_OPENAPI")
    path = Path(env) if env else DEFAULT_SPEC
    return str(path) if path.is_file() else None


def find_prism():
    """Path of the prism executable, or None."""
    env = os.environ.get("SWITCHBOARD_PRISM")
    if env:
        return shutil.which(env) or (env if os.access(env, os.X_OK) else None)
    if os.access(DEFAULT_PRISM, os.X_OK):
        return str(DEFAULT_PRISM)
    return shutil.which("prism")


def is_in_spec(path):
    return path not in NOT_IN_SPEC and not any(
        path == p or path.startswith(p + "/") for p in NOT_IN_SPEC_PREFIXES)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OpenAPIValidator:
    """A Prism mock server on the description, and a replay of recorded requests to it."""

    def __init__(self, spec=None, prism=None, startup_timeout=STARTUP_TIMEOUT):
        self.spec = spec or find_spec()
        self.prism = prism or find_prism()
        self.startup_timeout = startup_timeout
        self.proc = None
        self.port = None
        self.log = None
        self.startup_seconds = None

    # -- process ----------------------------------------------------------

    def start(self):
        if self.proc is not None:
            return
        if not self.spec or not self.prism:
            raise RuntimeError("OpenAPI description or Prism not found")
        for _attempt in range(3):   # a free port can be taken before Prism binds it
            if self._launch():
                return
        raise RuntimeError("Prism could not bind a free port (EADDRINUSE three times)")

    def _launch(self):
        self.port = _free_port()
        self.log = tempfile.TemporaryFile()
        began = time.monotonic()
        # -v warn: Prism's per-request info lines are not needed (violations
        # are read from the answers) and slow it down.
        self.proc = subprocess.Popen(
            [self.prism, "mock", self.spec, "--host", "127.0.0.1", "--port", str(self.port),
             "--verboseLevel", "warn"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = began + self.startup_timeout
        while time.monotonic() < deadline:
            if self._answers():
                self.startup_seconds = time.monotonic() - began
                return True
            try:
                self.proc.wait(timeout=0.1)   # doubles as the poll interval
            except subprocess.TimeoutExpired:
                continue
            tail, code = self._log_tail(), self.proc.returncode
            self.stop()
            if "EADDRINUSE" in tail:
                return False
            raise RuntimeError(f"Prism exited with code {code}:\n{tail}")
        tail = self._log_tail()
        self.stop()
        raise RuntimeError(f"Prism not ready after {self.startup_timeout:.0f} s:\n{tail}")

    def _answers(self):
        """True once Prism listens on its port and answers HTTP (any status: an
        unknown path gives 404).

        Another test's server may have taken the port between _free_port() and
        Prism's bind (Prism then dies of EADDRINUSE), so probe only a listening
        socket that Prism's own process holds: a probe answered by someone else
        would pass for Prism and land in that server's request log."""
        if not self._prism_listens():
            return False
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            conn.request("GET", "/__switchboard_ready__")
            conn.getresponse().read()
            return True
        except OSError:
            return False
        finally:
            conn.close()

    def _prism_listens(self):
        """True if a socket listening on 127.0.0.1:port is one of Prism's file descriptors."""
        listening = _listening_inodes(self.port)
        if not listening:
            return False
        try:
            fds = os.listdir(f"/proc/{self.proc.pid}/fd")
        except OSError:
            return False
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{self.proc.pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in listening:
                return True
        return False

    def _log_tail(self, size=4000):
        """The end of Prism's output, its fatal/error lines first (it prints its
        usage text after a fatal error)."""
        if self.log is None:
            return ""
        self.log.seek(0)
        text = self.log.read().decode(errors="replace")
        errors = [line for line in text.splitlines() if "✖" in line or "fatal" in line]
        return "\n".join(errors[:20] + ["--- end of Prism's output:", text[-size:]])

    def stop(self):
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.log is not None:
            self.log.close()
            self.log = None

    # -- validation -------------------------------------------------------

    def validate(self, requests):
        """Human-readable violations of the recorded requests, deduplicated; [] if all valid."""
        if self.proc is None:
            self.start()
        violations = []
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            for req in requests:
                path = req.get("path") or "/"
                if not is_in_spec(path):
                    continue
                label = f"{req.get('method', 'GET').upper()} {path}"
                for found in self._check(conn, req):
                    text = f"{label}: {found}"
                    if text not in violations:
                        violations.append(text)
        finally:
            conn.close()
        return violations

    def _check(self, conn, req):
        headers = {k.lower(): v for k, v in (req.get("headers") or {}).items()}
        sent = {name: headers[name] for name in FORWARDED_HEADERS if name in headers}
        scheme, _, credentials = sent.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and scheme != "Bearer":
            # HTTP auth schemes are case-insensitive (RFC 9110 11.1), but
            # Prism's bearer check is the regex /^Bearer\s.+$/.
            sent["authorization"] = "Bearer " + credentials
        status, answer, body = self._send(conn, req, sent)
        if status == 406 and _problem_type(answer, body) == "NOT_ACCEPTABLE":
            # Content negotiation, not validation: Prism found no declared
            # response media type matching Accept (e.g. the spec declares
            # text/plain for GET /calls/{id}/transcript while clients send
            # Accept: application/json, as Intercom's docs ask). Prism gets
            # there only after the request passed validation, and OpenAPI
            # ignores Accept as a parameter, so ask again accepting anything
            # to get the verdict on the rest of the request.
            sent["accept"] = "*/*"
            status, answer, body = self._send(conn, req, sent)
        found = _fix_exploded_queries(_request_violations(status, answer, body), req.get("raw_query"))
        return _format(found)

    def _send(self, conn, req, headers):
        # Keep the path as recorded (already percent-encoded on the wire);
        # only quote what http.client would refuse (spaces, non-ASCII).
        target = urllib.parse.quote(req.get("path") or "/", safe="/%:@!$&'()*+,;=-._~")
        if req.get("raw_query"):
            target += "?" + req["raw_query"]
        body = req.get("body") or b""
        if isinstance(body, str):
            body = body.encode()
        method = (req.get("method") or "GET").upper()
        for attempt in (1, 2):   # Prism may have closed an idle keep-alive connection
            try:
                conn.request(method, target, body=body if body else None, headers=headers)
                resp = conn.getresponse()
                return resp.status, resp, resp.read()
            except (http.client.HTTPException, ConnectionError):
                conn.close()
                if attempt == 2:
                    raise


def _listening_inodes(port):
    """Inodes of the IPv4/IPv6 sockets listening on port, from /proc/net/tcp{,6}."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # fields: sl, local_address (hexaddr:hexport), rem_address, st (0A = LISTEN), ..., inode
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rpartition(":")[2], 16) == port:
                inodes.add(fields[9])
    return inodes


def _problem_type(resp, body):
    if "problem+json" not in (resp.getheader("content-type") or ""):
        return None
    try:
        problem = json.loads(body)
    except ValueError:
        return None
    return str(problem.get("type", "")).rpartition("#")[2] or None


def _request_violations(status, resp, body):
    """Prism's request-side findings as (location parts, code, message)."""
    found = []
    # 1. The sl-violations header (request and response findings mixed).
    header = resp.getheader("sl-violations")
    if header:
        try:
            entries = json.loads(header)
        except ValueError:   # over ~8 KB Prism sends "Too many violations! <cut JSON>"
            entries = None
            if status >= 400:
                found.append((["request"], "", header[:500]))
        for entry in entries or []:
            loc = entry.get("location") or []
            if loc[:1] == ["request"] and entry.get("severity") == "Error":
                found.append((loc, entry.get("code"), entry.get("message")))
    # 2. A problem+json answer generated by Prism.
    kind = _problem_type(resp, body)
    if kind:
        problem = json.loads(body)
        if kind == "UNPROCESSABLE_ENTITY" and problem.get("validation"):
            for entry in problem["validation"]:
                if entry.get("severity", "Error") == "Error":
                    loc = ["request"] + list(entry.get("location") or [])
                    found.append((loc, entry.get("code"), entry.get("message")))
        elif kind in REQUEST_PROBLEMS:
            text = f"{problem.get('title')}: {problem.get('detail')}".rstrip(": ")
            found.append((["request"], kind, text))
        else:
            # NOT_ACCEPTABLE after the retry, NO_RESPONSE_DEFINED, ...: Prism
            # could not produce an answer. Say so rather than pass silently.
            found.append((["request"], kind, f"prism could not check the request ({status} {kind}): "
                                               f"{problem.get('title')}: {problem.get('detail')}"))
    elif status >= 400 and not found:
        # A valid request gets a 2xx mock. A bare 4xx/5xx comes from Prism's
        # HTTP layer before validation, e.g. a body sent as application/json
        # that is not JSON: 400 {"error":{"code":"invalid_json",...}}.
        try:
            error = json.loads(body).get("error") or {}
            found.append((["request", "body"], error["code"], error["message"]))
        except (ValueError, AttributeError, KeyError, TypeError):
            found.append((["request"], "", f"prism rejected the request: {status} {resp.reason}"
                                           + (f": {body[:300]!r}" if body else "")))
    return found


_REQUIRED = re.compile(r"must have required property '([^']+)'")


def _fix_exploded_queries(found, raw_query):
    """Drop Prism's false findings on `style: form, explode: true` object query parameters.

    Prism (5.x, validator/deserializers/style/form.js) rebuilds such a
    parameter only from the keys in its schema's top-level `properties`. The
    description's GET /events declares `filter` as a oneOf of {user_id},
    {intercom_user_id} and {email} with no top-level properties, so Prism
    always sees {} and reports every branch's key as missing, even for
    `?type=user&intercom_user_id=X`, which Intercom documents. For such a
    parameter (its findings are only `required`, naming keys, and `oneOf`),
    judge it here instead: it is valid when exactly one of the keys Prism
    wanted is in the query; otherwise Prism's findings stand.
    """
    present = {k for k, _ in urllib.parse.parse_qsl(raw_query or "", keep_blank_values=True)}
    by_param = {}
    for loc, code, message in found:
        if len(loc) == 3 and loc[1] == "query":
            by_param.setdefault(loc[2], []).append((code, message))
    drop = set()
    for param, items in by_param.items():
        wanted = {m.group(1) for _, msg in items if (m := _REQUIRED.search(msg or ""))}
        codes = {code for code, _ in items}
        if (codes == {"required", "oneOf"} and param not in present
                and len(wanted & present) == 1):
            drop.add(param)
    return [f for f in found if not (len(f[0]) == 3 and f[0][1] == "query" and f[0][2] in drop)]


# "Request body property custom_attributes must be object" -> "must be object":
# the location already names the property.
_REDUNDANT = re.compile(r"^Request (?:body|query|header|path)\b.*? (?=(?:must|should) )")


def _format(found):
    return [f"{'.'.join(str(p) for p in loc)}: {_REDUNDANT.sub('', message or '')}"
            for loc, _code, message in found]
