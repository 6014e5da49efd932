/*
 * ss_util.h - small helpers shared by the sigsentry plugin: allocation that
 * aborts on exhaustion (the host's policy, see the top-level README), a
 * growable string buffer with HTML escaping, lenient JSON member access
 * (Intercom sends some ids as numbers), UTC time formatting and parsing, and
 * random identifiers.
 *
 * No host calls here, so the unit tests link it directly.
 */
#ifndef SS_UTIL_H
#define SS_UTIL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define SS_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define SS_PRINTF(fmt, args)
#endif

#define SS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

void *ss_xcalloc(size_t n, size_t size);
void *ss_xrealloc(void *p, size_t size);
char *ss_xstrdup(const char *s);
char *ss_xstrndup(const char *s, size_t n);
char *ss_xasprintf(const char *fmt, ...) SS_PRINTF(1, 2);

/* ---- a growable NUL-terminated buffer ---- */

struct ss_buf {
    char *data; /* always NUL-terminated once anything was added; NULL before */
    size_t len, cap;
};

void ss_buf_put(struct ss_buf *b, const char *s, size_t n);
void ss_buf_puts(struct ss_buf *b, const char *s);
void ss_buf_printf(struct ss_buf *b, const char *fmt, ...) SS_PRINTF(2, 3);
/** Append @p s with &, <, >, " and ' escaped for HTML text and attribute values. */
void ss_buf_html(struct ss_buf *b, const char *s);
/** The contents (never NULL) handed to the caller, who frees them; @p b is reset. */
char *ss_buf_steal(struct ss_buf *b);
void ss_buf_free(struct ss_buf *b);

/** @p s HTML-escaped. Caller frees. */
char *ss_html_escape(const char *s);

/* ---- JSON members ---- */

/** A member that is an object / array, or NULL. */
json_object *ss_obj(json_object *o, const char *key);
json_object *ss_arr(json_object *o, const char *key);
/** A string or integer member as text (borrowed from @p o), or NULL; "" counts as absent. */
const char *ss_str(json_object *o, const char *key);
/** An integer member (ints, whole doubles, numeric strings), or @p fallback. */
int64_t ss_int(json_object *o, const char *key, int64_t fallback);
/** A boolean member, or @p fallback. */
bool ss_bool(json_object *o, const char *key, bool fallback);
/** Add a string member, or JSON null when @p value is NULL. */
void ss_add_str(json_object *o, const char *key, const char *value);
void ss_add_int(json_object *o, const char *key, int64_t value);
void ss_add_bool(json_object *o, const char *key, bool value);
/** Equal strings; NULL equals only NULL. */
bool ss_str_eq(const char *a, const char *b);

/* ---- time (all UTC) ---- */

#define SS_TIME_LEN 32

/** "2026-11-24T10:00:00.000Z": fixed width, so keys built from it sort by time. */
void ss_time_iso(int64_t ms, char out[SS_TIME_LEN]);
/** "2026-11-24 10:00 UTC", for people. */
void ss_time_human(int64_t ms, char out[SS_TIME_LEN]);
/**
 * Parse an RFC 3339 time ("2026-11-24T10:00:00Z", "...T10:00:00.25+02:00",
 * a space instead of "T" is accepted) into milliseconds since the epoch.
 */
bool ss_time_parse(const char *text, int64_t *ms);

/* ---- identifiers ---- */

/** @p bytes random bytes from the kernel as 2 * bytes hex digits in @p out (size 2*bytes+1). */
bool ss_random_hex(char *out, size_t bytes);

#endif
