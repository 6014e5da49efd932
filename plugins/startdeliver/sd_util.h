/*
 * sd_util.h - startdeliver's own helpers (allocation and JSON members come
 * from plugins/common/plugin_kit.h, escaping from the SDK's helpers): optional
 * strings, timestamps and cutting text.
 *
 * No host calls here, so the unit tests link it directly.
 */
#ifndef SD_UTIL_H
#define SD_UTIL_H

#include "plugin_kit.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** pk_xstrdup, or NULL for NULL. */
char *sd_strdup_or_null(const char *s);

/** Cut @p s to at most @p max bytes, on the start of a UTF-8 character. */
void sd_cut_utf8(char *s, size_t max);

/** Add an integer member, or null when @p value is 0 (for optional timestamps). */
void sd_add_time(json_object *o, const char *key, int64_t value);

#endif
