/* util.h - allocation, strings and small helpers shared by every core file. */
#ifndef SB_CORE_UTIL_H
#define SB_CORE_UTIL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Allocation failure is fatal: like Redis, the server logs and aborts rather
 * than threading ENOMEM through every call site, where half-handled paths
 * hide worse bugs. Everything else reports errors to its caller.
 */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap);

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A growable byte buffer, always NUL-terminated. */
struct buf {
    char *data;
    size_t len;
    size_t cap;
};
void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Percent-encode for a URL path segment or query component (RFC 3986 unreserved kept). */
void buf_url_encode(struct buf *b, const char *s);
/* Escape & < > " ' for HTML text and attribute values. */
void buf_html_escape(struct buf *b, const char *s);
/* Hand the data over to the caller (who frees it) and reset the buffer. */
char *buf_steal(struct buf *b);

/*
 * Decode %XX and '+' (when plus_is_space) in place; false on a bad escape or
 * one that decodes to a control byte (%00-%1F, %7F), so a decoded string is
 * never cut short by an embedded NUL.
 */
bool url_decode(char *s, bool plus_is_space);
/*
 * The byte that two hex digits (either case) at s stand for, or -1 if they
 * are not two hex digits; s[1] is read only when s[0] is a digit.
 */
int hex_byte(const char *s);

/* Length of the well-formed UTF-8 sequence at p (at most avail bytes), or 0 if there is none
   (overlong forms, surrogates and code points past U+10FFFF are not well-formed). */
size_t utf8_char_length(const unsigned char *p, size_t avail);

/* Time. */
int64_t time_now_ms(void);     /* wall clock, ms since the epoch */
int64_t time_mono_ms(void);    /* monotonic, ms */
int64_t time_mono_us(void);    /* monotonic, microseconds */

/* Strings. */
bool str_eq_nocase(const char *a, const char *b);
bool str_starts_with(const char *s, const char *prefix);
bool str_is_token(const char *s, size_t max_len); /* [A-Za-z0-9_-]{1,max_len} */
/* Parse a whole decimal int64; false on junk or overflow. */
bool str_to_i64(const char *s, int64_t *out);

/* Read a whole file (NUL-terminated); NULL with errno set on failure. */
char *file_read_all(const char *path, size_t *len_out);
/* Join a relative path onto the directory of base_file; absolute paths pass through. */
char *path_relative_to(const char *base_file, const char *path);
/* mkdir -p for the directory part of a file path. */
int mkdir_parents(const char *file_path);

/* Threads. Stop a helper thread that waits on wake under lock: set *stop, wake it, join it. */
void thread_stop(pthread_t thread, pthread_mutex_t *lock, pthread_cond_t *wake, bool *stop);

#endif
