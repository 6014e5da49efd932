/* exchange.c - one request over a socketpair through the real connection code (exchange.h). */
#include "exchange.h"
#include "logcheck.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* Far longer than any answer takes; only a server that never lets go reaches it. */
#define EXCHANGE_DEADLINE_MS 5000

struct client {
    int fd;
    struct buf *response;
    struct event *readable;
    bool eof;
};

static void client_read(struct client *c)
{
    char chunk[4096];
    while (!c->eof) {
        ssize_t n = read(c->fd, chunk, sizeof chunk);
        if (n > 0)
            buf_append(c->response, chunk, (size_t)n);
        else if (n < 0 && errno == EINTR)
            continue;
        else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        else
            c->eof = true; /* closed, or reset: either way nothing more comes */
    }
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct client *c = arg;
    client_read(c);
    if (c->eof) /* an ended socket stays readable: watching it would keep the loop spinning */
        event_del(c->readable);
}

/* Ends each EVLOOP_ONCE within a tick, even while events keep each other busy. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

static void send_all(struct event_base *base, struct client *c, const uint8_t *p, size_t len,
                     int64_t deadline)
{
    while (len > 0 && !c->eof && time_mono_ms() < deadline) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* The socket buffer is full: let the server read, and take what it answered. */
            event_base_loop(base, EVLOOP_NONBLOCK);
            client_read(c);
        } else {
            return; /* EPIPE and the like: the server closed its end, as it may */
        }
    }
}

static void dump_and_abort(const struct buf *r, const char *what)
{
    fprintf(fuzz_diag(), "fuzz: %s; %zu bytes came back:\n", what, r->len);
    for (size_t i = 0; i < r->len && i < 4096; i++) {
        unsigned char ch = (unsigned char)r->data[i];
        if (ch == '\n' || (ch >= 0x20 && ch < 0x7f && ch != '\\'))
            fputc(ch, fuzz_diag());
        else
            fprintf(fuzz_diag(), "\\x%02x", ch);
    }
    fputc('\n', fuzz_diag());
    abort();
}

void fuzz_exchange(struct event_base *base, struct http_server *srv, const void *data, size_t len,
                   size_t split, struct buf *response)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
        perror("fuzz: socketpair");
        abort();
    }
    struct client c = {.fd = sv[0], .response = response};
    int64_t deadline = time_mono_ms() + EXCHANGE_DEADLINE_MS;
    http_server_adopt(srv, sv[1]); /* the server owns sv[1] now, even if it refused it */
    if (split > 0 && split < len) {
        send_all(base, &c, data, split, deadline);
        event_base_loop(base, EVLOOP_NONBLOCK); /* the server sees the first part alone */
        send_all(base, &c, (const uint8_t *)data + split, len - split, deadline);
    } else {
        send_all(base, &c, data, len, deadline);
    }
    shutdown(c.fd, SHUT_WR);

    c.readable = event_new(base, c.fd, EV_READ | EV_PERSIST, on_readable, &c);
    struct event *tick = event_new(base, -1, EV_PERSIST, on_tick, base);
    struct timeval tick_tv = {0, 20 * 1000};
    client_read(&c);
    if (!c.eof)
        event_add(c.readable, NULL);
    event_add(tick, &tick_tv);
    while (!c.eof || http_server_connections(srv) > 0) {
        if (time_mono_ms() > deadline) {
            fprintf(fuzz_diag(), "fuzz: after %d ms the server still holds the connection (%s)\n",
                    EXCHANGE_DEADLINE_MS, c.eof ? "client saw the end" : "no end of answer");
            dump_and_abort(response, "hang");
        }
        event_base_loop(base, EVLOOP_ONCE);
    }
    event_free(c.readable);
    event_free(tick);
    close(c.fd);
}

static bool starts_like_response(const char *p, size_t n)
{
    return n >= 9 && memcmp(p, "HTTP/1.1 ", 9) == 0;
}

static bool is_tchar(unsigned char ch)
{
    return isalnum(ch) || strchr("!#$%&'*+-.^_`|~", ch);
}

/* Check the response at *p and step over it; returns what is wrong, or NULL. */
static const char *check_one(const char **p, size_t *left, int *status)
{
    const char *r = *p;
    size_t n = *left;
    if (!starts_like_response(r, n))
        return "a response does not begin with \"HTTP/1.1 \"";
    if (n < 13 || !isdigit((unsigned char)r[9]) || !isdigit((unsigned char)r[10])
        || !isdigit((unsigned char)r[11]) || r[12] != ' ')
        return "the status line has no three-digit status";
    *status = (r[9] - '0') * 100 + (r[10] - '0') * 10 + (r[11] - '0');
    const char *end = memmem(r, n, "\r\n\r\n", 4);
    if (!end)
        return "the header block is cut short";
    size_t head_len = (size_t)(end - r) + 4;
    long long content_length = -1;
    const char *line = r;
    for (bool first = true; line < end + 2; first = false) {
        const char *eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
        for (const char *q = line; q < eol; q++)
            if (*q == '\r' || *q == '\n' || *q == '\0')
                return "a bare CR, LF or NUL inside a response line";
        if (!first) {
            const char *colon = memchr(line, ':', (size_t)(eol - line));
            if (!colon || colon == line)
                return "a header line without a name";
            for (const char *q = line; q < colon; q++)
                if (!is_tchar((unsigned char)*q))
                    return "a header name with a byte that is not a token character";
            if ((size_t)(colon - line) == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
                if (content_length >= 0)
                    return "two Content-Length headers";
                const char *v = colon + 1;
                while (v < eol && *v == ' ')
                    v++;
                if (v == eol)
                    return "an empty Content-Length";
                content_length = 0;
                for (; v < eol; v++) {
                    if (!isdigit((unsigned char)*v) || content_length > 1000000000LL)
                        return "a Content-Length that is not a small decimal number";
                    content_length = content_length * 10 + (*v - '0');
                }
            }
        }
        line = eol + 2;
    }
    /* 1xx, 204 and 304 never have a body, whatever their headers say (RFC 9112 6.3). */
    if ((*status >= 100 && *status < 200) || *status == 204 || *status == 304) {
        *p += head_len;
        *left -= head_len;
        return NULL;
    }
    if (content_length < 0)
        return "a final response without Content-Length";
    const char *body = r + head_len;
    size_t rest = n - head_len, cl = (size_t)content_length;
    if (rest >= cl && (rest == cl || starts_like_response(body + cl, rest - cl)))
        head_len += cl;
    else if (!(rest == 0 || starts_like_response(body, rest))) /* a HEAD answer has no body */
        return "the body does not match its Content-Length";
    *p += head_len;
    *left -= head_len;
    return NULL;
}

void fuzz_check_responses(const struct buf *response)
{
    const char *p = response->data;
    size_t left = response->len;
    while (left > 0) {
        int status = 0;
        const char *why = check_one(&p, &left, &status);
        if (why)
            dump_and_abort(response, why);
        if (status < 100 || status > 599)
            dump_and_abort(response, "a status outside 100-599");
    }
}

int fuzz_first_status(const struct buf *response)
{
    const char *p = response->data;
    size_t left = response->len;
    while (left > 0) {
        int status = 0;
        if (check_one(&p, &left, &status) || status >= 200)
            return status;
    }
    return 0;
}
