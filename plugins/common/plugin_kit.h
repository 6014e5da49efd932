/*
 * plugin_kit.h - helpers every bundled plugin needs, compiled into each one
 * (plugins share no code at run time): allocation that aborts on exhaustion
 * (the host's policy, see the top-level README) and lenient access to JSON
 * members (Intercom sends some ids as strings, some as numbers).
 *
 * No host calls here, so plugins' unit tests link it directly.
 */
#ifndef PLUGIN_KIT_H
#define PLUGIN_KIT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define PK_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PK_PRINTF(fmt, args)
#endif

#define PK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- allocation: never NULL; exhaustion aborts ---- */

void *pk_xcalloc(size_t n, size_t size);
void *pk_xrealloc(void *p, size_t size);
char *pk_xstrdup(const char *s);
char *pk_xstrndup(const char *s, size_t n);
char *pk_xasprintf(const char *fmt, ...) PK_PRINTF(1, 2);

/* ---- JSON members ---- */

/** A member that is an object / array, or NULL. */
json_object *pk_obj(json_object *o, const char *key);
json_object *pk_arr(json_object *o, const char *key);
/** A string or integer member as text (borrowed from @p o), or NULL; "" counts as absent. */
const char *pk_str(json_object *o, const char *key);
/** An integer member (ints, whole doubles, numeric strings), or @p fallback. */
int64_t pk_int(json_object *o, const char *key, int64_t fallback);
/** A boolean member, or @p fallback. */
bool pk_bool(json_object *o, const char *key, bool fallback);
/** The member is present and JSON null. */
bool pk_is_null(json_object *o, const char *key);
/** Add a string member, or JSON null when @p value is NULL. */
void pk_add_str(json_object *o, const char *key, const char *value);
void pk_add_int(json_object *o, const char *key, int64_t value);
void pk_add_bool(json_object *o, const char *key, bool value);
/** Equal strings; NULL equals only NULL. */
bool pk_str_eq(const char *a, const char *b);

#endif
