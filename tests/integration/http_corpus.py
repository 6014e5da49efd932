"""The HTTP framing corpus: odd-but-legal requests Switchboard must serve and
illegal ones it must refuse (RFC 9112; RFC 9110 for fields), each with its
verdict. Used by test_http_framing.py against Switchboard and against Node.js's
parser. Limits assumed: max_body_bytes = 4096.
"""

from collections import namedtuple

Case = namedtuple("Case", "name raw expect status")

# Sent after every request that must be served: if it is answered too, the
# first request's body was framed exactly.
FOLLOW_UP = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

H = b"Host: x\r\n"


def ok(name, raw, status=None):
    return Case(name, raw, "accept", status)


def bad(name, raw, status=400):
    return Case(name, raw, status, None)


def post(fields: bytes, body: bytes = b"", target=b"/healthz"):
    return b"POST " + target + b" HTTP/1.1\r\n" + H + fields + b"\r\n" + body


def chunked(body: bytes):
    return post(b"Transfer-Encoding: chunked\r\n", body)


CORPUS = [
    # --- odd but legal: served ---
    ok("plain GET", b"GET /healthz HTTP/1.1\r\n" + H + b"\r\n", 200),
    ok("HTTP/1.0 without Host", b"GET /healthz HTTP/1.0\r\n\r\n", 200),
    ok("HTTP/1.0 keep-alive", b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200),
    ok("empty lines before the request line", b"\r\n\r\nGET /healthz HTTP/1.1\r\n" + H + b"\r\n", 200),
    ok("absolute-form target", b"GET http://x/healthz HTTP/1.1\r\n" + H + b"\r\n", 200),
    ok("absolute-form https with query", b"GET https://x:8443/healthz?a=1 HTTP/1.1\r\n" + H + b"\r\n", 200),
    # No path is "/", the web console's page.
    ok("absolute-form without path", b"GET http://x HTTP/1.1\r\n" + H + b"\r\n", 200),
    ok("absolute-form with only a query", b"GET http://x?a=1 HTTP/1.1\r\n" + H + b"\r\n", 200),
    ok("absolute-form with an IPv6 host", b"GET http://[::1]:8080/healthz HTTP/1.1\r\n" + H + b"\r\n", 200),
    ok("higher minor version served as 1.1", b"GET /healthz HTTP/1.2\r\n" + H + b"\r\n", 200),
    ok("field name case", b"GET /healthz HTTP/1.1\r\nhOsT: x\r\n\r\n", 200),
    ok("optional whitespace around a value", b"GET /healthz HTTP/1.1\r\nHost: \t x \t\r\n\r\n", 200),
    ok("no whitespace after the colon", b"GET /healthz HTTP/1.1\r\nHost:x\r\n\r\n", 200),
    ok("empty field value", b"GET /healthz HTTP/1.1\r\n" + H + b"X-Empty:\r\n\r\n", 200),
    ok("empty Host", b"GET /healthz HTTP/1.1\r\nHost:\r\n\r\n", 200),
    ok("Host with port", b"GET /healthz HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", 200),
    ok("Host as IPv6 literal", b"GET /healthz HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", 200),
    ok("obs-text in a field value", b"GET /healthz HTTP/1.1\r\n" + H + b"X-Name: caf\xc3\xa9 \xff\r\n\r\n", 200),
    ok("percent-escaped path", b"GET /heal%74hz HTTP/1.1\r\n" + H + b"\r\n", 200),
    ok("query with escapes", b"GET /healthz?a=%20b&c&d=%e2%82%ac HTTP/1.1\r\n" + H + b"\r\n", 200),
    ok("sub-delims in path", b"GET /nowhere/a;b=c,d!$&'()*+@: HTTP/1.1\r\n" + H + b"\r\n", 404),
    ok("Connection token list", b"GET /healthz HTTP/1.1\r\n" + H + b"Connection: keep-alive, Upgrade\r\n\r\n", 200),
    ok("Content-Length with leading zeros", post(b"Content-Length: 0005\r\n", b"hello"), 405),
    ok("identical Content-Length fields", post(b"Content-Length: 5\r\nContent-Length: 5\r\n", b"hello"), 405),
    ok("Content-Length zero", post(b"Content-Length: 0\r\n"), 405),
    ok("chunked", chunked(b"5\r\nhello\r\n0\r\n\r\n"), 405),
    ok("chunked, coding name in capitals", post(b"Transfer-Encoding: Chunked\r\n", b"5\r\nhello\r\n0\r\n\r\n"), 405),
    ok("chunked, hex in capitals and leading zeros", chunked(b"000A\r\n0123456789\r\n0\r\n\r\n"), 405),
    ok("chunked with an extension", chunked(b"5;name=value\r\nhello\r\n0;x\r\n\r\n"), 405),
    ok("chunked with a quoted extension", chunked(b'5;n="a b"\r\nhello\r\n0\r\n\r\n'), 405),
    ok("chunked with trailer fields", chunked(b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\nX-Other: two\r\n\r\n"), 405),
    ok("chunked, many small chunks", chunked(b"1\r\na\r\n" * 50 + b"0\r\n\r\n"), 405),
    ok("chunked, empty body", chunked(b"0\r\n\r\n"), 405),
    ok("Expect 100-continue", post(b"Content-Length: 2\r\nExpect: 100-continue\r\n", b"{}"), 405),
    ok("body at the limit", post(b"Content-Length: 4096\r\n", b"x" * 4096), 405),
    ok("chunked body at the limit", chunked(b"1000\r\n" + b"x" * 4096 + b"\r\n0\r\n\r\n"), 405),

    # --- request line ---
    bad("garbage", b"GARBAGE\r\n\r\n"),
    bad("two spaces after the method", b"GET  /healthz HTTP/1.1\r\n" + H + b"\r\n"),
    bad("two spaces before the version", b"GET /healthz  HTTP/1.1\r\n" + H + b"\r\n"),
    bad("space after the version", b"GET /healthz HTTP/1.1 \r\n" + H + b"\r\n"),
    bad("tab as separator", b"GET\t/healthz HTTP/1.1\r\n" + H + b"\r\n"),
    bad("no version", b"GET /healthz\r\n" + H + b"\r\n"),
    bad("version in lower case", b"GET /healthz http/1.1\r\n" + H + b"\r\n"),
    bad("two-digit minor version", b"GET /healthz HTTP/1.10\r\n" + H + b"\r\n"),
    bad("HTTP/2.0", b"GET /healthz HTTP/2.0\r\n" + H + b"\r\n", 505),
    bad("method with a non-token byte", b"G(T /healthz HTTP/1.1\r\n" + H + b"\r\n"),
    bad("relative target", b"GET healthz HTTP/1.1\r\n" + H + b"\r\n"),
    bad("asterisk target for GET", b"GET * HTTP/1.1\r\n" + H + b"\r\n"),
    bad("fragment in the target", b"GET /healthz#top HTTP/1.1\r\n" + H + b"\r\n"),
    bad("raw UTF-8 in the target", b"GET /h\xc3\xa9 HTTP/1.1\r\n" + H + b"\r\n"),
    bad("quote in the target", b'GET /a"b HTTP/1.1\r\n' + H + b"\r\n"),
    bad("backslash in the target", b"GET /a\\b HTTP/1.1\r\n" + H + b"\r\n"),
    bad("malformed percent-escape", b"GET /a%zz HTTP/1.1\r\n" + H + b"\r\n"),
    bad("cut percent-escape", b"GET /a%2 HTTP/1.1\r\n" + H + b"\r\n"),
    bad("absolute-form with userinfo", b"GET http://user@x/healthz HTTP/1.1\r\n" + H + b"\r\n"),
    bad("absolute-form without host", b"GET http:///healthz HTTP/1.1\r\n" + H + b"\r\n"),

    # --- line endings and control bytes ---
    bad("bare LF line endings", b"GET /healthz HTTP/1.1\n" + b"Host: x\n\n"),
    bad("bare LF inside the header block", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\nX-B: 2\r\n\r\n"),
    bad("bare LF ending the head", b"GET /healthz HTTP/1.1\r\nHost: x\r\n\n"),
    bad("bare CR in a value", b"GET /healthz HTTP/1.1\r\n" + H + b"X-A: a\rb\r\n\r\n"),
    bad("NUL in a value", b"GET /healthz HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n"),
    bad("NUL in a name", b"GET /healthz HTTP/1.1\r\n" + H + b"X-\x00A: b\r\n\r\n"),
    bad("NUL in the target", b"GET /healthz\x00x HTTP/1.1\r\n" + H + b"\r\n"),
    bad("escape byte in a value", b"GET /healthz HTTP/1.1\r\n" + H + b"X-A: \x1b[31m\r\n\r\n"),
    bad("DEL in a value", b"GET /healthz HTTP/1.1\r\n" + H + b"X-A: a\x7fb\r\n\r\n"),
    bad("vertical tab in a value", b"GET /healthz HTTP/1.1\r\n" + H + b"X-A: a\x0bb\r\n\r\n"),

    # --- field lines ---
    bad("no Host in HTTP/1.1", b"GET /healthz HTTP/1.1\r\n\r\n"),
    bad("two Host fields", b"GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"),
    bad("two Host fields in HTTP/1.0", b"GET /healthz HTTP/1.0\r\nHost: x\r\nHost: x\r\n\r\n"),
    bad("Host with a space", b"GET /healthz HTTP/1.1\r\nHost: a b\r\n\r\n"),
    bad("Host with a path", b"GET /healthz HTTP/1.1\r\nHost: x/y\r\n\r\n"),
    bad("Host with a bad port", b"GET /healthz HTTP/1.1\r\nHost: x:80a\r\n\r\n"),
    bad("space before the colon", b"GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n"),
    bad("field without a colon", b"GET /healthz HTTP/1.1\r\n" + H + b"Bad Header\r\n\r\n"),
    bad("empty field name", b"GET /healthz HTTP/1.1\r\n" + H + b": value\r\n\r\n"),
    bad("obsolete line folding", b"GET /healthz HTTP/1.1\r\n" + H + b"X-A: one\r\n two\r\n\r\n"),
    bad("head over the limit", b"GET /healthz HTTP/1.1\r\n" + H + b"X-A: " + b"a" * 20000 + b"\r\n\r\n", 431),
    bad("too many fields", b"GET /healthz HTTP/1.1\r\n" + H + b"".join(b"X-%d: 1\r\n" % i for i in range(120)) + b"\r\n", 431),

    # --- body framing ---
    bad("two Transfer-Encoding fields", post(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n")),
    bad("gzip before chunked", post(b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n")),
    bad("chunked not last", post(b"Transfer-Encoding: chunked, gzip\r\n", b"0\r\n\r\n")),
    bad("chunked twice in one field", post(b"Transfer-Encoding: chunked, chunked\r\n", b"0\r\n\r\n")),
    bad("identity coding", post(b"Transfer-Encoding: identity\r\n", b"")),
    bad("chunked with a parameter", post(b"Transfer-Encoding: chunked;q=1\r\n", b"0\r\n\r\n")),
    bad("Transfer-Encoding in HTTP/1.0", b"POST /healthz HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    bad("Transfer-Encoding and Content-Length", post(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n")),
    bad("Content-Length and Transfer-Encoding", post(b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", b"0\r\n\r\n")),
    bad("negative Content-Length", post(b"Content-Length: -1\r\n")),
    bad("Content-Length with a sign", post(b"Content-Length: +5\r\n", b"hello")),
    bad("Content-Length in hex", post(b"Content-Length: 0x5\r\n", b"hello")),
    bad("Content-Length list", post(b"Content-Length: 5, 5\r\n", b"hello")),
    bad("Content-Length with inner space", post(b"Content-Length: 5 5\r\n", b"hello")),
    bad("empty Content-Length", post(b"Content-Length:\r\n")),
    bad("conflicting Content-Length fields", post(b"Content-Length: 5\r\nContent-Length: 6\r\n", b"hello!")),
    bad("Content-Length over the limit", post(b"Content-Length: 4097\r\n"), 413),
    bad("Content-Length past int64", post(b"Content-Length: 99999999999999999999999\r\n"), 413),
    bad("chunk size FFFFFFFFFFFFFFFF", chunked(b"FFFFFFFFFFFFFFFF\r\n"), 413),
    bad("chunk size 8000000000000000", chunked(b"8000000000000000\r\n"), 413),
    bad("chunk size just over the limit", chunked(b"1001\r\n"), 413),
    bad("a chunk after a body at the limit", chunked(b"1000\r\n" + b"x" * 4096 + b"\r\n1\r\nz\r\n0\r\n\r\n"), 413),
    bad("chunks adding up past the limit", chunked(b"800\r\n" + b"x" * 2048 + b"\r\n801\r\n"), 413),
    bad("chunk size -1", chunked(b"-1\r\n")),
    bad("chunk size with a sign", chunked(b"+5\r\nhello\r\n0\r\n\r\n")),
    bad("chunk size with 0x", chunked(b"0x5\r\nhello\r\n0\r\n\r\n")),
    bad("chunk size with a leading space", chunked(b" 5\r\nhello\r\n0\r\n\r\n")),
    bad("chunk size with a trailing space", chunked(b"5 \r\nhello\r\n0\r\n\r\n")),
    bad("empty chunk size", chunked(b"\r\nhello\r\n0\r\n\r\n")),
    bad("chunk size not hex", chunked(b"g\r\nhello\r\n0\r\n\r\n")),
    bad("chunk size line ending in bare LF", chunked(b"5\nhello\r\n0\r\n\r\n")),
    bad("chunk data longer than its size", chunked(b"5\r\nhello!\r\n0\r\n\r\n")),
    bad("chunk data without its CRLF", chunked(b"5\r\nhello0\r\n\r\n")),
    bad("chunk data followed by bare LF", chunked(b"5\r\nhello\n0\r\n\r\n")),
    bad("control byte in a chunk extension", chunked(b"5;a=\x01\r\nhello\r\n0\r\n\r\n")),
    bad("malformed trailer field", chunked(b"5\r\nhello\r\n0\r\nno colon here\r\n\r\n")),
]

# Where Node.js's parser (llhttp, Node 20) reaches another verdict, and why ours
# stands. The test also checks that each listed difference still is one.
KNOWN_NODE_DIFFERENCES = {
    "higher minor version served as 1.1": "RFC 9110 2.5: a higher minor version is served as the highest known; llhttp refuses it",
    "identical Content-Length fields": "RFC 9110 8.6 lets a recipient take identical values as one; llhttp refuses",
    "two spaces after the method": "RFC 9112 3: exactly one SP; llhttp is lenient",
    "two spaces before the version": "RFC 9112 3: exactly one SP; llhttp is lenient",
    "no version": "HTTP/0.9 is not served; llhttp takes it as a simple request",
    "HTTP/2.0": "RFC 9110 15.6.6: 505 for a major version we do not speak; llhttp frames it as 1.x",
    "asterisk target for GET": "RFC 9112 3.2.4: the asterisk form is for OPTIONS only",
    "fragment in the target": "RFC 9112 3.2: a fragment is not part of a request target",
    "quote in the target": "RFC 3986: '\"' must be percent-encoded",
    "backslash in the target": "RFC 3986: '\\' must be percent-encoded",
    "malformed percent-escape": "RFC 3986 2.1: '%' takes two hex digits",
    "cut percent-escape": "RFC 3986 2.1: '%' takes two hex digits",
    "absolute-form without host": "RFC 9112 3.2.2: the absolute form names a host",
    "absolute-form with userinfo": "RFC 9110 4.2.4: userinfo in an http URI is an error",
    "two Host fields": "RFC 9112 3.2: more than one Host is 400",
    "two Host fields in HTTP/1.0": "RFC 9112 3.2: more than one Host is 400, in any version",
    "Host with a space": "RFC 9112 3.2: an invalid Host value is 400",
    "Host with a path": "RFC 9112 3.2: an invalid Host value is 400",
    "Host with a bad port": "RFC 9112 3.2: an invalid Host value is 400",
    "too many fields": "our limit is 100 fields, Node's 2000",
    "a chunk after a body at the limit": "Node has no body limit",
    "gzip before chunked": "no coding but chunked is decoded here, so the content cannot be read",
    "Transfer-Encoding in HTTP/1.0": "RFC 9112 6.1: faulty framing in HTTP/1.0",
}
