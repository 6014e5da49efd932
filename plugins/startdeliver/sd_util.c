/* sd_util.c - optional strings and timestamps. */
#include "sd_util.h"

char *sd_strdup_or_null(const char *s)
{
    return s ? pk_xstrdup(s) : NULL;
}

void sd_add_time(json_object *o, const char *key, int64_t value)
{
    json_object_object_add(o, key, value ? json_object_new_int64(value) : NULL);
}
