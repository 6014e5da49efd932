/*
 * http_parser.h - the HTTP/1.1 request parser (RFC 9112): the request line
 * and its target, header fields and Host, body framing by Content-Length or
 * chunked (size lines, extensions, trailers), each within its limit.
 *
 * It knows no socket and no connection: it reads from an evbuffer, taking
 * out what it parsed and leaving what follows (a pipelined request) there.
 * The body moves from the buffer straight into its one copy, the parser's.
 *
 * One parser reads one request:
 *   http_parser_init(&p, max_head_bytes, max_body_bytes);
 *   http_parser_read(&p, in) as bytes arrive:
 *     HTTP_PARSE_MORE      wait for more bytes, then call again;
 *     HTTP_PARSE_HEAD      the head is accepted (once); call again for the body;
 *     HTTP_PARSE_DONE      the request is complete;
 *     HTTP_PARSE_REFUSED   p.status and p.refusal say why; stop reading.
 *   http_parser_release(&p);
 */
#ifndef SB_CORE_HTTP_PARSER_H
#define SB_CORE_HTTP_PARSER_H

#include <event2/buffer.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_FIELDS 100

struct http_field {
    const char *name;
    const char *value;
};

enum http_parse {
    HTTP_PARSE_MORE,
    HTTP_PARSE_HEAD,
    HTTP_PARSE_DONE,
    HTTP_PARSE_REFUSED,
};

enum http_parse_stage { HTTP_STAGE_HEAD, HTTP_STAGE_BODY, HTTP_STAGE_DONE, HTTP_STAGE_REFUSED };

struct http_parser {
    size_t max_head_bytes;  /* the request head; also the trailer section */
    int64_t max_body_bytes;

    /*
     * The request. Strings point into head, split in place, and live until
     * http_parser_release. After a refusal, what was read before it stays
     * (a method for the access log, fields such as X-Request-Id).
     */
    char *head;
    size_t head_cap;        /* head's allocation, kept by http_parser_reuse */
    const char *method;
    const char *path;       /* raw, without the query; "*" for OPTIONS * */
    const char *query;      /* raw, or NULL */
    int minor_version;
    struct http_field fields[HTTP_MAX_FIELDS];
    int n_fields;
    char *body;             /* NUL-terminated; NULL while empty */
    size_t body_len;
    size_t body_cap;
    int64_t content_length; /* -1: chunked */
    bool keep_alive;
    bool absolute_form;     /* the target named scheme and authority */

    int status;             /* the refusal's HTTP status, or 0 */
    const char *refusal;    /* why, for the error message */

    /* Progress. */
    enum http_parse_stage stage;
    size_t head_scanned;    /* bytes of the head already checked */
    size_t chunk_left;      /* chunked: bytes left in the current chunk */
    bool chunk_crlf;        /* chunked: the CRLF after a chunk's data is due */
    bool chunk_trailers;    /* chunked: reading trailers after the last chunk */
    size_t trailer_bytes;   /* chunked: size of the trailer section so far */
};

void http_parser_init(struct http_parser *p, size_t max_head_bytes, int64_t max_body_bytes);
/* Frees the head and the body; every string the parser gave out goes with them. */
void http_parser_release(struct http_parser *p);
/*
 * Ready for the next request on the same connection, keeping the head's and
 * the body's allocations (every string the parser gave out is gone).
 */
void http_parser_reuse(struct http_parser *p);

/* Parse what @p in holds, draining what was parsed; see the top of this file. */
enum http_parse http_parser_read(struct http_parser *p, struct evbuffer *in);

/* The value of the first field named @p name (any case), or NULL. */
const char *http_parser_field(const struct http_parser *p, const char *name);

#endif
