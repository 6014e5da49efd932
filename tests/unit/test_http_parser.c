/*
 * Unit tests: http_parser.c, driven with plain strings (no socket): what it
 * takes from a request, the framing rules of RFC 9112 with the status and
 * reason of each refusal, limits, pipelining, and the same verdict whatever
 * way the bytes are split between reads.
 */
#include "http_parser.h"
#include "unit.h"
#include "util.h"

#include <event2/buffer.h>

#define MAX_HEAD 2048
#define MAX_BODY 4096

static const char *const HOST = "Host: x\r\n";

/* Read one request from @p in (HEAD is not an end: read on); returns the last result. */
static enum http_parse read_request(struct http_parser *p, struct evbuffer *in)
{
    enum http_parse rc;
    while ((rc = http_parser_read(p, in)) == HTTP_PARSE_HEAD)
        ;
    return rc;
}

/* Parse @p len bytes given in one read; *left gets what stays in the buffer (may be NULL). */
static enum http_parse parse_bytes(struct http_parser *p, const char *raw, size_t len,
                                   size_t *left)
{
    struct evbuffer *in = evbuffer_new();
    evbuffer_add(in, raw, len);
    http_parser_init(p, MAX_HEAD, MAX_BODY);
    enum http_parse rc = read_request(p, in);
    if (left)
        *left = evbuffer_get_length(in);
    evbuffer_free(in);
    return rc;
}

static enum http_parse parse(struct http_parser *p, const char *raw)
{
    return parse_bytes(p, raw, strlen(raw), NULL);
}

/* The verdict on @p raw: "ok", "more" (waiting for bytes) or "<status> <reason>". */
static char verdict_text[256];

static const char *verdict(const char *raw)
{
    struct http_parser p;
    enum http_parse rc = parse(&p, raw);
    if (rc == HTTP_PARSE_DONE)
        snprintf(verdict_text, sizeof verdict_text, "ok");
    else if (rc == HTTP_PARSE_REFUSED)
        snprintf(verdict_text, sizeof verdict_text, "%d %s", p.status, p.refusal);
    else
        snprintf(verdict_text, sizeof verdict_text, "more");
    http_parser_release(&p);
    return verdict_text;
}

/* A POST with these fields (each ending in CRLF) and this body. */
static char *post(const char *fields, const char *body)
{
    return xasprintf("POST /in HTTP/1.1\r\n%s%s\r\n%s", HOST, fields, body);
}

static char *chunked(const char *body)
{
    return post("Transfer-Encoding: chunked\r\n", body);
}

/* ---- what a request yields ---- */

static void a_get_yields_its_parts(void)
{
    struct http_parser p;
    size_t left;
    const char *raw = "GET /a/b%20c?x=1&y HTTP/1.1\r\nHost: example.com:8080\r\n"
                      "X-Empty:\r\nX-Pad: \t padded \t\r\nCONNECTION: keep-alive\r\n\r\n";
    CHECK_INT(parse_bytes(&p, raw, strlen(raw), &left), HTTP_PARSE_DONE);
    CHECK_INT(left, 0);
    CHECK_STR(p.method, "GET");
    CHECK_STR(p.path, "/a/b%20c"); /* raw: decoding is the caller's */
    CHECK_STR(p.query, "x=1&y");
    CHECK_INT(p.minor_version, 1);
    CHECK_INT(p.n_fields, 4);
    CHECK_STR(http_parser_field(&p, "host"), "example.com:8080");
    CHECK_STR(http_parser_field(&p, "x-empty"), "");
    CHECK_STR(http_parser_field(&p, "X-Pad"), "padded");
    CHECK(http_parser_field(&p, "X-Absent") == NULL);
    CHECK(p.keep_alive);
    CHECK_INT(p.content_length, 0);
    CHECK_INT(p.body_len, 0);
    CHECK(p.body == NULL);
    CHECK(!p.absolute_form);
    CHECK_INT(p.status, 0);
    http_parser_release(&p);
}

