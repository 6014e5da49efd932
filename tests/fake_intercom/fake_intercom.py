"""A fake Intercom that speaks Intercom's wire format over loopback.

It serves the three regional REST hosts (US, EU, AU: one port each), the OAuth
authorize page and token exchange, and Intercom's side of webhooks and Canvas
Kit (it signs and sends them). Every request it receives is recorded, so
tests can assert on what Switchboard sent and validate it against Intercom's
OpenAPI description (openapi_check.py).

Behaviour follows ../shared/reference/intercom-api.md: bearer tokens, error.list
bodies, X-RateLimit-* headers over 10-second windows, cursor pagination
(`pages.next.starting_after`), search queries, the companies scroll (one open
per workspace, expiring), data attributes that must exist before they are
written, and `POST /events` answering 202 with no body.

Faults are injected with inject(): a status (with Intercom's error body), a
429 with a reset time, a delay, a dropped connection (cut off mid-body), a
reset connection (RST before any answer) or a truncated answer (a 200 whose
JSON is cut short but whose Content-Length matches), for the next N matching
requests. hold() stops matching requests at a gate until the test
releases them, so a test can act at an exact point of a client's work (read
its progress, change data, kill it).

Run it alone for a local demo:  python3 tests/fake_intercom/fake_intercom.py
"""

import base64
import bisect
import hashlib
import html
import hmac
import http.client
import http.server
import itertools
import json
import os
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import (ApiError, Workspace, cursor_pages, decode_cursor,  # noqa: E402
                   encode_cursor, invalid, matches, not_found, page_after)

REGIONS = ("US", "EU", "AU")
VERSIONS = {f"1.{i}" for i in range(5)} | {f"2.{i}" for i in range(15)} | {"Unstable", "Preview"}
CODE_TTL_S = 300


