/* plugin_kit.c - aborting allocation and lenient JSON members for bundled plugins. */
#include "plugin_kit.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void out_of_memory(void)
{
    fputs("switchboard plugin: out of memory\n", stderr);
    abort();
}

void *pk_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        out_of_memory();
    return p;
}

void *pk_xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q)
        out_of_memory();
    return q;
}

char *pk_xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        out_of_memory();
    return d;
}

char *pk_xstrndup(const char *s, size_t n)
{
    char *d = strndup(s, n);
    if (!d)
        out_of_memory();
    return d;
}

char *pk_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = NULL;
    int n = vasprintf(&out, fmt, ap);
    va_end(ap);
    if (n < 0)
        out_of_memory();
    return out;
}

/* The member @p key of object @p o, or NULL (absent, JSON null, or @p o not an object). */
static json_object *member(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

json_object *pk_obj(json_object *o, const char *key)
{
    json_object *v = member(o, key);
    return json_object_is_type(v, json_type_object) ? v : NULL;
}

json_object *pk_arr(json_object *o, const char *key)
{
    json_object *v = member(o, key);
    return json_object_is_type(v, json_type_array) ? v : NULL;
}

const char *pk_str(json_object *o, const char *key)
{
    json_object *v = member(o, key);
    if (!json_object_is_type(v, json_type_string) && !json_object_is_type(v, json_type_int))
        return NULL;
    const char *s = json_object_get_string(v);
    return s && *s ? s : NULL;
}

int64_t pk_int(json_object *o, const char *key, int64_t fallback)
{
    json_object *v = member(o, key);
    if (!v)
        return fallback;
    switch (json_object_get_type(v)) {
    case json_type_int:
        return json_object_get_int64(v);
    case json_type_double: {
        double d = json_object_get_double(v);
        return d == floor(d) && fabs(d) < 9.0e18 ? (int64_t)d : fallback;
    }
    case json_type_string: {
        const char *s = json_object_get_string(v);
        char *end;
        errno = 0;
        long long n = strtoll(s, &end, 10);
        return *s && !*end && errno == 0 ? (int64_t)n : fallback;
    }
    default:
        return fallback;
    }
}

bool pk_bool(json_object *o, const char *key, bool fallback)
{
    json_object *v = member(o, key);
    return json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : fallback;
}

bool pk_is_null(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v)
           && v == NULL;
}

void pk_add_str(json_object *o, const char *key, const char *value)
{
    json_object_object_add(o, key, value ? json_object_new_string(value) : NULL);
}

void pk_add_int(json_object *o, const char *key, int64_t value)
{
    json_object_object_add(o, key, json_object_new_int64(value));
}

void pk_add_bool(json_object *o, const char *key, bool value)
{
    json_object_object_add(o, key, json_object_new_boolean(value));
}

bool pk_str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}
