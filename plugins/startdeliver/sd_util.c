/* sd_util.c - optional strings, timestamps and cutting text. */
#include "sd_util.h"

#include <string.h>

char *sd_strdup_or_null(const char *s)
{
    return s ? pk_xstrdup(s) : NULL;
}

void sd_add_time(json_object *o, const char *key, int64_t value)
{
    json_object_object_add(o, key, value ? json_object_new_int64(value) : NULL);
}

void sd_cut_utf8(char *s, size_t max)
{
    size_t len = strlen(s);
    if (len <= max)
        return;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    s[max] = '\0';
}
