/*
 * ss_util.h - sigsentry's own helpers (allocation and JSON members come from
 * plugins/common/plugin_kit.h): a growable string buffer with HTML escaping,
 * UTC time formatting (parsing is the SDK's sb_time_parse_rfc3339), and
 * random identifiers.
 *
 * No host calls here, so the unit tests link it directly.
 */
#ifndef SS_UTIL_H
#define SS_UTIL_H

#include "plugin_kit.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- a growable NUL-terminated buffer ---- */

struct ss_buf {
    char *data; /* always NUL-terminated once anything was added; NULL before */
    size_t len, cap;
};

void ss_buf_put(struct ss_buf *b, const char *s, size_t n);
void ss_buf_puts(struct ss_buf *b, const char *s);
void ss_buf_printf(struct ss_buf *b, const char *fmt, ...) PK_PRINTF(2, 3);
/** Append @p s HTML-escaped (sb_html_escape_into: text and attribute values). */
void ss_buf_html(struct ss_buf *b, const char *s);
/** The contents (never NULL) handed to the caller, who frees them; @p b is reset. */
char *ss_buf_steal(struct ss_buf *b);
void ss_buf_free(struct ss_buf *b);

/* ---- time (all UTC) ---- */

#define SS_TIME_LEN 32

/** "2026-11-24T10:00:00.000Z": fixed width, so keys built from it sort by time. */
void ss_time_iso(int64_t ms, char out[SS_TIME_LEN]);
/** "2026-11-24 10:00 UTC", for people. */
void ss_time_human(int64_t ms, char out[SS_TIME_LEN]);

/* ---- identifiers ---- */

/** @p bytes random bytes from the kernel as 2 * bytes hex digits in @p out (size 2*bytes+1). */
bool ss_random_hex(char *out, size_t bytes);

#endif