static void the_head_is_reported_before_the_body(void)
{
    struct http_parser p;
    http_parser_init(&p, MAX_HEAD, MAX_BODY);
    struct evbuffer *in = evbuffer_new();
    evbuffer_add_printf(in, "POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                            "Expect: 100-continue\r\n\r\nhe");
    CHECK_INT(http_parser_read(&p, in), HTTP_PARSE_HEAD);
    CHECK_STR(http_parser_field(&p, "Expect"), "100-continue");
    CHECK_INT(p.content_length, 5);
    CHECK_INT(http_parser_read(&p, in), HTTP_PARSE_MORE);
    CHECK_INT(evbuffer_get_length(in), 0); /* the body's bytes went into the body */
    evbuffer_add_printf(in, "llo");
    CHECK_INT(http_parser_read(&p, in), HTTP_PARSE_DONE);
    CHECK_STR(p.body, "hello");
    CHECK_INT(p.body_len, 5);
    /* Done is done: nothing more is read. */
    evbuffer_add_printf(in, "GET");
    CHECK_INT(http_parser_read(&p, in), HTTP_PARSE_DONE);
    CHECK_INT(evbuffer_get_length(in), 3);
    evbuffer_free(in);
    http_parser_release(&p);
}

static void keep_alive_follows_the_version_and_connection(void)
{
    struct http_parser p;
    CHECK_INT(parse(&p, "GET / HTTP/1.1\r\nHost: x\r\nConnection: x, Close\r\n\r\n"),
              HTTP_PARSE_DONE);
    CHECK(!p.keep_alive);
    http_parser_release(&p);
    CHECK_INT(parse(&p, "GET / HTTP/1.0\r\n\r\n"), HTTP_PARSE_DONE);
    CHECK_INT(p.minor_version, 0);
    CHECK(!p.keep_alive);
    http_parser_release(&p);
    CHECK_INT(parse(&p, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), HTTP_PARSE_DONE);
    CHECK(p.keep_alive);
    http_parser_release(&p);
    /* A higher minor version is served as 1.1, which needs a Host. */
    CHECK_INT(parse(&p, "GET / HTTP/1.7\r\nHost: x\r\n\r\n"), HTTP_PARSE_DONE);
    CHECK_INT(p.minor_version, 1);
    CHECK(p.keep_alive);
    http_parser_release(&p);
}

static void targets_in_every_form(void)
{
    struct http_parser p;
    CHECK_INT(parse(&p, "GET http://x:80/a?b=1 HTTP/1.1\r\nHost: y\r\n\r\n"), HTTP_PARSE_DONE);
    CHECK(p.absolute_form);
    CHECK_STR(p.path, "/a");
    CHECK_STR(p.query, "b=1");
    http_parser_release(&p);
    CHECK_INT(parse(&p, "GET HTTPS://[::1]?q HTTP/1.1\r\nHost: y\r\n\r\n"), HTTP_PARSE_DONE);
    CHECK_STR(p.path, "/"); /* no path is "/" */
    CHECK_STR(p.query, "q");
    http_parser_release(&p);
    CHECK_INT(parse(&p, "OPTIONS * HTTP/1.1\r\nHost: y\r\n\r\n"), HTTP_PARSE_DONE);
    CHECK_STR(p.path, "*");
    CHECK(p.query == NULL);
    http_parser_release(&p);
    CHECK_STR(verdict("GET * HTTP/1.1\r\nHost: x\r\n\r\n"),
              "400 the asterisk form is for OPTIONS only");
    CHECK_STR(verdict("GET a HTTP/1.1\r\nHost: x\r\n\r\n"),
              "400 the request target must begin with '/'");
    CHECK_STR(verdict("GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n"),
              "400 the request target has a character that must be escaped");
    CHECK_STR(verdict("GET /a%2 HTTP/1.1\r\nHost: x\r\n\r\n"),
              "400 malformed percent-escape in the request target");
    CHECK_STR(verdict("GET http://u@x/ HTTP/1.1\r\nHost: x\r\n\r\n"),
              "400 the absolute-form target has no valid host");
    CHECK_STR(verdict("GET http:///a HTTP/1.1\r\nHost: x\r\n\r\n"),
              "400 the absolute-form target has no valid host");
}

static void empty_lines_before_the_request_line_are_skipped(void)
{
    struct http_parser p;
    size_t left;
    const char *raw = "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK_INT(parse_bytes(&p, raw, strlen(raw), &left), HTTP_PARSE_DONE);
    CHECK_INT(left, 0);
    CHECK_STR(p.path, "/");
    http_parser_release(&p);
    /* Only CRLFs so far: wait. */
    CHECK_INT(parse_bytes(&p, "\r\n\r", 3, &left), HTTP_PARSE_MORE);
    CHECK_INT(left, 1);
    http_parser_release(&p);
}

static void a_refusal_keeps_what_was_read_before_it(void)
{
    struct http_parser p;
    /* The caller logs the method and answers with the client's X-Request-Id. */
    CHECK_INT(parse(&p, "PUT /a HTTP/1.1\r\nX-Request-Id: abc\r\nBad Field\r\n\r\n"),
              HTTP_PARSE_REFUSED);
    CHECK_INT(p.status, 400);
    CHECK_STR(p.refusal, "malformed header field");
    CHECK_STR(p.method, "PUT");
    CHECK_STR(http_parser_field(&p, "X-Request-Id"), "abc");
    http_parser_release(&p);
    /* Nothing parsed: no method. */
    CHECK_INT(parse(&p, "GET /\nHost: x\r\n\r\n"), HTTP_PARSE_REFUSED);
    CHECK(p.method == NULL);
    http_parser_release(&p);
}

/* ---- the request line and the head's bytes ---- */

static void malformed_request_lines_are_refused(void)
{
    CHECK_STR(verdict("GARBAGE\r\n\r\n"), "400 malformed request line");
    CHECK_STR(verdict("GET  / HTTP/1.1\r\nHost: x\r\n\r\n"), "400 malformed request line");
    CHECK_STR(verdict("GET / HTTP/1.1 \r\nHost: x\r\n\r\n"), "400 malformed request line");
    CHECK_STR(verdict("GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n"), "400 malformed request line");
    CHECK_STR(verdict(" / HTTP/1.1\r\nHost: x\r\n\r\n"), "400 malformed request line");
    CHECK_STR(verdict("G(T / HTTP/1.1\r\nHost: x\r\n\r\n"), "400 malformed method");
    CHECK_STR(verdict("GET / http/1.1\r\nHost: x\r\n\r\n"), "400 malformed HTTP version");
    CHECK_STR(verdict("GET / HTTP/1.10\r\nHost: x\r\n\r\n"), "400 malformed HTTP version");
    CHECK_STR(verdict("GET / HTTP/2.0\r\nHost: x\r\n\r\n"), "505 only HTTP/1.x is served here");
}

static void line_endings_and_control_bytes_are_refused(void)
{
    CHECK_STR(verdict("GET / HTTP/1.1\nHost: x\n\n"), "400 bare LF in the request head");
    CHECK_STR(verdict("GET / HTTP/1.1\r\nHost: x\r\n\n"), "400 bare LF in the request head");
    CHECK_STR(verdict("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n"),
              "400 bare CR in the request head");
    CHECK_STR(verdict("GET / HTTP/1.1\r\nHost: x\r\nX-A: \x1b[31m\r\n\r\n"),
              "400 control byte in the request head");
    CHECK_STR(verdict("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7f\r\n\r\n"),
              "400 control byte in the request head");
    /* A NUL, which a C string would hide. */
    struct http_parser p;
    static const char nul[] = "GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK_INT(parse_bytes(&p, nul, sizeof nul - 1, NULL), HTTP_PARSE_REFUSED);
    CHECK_STR(p.refusal, "control byte in the request head");
    http_parser_release(&p);
    /* obs-text is allowed in a value. */
    CHECK_STR(verdict("GET / HTTP/1.1\r\nHost: x\r\nX-Name: caf\xc3\xa9 \xff\r\n\r\n"), "ok");
}

static void header_fields_follow_the_rules(void)
{
    CHECK_STR(verdict("GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n"),
              "400 obsolete line folding in a header field");
    CHECK_STR(verdict("GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n\ttwo\r\n\r\n"),
              "400 obsolete line folding in a header field");
    CHECK_STR(verdict("GET / HTTP/1.1\r\nHost : x\r\n\r\n"), "400 malformed header field name");
    CHECK_STR(verdict("GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n"), "400 malformed header field");
    CHECK_STR(verdict("GET / HTTP/1.1\r\n\r\n"),
              "400 an HTTP/1.1 request needs a Host header field");
    CHECK_STR(verdict("GET / HTTP/1.1\r\nHost: x\r\nhost: x\r\n\r\n"),
              "400 more than one Host header field");
    CHECK_STR(verdict("GET / HTTP/1.0\r\nHost: x\r\nHost: x\r\n\r\n"),
              "400 more than one Host header field");
    CHECK_STR(verdict("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), "400 malformed Host header field");
    CHECK_STR(verdict("GET / HTTP/1.1\r\nHost: x:80a\r\n\r\n"), "400 malformed Host header field");
    CHECK_STR(verdict("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n"), "400 malformed Host header field");
    CHECK_STR(verdict("GET / HTTP/1.1\r\nHost:\r\n\r\n"), "ok");
    CHECK_STR(verdict("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), "ok");
}

/* ---- limits ---- */

static void the_head_and_its_fields_are_bounded(void)
{
    /*
     * The limit counts the head up to its last CR: a head one byte longer
     * than max_head_bytes (its final LF) is read, one more is 431.
     */
    struct buf b;
    buf_init(&b);
    buf_puts(&b, "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ");
    while (b.len < MAX_HEAD + 1 - 4)
        buf_putc(&b, 'a');
    buf_puts(&b, "\r\n\r\n");
    CHECK_INT(b.len, MAX_HEAD + 1);
    CHECK_STR(verdict(b.data), "ok");
    b.len -= 4;
    buf_puts(&b, "a\r\n\r\n");
    CHECK_STR(verdict(b.data), "431 the request head exceeds the server's limit");
    /* Without its end, a head is refused as soon as it is over the limit. */
    b.len = MAX_HEAD - 4;
    b.data[b.len] = '\0';
    CHECK_STR(verdict(b.data), "more");
    buf_puts(&b, "aaaa");
    CHECK_STR(verdict(b.data), "more");
    buf_putc(&b, 'a');
    CHECK_STR(verdict(b.data), "431 the request head exceeds the server's limit");
    buf_free(&b);

    /* 100 fields are read, 101 are too many. */
    buf_init(&b);
    buf_puts(&b, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 1; i < HTTP_MAX_FIELDS; i++)
        buf_printf(&b, "X%d:\r\n", i);
    buf_puts(&b, "\r\n");
    CHECK_STR(verdict(b.data), "ok");
    b.len -= 2;
    buf_puts(&b, "Y:\r\n\r\n");
    CHECK_STR(verdict(b.data), "431 too many header fields");
    buf_free(&b);
}

/* ---- body framing ---- */

static void content_length_frames_the_body(void)
{
    struct http_parser p;
    size_t left;
    char *raw = post("Content-Length: 0005\r\n", "hello, and more");
    CHECK_INT(parse_bytes(&p, raw, strlen(raw), &left), HTTP_PARSE_DONE);
    CHECK_STR(p.body, "hello");
    CHECK_INT(left, 10); /* the rest belongs to the next request */
    http_parser_release(&p);
    free(raw);

    /* Identical duplicates are one; different ones are refused. */
    raw = post("Content-Length: 5\r\nContent-Length: 5\r\n", "hello");
    CHECK_STR(verdict(raw), "ok");
    free(raw);
    raw = post("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!");
    CHECK_STR(verdict(raw), "400 conflicting Content-Length fields");
    free(raw);
    raw = post("Content-Length: 5\r\ncontent-length: 05\r\n", "hello");
    CHECK_STR(verdict(raw), "400 conflicting Content-Length fields");
    free(raw);

    const char *malformed[] = {"-1", "+5", "0x5", "5, 5", "5 5", "", "5a"};
    for (size_t i = 0; i < ARRAY_LEN(malformed); i++) {
        char *fields = xasprintf("Content-Length: %s\r\n", malformed[i]);
        raw = post(fields, "hello");
        CHECK_STR(verdict(raw), "400 malformed Content-Length");
        free(raw);
        free(fields);
    }

    raw = post("Content-Length: 4096\r\n", "");
    CHECK_STR(verdict(raw), "more"); /* at the limit: read */
    free(raw);
    raw = post("Content-Length: 4097\r\n", "");
    CHECK_STR(verdict(raw), "413 the request body exceeds the server's limit");
    free(raw);
    raw = post("Content-Length: 99999999999999999999999\r\n", "");
    CHECK_STR(verdict(raw), "413 the request body exceeds the server's limit");
    free(raw);
}

static void transfer_encoding_is_a_single_chunked(void)
{
    char *raw;
    /* Both framings, in either order: the smuggling vector. */
    raw = post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n");
    CHECK_STR(verdict(raw), "400 both Transfer-Encoding and Content-Length");
    free(raw);
    raw = post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n");
    CHECK_STR(verdict(raw), "400 both Transfer-Encoding and Content-Length");
    free(raw);
    raw = post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n");
    CHECK_STR(verdict(raw), "400 more than one Transfer-Encoding header field");
    free(raw);
    const char *codings[] = {"gzip, chunked", "chunked, gzip", "chunked, chunked", "identity",
                             "chunked;q=1"};
    for (size_t i = 0; i < ARRAY_LEN(codings); i++) {
        char *fields = xasprintf("Transfer-Encoding: %s\r\n", codings[i]);
        raw = post(fields, "0\r\n\r\n");
        CHECK_STR(verdict(raw), "400 the only Transfer-Encoding served is a single chunked");
        free(raw);
        free(fields);
    }
    CHECK_STR(verdict("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
              "400 Transfer-Encoding in an HTTP/1.0 request");
    raw = post("Transfer-Encoding: Chunked\r\n", "0\r\n\r\n");
    CHECK_STR(verdict(raw), "ok");
    free(raw);
}

static void chunked_bodies_are_decoded(void)
{
    struct http_parser p;
    size_t left;
    char *raw = chunked("5;name=value\r\nhello\r\n000A\r\n, world!!!\r\n1;n=\"a b\"\r\n.\r\n"
                        "0;x\r\nX-Trailer: 1\r\nX-Other: two\r\n\r\nGET");
    CHECK_INT(parse_bytes(&p, raw, strlen(raw), &left), HTTP_PARSE_DONE);
    CHECK_INT(p.content_length, -1);
    CHECK_STR(p.body, "hello, world!!!.");
    CHECK_INT(p.body_len, 16);
    CHECK(http_parser_field(&p, "X-Trailer") == NULL); /* trailers are dropped */
    CHECK_INT(left, 3);
    http_parser_release(&p);
    free(raw);

    raw = chunked("0\r\n\r\n");
    CHECK_INT(parse(&p, raw), HTTP_PARSE_DONE);
    CHECK_INT(p.body_len, 0);
    http_parser_release(&p);
    free(raw);
}

static void bad_chunk_sizes_are_refused(void)
{
    static const struct {
        const char *body;
        const char *verdict;
    } cases[] = {
        {"-1\r\n", "400 malformed chunk size"},
        {"+5\r\nhello\r\n0\r\n\r\n", "400 malformed chunk size"},
        {"0x5\r\nhello\r\n0\r\n\r\n", "400 malformed chunk size"},
        {" 5\r\nhello\r\n0\r\n\r\n", "400 malformed chunk size"},
        {"5 \r\nhello\r\n0\r\n\r\n", "400 malformed chunk size"},
        {"\r\nhello\r\n0\r\n\r\n", "400 malformed chunk size"},
        {"g\r\nhello\r\n0\r\n\r\n", "400 malformed chunk size"},
        {"5 ;x\r\nhello\r\n0\r\n\r\n", "ok"}, /* BWS before an extension */
        {"5;a=\x01\r\nhello\r\n0\r\n\r\n", "400 control byte in a chunk extension"},
        {"5\nhello\r\n0\r\n\r\n", "400 malformed chunked framing"},
        {"5\r\nhello!\r\n0\r\n\r\n", "400 chunk data not followed by CRLF"},
        {"5\r\nhello\n0\r\n\r\n", "400 chunk data not followed by CRLF"},
        {"5\r\nhello\r\n0\r\nno colon here\r\n\r\n", "400 malformed trailer field"},
        {"5\r\nhello\r\n0\r\n: v\r\n\r\n", "400 malformed trailer field"},
        /* Over the limit, however large the number: 413, never an overflow. */
        {"FFFFFFFFFFFFFFFF\r\n", "413 the request body exceeds the server's limit"},
        {"8000000000000000\r\n", "413 the request body exceeds the server's limit"},
        {"10000000000000000000000000\r\n", "413 the request body exceeds the server's limit"},
        {"1001\r\n", "413 the request body exceeds the server's limit"},
        /* A malformed line is 400 before its size is 413. */
        {"FFFFFFFFFFFFFFFFFF x\r\n", "400 malformed chunk size"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char *raw = chunked(cases[i].body);
        const char *got = verdict(raw);
        if (strcmp(got, cases[i].verdict) != 0)
            fprintf(stderr, "chunked body %zu: ", i);
        CHECK_STR(got, cases[i].verdict);
        free(raw);
    }
}

static void chunked_bodies_and_trailers_are_bounded(void)
{
    struct buf body;
    buf_init(&body);
    /* Exactly the limit in one chunk, then any further byte is too many. */
    buf_puts(&body, "1000\r\n");
    for (int i = 0; i < MAX_BODY; i++)
        buf_putc(&body, 'x');
    buf_puts(&body, "\r\n");
    size_t at_limit = body.len;
    buf_puts(&body, "0\r\n\r\n");
    char *raw = chunked(body.data);
    CHECK_STR(verdict(raw), "ok");
    free(raw);
    body.len = at_limit;
    buf_puts(&body, "1\r\nz\r\n0\r\n\r\n");
    raw = chunked(body.data);
    CHECK_STR(verdict(raw), "413 the request body exceeds the server's limit");
    free(raw);
    /* Chunks adding up past the limit. */
    body.len = 0;
    buf_puts(&body, "800\r\n");
    for (int i = 0; i < MAX_BODY / 2; i++)
        buf_putc(&body, 'x');
    buf_puts(&body, "\r\n801\r\n");
    raw = chunked(body.data);
    CHECK_STR(verdict(raw), "413 the request body exceeds the server's limit");
    free(raw);

    /* A size line without its end: refused once it is longer than any we read. */
    body.len = 0;
    buf_puts(&body, "5;");
    for (int i = 0; i < 1100; i++)
        buf_putc(&body, 'e');
    raw = chunked(body.data);
    CHECK_STR(verdict(raw), "400 chunk size line too long");
    free(raw);
    /* The same line complete in one read. */
    buf_puts(&body, "\r\nhello\r\n0\r\n\r\n");
    raw = chunked(body.data);
    CHECK_STR(verdict(raw), "400 malformed chunked framing");
    free(raw);

    /* Trailer lines add up to the head's limit. */
    body.len = 0;
    buf_puts(&body, "0\r\n");
    for (int i = 0; body.len < MAX_HEAD + 16; i++)
        buf_printf(&body, "X-T%d: %s\r\n", i, "0123456789012345678901234567890123456789");
    buf_puts(&body, "\r\n");
    raw = chunked(body.data);
    CHECK_STR(verdict(raw), "431 trailer section too large");
    free(raw);
    buf_free(&body);
}

/* ---- pipelining and splits ---- */

static void two_pipelined_requests_in_one_read(void)
{
    struct evbuffer *in = evbuffer_new();
    evbuffer_add_printf(in, "POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                            "GET /two?z HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    struct http_parser first, second;
    http_parser_init(&first, MAX_HEAD, MAX_BODY);
    CHECK_INT(read_request(&first, in), HTTP_PARSE_DONE);
    CHECK_STR(first.path, "/one");
    CHECK_STR(first.body, "abc");
    CHECK(first.keep_alive);
    http_parser_init(&second, MAX_HEAD, MAX_BODY);
    CHECK_INT(read_request(&second, in), HTTP_PARSE_DONE);
    CHECK_STR(second.path, "/two");
    CHECK_STR(second.query, "z");
    CHECK(!second.keep_alive);
    CHECK_INT(evbuffer_get_length(in), 0);
    /* The first request's strings are its own, still valid. */
    CHECK_STR(first.method, "POST");
    http_parser_release(&first);
    http_parser_release(&second);

    /* A chunked body, then the next request in the same read. */
    evbuffer_add_printf(in, "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "2\r\nab\r\n0\r\n\r\nGET /d HTTP/1.1\r\nHost: x\r\n\r\n");
    http_parser_init(&first, MAX_HEAD, MAX_BODY);
    CHECK_INT(read_request(&first, in), HTTP_PARSE_DONE);
    CHECK_STR(first.body, "ab");
    http_parser_init(&second, MAX_HEAD, MAX_BODY);
    CHECK_INT(read_request(&second, in), HTTP_PARSE_DONE);
    CHECK_STR(second.path, "/d");
    http_parser_release(&first);
    http_parser_release(&second);
    evbuffer_free(in);
}

/* Everything a parse of @p raw decided, as text, for comparing two parses. */
static void describe(struct buf *out, const char *raw, size_t len, size_t split, bool byte_by_byte)
{
    struct evbuffer *in = evbuffer_new();
    size_t given = 0;
    out->len = 0;
    for (int n = 0; n < 3; n++) { /* up to three pipelined requests */
        struct http_parser p;
        http_parser_init(&p, MAX_HEAD, MAX_BODY);
        enum http_parse rc;
        for (;;) {
            rc = read_request(&p, in);
            if (rc != HTTP_PARSE_MORE || given == len)
                break;
            size_t step = byte_by_byte ? 1 : given < split ? split - given : len - given;
            evbuffer_add(in, raw + given, step);
            given += step;
        }
        buf_printf(out, "[%d %d %s] %s %s %s v%d ka%d cl%lld", rc, p.status,
                   p.refusal ? p.refusal : "-", p.method ? p.method : "-",
                   p.path ? p.path : "-", p.query ? p.query : "-", p.minor_version,
                   p.keep_alive, (long long)p.content_length);
        for (int i = 0; i < p.n_fields; i++)
            buf_printf(out, " {%s=%s}", p.fields[i].name, p.fields[i].value);
        buf_printf(out, " body %zu:", p.body_len);
        buf_append(out, p.body ? p.body : "", p.body_len);
        buf_putc(out, '\n');
        http_parser_release(&p);
        if (rc != HTTP_PARSE_DONE)
            break;
    }
    buf_printf(out, "left %zu", evbuffer_get_length(in) + (len - given));
    evbuffer_free(in);
}

static void a_request_split_at_every_byte_gets_the_same_verdict(void)
{
    static const char *const requests[] = {
        "\r\n\r\nGET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-A:  v \r\n\r\n"
        "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody"
        "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3;e=1\r\nabc\r\n0\r\nT: 1\r\n\r\n",
        "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n2\r\nab\r\n0",
        "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\nb\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n one\r\n\r\n",
        "GET / HTTP/2.0\r\nHost: x\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello!\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4097\r\n\r\n",
    };
    struct buf whole, split;
    buf_init(&whole);
    buf_init(&split);
    for (size_t r = 0; r < ARRAY_LEN(requests); r++) {
        const char *raw = requests[r];
        size_t len = strlen(raw);
        describe(&whole, raw, len, len, false);
        for (size_t at = 1; at < len; at++) {
            describe(&split, raw, len, at, false);
            if (strcmp(whole.data, split.data) != 0)
                fprintf(stderr, "request %zu split at %zu:\n", r, at);
            CHECK_STR(split.data, whole.data);
        }
        describe(&split, raw, len, len, true);
        if (strcmp(whole.data, split.data) != 0)
            fprintf(stderr, "request %zu byte by byte:\n", r);
        CHECK_STR(split.data, whole.data);
    }
    /* The verdicts themselves, once. */
    describe(&whole, requests[0], strlen(requests[0]), 0, false);
    CHECK_CONTAINS(whole.data, "[2 0 -] GET /a b=1 v1 ka1 cl0 {Host=x} {X-A=v} body 0:\n");
    CHECK_CONTAINS(whole.data, "POST /p - v1 ka1 cl4 {Host=x} {Content-Length=4} body 4:body\n");
    CHECK_CONTAINS(whole.data, "body 3:abc\nleft 0");
    buf_free(&whole);
    buf_free(&split);
}

/* The longest chunk line read is the same whether its CR and LF come in one read or two. */
static void a_chunk_line_at_its_limit_may_arrive_in_pieces(void)
{
    struct buf body;
    buf_init(&body);
    buf_puts(&body, "5;");
    while (body.len < 1024)
        buf_putc(&body, 'e');
    buf_puts(&body, "\r\nhello\r\n0\r\n\r\n");
    char *raw = chunked(body.data);
    size_t len = strlen(raw);
    size_t lf = (size_t)(strstr(raw, "e\r\nhello") + 2 - raw);
    struct buf whole, split;
    buf_init(&whole);
    buf_init(&split);
    describe(&whole, raw, len, len, false);
    CHECK_CONTAINS(whole.data, "[2 0 -] POST /in");
    describe(&split, raw, len, lf, false);
    CHECK_STR(split.data, whole.data);
    describe(&split, raw, len, len, true);
    CHECK_STR(split.data, whole.data);
    /* One byte longer is refused, in one read or in pieces. */
    body.len = 0;
    buf_puts(&body, "5;");
    while (body.len < 1025)
        buf_putc(&body, 'e');
    buf_puts(&body, "\r\nhello\r\n0\r\n\r\n");
    free(raw);
    raw = chunked(body.data);
    len = strlen(raw);
    describe(&whole, raw, len, len, false);
    CHECK_CONTAINS(whole.data, "[3 400 malformed chunked framing]");
    describe(&split, raw, len, len, true);
    CHECK_CONTAINS(split.data, "[3 400 chunk size line too long]");
    free(raw);
    buf_free(&body);
    buf_free(&whole);
    buf_free(&split);
}

int main(void)
{
    RUN(a_get_yields_its_parts);
    RUN(the_head_is_reported_before_the_body);
    RUN(keep_alive_follows_the_version_and_connection);
    RUN(targets_in_every_form);
    RUN(empty_lines_before_the_request_line_are_skipped);
    RUN(a_refusal_keeps_what_was_read_before_it);
    RUN(malformed_request_lines_are_refused);
    RUN(line_endings_and_control_bytes_are_refused);
    RUN(header_fields_follow_the_rules);
    RUN(the_head_and_its_fields_are_bounded);
    RUN(content_length_frames_the_body);
    RUN(transfer_encoding_is_a_single_chunked);
    RUN(chunked_bodies_are_decoded);
    RUN(bad_chunk_sizes_are_refused);
    RUN(chunked_bodies_and_trailers_are_bounded);
    RUN(two_pipelined_requests_in_one_read);
    RUN(a_request_split_at_every_byte_gets_the_same_verdict);
    RUN(a_chunk_line_at_its_limit_may_arrive_in_pieces);
    UNIT_DONE();
}
