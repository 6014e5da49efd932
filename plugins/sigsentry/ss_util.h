/*
 * ss_util.h - sigsentry's own helpers (allocation, JSON members and the
 * growing string pk_buf come from plugins/common/plugin_kit.h): UTC time
 * formatting (parsing is the SDK's sb_time_parse_rfc3339), and random
 * identifiers.
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
