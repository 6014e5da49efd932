/* ss_util.c - buffers with HTML escaping, UTC time, random ids. */
#include "ss_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* ---- buffer ---- */

static void buf_reserve(struct ss_buf *b, size_t extra)
{
    if (b->data && b->len + extra < b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap <= b->len + extra)
        cap *= 2;
    b->data = pk_xrealloc(b->data, cap);
    b->cap = cap;
}

void ss_buf_put(struct ss_buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void ss_buf_puts(struct ss_buf *b, const char *s)
{
    ss_buf_put(b, s, strlen(s));
}

void ss_buf_printf(struct ss_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void ss_buf_html(struct ss_buf *b, const char *s)
{
    size_t n = sb_html_escape_into(NULL, 0, s);
    buf_reserve(b, n);
    sb_html_escape_into(b->data + b->len, n + 1, s);
    b->len += n;
}

char *ss_buf_steal(struct ss_buf *b)
{
    char *out = b->data ? b->data : pk_xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return out;
}

void ss_buf_free(struct ss_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ---- time ---- */

static void split_ms(int64_t ms, struct tm *tm, int *millis)
{
    int64_t secs = ms / 1000;
    int64_t rem = ms % 1000;
    if (rem < 0) {
        rem += 1000;
        secs--;
    }
    time_t t = (time_t)secs;
    gmtime_r(&t, tm);
    *millis = (int)rem;
}

void ss_time_iso(int64_t ms, char out[SS_TIME_LEN])
{
    struct tm tm;
    int millis;
    split_ms(ms, &tm, &millis);
    size_t n = strftime(out, SS_TIME_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, SS_TIME_LEN - n, ".%03uZ", (unsigned)millis % 1000u);
}

void ss_time_human(int64_t ms, char out[SS_TIME_LEN])
{
    struct tm tm;
    int millis;
    split_ms(ms, &tm, &millis);
    strftime(out, SS_TIME_LEN, "%Y-%m-%d %H:%M UTC", &tm);
}

/* ---- ids ---- */

bool ss_random_hex(char *out, size_t bytes)
{
    unsigned char raw[64];
    if (bytes == 0 || bytes > sizeof raw)
        return false;
    size_t got = 0;
    while (got < bytes) {
        ssize_t n = getrandom(raw + got, bytes - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        got += (size_t)n;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < bytes; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[2 * bytes] = '\0';
    return true;
}
