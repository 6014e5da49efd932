/*
 * tb_time.h - Intercom's times as Unix seconds. REST answers carry integers;
 * some webhook payloads carry ISO 8601 strings with fractions and an offset
 * ("2026-01-10T04:22:28.240+00:00"), so both are read.
 */
#ifndef TB_TIME_H
#define TB_TIME_H

#include <json-c/json.h>
#include <stdint.h>

/** Member @p key of @p o as Unix seconds (fractions dropped), or -1 if absent or unreadable. */
int64_t tb_time_member(json_object *o, const char *key);
/** ISO 8601 date-time (YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)) as Unix seconds, or -1. */
int64_t tb_time_parse_iso(const char *text);

#endif
