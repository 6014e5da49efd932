#!/usr/bin/env python3
"""Write the seed corpora under tests/fuzz/corpus/<target>/ (committed with this script).

Webhook and Canvas Kit seeds are built by the fake Intercom's own payload
builders (tests/fake_intercom), for the workspace the fuzz server has
installed (ws_fuzz); the other targets get hand-written requests. Clock and
random ids are pinned so that running it again writes the same files.

    python3 tests/fuzz/make_corpus.py
"""

import hashlib
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "fake_intercom"))

NOW = 1767225600  # 2026-01-01T00:00:00Z
time.time = lambda: float(NOW)
_rng = random.Random(10)
os.urandom = _rng.randbytes  # the fake's ids

import fake_intercom  # noqa: E402  (after the clock is pinned)
import model  # noqa: E402

WORKSPACE = "ws_fuzz"  # tests/fuzz/server_harness.h: FUZZ_WORKSPACE


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def intercom_payloads():
    fake = fake_intercom.FakeIntercom("fuzz-client", "fuzz-client-secret")
    fake.add_workspace(WORKSPACE, "Fuzz workspace")
    contact = fake.seed_contacts(WORKSPACE, 1)[0]
    convs = [fake.create_conversation(WORKSPACE, text, contact=contact)
             for text in ("Checkout fails with 502 since 10:00", "Password reset mail never arrives")]
    fake.add_user_reply(WORKSPACE, convs[0]["id"], "Still broken, order 4411")
    webhooks = [
        fake.webhook_body("conversation.user.created", WORKSPACE, convs[0], notification_id="notif_1",
                          created_at=NOW),
        fake.webhook_body("conversation.user.replied", WORKSPACE, convs[0], notification_id="notif_2",
                          created_at=NOW),
        fake.webhook_body("conversation.admin.closed", WORKSPACE, {"type": "conversation", "id": "7"},
                          notification_id="notif_3", created_at=NOW),
        fake.webhook_body("contact.user.created", WORKSPACE, contact, notification_id="notif_4",
                          created_at=NOW),
        fake.webhook_body("conversation.user.created", "ws_other", {"type": "conversation", "id": "1"},
                          notification_id="notif_5", created_at=NOW),
        {"type": "notification_event", "app_id": WORKSPACE, "topic": "ping", "id": "notif_ping",
         "data": {"type": "notification_event_data", "item": {"type": "ping", "message": "hi"}}},
    ]
    canvases = [
        fake.inbox_canvas_body(WORKSPACE, convs[0]["id"]),
        fake.inbox_canvas_body(WORKSPACE, convs[1]["id"], component_id="go",
                               input_values={"note": "looks like the payment gateway"},
                               current_canvas={"content": {"components": []}}),
        {"app_id": WORKSPACE, "context": {"conversation_id": 7, "location": "conversation"}},
        {"workspace_id": "ws_other", "conversation": {"id": "1"}},
    ]
    return [compact(w) for w in webhooks], [compact(c) for c in canvases]


# A json_stream input: the array's path as an index into fuzz_json_stream.c's table (+128:
# tight bounds), the element at which the callback stops (255: never), a seed for the
# chunk cuts, then the body.
STREAM_PATHS = {"conversation_parts.conversation_parts": 0, "conversations": 1, "a": 2, "a.b": 3,
                "data": 4, None: 5}


def stream_input(path, body, stop=255, seed=7, tight=False):
    return bytes([STREAM_PATHS[path] | (0x80 if tight else 0), stop, seed]) + body


def intercom_answers():
    """Answers the host reads as a stream: a conversation with its parts, a page of conversations."""
    fake = fake_intercom.FakeIntercom("fuzz-client", "fuzz-client-secret")
    fake.add_workspace(WORKSPACE, "Fuzz workspace")
    ws = fake.workspace(WORKSPACE)
    contact = fake.seed_contacts(WORKSPACE, 1)[0]
    conv = fake.create_conversation(WORKSPACE, "Charged twice for order 4411", contact=contact)
    fake.add_user_reply(WORKSPACE, conv["id"], 'Receipt says {"amount": [12, 12]} \\o/ caf\u00e9 \U0001F600')
    fake.touch_conversation(WORKSPACE, conv["id"])
    fake.close_conversation(WORKSPACE, conv["id"])
    fake.create_conversation(WORKSPACE, "Password reset mail never arrives", contact=contact)
    view = compact(ws.get_view(ws.conversation(conv["id"])))
    listed = [ws.list_view(c) for c in ws.conversations.values()]
    page = compact({"type": "conversation.list", "conversations": listed, "total_count": len(listed),
                    "pages": {"type": "pages", "page": 1, "per_page": 150, "total_pages": 1}})
    path = "conversation_parts.conversation_parts"
    return [stream_input(path, view), stream_input(path, view, stop=1, seed=200),
            stream_input(path, view, tight=True), stream_input(None, view),
            stream_input(path, json.dumps(json.loads(view), indent=1).encode(), seed=3),
            stream_input("conversations", page), stream_input("data", page),
            stream_input("a", b'{"a":["]}\\"",{"a":[1,-2.5e3,true,null]},[[]]],"b":{"a":[]}}'),
            stream_input("a.b", b'{"a":{"b":[{}],"c":"\\u0062"},"a\\u0000x":1}'),
            stream_input("a", b'{"a":[1,2'), stream_input("a", b"null")]


