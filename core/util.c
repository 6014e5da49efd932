/* util.c - allocation, strings and small helpers. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <switchboard/helpers.h>
#include <sys/stat.h>
#include <time.h>

static void out_of_memory(size_t n)
{
    fprintf(stderr, "switchboard: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n);
    return p;
}

void *xcalloc(size_t count, size_t n)
{
    void *p = calloc(count ? count : 1, n ? n : 1);
    if (!p)
        out_of_memory(count * n);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n);
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        n = 0;
    char *p = xmalloc((size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = xvasprintf(fmt, ap);
    va_end(ap);
    return p;
}

void buf_init(struct buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_free(struct buf *b)
{
    free(b->data);
    buf_init(b);
}

void buf_reserve(struct buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_append(struct buf *b, const void *data, size_t len)
{
    buf_reserve(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_putc(struct buf *b, char c)
{
    buf_append(b, &c, 1);
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap, copy;
    va_start(ap, fmt);
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n > 0) {
        buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        b->len += (size_t)n;
    }
    va_end(ap);
}

/* Append s as an SDK escaper (which writes like snprintf) makes it: the host escapes as plugins do. */
static void buf_escaped(struct buf *b, const char *s,
                        size_t (*escape_into)(char *out, size_t cap, const char *s))
{
    size_t n = escape_into(NULL, 0, s);
    buf_reserve(b, n);
    escape_into(b->data + b->len, n + 1, s);
    b->len += n;
}

void buf_url_encode(struct buf *b, const char *s)
{
    buf_escaped(b, s, sb_url_escape_into);
}

void buf_html_escape(struct buf *b, const char *s)
{
    buf_escaped(b, s, sb_html_escape_into);
}

char *buf_steal(struct buf *b)
{
    char *p = b->data ? b->data : xstrdup("");
    buf_init(b);
    return p;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int hex_byte(const char *s)
{
    int hi = hex_value(s[0]);
    int lo = hi < 0 ? -1 : hex_value(s[1]);
    return hi < 0 || lo < 0 ? -1 : hi << 4 | lo;
}

bool url_decode(char *s, bool plus_is_space)
{
    char *out = s;
    for (; *s; s++) {
        if (*s == '%') {
            int byte = hex_byte(s + 1);
            if (byte < 0)
                return false;
            /* %00 would cut the string short, other controls would reach logs and lookups. */
            if (byte < 0x20 || byte == 0x7f)
                return false;
            *out++ = (char)byte;
            s += 2;
        } else if (*s == '+' && plus_is_space) {
            *out++ = ' ';
        } else {
            *out++ = *s;
        }
    }
    *out = '\0';
    return true;
}

size_t utf8_char_length(const unsigned char *p, size_t avail)
{
    if (!avail)
        return 0;
    if (p[0] < 0x80)
        return 1;
    size_t n = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 && p[0] < 0xf0 ? 3
             : p[0] >= 0xc2 && p[0] < 0xe0 ? 2 : 0;
    if (!n || avail < n)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xf0 && p[1] < 0x90) /* overlong */
        || (p[0] == 0xed && p[1] >= 0xa0)                               /* surrogate */
        || (p[0] == 0xf4 && p[1] >= 0x90))                              /* past U+10FFFF */
        return 0;
    return n;
}

int64_t time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t time_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool str_eq_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
    return *a == *b;
}

bool str_starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_is_token(const char *s, size_t max_len)
{
    size_t n = 0;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (!(isalnum(c) || c == '_' || c == '-'))
            return false;
    }
    return n > 0 && n <= max_len;
}

bool str_to_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

char *file_read_all(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct buf b;
    buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, n);
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        buf_free(&b);
        errno = EIO;
        return NULL;
    }
    if (len_out)
        *len_out = b.len;
    return buf_steal(&b);
}

/* Collapse "." and "dir/.." lexically, so folders in a path need not exist yet. */
static void path_normalize(char *path)
{
    bool absolute = path[0] == '/';
    char *segs[256];
    int n = 0;
    char *copy = xstrdup(path);
    for (char *save = NULL, *s = strtok_r(copy, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
        if (strcmp(s, ".") == 0)
            continue;
        if (strcmp(s, "..") == 0 && n > 0 && strcmp(segs[n - 1], "..") != 0) {
            n--;
            continue;
        }
        if (n < 256)
            segs[n++] = s;
    }
    char *out = path;
    if (absolute)
        *out++ = '/';
    for (int i = 0; i < n; i++) {
        size_t len = strlen(segs[i]);
        memmove(out, segs[i], len);
        out += len;
        if (i < n - 1)
            *out++ = '/';
    }
    if (out == path)
        *out++ = '.';
    *out = '\0';
    free(copy);
}

char *path_relative_to(const char *base_file, const char *path)
{
    const char *slash = base_file ? strrchr(base_file, '/') : NULL;
    char *joined = path[0] == '/' || !slash
                       ? xstrdup(path)
                       : xasprintf("%.*s/%s", (int)(slash - base_file), base_file, path);
    path_normalize(joined);
    return joined;
}

int mkdir_parents(const char *file_path)
{
    char *dir = xstrdup(file_path);
    char *slash = strrchr(dir, '/');
    if (!slash) {
        free(dir);
        return 0;
    }
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            free(dir);
            return -1;
        }
        *p = '/';
    }
    int rc = (*dir && mkdir(dir, 0755) != 0 && errno != EEXIST) ? -1 : 0;
    free(dir);
    return rc;
}

void thread_stop(pthread_t thread, pthread_mutex_t *lock, pthread_cond_t *wake, bool *stop)
{
    pthread_mutex_lock(lock);
    *stop = true;
    pthread_cond_signal(wake);
    pthread_mutex_unlock(lock);
    pthread_join(thread, NULL);
}
