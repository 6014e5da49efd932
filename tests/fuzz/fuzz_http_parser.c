/*
 * fuzz_http_parser - the HTTP/1.1 request parser alone (http_parser.c), no
 * socket or server around it, so each input runs fast and every decision of
 * the parser can be checked.
 *
 * Input: what fuzz_http_request reads (the two share seeds and regression
 * inputs): byte 0 picks where the bytes are split into two reads (0: one
 * read); the rest is the client's byte stream, parsed as pipelined requests
 * until one is refused or the bytes run out.
 *
 * Checked: every request yielded keeps the parser's promises (a token
 * method, a target from '/', fields trimmed and free of control bytes, one
 * Host in HTTP/1.1, one framing, a NUL-terminated body within the limit and
 * as long as its Content-Length); every refusal is 400, 413, 431 or 505 with
 * a reason; and the bytes read in one piece, in the two reads byte 0 picks,
 * and one byte at a time get the same verdicts, requests and leftover.
 */
#include "http_parser.h"
#include "util.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEAD 2048 /* small, as in fuzz_http_request, so inputs can cross them */
#define MAX_BODY 2048
#define MAX_REQUESTS 16
/* One byte at a time costs a pass over the buffered head per byte: only for inputs this small. */
#define BYTEWISE_MAX 8192

static void fail(const char *what, const struct buf *seen)
{
    fprintf(stderr, "fuzz_http_parser: %s\n%s\n", what, seen ? seen->data : "");
    abort();
}

static bool is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
              || strchr("!#$%&'*+-.^_`|~", *s)))
            return false;
    return true;
}

static bool is_field_value(const char *v)
{
    size_t n = strlen(v);
    if (n && (v[0] == ' ' || v[0] == '\t' || v[n - 1] == ' ' || v[n - 1] == '\t'))
        return false;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return false;
    return true;
}

/* What the parser promises about a request it yielded. */
static void check_request(const struct http_parser *p)
{
    if (!p->method || !is_token(p->method))
        fail("a request without a token method", NULL);
    if (!p->path || (p->path[0] != '/' && !(strcmp(p->path, "*") == 0
                                            && strcmp(p->method, "OPTIONS") == 0)))
        fail("a target neither from '/' nor OPTIONS *", NULL);
    if (strpbrk(p->path, "?# ") || (p->query && strpbrk(p->query, "# ")))
        fail("a target with a character that must be escaped", NULL);
    if (p->minor_version != 0 && p->minor_version != 1)
        fail("a minor version other than 0 or 1", NULL);
    int hosts = 0, lengths = 0, codings = 0;
    for (int i = 0; i < p->n_fields; i++) {
        if (!is_token(p->fields[i].name) || !is_field_value(p->fields[i].value))
            fail("a malformed field was kept", NULL);
        hosts += str_eq_nocase(p->fields[i].name, "Host");
        lengths += str_eq_nocase(p->fields[i].name, "Content-Length");
        codings += str_eq_nocase(p->fields[i].name, "Transfer-Encoding");
    }
    if (hosts > 1 || (p->minor_version == 1 && hosts != 1))
        fail("a request with a Host count RFC 9112 refuses", NULL);
    if ((lengths && codings) || codings > 1 || (codings && p->content_length != -1))
        fail("a request with two framings", NULL);
    if (p->body_len > MAX_BODY || (p->body && p->body[p->body_len] != '\0')
        || (!p->body && p->body_len))
        fail("a body past the limit or not NUL-terminated", NULL);
    if (p->content_length >= 0 && (size_t)p->content_length != p->body_len)
        fail("a body whose length is not its Content-Length", NULL);
}

/*
 * Parse data as pipelined requests, fed in pieces: up to split first, then
 * the rest, or one byte at a time. Everything decided goes into seen.
 */
static void parse_stream(const uint8_t *data, size_t len, size_t split, bool bytewise,
                         struct buf *seen)
{
    struct evbuffer *in = evbuffer_new();
    size_t given = 0;
    enum http_parse last = HTTP_PARSE_MORE;
    seen->len = 0;
    buf_puts(seen, "");
    for (int n = 0; n < MAX_REQUESTS; n++) {
        struct http_parser p;
        http_parser_init(&p, MAX_HEAD, MAX_BODY);
        enum http_parse rc;
        bool heads = false;
        for (;;) {
            rc = http_parser_read(&p, in);
            if (rc == HTTP_PARSE_HEAD) {
                if (heads)
                    fail("the head was reported twice", seen);
                heads = true;
                continue;
            }
            if (rc != HTTP_PARSE_MORE || given == len)
                break;
            size_t step = bytewise ? 1 : given < split ? split - given : len - given;
            evbuffer_add(in, data + given, step);
            given += step;
        }
        if ((rc == HTTP_PARSE_DONE) != (heads && p.stage == HTTP_STAGE_DONE))
            fail("a request done without its head", seen);
        if (rc == HTTP_PARSE_REFUSED) {
            if (!p.refusal || (p.status != 400 && p.status != 413 && p.status != 431
                               && p.status != 505))
                fail("a refusal without a reason or with another status", seen);
            /*
             * A chunk-size or trailer line longer than any read is refused
             * as too long when it arrives in pieces, as malformed when its
             * end comes in the same read: the same 400, worded by what was seen.
             */
            const char *why = p.refusal;
            if (strcmp(why, "chunk size line too long") == 0
                || strcmp(why, "trailer field too long") == 0)
                why = "malformed chunked framing";
            buf_printf(seen, "refused %d %s", p.status, why);
        } else if (rc == HTTP_PARSE_DONE) {
            check_request(&p);
            buf_printf(seen, "%s %s ?%s 1.%d ka%d cl%lld", p.method, p.path,
                       p.query ? p.query : "-", p.minor_version, p.keep_alive,
                       (long long)p.content_length);
            for (int i = 0; i < p.n_fields; i++)
                buf_printf(seen, " [%s: %s]", p.fields[i].name, p.fields[i].value);
            buf_printf(seen, " body %zu ", p.body_len);
            buf_append(seen, p.body ? p.body : "", p.body_len);
        } else {
            buf_printf(seen, "more");
        }
        buf_putc(seen, '\n');
        http_parser_release(&p);
        last = rc;
        if (rc != HTTP_PARSE_DONE)
            break;
    }
    if (last != HTTP_PARSE_REFUSED) /* what a refusal leaves unread is never read */
        buf_printf(seen, "left %zu\n", evbuffer_get_length(in) + (len - given));
    evbuffer_free(in);
}

/* Bodies may hold NUL bytes: compare every byte. */
static bool same(const struct buf *a, const struct buf *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t len = size - 1;
    size_t split = (size_t)data[0] * len / 256;
    struct buf whole, parts;
    buf_init(&whole);
    buf_init(&parts);
    parse_stream(data + 1, len, len, false, &whole);
    if (split > 0) {
        parse_stream(data + 1, len, split, false, &parts);
        if (!same(&whole, &parts)) {
            fprintf(stderr, "in one read:\n%s\n", whole.data);
            fail("two reads give another verdict", &parts);
        }
    }
    if (len <= BYTEWISE_MAX) {
        parse_stream(data + 1, len, len, true, &parts);
        if (!same(&whole, &parts)) {
            fprintf(stderr, "in one read:\n%s\n", whole.data);
            fail("one byte at a time gives another verdict", &parts);
        }
    }
    buf_free(&whole);
    buf_free(&parts);
    return 0;
}