# json_scan inputs, besides the webhook bodies: what intake's scanner must read as json-c does
# (escaped, repeated and NUL-cut member names, every kind of value, spacing) or refuse alike.
SCAN_BODIES = [
    b' {\n  "topic" : "ping" ,\r\n\t"id":null, "created_at" : -12 ,"data":{ "item" : { "id" : 7 } } }\n',
    b'{"\\u0074opic":"a","d\\u0061ta":{"it\\u0065m":{"\\u0069d":"\\uD83D\\uDE00 \\u00e9\\n"}}}',
    b'{"topic":"a","topic\\u0000x":"b","id":"x\\u0000y","app_id":"\\uDE00\\uD83D"}',
    b'{"data":{"item":{"id":1}},"data":[]}',
    b'{"data":{"item":{"id":1},"item":{"type":"x"}},"created_at":1.5e3,"id":true,"app_id":{}}',
    b'{"created_at":99999999999999999999,"data":{"item":{"id":-0,"x":[{"id":2}]},"id":3}}',
    b'[{"topic":"x"}]', b'"topic"', b'null', b' 12 ', b'false',
    b'{"data":{"item":' + b'[' * 62 + b']' * 62 + b'}}',
    b'{"data":{"item":{"id":01}}}', b'{"topic":"a" "id":"b"}', b'{"data":{"item":{"id":"\\x"}}}',
]


HTTP_REQUESTS = [
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /query?a=1&b=%20x&c&=d&e=%zz&f=a+b HTTP/1.1\r\nHost: a\r\nX-Request-Id: abc-123\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nTrailer: 1\r\n\r\n",
    b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /query?x=1 HTTP/1.1\r\nHost: a\r\n\r\nHEAD /b HTTP/1.1\r\nHost: a\r\n\r\n",
    b"HEAD /status?code=404 HTTP/1.1\r\nHost: a\r\n\r\nGET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"PUT /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    b"GET /redirect?to=%2Fhome%3Fx%3D1 HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /redirect?to=%0d%0aSet-Cookie:%20x HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /status?code=413 HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /error/x?y=z HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /defer HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nokGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\nx\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 99999\r\n\r\n",
    b"GET / HTTP/1.1\nHost: a\n\n",
    b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
    b"GET /%00x HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n",
    b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
    b"G\xc3T / HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\nHost: a\r\n\r\n",
]

OAUTH_QUERIES = [
    b"state=STATE&code=abc123",
    b"code=a%2Bb+c%3D%3D&state=STATE",
    b"state=STATE&error=access_denied&error_description=The+user+said+no",
    b"state=STATE",
    b"state=STATE&code=",
    b"state=bogus.123&code=x",
    b"code=x",
    b"state=STATE&state=STATE&code=1",
    b"error=access_denied",
    b"",
]

ADMIN_REQUESTS = [
    b"GET /plugins",
    b"GET /plugins/testplug",
    b"GET /installations?plugin=testplug&state=active",
    b"GET /installations/1",
    b"GET /installations/1/settings",
    b'PUT /installations/1/settings\n{"event_mode":"retry","label":"x","tags":["a","b"],"tick_interval_s":60}',
    b'PUT /installations/1/settings\n{"event_mode":"nope","tick_interval_s":0,"unknown":1,"endpoint_key":"s"}',
    b"PUT /installations/1/settings\n[1,2]",
    b'PUT /installations/1/settings\n{"label":"a"} trailing',
    b"GET /jobs?state=dead&plugin=testplug&installation=1&before=9999999999999&limit=5",
    b"GET /jobs/dead",
    b"GET /jobs/1",
    b"POST /jobs/1/replay",
    b"GET /schedules",
    b"GET /events?plugin=testplug&installation=1&topic=conversation.user.created&body=1",
    b"GET /events/1",
    b"GET /audit?plugin=testplug&installation=1&subject=x",
    b"DELETE /installations/1",
    b"GET /nowhere/%2e%2e/%00",
]

