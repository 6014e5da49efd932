/*
 * json_input.c - whole-input, strict JSON parsing for bodies that come from
 * outside.
 *
 * json-c accepts more than RFC 8259 even in its strict mode (single-quoted
 * strings, NaN and Infinity, raw control bytes in strings), and its one-shot
 * parsers stop at the first value. A body signed by Intercom or sent by a
 * product is JSON or it is refused, so the bytes are first checked against
 * the RFC's grammar here, then handed to json-c to build the objects.
 */
#include "json_input.h"

#include "util.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Nesting deeper than this is refused (json-c is built with the same limit). */
#define JSON_MAX_DEPTH 64

struct scan {
    const unsigned char *p, *end;
    const char *error;       /* first problem found, a fixed phrase */
    const unsigned char *at; /* where */
};

static bool fail(struct scan *s, const char *error)
{
    if (!s->error) {
        s->error = error;
        s->at = s->p;
    }
    return false;
}

static void skip_space(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex_digit(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool scan_string(struct scan *s)
{
    s->p++; /* the opening quote */
    while (s->p < s->end) {
        unsigned char c = *s->p;
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') { /* the common case, first */
            s->p++;
            continue;
        }
        if (c == '"') {
            s->p++;
            return true;
        }
        if (c < 0x20)
            return fail(s, "a control byte in a string must be escaped");
        if (c == '\\') {
            if (s->end - s->p < 2)
                break;
            unsigned char e = s->p[1];
            if (e == 'u') {
                if (s->end - s->p < 6 || !is_hex_digit(s->p[2]) || !is_hex_digit(s->p[3])
                    || !is_hex_digit(s->p[4]) || !is_hex_digit(s->p[5]))
                    return fail(s, "malformed \\u escape");
                s->p += 6;
            } else if (strchr("\"\\/bfnrt", e) && e) {
                s->p += 2;
            } else {
                return fail(s, "unknown escape in a string");
            }
            continue;
        }
        size_t n = utf8_char_length(s->p, (size_t)(s->end - s->p));
        if (!n)
            return fail(s, "a string is not valid UTF-8");
        s->p += n;
    }
    return fail(s, "unterminated string");
}

static bool scan_digits(struct scan *s)
{
    const unsigned char *start = s->p;
    while (s->p < s->end && is_digit(*s->p))
        s->p++;
    return s->p > start || fail(s, "malformed number");
}

static bool scan_number(struct scan *s)
{
    if (*s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0') {
        s->p++;
        if (s->p < s->end && is_digit(*s->p))
            return fail(s, "a number has a leading zero");
    } else if (!scan_digits(s)) {
        return false;
    }
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (!scan_digits(s))
            return false;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (!scan_digits(s))
            return false;
    }
    return true;
}

static bool scan_literal(struct scan *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return fail(s, "unexpected character");
    s->p += n;
    return true;
}

static bool scan_value(struct scan *s, int depth);

/* An object or array: open, members separated by commas, close; no trailing comma. */
static bool scan_container(struct scan *s, int depth)
{
    bool object = *s->p == '{';
    unsigned char close = object ? '}' : ']';
    if (depth >= JSON_MAX_DEPTH)
        return fail(s, "nested too deeply");
    s->p++;
    skip_space(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return true;
    }
    for (;;) {
        if (object) {
            skip_space(s);
            if (s->p >= s->end || *s->p != '"')
                return fail(s, "an object member name must be a string");
            if (!scan_string(s))
                return false;
            skip_space(s);
            if (s->p >= s->end || *s->p != ':')
                return fail(s, "':' expected after a member name");
            s->p++;
        }
        if (!scan_value(s, depth + 1))
            return false;
        if (s->p >= s->end)
            return fail(s, "unexpected end of input");
        if (*s->p == close) {
            s->p++;
            return true;
        }
        if (*s->p != ',')
            return fail(s, object ? "',' or '}' expected" : "',' or ']' expected");
        s->p++;
    }
}

static bool scan_value(struct scan *s, int depth)
{
    skip_space(s);
    if (s->p >= s->end)
        return fail(s, "unexpected end of input");
    bool ok;
    switch (*s->p) {
    case '{':
    case '[': ok = scan_container(s, depth); break;
    case '"': ok = scan_string(s); break;
    case 't': ok = scan_literal(s, "true"); break;
    case 'f': ok = scan_literal(s, "false"); break;
    case 'n': ok = scan_literal(s, "null"); break;
    default:
        ok = *s->p == '-' || is_digit(*s->p) ? scan_number(s) : fail(s, "unexpected character");
    }
    skip_space(s);
    return ok;
}

json_object *json_parse_whole(const char *text, size_t len, char *why, size_t why_len)
{
    if (len > (size_t)INT32_MAX) {
        snprintf(why, why_len, "the body is too large to parse");
        return NULL;
    }
    struct scan s = {.p = (const unsigned char *)text, .end = (const unsigned char *)text + len};
    if (scan_value(&s, 0) && s.p < s.end)
        fail(&s, "unexpected data after the JSON value");
    if (s.error) {
        snprintf(why, why_len, "%s at byte %zu", s.error, (size_t)(s.at - (const unsigned char *)text));
        return NULL;
    }
    /* The grammar holds: json-c builds the value (its depth limit matches ours). */
    json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH + 1);
    if (!tok) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    json_object *value = json_tokener_parse_ex(tok, text, (int)len);
    if (!value && json_tokener_get_error(tok) == json_tokener_continue)
        value = json_tokener_parse_ex(tok, "", 1); /* a top-level number ends with the input */
    enum json_tokener_error err = json_tokener_get_error(tok);
    if (!value) /* json-c's null is NULL: a body that is only null is refused as such */
        snprintf(why, why_len, "%s",
                 err == json_tokener_success ? "the value is null" : json_tokener_error_desc(err));
    json_tokener_free(tok);
    return value;
}
