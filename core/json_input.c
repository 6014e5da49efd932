/* json_input.c - whole-input JSON parsing for bodies that come from outside. */
#include "json_input.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

static bool is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

json_object *json_parse_whole(const char *text, size_t len, char *why, size_t why_len)
{
    if (len > (size_t)INT32_MAX) {
        snprintf(why, why_len, "the body is too large to parse");
        return NULL;
    }
    json_tokener *tok = json_tokener_new();
    if (!tok) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    json_object *value = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error err = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    if (!value && err == json_tokener_continue) {
        /* A top-level number ends only where input ends: tell the tokener it did. */
        value = json_tokener_parse_ex(tok, "", 1);
        err = json_tokener_get_error(tok);
        used = len;
    }
    json_tokener_free(tok);
    if (!value) {
        snprintf(why, why_len, "%s",
                 err == json_tokener_continue ? "unexpected end of input"
                                              : json_tokener_error_desc(err));
        return NULL;
    }
    while (used < len && is_json_space(text[used]))
        used++;
    if (used < len) {
        snprintf(why, why_len, "unexpected data after the JSON value at byte %zu", used);
        json_object_put(value);
        return NULL;
    }
    return value;
}