PRODUCT_REQUESTS = [
    b"GET /docs/events?workspace_id=ws_fuzz&limit=5&reverse=1",
    b"GET /docs/installs?workspace_id=ws_fuzz&from=a&to=z",
    b'POST /jobs?workspace_id=ws_fuzz\n{"type":"work","key":"k1","payload":{"outcome":"retry"},"delay_s":0}',
    b'POST /jobs?workspace_id=ws_fuzz\n{"payload":{"outcome":"fail"}}',
    b'POST /jobs\n{"type":"work"}',
    b"GET /settings?workspace_id=ws_fuzz",
    b"GET /audit?workspace_id=ws_fuzz",
    b"GET /public/ping",
    b'POST /fail?workspace_id=ws_fuzz\n{}',
    b'POST /intercom?workspace_id=ws_fuzz\n{"method":"GET","path":"/me","retry_safe":true}',
    b'POST /paginate?workspace_id=ws_fuzz\n{"method":"GET","path":"/contacts","starting_after":"x"}',
    b"POST /jobs?workspace_id=ws_fuzz\nnot json",
    b"GET /docs/events?workspace_id=nobody",
    b"PATCH /settings?workspace_id=ws_fuzz",
]

CONFIGS = [
    (HERE.parent.parent / "etc" / "switchboard.conf").read_bytes(),
    b'server: { listen = "127.0.0.1:0"; public_url = "http://127.0.0.1:8080"; max_body_bytes = 65536;\n'
    b'  max_connections = 8; header_timeout_s = 1; canvas_deadline_ms = 200; };\n'
    b'log: { level = "warn"; access = false; };\n'
    b'storage: { path = "data/x.db"; job_retention_days = 3; };\n'
    b'security: { key_file = "data/k"; admin_token_env = "ADMIN"; oauth_state_ttl_s = 60; };\n'
    b'intercom: { version = "2.14"; api_url = { US = "http://a"; EU = "http://b"; AU = "http://c"; };\n'
    b'  max_attempts = 2; retry_base_ms = 10; retry_cap_ms = 100; appstore_redirect_url = "http://x"; };\n'
    b'jobs: { max_attempts = 3; backoff_base_s = 1; backoff_cap_s = 2; pending_timeout_s = 5; };\n'
    b'plugin_dir = "plugins";\n'
    b'plugins: { testplug: { client_id = "id"; client_secret = "s"; api_key_env = "KEY";\n'
    b'  settings: { event_mode = "ok"; tags = ["a", "b"]; tick_interval_s = 5; };\n'
    b'  options: { reject = false; list = [1, 2]; nested: { x = 1.5; }; }; };\n'
    b'  other: { enabled = false; path = "other.so"; }; };\n',
    b'plugins: { p: { @include "plugin.conf" }; };\n',
    b'plugins: { p: { client_id = "id"; client_secret_file = "secret.txt"; api_key_file = "missing"; }; };\n',
    b'server: { max_body_byte = 10; listen = "nohost"; };\nstroage: { };\nlog: { level = "chatty"; };\n',
    b'plugins: { p: { client_id = "id"; client_secret = ""; }; q: { client_secret_env = ""; }; };\n',
    b'server = 1;\nplugins = ( 1, "a" );\n',
    b'intercom: { api_url = { US = "http://a"; XX = "y"; }; max_in_flight = 99999999999; };\n',
]


def write(target, items):
    folder = HERE / "corpus" / target
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for data in items:
        (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)
    print(f"{target}: {len(items)} seeds")


def main():
    webhooks, canvases = intercom_payloads()
    write("webhook", webhooks + [b"{}", b'{"topic":"ping"}', b"[]", webhooks[0] + b" {}"])
    write("canvas", canvases + [b"{}", canvases[0] + b"x"])
    # The first byte of an http_request input picks the split of the two writes.
    write("http_request", [bytes([split]) + r for r in HTTP_REQUESTS for split in (0, 97)])
    write("oauth_callback", OAUTH_QUERIES)
    write("admin_api", ADMIN_REQUESTS)
    write("product_api", PRODUCT_REQUESTS)
    write("config_load", CONFIGS)
    write("json_stream", intercom_answers())
    write("json_scan", webhooks + SCAN_BODIES)


if __name__ == "__main__":
    main()