def _json_bytes(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _ceil_div(a, b):
    return -(-a // b)


class Request:
    """What a handler sees of one request."""

    def __init__(self, method, path, query, headers, body, region):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.region = region
        self.workspace = None
        self.admin_id = None
        self.token = None
        self._json = None
        self._parsed = False

    def json(self):
        if not self._parsed:
            self._parsed = True
            if self.body:
                try:
                    self._json = json.loads(self.body)
                except ValueError:
                    raise ApiError(400, "bad_request", "Unable to parse the request body as JSON")
        return self._json

    def object(self):
        body = self.json()
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise ApiError(400, "bad_request", "The request body must be a JSON object")
        return body

    def int_param(self, name, default, maximum=None):
        raw = self.query.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise invalid(f"{name} must be an integer", name)
        if value < 1 or (maximum and value > maximum):
            raise invalid(f"{name} must be between 1 and {maximum}", name)
        return value


class Hold:
    """A gate for requests (FakeIntercom.hold): each matching request waits until release().

    Tests use it to stop Switchboard at an exact point (e.g. while it waits
    for the 8th page of a listing) and act there: read the progress it
    reports, push data, or kill the server. wait_arrived() tells that a
    request reached the gate, with its record.
    """

    def __init__(self, timeout_s=60):
        self.timeout_s = timeout_s
        self.records = []
        self._released = threading.Event()
        self._cond = threading.Condition()

    def _enter(self, record):
        with self._cond:
            self.records.append(record)
            self._cond.notify_all()
        self._released.wait(self.timeout_s)

    def wait_arrived(self, count=1, timeout=30):
        """Block until @count requests reached the gate; return the first one's record."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.records) >= count, timeout):
                raise AssertionError(f"no request reached the hold within {timeout}s")
            return self.records[0]

    def release(self):
        self._released.set()


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that went away (a server killed by a test) is not an error of the fake.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class Reply:
    def __init__(self, status=200, body=None, headers=None, raw=None):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.raw = raw


class FakeIntercom:
    def __init__(self, client_id, client_secret, rate_limit_per_minute=10000, redirect_uri=None,
                 scroll_page_size=50, scroll_ttl_s=60):
        self.client_id = client_id
        self.client_secret = client_secret
        self.rate_limit_per_minute = rate_limit_per_minute
        self.redirect_uri = redirect_uri
        self.scroll_page_size = scroll_page_size
        self.scroll_ttl_s = scroll_ttl_s
        self.workspaces = {}
        self.requests = []
        self.revoked_tokens = set()
        self.tokens = {}            # token -> (workspace id, admin id)
        self.refused_tokens = {}    # token of a teammate without admin rights -> status it gets
        self.codes = {}             # code -> (workspace id, admin id, issued at, refusal)
        self._code_serial = itertools.count()
        self._authorizing = None    # (workspace id, admin id, deny, refusal)
        self._injections = []
        self._windows = {}          # workspace id -> (window number, requests counted)
        self.window_counts = {}     # (workspace id, window number) -> requests counted in it
        self._lock = threading.RLock()
        self._servers = {}
        self._routes = self._route_table()
        self.control = None         # the demo's /_demo/... handler (see main)

    # ---- lifecycle ----

    def start(self):
        for region in REGIONS:
            server = _HTTPServer(("127.0.0.1", 0), self._handler_class(region))
            threading.Thread(target=server.serve_forever, name=f"fake-intercom-{region}",
                             daemon=True).start()
            self._servers[region] = server
        return self

    def stop(self):
        with self._lock:
            for rule in self._injections:
                if rule["hold"]:
                    rule["hold"].release()
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        self._servers = {}

    def base_url(self, region="US"):
        return f"http://127.0.0.1:{self._servers[region].server_address[1]}"

    @property
    def oauth_url(self):
        return self.base_url("US") + "/oauth"

    @property
    def token_url(self):
        return self.base_url("US") + "/auth/eagle/token"

    # ---- test controls ----

    def add_workspace(self, id_code, name, region="US", **options):
        ws = Workspace(id_code, name, region, **options)
        self.workspaces[id_code] = ws
        return ws

    def workspace(self, id_code):
        return self.workspaces[id_code]

    def authorize_as(self, workspace_id, admin_id=None, deny=False, refused_at="authorize",
                     refusal_status=403):
        """The next visit to the authorize page is approved (or denied) by this admin.

        A teammate without admin rights (Workspace.add_admin(..., workspace_admin=False)) is
        refused at @refused_at: "authorize" redirects back with error=access_denied and an
        error_description; "token" answers the code exchange with @refusal_status (401 or
        403); "me" hands out a token that every API call, GET /me first, answers with it.
        """
        ws = self.workspaces[workspace_id]
        admin_id = admin_id or ws.owner()["id"]
        assert refused_at in ("authorize", "token", "me") and refusal_status in (401, 403)
        refusal = (refused_at, refusal_status) if admin_id in ws.without_admin_rights else None
        self._authorizing = (workspace_id, admin_id, deny, refusal)

    def inject(self, method=None, path=None, status=None, body=None, times=1, drop=False,
               delay_ms=0, reset_in_s=None, headers=None, hold=None, query=None, skip=0,
               reset=False, truncate=False):
        """Make the next @times requests matching method and path (a regex) misbehave.

        @query (a regex) must also match the raw query string when given; the first
        @skip matching requests pass untouched. @hold (a Hold) keeps each matching
        request waiting until the test releases it. @reset closes the connection with
        a TCP reset instead of answering; @truncate answers the normal reply with its
        JSON cut in half (Content-Length is that of the half). @reset_in_s="window"
        makes a 429 reset when the fake's own rate window does, as Intercom's does.
        A rule with none of these set lets its requests through untouched.
        """
        with self._lock:
            self._injections.append({"method": method, "path": re.compile(path or ".*"),
                                     "query": re.compile(query) if query is not None else None,
                                     "status": status, "body": body, "times": times, "drop": drop,
                                     "delay_ms": delay_ms, "reset_in_s": reset_in_s,
                                     "headers": headers or {}, "hold": hold, "skip": skip,
                                     "reset": reset, "truncate": truncate})

    def hold(self, method=None, path=None, times=1, query=None, skip=0, timeout_s=60,
             answered=False):
        """The next @times matching requests (after @skip of them) wait until Hold.release().

        @answered: the request is carried out first (a ticket is created, say) and only its
        answer waits, as when a connection dies after Intercom acted.
        """
        gate = Hold(timeout_s)
        self.inject(method, path, times=times, hold=gate, query=query, skip=skip)
        gate.answered = answered
        return gate

    def set_rate_limit(self, per_minute):
        with self._lock:
            self.rate_limit_per_minute = per_minute
            self._windows.clear()

    def clear_requests(self):
        with self._lock:
            self.requests = []

    def expire_scroll(self, workspace_id):
        self.workspaces[workspace_id].scroll = None

    # ---- data helpers for tests ----

    def change_ticket_state(self, workspace_id, ticket_id, category, webhook_url=None, open_=None):
        """A teammate moves a ticket to the state of @category (and closes it with open_=False);
        with @webhook_url the ticket.state.updated notification (or ticket.closed) goes there."""
        ws = self.workspaces[workspace_id]
        with ws.lock:
            ticket = ws.tickets[ticket_id]
            ticket["ticket_state"] = dict(ws.state_of(category))
            if open_ is not None:
                ticket["open"] = open_
            ticket["updated_at"] = int(time.time())
            item = json.loads(_json_bytes(ticket))
        if webhook_url:
            topic = "ticket.closed" if open_ is False else "ticket.state.updated"
            self.send_webhook(webhook_url, topic, workspace_id,
                              {"type": "ticket", "ticket": item} if open_ is False else item)
        return item

    def create_conversation(self, workspace_id, text, contact=None, **kw):
        ws = self.workspaces[workspace_id]
        with ws.lock:
            conv = ws.add_conversation(text, contact=contact, **kw)
            return json.loads(_json_bytes(ws.get_view(conv)))

    def add_user_reply(self, workspace_id, conv_id, text, at=None):
        ws = self.workspaces[workspace_id]
        with ws.lock:
            conv = ws.conversation(conv_id)
            contact = ws.contact(conv["contacts"]["contacts"][0]["id"])
            part = ws.add_part(conv, "comment", ws.author_of_contact(contact), f"<p>{text}</p>",
                               at=at)
            conv["waiting_since"] = part["created_at"]
            conv["statistics"]["last_contact_reply_at"] = part["created_at"]
            return part

    def tag_conversation(self, workspace_id, conv_id, tag_id, admin_id=None, at=None,
                         part_id=None):
        """A teammate tags the conversation (as POST /conversations/{id}/tags does) at @at.

        Returns the conversation_part.tag.created item Intercom sends: the conversation with
        tags_added (the tag with its applied_at) and the tagged part (@part_id, else the
        latest part; none when the conversation has only its first message).
        """
        ws = self.workspaces[workspace_id]
        with ws.lock:
            conv = ws.conversation(conv_id)
            tag = ws.tags[str(tag_id)]
            admin = ws.admins[admin_id] if admin_id else ws.owner()
            applied = {"type": "tag", "id": tag["id"], "name": tag["name"],
                       "applied_at": int(at or time.time()),
                       "applied_by": {"type": "admin", "id": admin["id"]}}
            conv["tags"]["tags"] = [t for t in conv["tags"]["tags"] if t["id"] != tag["id"]]
            conv["tags"]["tags"].append(applied)
            conv["updated_at"] = max(conv["updated_at"], applied["applied_at"])
            parts = conv["conversation_parts"]["conversation_parts"]
            tagged = [p for p in parts if p["id"] == str(part_id)] if part_id else parts[-1:]
            item = json.loads(_json_bytes(ws.get_view(conv)))
            item["conversation_parts"] = {"type": "conversation_part.list",
                                          "conversation_parts": json.loads(_json_bytes(tagged)),
                                          "total_count": len(tagged)}
            item["tags_added"] = {"type": "tag.list", "tags": [applied]}
            return item

    def untag_conversation(self, workspace_id, conv_id, tag_id):
        """A teammate removes the tag (DELETE /conversations/{id}/tags/{tag_id})."""
        ws = self.workspaces[workspace_id]
        with ws.lock:
            conv = ws.conversation(conv_id)
            conv["tags"]["tags"] = [t for t in conv["tags"]["tags"] if t["id"] != str(tag_id)]

    def seed_contacts(self, workspace_id, count, start=0, **fields):
        ws = self.workspaces[workspace_id]
        with ws.lock:
            return [ws.add_contact(email=f"user{start + i}@{workspace_id}.example",
                                   name=f"User {start + i}", external_id=f"ext-{start + i}", **fields)
                    for i in range(count)]

    def seed_conversations(self, workspace_id, count, contacts=None, created_at=None, spacing_s=1):
        """@count conversations, created @spacing_s apart, ending now (or at @created_at)."""
        ws = self.workspaces[workspace_id]
        end = int(created_at or time.time())
        with ws.lock:
            out = []
            for i in range(count):
                contact = contacts[i % len(contacts)] if contacts else None
                at = end - (count - 1 - i) * spacing_s
                out.append(ws.add_conversation(f"Seeded conversation {i}", contact=contact,
                                               created_at=at))
            return out

    def touch_conversation(self, workspace_id, conv_id, at=None):
        """An admin replies now (or at @at): updated_at moves, the customer no longer waits."""
        ws = self.workspaces[workspace_id]
        with ws.lock:
            conv = ws.conversation(conv_id)
            return ws.add_part(conv, "comment", ws.author_of_admin(ws.owner()),
                               "<p>Thanks, looking into it.</p>", at=at)

    def close_conversation(self, workspace_id, conv_id, at=None):
        """An admin closes the conversation now (or at @at), as POST /conversations/{id}/parts does."""
        ws = self.workspaces[workspace_id]
        with ws.lock:
            conv = ws.conversation(conv_id)
            conv.update(state="closed", open=False)
            return ws.add_part(conv, "close", ws.author_of_admin(ws.owner()), None, at=at)

    def assign_conversation(self, workspace_id, conv_id, team_id=None, admin_id=None):
        """An assignment rule or a teammate routes the conversation to a team (and/or an admin)."""
        ws = self.workspaces[workspace_id]
        with ws.lock:
            conv = ws.conversation(conv_id)
            conv["team_assignee_id"] = int(team_id) if team_id is not None else None
            conv["admin_assignee_id"] = int(admin_id) if admin_id is not None else None
            return ws.get_view(conv)

    def snooze_conversation(self, workspace_id, conv_id, until, at=None):
        """An admin snoozes the conversation until @until (the customer keeps waiting)."""
        ws = self.workspaces[workspace_id]
        with ws.lock:
            conv = ws.conversation(conv_id)
            conv.update(state="snoozed", snoozed_until=int(until))
            return ws.add_part(conv, "snoozed", ws.author_of_admin(ws.owner()), None, at=at)

    def delete_conversation(self, workspace_id, conv_id):
        """The conversation is deleted in Intercom: from now on every request about it is 404."""
        ws = self.workspaces[workspace_id]
        with ws.lock:
            del ws.conversations[str(ws.conversation(conv_id)["id"])]

    def seed_companies(self, workspace_id, count, start=0, prefix="company-", created_at=None,
                       **fields):
        """@count companies with company_id "<prefix><n>", created one second apart."""
        ws = self.workspaces[workspace_id]
        base = int(created_at or time.time()) - count
        with ws.lock:
            out = []
            for i in range(count):
                company = ws.upsert_company({"company_id": f"{prefix}{start + i}",
                                             "name": f"Company {start + i}", **fields})
                company["created_at"] = company["updated_at"] = base + i
                out.append(company)
            return out

    def delete_contact(self, workspace_id, contact_id):
        """The contact is deleted in Intercom (DELETE /contacts/{id})."""
        ws = self.workspaces[workspace_id]
        with ws.lock:
            ws.delete_contact(ws.contact(contact_id))

    def attach_company(self, workspace_id, contact, company):
        """Attach a contact to a company (POST /contacts/{id}/companies)."""
        ws = self.workspaces[workspace_id]
        with ws.lock:
            ws.attach_company(ws.contact(contact["id"]), ws.company(company["id"]))

    # ---- Intercom calling Switchboard ----

    def webhook_body(self, topic, workspace_id, item, notification_id=None, created_at=None):
        """A notification as Intercom sends it; conversation items are re-read, newest part only."""
        ws = self.workspaces.get(workspace_id)
        if ws and isinstance(item, dict) and item.get("type") == "conversation" \
                and str(item.get("id")) in ws.conversations:
            with ws.lock:
                fresh = ws.get_view(ws.conversation(item["id"]))
                parts = fresh["conversation_parts"]["conversation_parts"]
                fresh["conversation_parts"] = {"type": "conversation_part.list",
                                               "conversation_parts": parts[-1:],
                                               "total_count": min(1, len(parts))}
                if "tags_added" in item:  # a tag notification names the tagged part itself
                    fresh.update(tags_added=item["tags_added"],
                                 conversation_parts=item["conversation_parts"])
                item = fresh
        now = int(time.time())
        return {"type": "notification_event", "app_id": workspace_id,
                "data": {"type": "notification_event_data", "item": item}, "links": {},
                "id": notification_id or f"notif_{os.urandom(16).hex()}", "topic": topic,
                "delivery_status": "pending", "delivery_attempts": 1, "delivered_at": 0,
                "first_sent_at": now, "created_at": created_at or now, "self": None}

    def send_webhook(self, url, topic, workspace_id, item, notification_id=None, created_at=None):
        body = _json_bytes(self.webhook_body(topic, workspace_id, item, notification_id, created_at))
        sig = "sha1=" + hmac.new(self.client_secret.encode(), body, hashlib.sha1).hexdigest()
        return _post(url, body, {"User-Agent": "intercom-parrot-service-client/1.0",
                                 "Accept": "application/json", "Content-Type": "application/json",
                                 "X-Hub-Signature": sig})

    def inbox_canvas_body(self, workspace_id, conv_id, component_id=None, current_canvas=None,
                          input_values=None, admin_id=None):
        """An Inbox (teammate) initialize request, or a submit when component_id is given."""
        ws = self.workspaces[workspace_id]
        with ws.lock:
            conv = ws.get_view(ws.conversation(conv_id))
            contact = ws.contact(conv["contacts"]["contacts"][0]["id"])
            admin = ws.admins[admin_id] if admin_id else ws.owner()
            body = {"workspace_id": workspace_id, "workspace_region": ws.region.lower(),
                    "admin": admin, "conversation": conv, "contact": contact,
                    "context": {"conversation_id": int(conv_id), "location": "conversation",
                                "locale": "en"}}
        if component_id is not None:
            body.update(component_id=component_id, input_values=input_values or {},
                        current_canvas=current_canvas or {})
        return json.loads(_json_bytes(body))

    def canvas_request(self, url, payload):
        body = _json_bytes(payload)
        sig = hmac.new(self.client_secret.encode(), body, hashlib.sha256).hexdigest()
        return _post(url, body, {"Content-Type": "application/json", "Accept": "application/json",
                                 "X-Body-Signature": sig})

    # ---- the HTTP side ----

    def _handler_class(self, region):
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"   # keep-alive, as curl expects to reuse connections
            # Headers and body go out in two writes: without TCP_NODELAY the body waits for
            # the client's delayed ACK (~40 ms a request on loopback).
            disable_nagle_algorithm = True
            server_version = "fake-intercom"

            def log_message(self, *args):
                pass

            def _serve(self):
                fake._serve(self, region)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve

        return Handler

    def _serve(self, h, region):
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        url = urllib.parse.urlsplit(h.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in h.headers.items()}
        record = {"method": h.command, "path": url.path, "query": query, "raw_query": url.query,
                  "headers": headers, "body": body, "json": None, "region": region,
                  "time": time.time(), "status": None}
        if body and "json" in headers.get("content-type", ""):
            try:
                record["json"] = json.loads(body)
            except ValueError:
                pass
        with self._lock:
            self.requests.append(record)
            fault = self._take_injection(h.command, url.path, url.query)
        req = Request(h.command, url.path, query, headers, body, region)
        if fault and fault["hold"] and not getattr(fault["hold"], "answered", False):
            fault["hold"]._enter(record)
        if fault and fault["delay_ms"]:
            time.sleep(fault["delay_ms"] / 1000)
        if fault and fault["drop"]:
            # Cut the answer off mid-body. (A connection closed before any byte of the answer
            # is retried by curl itself on a reused connection, so it would not show.)
            record["status"] = 0
            h.close_connection = True
            try:
                h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                              b"Content-Length: 4096\r\n\r\n{\"type\":")
                h.wfile.flush()
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault and fault.get("reset"):
            # SO_LINGER with a zero timeout: close() sends RST, not FIN.
            record["status"] = 0
            h.close_connection = True
            try:
                h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        struct.pack("ii", 1, 0))
                h.connection.close()
            except OSError:
                pass
            return
        reply = self._answer(req, fault)
        if fault and fault["hold"] and getattr(fault["hold"], "answered", False):
            fault["hold"]._enter(record)
        if fault and fault.get("truncate") and reply.raw is None and reply.body is not None:
            whole = _json_bytes(reply.body)
            reply = Reply(reply.status, headers=dict(reply.headers,
                                                     **{"Content-Type": "application/json; charset=utf-8"}),
                          raw=whole[:max(1, len(whole) // 2)])
            record["truncated"] = True
        record["status"] = reply.status
        try:
            self._write(h, reply)
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True  # the client gave up waiting (slow-answer faults)

    def _take_injection(self, method, path, raw_query=""):
        for rule in self._injections:
            if rule["times"] > 0 and (rule["method"] in (None, method)) and rule["path"].search(path) \
                    and (rule["query"] is None or rule["query"].search(raw_query)):
                if rule["skip"] > 0:
                    rule["skip"] -= 1
                    continue
                rule["times"] -= 1
                return rule
        return None

    def _write(self, h, reply):
        if reply.raw is not None:
            payload = reply.raw
        elif reply.body is not None:
            payload = _json_bytes(reply.body)
            reply.headers.setdefault("Content-Type", "application/json; charset=utf-8")
        else:
            payload = b""
        h.send_response(reply.status)
        for key, value in reply.headers.items():
            h.send_header(key, str(value))
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(payload)

    def _answer(self, req, fault):
        try:
            if self.control and req.path.startswith("/_demo/"):
                return self.control(req)
            if req.path == "/oauth" and req.method == "GET":
                return self._authorize(req)
            if req.path == "/auth/eagle/token" and req.method == "POST":
                if fault and fault["status"]:
                    return self._fault_reply(fault, {})
                return self._token(req)
            self._authenticate(req)
            limits = self._count_request(req.workspace)
            if fault and fault["status"]:
                if req.path.startswith("/companies/scroll") and fault["status"] >= 500:
                    req.workspace.scroll = None  # the scroll must be restarted
                return self._fault_reply(fault, limits)
            if limits["X-RateLimit-Remaining"] < 0:
                limits["X-RateLimit-Remaining"] = 0
                return Reply(429, ApiError(429, "rate_limit_exceeded", "Rate Limit Exceeded").body(),
                             limits)
            version = req.headers.get("intercom-version")
            if version is not None and version not in VERSIONS:
                raise ApiError(400, "intercom_version_invalid", "The requested version is not valid")
            handler, params = self._route(req)
            with req.workspace.lock:
                result = handler(req, *params)
            reply = result if isinstance(result, Reply) else Reply(200, result)
            reply.headers.update(limits)
            return reply
        except ApiError as e:
            return Reply(e.status, e.body())

    def _fault_reply(self, fault, limits):
        status = fault["status"]
        headers = dict(limits)
        headers.update(fault["headers"])
        if status == 429 and fault["reset_in_s"] == "window" and "X-RateLimit-Reset" in limits:
            headers.update({"X-RateLimit-Limit": self.rate_limit_per_minute,
                            "X-RateLimit-Remaining": 0})
        elif status == 429:
            reset_in = fault["reset_in_s"] if isinstance(fault["reset_in_s"], int) else 10
            reset = int(time.time()) + reset_in
            headers.update({"X-RateLimit-Limit": self.rate_limit_per_minute,
                            "X-RateLimit-Remaining": 0, "X-RateLimit-Reset": reset})
        body = fault["body"]
        if body is None:
            code = {400: "parameter_invalid", 401: "unauthorized", 403: "forbidden",
                    404: "not_found", 409: "conflict", 422: "unprocessable_entity",
                    429: "rate_limit_exceeded", 503: "service_unavailable"}.get(
                        status, "server_error" if status >= 500 else "client_error")
            body = ApiError(status, code, http.client.responses.get(status, "Error")).body()
        return Reply(status, body, headers)

    def _authenticate(self, req):
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            raise ApiError(401, "unauthorized", "Access Token Invalid")
        token = auth[7:]
        owner = self.tokens.get(token)
        if owner is None or token in self.revoked_tokens:
            raise ApiError(401, "unauthorized", "Access Token Invalid")
        if token in self.refused_tokens:
            raise self._refusal(self.refused_tokens[token])
        ws = self.workspaces[owner[0]]
        # api.intercom.io routes to any region; a regional host only knows its own workspaces.
        if req.region != "US" and req.region != ws.region:
            raise ApiError(401, "unauthorized", "Access Token Invalid")
        req.token, req.workspace, req.admin_id = token, ws, owner[1]

    def _count_request(self, ws):
        """Count the request in its workspace's 10-second window; return the headers."""
        now = time.time()
        window = int(now // 10)
        per_window = self.rate_limit_per_minute // 6
        with self._lock:
            number, used = self._windows.get(ws.id_code, (window, 0))
            if number != window:
                used = 0
            used += 1
            self._windows[ws.id_code] = (window, used)
            self.window_counts[(ws.id_code, window)] = used
        return {"X-RateLimit-Limit": self.rate_limit_per_minute,
                "X-RateLimit-Remaining": per_window - used, "X-RateLimit-Reset": (window + 1) * 10}

    # ---- OAuth ----

    def _authorize(self, req):
        if req.query.get("client_id") != self.client_id:
            return Reply(400, raw=b"<h1>Unknown app</h1>", headers={"Content-Type": "text/html"})
        redirect = req.query.get("redirect_uri") or self.redirect_uri
        if not redirect or self._authorizing is None:
            return Reply(400, raw=b"<h1>No redirect URL, or nobody to sign in</h1>",
                         headers={"Content-Type": "text/html"})
        workspace_id, admin_id, deny, refusal = self._authorizing
        params = {"state": req.query.get("state", "")}
        if deny:
            params.update(error="access_denied", error_description="the admin denied access")
        elif refusal and refusal[0] == "authorize":
            params.update(error="access_denied",
                          error_description="Only admins of this workspace can install apps")
        else:
            # Some codes end in '=' (base64 padding): callers must keep them byte-exact.
            n = next(self._code_serial)
            code = base64.b64encode(os.urandom(16 if n % 2 == 0 else 18)).decode()
            self.codes[code] = (workspace_id, admin_id, time.time(), refusal)
            params["code"] = code
        sep = "&" if "?" in redirect else "?"
        location = redirect + sep + urllib.parse.urlencode(params)
        return Reply(302, raw=b"", headers={"Location": location})

    def _token(self, req):
        ctype = req.headers.get("content-type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            form = dict(urllib.parse.parse_qsl(req.body.decode(errors="replace"),
                                               keep_blank_values=True))
        else:
            form = req.object()
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            raise ApiError(401, "unauthorized", "Unauthorized Client")
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or time.time() - grant[2] > CODE_TTL_S:
            raise ApiError(401, "unauthorized", "Unauthorized Code")
        refusal = grant[3]
        if refusal and refusal[0] == "token":
            raise self._refusal(refusal[1])
        token = "dG9rOj" + base64.b64encode(os.urandom(30)).decode()
        self.tokens[token] = (grant[0], grant[1])
        if refusal:
            self.refused_tokens[token] = refusal[1]
        return Reply(200, {"token_type": "Bearer", "token": token, "access_token": token})

    @staticmethod
    def _refusal(status):
        """How Intercom refuses a teammate without admin rights (or that teammate's token)."""
        code = "token_unauthorized" if status == 401 else "forbidden"
        return ApiError(status, code, "The teammate who authorized this app is not a workspace admin")

    # ---- REST routing ----

    def _route_table(self):
        routes = [
            ("GET", r"/me", self._me),
            ("POST", r"/auth/uninstall", self._uninstall),
            ("GET", r"/admins", self._admins),
            ("GET", r"/admins/([^/]+)", self._admin),
            ("GET", r"/teams", self._teams),
            ("GET", r"/teams/([^/]+)", self._team),
            ("GET", r"/tags", self._tags),
            ("POST", r"/tags", self._tag_create),
            ("GET", r"/tags/([^/]+)", self._tag),
            ("GET", r"/contacts", self._contacts),
            ("POST", r"/contacts", self._contact_create),
            ("POST", r"/contacts/search", self._contact_search),
            ("GET", r"/contacts/find_by_external_id/([^/]+)", self._contact_by_external),
            ("GET", r"/contacts/([^/]+)", self._contact),
            ("PUT", r"/contacts/([^/]+)", self._contact_update),
            ("DELETE", r"/contacts/([^/]+)", self._contact_delete),
            ("GET", r"/contacts/([^/]+)/companies", self._contact_companies),
            ("POST", r"/contacts/([^/]+)/companies", self._contact_attach_company),
            ("GET", r"/companies", self._companies),
            ("POST", r"/companies", self._company_upsert),
            ("GET", r"/companies/scroll", self._company_scroll),
            ("GET", r"/companies/([^/]+)", self._company),
            ("PUT", r"/companies/([^/]+)", self._company_update),
            ("GET", r"/data_attributes", self._data_attributes),
            ("POST", r"/data_attributes", self._data_attribute_create),
            ("GET", r"/events", self._events),
            ("POST", r"/events", self._event_create),
            ("GET", r"/conversations", self._conversations),
            ("POST", r"/conversations", self._conversation_create),
            ("POST", r"/conversations/search", self._conversation_search),
            ("GET", r"/conversations/(\d+)", self._conversation),
            ("PUT", r"/conversations/(\d+)", self._conversation_update),
            ("POST", r"/conversations/(\d+|last)/reply", self._conversation_reply),
            ("POST", r"/conversations/(\d+)/parts", self._conversation_manage),
            ("POST", r"/conversations/(\d+)/tags", self._conversation_tag),
            ("DELETE", r"/conversations/(\d+)/tags/([^/]+)", self._conversation_untag),
            ("GET", r"/ticket_types", self._ticket_types),
            ("GET", r"/ticket_states", self._ticket_states),
            ("POST", r"/tickets", self._ticket_create),
            ("POST", r"/tickets/search", self._ticket_search),
            ("GET", r"/tickets/([^/]+)", self._ticket),
            ("PUT", r"/tickets/([^/]+)", self._ticket_update),
            ("POST", r"/tickets/([^/]+)/reply", self._ticket_reply),
        ]
        return [(m, re.compile(f"^{p}$"), f) for m, p, f in routes]

    def _route(self, req):
        path_known = False
        for method, pattern, handler in self._routes:
            m = pattern.match(req.path)
            if m:
                path_known = True
                if method == req.method:
                    return handler, [urllib.parse.unquote(g) for g in m.groups()]
        if path_known:
            raise ApiError(405, "method_not_allowed", f"{req.method} is not allowed on {req.path}")
        raise not_found("Resource Not Found")

    # ---- identity ----

    def _me(self, req):
        ws = req.workspace
        admin = dict(ws.admins[req.admin_id])
        admin["app"] = {"type": "app", "id_code": ws.id_code, "name": ws.name,
                        "created_at": ws.created_at, "secure": False,
                        "identity_verification": False, "timezone": ws.timezone,
                        "region": ws.region}
        return admin

    def _uninstall(self, req):
        self.revoked_tokens.add(req.token)
        return {}

    def _admins(self, req):
        return {"type": "admin.list", "admins": list(req.workspace.admins.values())}

    def _admin(self, req, admin_id):
        admin = req.workspace.admins.get(admin_id)
        if not admin:
            raise ApiError(404, "admin_not_found", "Admin not found")
        return admin

    def _teams(self, req):
        return {"type": "team.list", "teams": list(req.workspace.teams.values())}

    def _team(self, req, team_id):
        team = req.workspace.teams.get(team_id)
        if not team:
            raise ApiError(404, "team_not_found", "Team not found")
        return team

    def _tags(self, req):
        return {"type": "list", "data": list(req.workspace.tags.values())}

    def _tag_create(self, req):
        body = req.object()
        if not isinstance(body.get("name"), str) or not body["name"]:
            raise invalid("name is required", "name")
        if "id" in body:
            tag = req.workspace.tags.get(str(body["id"]))
            if not tag:
                raise not_found("Tag not found")
            tag["name"] = body["name"]
            return tag
        return req.workspace.add_tag(body["name"])

    def _tag(self, req, tag_id):
        tag = req.workspace.tags.get(tag_id)
        if not tag:
            raise not_found("Tag not found")
        return tag

    # ---- contacts ----

    def _contacts(self, req):
        per_page = req.int_param("per_page", 50, 150)
        ws = req.workspace
        # Sorted once per change and cut with bisect, so 100,000 contacts page as fast as 100.
        if not ws.contacts_sorted or ws.contacts_sorted[0] != ws.contacts_version:
            rows = sorted(ws.contacts.values(), key=lambda c: (c["created_at"], c["id"]))
            ws.contacts_sorted = (ws.contacts_version, rows,
                                  [(c["created_at"], c["id"]) for c in rows])
        _, rows, keys = ws.contacts_sorted
        start = 0
        if req.query.get("starting_after"):
            start = bisect.bisect_right(keys, decode_cursor(req.query["starting_after"]))
        page = rows[start:start + per_page]
        cursor = (encode_cursor(page[-1]["created_at"], page[-1]["id"])
                  if start + per_page < len(rows) else None)
        return {"type": "list", "data": page, "total_count": len(rows),
                "pages": cursor_pages(1, per_page, len(rows), cursor)}

    def _contact_create(self, req):
        body = req.object()
        if not any(body.get(k) for k in ("email", "external_id", "role")):
            raise ApiError(400, "parameter_invalid",
                           "Please provide at least one of email, external_id or role")
        return req.workspace.add_contact(email=body.get("email"), name=body.get("name"),
                                         external_id=body.get("external_id"),
                                         role=body.get("role", "user"),
                                         custom_attributes=body.get("custom_attributes"))

    def _search(self, req, rows, list_type, key):
        body = req.object()
        if "query" not in body:
            raise ApiError(400, "parameter_not_found", "query parameter is required", "query")
        pagination = body.get("pagination") or {}
        per_page = pagination.get("per_page", 20 if list_type == "conversation.list" else 50)
        if not isinstance(per_page, int) or not 1 <= per_page <= 150:
            raise invalid("per_page must be between 1 and 150", "per_page")
        hits = sorted((r for r in rows if matches(r, body["query"])), key=lambda r: (key(r), r["id"]))
        page, cursor = page_after(hits, key, per_page, pagination.get("starting_after"))
        return hits, page, cursor_pages(1, per_page, len(hits), cursor)

    def _contact_search(self, req):
        hits, page, pages = self._search(req, req.workspace.contacts.values(), "list",
                                         lambda c: c["created_at"])
        return {"type": "list", "data": page, "total_count": len(hits), "pages": pages}

    def _contact_by_external(self, req, external_id):
        contact = req.workspace.contacts_by_external.get(external_id)
        if not contact:
            raise not_found("User Not Found")
        return contact

    def _contact(self, req, contact_id):
        return req.workspace.contact(contact_id)

    def _contact_update(self, req, contact_id):
        return req.workspace.update_contact(req.workspace.contact(contact_id), req.object())

    def _contact_delete(self, req, contact_id):
        contact = req.workspace.contact(contact_id)
        req.workspace.delete_contact(contact)
        return {"type": "contact", "id": contact["id"], "external_id": contact["external_id"],
                "deleted": True}

    def _contact_companies(self, req, contact_id):
        contact = req.workspace.contact(contact_id)
        data = [req.workspace.company(c["id"]) for c in contact["companies"]["data"]]
        return {"type": "list", "data": data, "total_count": len(data),
                "pages": {"type": "pages", "next": None, "page": 1, "per_page": 50, "total_pages": 1}}

    def _contact_attach_company(self, req, contact_id):
        contact = req.workspace.contact(contact_id)
        company_id = req.object().get("id")
        if not company_id:
            raise ApiError(400, "parameter_not_found", "company not specified")
        company = req.workspace.company(company_id)
        req.workspace.attach_company(contact, company)
        return company

    # ---- companies ----

    def _companies(self, req):
        ws = req.workspace
        if "company_id" in req.query:
            company = ws.companies_by_remote.get(req.query["company_id"])
            if not company:
                raise ApiError(404, "company_not_found", "Company Not Found")
            return company
        rows = sorted(ws.companies.values(), key=lambda c: (c["created_at"], c["id"]))
        if "name" in req.query:
            rows = [c for c in rows if c["name"] == req.query["name"]]
        page = req.int_param("page", 1)
        per_page = req.int_param("per_page", 15, 60)
        if page * per_page > 10000:
            raise invalid("The list endpoint returns at most 10,000 companies: use "
                          "/companies/scroll for more", "page")
        data = rows[(page - 1) * per_page:page * per_page]
        total_pages = max(1, _ceil_div(len(rows), per_page))
        pages = {"type": "pages", "page": page, "per_page": per_page, "total_pages": total_pages}
        if page < total_pages:
            pages["next"] = f"{self.base_url(req.region)}/companies?per_page={per_page}&page={page + 1}"
        return {"type": "list", "data": data, "pages": pages, "total_count": len(rows)}

    def _company_upsert(self, req):
        return req.workspace.upsert_company(req.object())

    def _company_scroll(self, req):
        ws = req.workspace
        now = time.time()
        param = req.query.get("scroll_param")
        open_scroll = ws.scroll if ws.scroll and now - ws.scroll[2] <= self.scroll_ttl_s else None
        if param is None:
            if open_scroll:
                raise ApiError(400, "scroll_exists", "A scroll is already open for this app: "
                               "finish it or wait for it to expire")
            position = 0
            param = os.urandom(16).hex()
        else:
            if not open_scroll or open_scroll[0] != param:
                raise ApiError(404, "scroll_not_found", "scroll_param is unknown or has expired")
            position = open_scroll[1]
        rows = sorted(ws.companies.values(), key=lambda c: (c["created_at"], c["id"]))
        data = rows[position:position + self.scroll_page_size]
        # An empty page ends the scroll; its parameter expires.
        ws.scroll = (param, position + len(data), now) if data else None
        return {"type": "list", "data": data, "pages": None, "total_count": None,
                "scroll_param": param}

    def _company(self, req, company_id):
        return req.workspace.company(company_id)

    def _company_update(self, req, company_id):
        return req.workspace.update_company(req.workspace.company(company_id), req.object())

    # ---- data attributes and events ----

    def _data_attributes(self, req):
        model = req.query.get("model")
        if model is not None and model not in ("contact", "company", "conversation"):
            raise invalid("model must be one of contact, company, conversation", "model")
        archived = req.query.get("include_archived") == "true"
        data = [a for a in req.workspace.data_attributes
                if (model is None or a["model"] == model) and (archived or not a["archived"])]
        return {"type": "list", "data": data}

    def _data_attribute_create(self, req):
        return req.workspace.add_data_attribute(req.object(), req.admin_id)

    def _find_event_contact(self, ws, ids):
        if ids.get("id") or ids.get("intercom_user_id"):
            return ws.contacts.get(ids.get("id") or ids.get("intercom_user_id"))
        if ids.get("user_id"):
            return ws.contacts_by_external.get(str(ids["user_id"]))
        if ids.get("email"):
            return ws.contacts_by_email.get(ids["email"].lower())
        raise invalid("one of id, user_id or email is required")

    def _event_create(self, req):
        body = req.object()
        if not body.get("event_name") or not isinstance(body.get("created_at"), int):
            raise ApiError(400, "parameter_missing", "event_name and created_at are required")
        contact = self._find_event_contact(req.workspace, body)
        if contact is None:
            raise not_found("User Not Found")
        metadata = body.get("metadata") or {}
        if any(isinstance(v, dict) and not ({"url", "value"} >= set(v) or {"amount", "currency"} >= set(v))
               for v in metadata.values()):
            raise invalid("metadata cannot be nested", "metadata")
        key = (contact["id"], body["event_name"], body["created_at"])
        if not any((e["intercom_user_id"], e["event_name"], e["created_at"]) == key
                   for e in req.workspace.events):
            self.add_event(req.workspace, contact, body["event_name"], body["created_at"],
                           dict(list(metadata.items())[:10]))
        return Reply(202, raw=b"")

    @staticmethod
    def add_event(ws, contact, name, created_at, metadata=None):
        event = {"type": "event", "event_name": name, "created_at": int(created_at),
                 "user_id": contact["external_id"], "email": contact["email"],
                 "intercom_user_id": contact["id"], "metadata": metadata or {},
                 "_seq": len(ws.events)}
        ws.events.append(event)
        return event

    def seed_events(self, workspace_id, contact, names_and_times):
        ws = self.workspaces[workspace_id]
        with ws.lock:
            return [self.add_event(ws, contact, n, t) for n, t in names_and_times]

    def _events(self, req):
        if req.query.get("type") != "user":
            raise ApiError(400, "parameter_invalid", "type must be user", "type")
        contact = self._find_event_contact(req.workspace, req.query)
        if contact is None:
            raise not_found("User Not Found")
        per_page = req.int_param("per_page", 50, 100)
        horizon = time.time() - 90 * 86400  # only events younger than 90 days are listed
        rows = sorted((e for e in req.workspace.events
                       if e["intercom_user_id"] == contact["id"] and e["created_at"] >= horizon),
                      key=lambda e: (e["created_at"], e["_seq"]), reverse=True)
        if "before" in req.query:  # newest first: the next page holds what is older
            try:
                before = tuple(int(x) for x in req.query["before"].split("-"))
            except ValueError:
                raise invalid("before is not valid", "before")
            rows = [e for e in rows if (e["created_at"], e["_seq"]) < before]
        page = rows[:per_page]
        out = {"type": "event.list", "events": [{k: v for k, v in e.items() if k != "_seq"} for e in page],
               "pages": {}, "email": contact["email"], "intercom_user_id": contact["id"],
               "user_id": contact["external_id"]}
        if len(rows) > per_page:
            last = page[-1]
            q = {k: v for k, v in req.query.items() if k != "before"}
            q["before"] = f"{last['created_at']}-{last['_seq']}"
            out["pages"]["next"] = f"{self.base_url(req.region)}/events?{urllib.parse.urlencode(q)}"
        return out

    # ---- conversations ----

    def _conversations(self, req):
        per_page = req.int_param("per_page", 20, 150)
        rows = sorted(req.workspace.conversations.values(), key=lambda c: (c["created_at"], c["id"]))
        page, cursor = page_after(rows, lambda c: c["created_at"], per_page,
                                  req.query.get("starting_after"))
        return {"type": "conversation.list",
                "conversations": [req.workspace.list_view(c) for c in page],
                "total_count": len(rows), "pages": cursor_pages(1, per_page, len(rows), cursor)}

    def _conversation_create(self, req):
        body = req.object()
        sender = body.get("from") or {}
        if sender.get("type") not in ("user", "lead", "contact") or not sender.get("id"):
            raise invalid("from must name a user, lead or contact by id", "from")
        if not body.get("body"):
            raise ApiError(400, "parameter_missing", "body is required", "body")
        contact = req.workspace.contact(sender["id"])
        conv = req.workspace.add_conversation(body["body"], contact=contact)
        return {"type": "user_message", "id": conv["source"]["id"], "created_at": conv["created_at"],
                "body": body["body"], "message_type": "inapp", "conversation_id": conv["id"]}

    def _conversation_search(self, req):
        hits, page, pages = self._search(req, req.workspace.conversations.values(),
                                         "conversation.list", lambda c: c["created_at"])
        return {"type": "conversation.list", "pages": pages, "total_count": len(hits),
                "conversations": [req.workspace.list_view(c) for c in page]}

    def _conversation(self, req, conv_id):
        view = req.workspace.get_view(req.workspace.conversation(conv_id))
        if req.query.get("display_as") == "plaintext":
            view = _plaintext_view(view)
        return view

    def _conversation_update(self, req, conv_id):
        ws = req.workspace
        conv = ws.conversation(conv_id)
        body = req.object()
        attrs = body.get("custom_attributes")
        if attrs is not None:
            ws.check_attributes("conversation", attrs)
            conv["custom_attributes"].update(attrs)
        for key in ("read", "title"):
            if key in body:
                conv[key] = body[key]
        conv["updated_at"] = int(time.time())
        return ws.get_view(conv)

    def _acting_admin(self, req, body):
        admin_id = body.get("admin_id")
        if admin_id is None:
            raise ApiError(400, "parameter_missing", "admin_id is required", "admin_id")
        admin = req.workspace.admins.get(str(admin_id))
        if not admin:
            raise ApiError(404, "admin_not_found", "Admin not found", "admin_id")
        return admin

    def _conversation_reply(self, req, conv_id):
        ws = req.workspace
        body = req.object()
        message_type = body.get("message_type")
        if message_type not in ("comment", "note", "quick_reply"):
            raise invalid("message_type must be comment, note or quick_reply", "message_type")
        if body.get("type") == "admin":
            author = ws.author_of_admin(self._acting_admin(req, body))
        elif body.get("type") == "user" and message_type == "comment":
            contact = self._find_event_contact(ws, {"id": body.get("intercom_user_id"),
                                                    "user_id": body.get("user_id"),
                                                    "email": body.get("email")})
            if contact is None:
                raise not_found("User Not Found")
            author = ws.author_of_contact(contact)
        else:
            raise invalid("type must be admin, or user for a comment", "type")
        if message_type != "quick_reply" and not body.get("body"):
            raise ApiError(400, "parameter_missing", "body is required", "body")
        if conv_id == "last":
            raise not_found("Resource Not Found")
        conv = ws.conversation(conv_id)
        ws.add_part(conv, message_type, author, body.get("body"))
        return ws.get_view(conv)

    def _conversation_manage(self, req, conv_id):
        ws = req.workspace
        conv = ws.conversation(conv_id)
        body = req.object()
        admin = self._acting_admin(req, body)
        kind = body.get("message_type")
        if kind == "close":
            conv.update(state="closed", open=False)
        elif kind == "open":
            conv.update(state="open", open=True)
        elif kind == "snoozed":
            if not isinstance(body.get("snoozed_until"), int):
                raise ApiError(400, "parameter_missing", "snoozed_until is required", "snoozed_until")
            conv.update(state="snoozed", snoozed_until=body["snoozed_until"])
        elif kind == "assignment":
            assignee = str(body.get("assignee_id", ""))
            if body.get("type") == "team":
                if assignee != "0" and assignee not in ws.teams:
                    raise ApiError(404, "team_not_found", "Team not found", "assignee_id")
                conv["team_assignee_id"] = None if assignee == "0" else int(assignee)
            else:
                if assignee != "0" and assignee not in ws.admins:
                    raise ApiError(404, "admin_not_found", "Admin not found", "assignee_id")
                conv["admin_assignee_id"] = None if assignee == "0" else int(assignee)
        else:
            raise invalid("message_type must be close, open, snoozed or assignment", "message_type")
        ws.add_part(conv, kind if kind != "snoozed" else "snoozed", ws.author_of_admin(admin),
                    body.get("body"))
        return ws.get_view(conv)

    def _conversation_tag(self, req, conv_id):
        ws = req.workspace
        conv = ws.conversation(conv_id)
        body = req.object()
        admin = self._acting_admin(req, body)
        tag = ws.tags.get(str(body.get("id")))
        if not tag:
            raise not_found("Tag not found")
        applied = {"type": "tag", "id": tag["id"], "name": tag["name"], "applied_at": int(time.time()),
                   "applied_by": {"type": "admin", "id": admin["id"]}}
        tags = conv["tags"]["tags"]
        if not any(t["id"] == tag["id"] for t in tags):
            tags.append(applied)
        conv["updated_at"] = int(time.time())
        return applied

    def _conversation_untag(self, req, conv_id, tag_id):
        ws = req.workspace
        conv = ws.conversation(conv_id)
        self._acting_admin(req, req.object())
        tag = ws.tags.get(tag_id)
        if not tag:
            raise not_found("Tag not found")
        conv["tags"]["tags"] = [t for t in conv["tags"]["tags"] if t["id"] != tag_id]
        return tag

    # ---- tickets ----

    def _ticket_types(self, req):
        return {"type": "list", "data": list(req.workspace.ticket_types.values())}

    def _ticket_states(self, req):
        return {"type": "list", "data": list(req.workspace.ticket_states.values())}

    def _ticket_create(self, req):
        ws = req.workspace
        body = req.object()
        ttype = ws.ticket_types.get(str(body.get("ticket_type_id")))
        if not ttype:
            raise invalid("ticket_type_id is not a ticket type of this workspace", "ticket_type_id")
        contacts = body.get("contacts")
        if not isinstance(contacts, list) or len(contacts) != 1 or not isinstance(contacts[0], dict):
            raise invalid("contacts must name exactly one contact", "contacts")
        who = contacts[0]
        contact = self._find_event_contact(ws, {"id": who.get("id"), "user_id": who.get("external_id"),
                                                "email": who.get("email")})
        if contact is None and who.get("email"):
            contact = ws.add_contact(email=who["email"])
        if contact is None:
            raise not_found("User Not Found")
        known = {a["name"] for a in ttype["ticket_type_attributes"]["data"]}
        attrs = body.get("ticket_attributes") or {}
        unknown = [k for k in attrs if k not in known]
        if unknown:
            raise invalid(f"unknown ticket attribute(s): {', '.join(unknown)}", "ticket_attributes")
        tid = ws.next_id()
        assignment = body.get("assignment") or {}
        ticket = {"type": "ticket", "id": tid, "ticket_id": str(len(ws.tickets) + 1),
                  "category": ttype["category"], "ticket_attributes": attrs,
                  "ticket_state": dict(ws.state_of("submitted")), "ticket_type": ttype,
                  "contacts": {"type": "contact.list",
                               "contacts": [{"type": "contact", "id": contact["id"],
                                             "external_id": contact["external_id"]}]},
                  "admin_assignee_id": str(assignment.get("admin_assignee_id", "0")),
                  "team_assignee_id": str(assignment.get("team_assignee_id", "0")),
                  "created_at": int(time.time()), "updated_at": int(time.time()), "open": True,
                  "snoozed_until": None, "linked_objects": {"type": "list", "data": [],
                                                            "total_count": 0, "has_more": False},
                  "ticket_parts": {"type": "ticket_part.list", "ticket_parts": [], "total_count": 0},
                  "is_shared": False}
        ws.tickets[tid] = ticket
        return ticket

    def _ticket_of(self, req, ticket_id):
        ticket = req.workspace.tickets.get(ticket_id)
        if not ticket:
            raise not_found("Ticket not found")
        return ticket

    def _ticket(self, req, ticket_id):
        return self._ticket_of(req, ticket_id)

    def _ticket_update(self, req, ticket_id):
        ws = req.workspace
        ticket = self._ticket_of(req, ticket_id)
        body = req.object()
        if "ticket_state_id" in body:
            state = ws.ticket_states.get(str(body["ticket_state_id"]))
            if not state:
                raise invalid("ticket_state_id is not a ticket state", "ticket_state_id")
            ticket["ticket_state"] = dict(state)
        ticket["ticket_attributes"].update(body.get("ticket_attributes") or {})
        for key in ("open", "is_shared", "snoozed_until"):
            if key in body:
                ticket[key] = body[key]
        if "assignee_id" in body:
            assignee = str(body["assignee_id"])
            if assignee == "0":
                ticket["admin_assignee_id"] = ticket["team_assignee_id"] = "0"
            elif assignee in ws.teams:
                ticket["team_assignee_id"] = assignee
            elif assignee in ws.admins:
                ticket["admin_assignee_id"] = assignee
            else:
                raise invalid("assignee_id is not an admin or a team of this workspace",
                              "assignee_id")
        ticket["updated_at"] = int(time.time())
        return ticket

    def _ticket_search(self, req):
        # The searchable fields of a ticket (contact_ids, title, ...) next to the ticket itself.
        def view(t):
            attrs = t["ticket_attributes"]
            return dict(t, contact_ids=[c["id"] for c in t["contacts"]["contacts"]],
                        ticket_type_id=t["ticket_type"]["id"], state=t["ticket_state"]["category"],
                        title=attrs.get("_default_title_"),
                        description=attrs.get("_default_description_"))
        views = {t["id"]: view(t) for t in req.workspace.tickets.values()}
        hits, page, pages = self._search(req, views.values(), "ticket.list",
                                         lambda t: t["created_at"])
        return {"type": "ticket.list", "tickets": [req.workspace.tickets[t["id"]] for t in page],
                "total_count": len(hits), "pages": pages}

    def _ticket_reply(self, req, ticket_id):
        ws = req.workspace
        ticket = self._ticket_of(req, ticket_id)
        body = req.object()
        if body.get("message_type") not in ("comment", "note", "quick_reply"):
            raise invalid("message_type must be comment, note or quick_reply", "message_type")
        admin = self._acting_admin(req, body)
        part = {"type": "ticket_part", "id": ws.next_id(), "part_type": body["message_type"],
                "body": body.get("body"), "created_at": int(time.time()),
                "author": ws.author_of_admin(admin)}
        ticket["ticket_parts"]["ticket_parts"].append(part)
        ticket["ticket_parts"]["total_count"] += 1
        return part


def _plain_text(body):
    """A message body as ?display_as=plaintext gives it: tags dropped, entities decoded."""
    if body is None:
        return None
    text = re.sub(r"<br\s*/?>|</p>\s*<p[^>]*>", "\n", body)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def _plaintext_view(view):
    out = json.loads(_json_bytes(view))
    out["source"]["body"] = _plain_text(out["source"].get("body"))
    for part in out["conversation_parts"]["conversation_parts"]:
        part["body"] = _plain_text(part.get("body"))
    return out


def _post(url, body, headers):
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("POST", parts.path + (("?" + parts.query) if parts.query else ""), body=body,
                     headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


def write_demo_config(fake, path, plugin_dir, plugins, api_key):
    """A complete switchboard configuration pointing at @fake, for a local demo."""
    lines = ["# written by tests/fake_intercom/fake_intercom.py: a demo against the fake Intercom",
             'server: { listen = "127.0.0.1:8080"; public_url = "http://127.0.0.1:8080"; };',
             'storage: { path = "demo.db"; };',
             'security: { key_file = "demo-secret.key"; admin_token_file = "demo-admin.token"; };',
             "intercom: {",
             f'  oauth_url = "{fake.oauth_url}";',
             f'  token_url = "{fake.token_url}";',
             "  api_url = { " + " ".join(f'{r} = "{fake.base_url(r)}";' for r in REGIONS) + " };",
             "};",
             f'plugin_dir = "{plugin_dir}";',
             "plugins: {"]
    for name in plugins:
        lines.append(f'  {name}: {{ client_id = "{fake.client_id}"; '
                     f'client_secret = "{fake.client_secret}"; api_key = "{api_key}"; }};')
    lines.append("};")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    """A fake Intercom for a local demo: one workspace that approves every install."""
    import argparse
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser(description="A fake Intercom for a local Switchboard demo.")
    ap.add_argument("--client-id", default="demo-client")
    ap.add_argument("--client-secret", default="demo-secret")
    ap.add_argument("--workspace", default="demo1")
    ap.add_argument("--conversations", type=int, default=5, help="conversations seeded at start")
    ap.add_argument("--switchboard", default="http://127.0.0.1:8080",
                    help="where /_demo/conversations sends its webhooks")
    ap.add_argument("--plugin-dir", default=os.path.join(root, "build", "plugins"))
    ap.add_argument("--write-config", metavar="FILE",
                    help="write a switchboard configuration for this fake (and FILE's folder/"
                         "demo.fake-url with the fake's address)")
    args = ap.parse_args()
    plugins = sorted(f[:-3] for f in os.listdir(args.plugin_dir) if f.endswith(".so")) \
        if os.path.isdir(args.plugin_dir) else []
    fake = FakeIntercom(args.client_id, args.client_secret).start()
    fake.add_workspace(args.workspace, "Demo workspace", "US")
    fake.seed_conversations(args.workspace, args.conversations)

    def demo_conversation(req):
        # POST /_demo/conversations {"text": ...}: a customer writes; every plugin hears of it.
        text = (req.object().get("text") or "Hello, I need help").strip()
        conv = fake.create_conversation(args.workspace, text)
        sent = {}
        for name in plugins:
            status, _, body = fake.send_webhook(f"{args.switchboard}/webhooks/{name}",
                                                "conversation.user.created", args.workspace, conv)
            sent[name] = {"status": status, "answer": body.decode(errors="replace")}
        return Reply(201, {"conversation_id": conv["id"], "webhooks": sent})

    fake.control = demo_conversation
    fake.authorize_as(args.workspace)
    print(f"fake Intercom: {fake.base_url('US')} (EU {fake.base_url('EU')}, AU {fake.base_url('AU')})")
    if args.write_config:
        write_demo_config(fake, args.write_config, args.plugin_dir, plugins, "demo-api-key")
        folder = os.path.dirname(os.path.abspath(args.write_config))
        with open(os.path.join(folder, "demo.fake-url"), "w") as f:
            f.write(fake.base_url("US") + "\n")
        print(f"configuration written to {args.write_config}: ./build/switchboard -c {args.write_config}")
    print(f"every authorization is approved for workspace {args.workspace}; Ctrl-C stops", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
