/* sd_util.c - optional strings and timestamps, URL encoding. */
#include "sd_util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *sd_strdup_or_null(const char *s)
{
    return s ? pk_xstrdup(s) : NULL;
}

void sd_add_time(json_object *o, const char *key, int64_t value)
{
    json_object_object_add(o, key, value ? json_object_new_int64(value) : NULL);
}

char *sd_url_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = pk_xcalloc(n * 3 + 1, 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
            || strchr("-._~", *p)) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}
