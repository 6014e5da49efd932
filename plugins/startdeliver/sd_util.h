/*
 * sd_util.h - small helpers shared by the startdeliver plugin: reading JSON
 * members leniently (Intercom sends ids as strings, some fakes as numbers),
 * allocation that aborts on exhaustion (the host's policy, see the top-level
 * README), and formatted strings.
 *
 * No host calls here, so the unit tests link it directly.
 */
#ifndef SD_UTIL_H
#define SD_UTIL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define SD_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define SD_PRINTF(fmt, args)
#endif

#define SD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

void *sd_xcalloc(size_t n, size_t size);
void *sd_xrealloc(void *p, size_t size);
char *sd_xstrdup(const char *s);
/** sd_xstrdup, or NULL for NULL. */
char *sd_strdup_or_null(const char *s);
char *sd_xasprintf(const char *fmt, ...) SD_PRINTF(1, 2);

/** A member that is an object, or NULL. */
json_object *sd_obj(json_object *o, const char *key);
/** A member that is an array, or NULL. */
json_object *sd_arr(json_object *o, const char *key);
/** A string or integer member as text (borrowed from @p o), or NULL; "" counts as absent. */
const char *sd_str(json_object *o, const char *key);
/** An integer member (ints, whole doubles and numeric strings), or @p fallback. */
int64_t sd_int(json_object *o, const char *key, int64_t fallback);
/** A boolean member, or @p fallback. */
bool sd_bool(json_object *o, const char *key, bool fallback);
/** True if the member exists and is JSON null (as opposed to absent). */
bool sd_is_null(json_object *o, const char *key);

/** Add a string member, or JSON null when @p value is NULL. */
void sd_add_str(json_object *o, const char *key, const char *value);
void sd_add_int(json_object *o, const char *key, int64_t value);
/** Add an integer member, or null when @p value is 0 (for optional timestamps). */
void sd_add_time(json_object *o, const char *key, int64_t value);

/** @p s percent-encoded for a URL query value. Caller frees. */
char *sd_url_encode(const char *s);

/** Equal strings, NULL equal only to NULL. */
bool sd_str_eq(const char *a, const char *b);

#endif
