/*
 * json_input.c - whole-input, strict JSON parsing for bodies that come from
 * outside.
 *
 * json-c accepts more than RFC 8259 even in its strict mode (single-quoted
 * strings, NaN and Infinity, raw control bytes in strings), and its one-shot
 * parsers stop at the first value. A body signed by Intercom or sent by a
 * product is JSON or it is refused, so the bytes are checked against the
 * RFC's grammar here, and the same pass builds json-c's objects: the tree
 * json-c's own parser would make of them, without its character-by-character
 * tokenizer (on the hot path, a delivery's body is built once per webhook).
 */
#include "json_input.h"

#include "util.h"

#include <locale.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Nesting deeper than this is refused. */
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

static bool out_of_memory(struct scan *s)
{
    return fail(s, "out of memory");
}

/*
 * A checked string's text (raw: quotes included) as a NUL-terminated copy in
 * out, escapes decoded: out is small when that fits (decoding never
 * lengthens), else allocated. NULL when out of memory.
 */
static char *string_text(const unsigned char *raw, size_t len, char *small, size_t small_size,
                         size_t *text_len)
{
    char *out = len <= small_size ? small : malloc(len);
    if (!out)
        return NULL;
    if (memchr(raw, '\\', len)) {
        *text_len = json_string_decode((const char *)raw, len, out, len);
    } else {
        *text_len = len - 2;
        memcpy(out, raw + 1, len - 2);
        out[len - 2] = '\0';
    }
    return out;
}

/* The string just scanned (from start; escaped: it has a backslash) as a json-c string. */
static bool build_string(struct scan *s, const unsigned char *start, bool escaped,
                         json_object **out)
{
    size_t len = (size_t)(s->p - start), text_len;
    if (!escaped) {
        *out = json_object_new_string_len((const char *)start + 1, (int)(len - 2));
        return *out || out_of_memory(s);
    }
    char small[256];
    char *text = string_text(start, len, small, sizeof small, &text_len);
    *out = text ? json_object_new_string_len(text, (int)text_len) : NULL;
    if (text != small)
        free(text);
    return *out || out_of_memory(s);
}

/*
 * Whether the 8 bytes at p are all plain string bytes: printable ASCII, no
 * quote, no backslash. Each test says exactly whether some byte matches
 * (a borrow only crosses a byte that matched itself), which is all it needs.
 */
static bool plain_8(const unsigned char *p)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t v;
    memcpy(&v, p, sizeof v);
    uint64_t quote = v ^ (ones * '"'), backslash = v ^ (ones * '\\');
    uint64_t special = ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash)
                       | (v - ones * 0x20) /* a control byte */ | v /* non-ASCII */;
    return (special & highs) == 0;
}

static bool scan_string(struct scan *s, json_object **out)
{
    const unsigned char *start = s->p;
    bool escaped = false;
    s->p++; /* the opening quote */
    while (s->p < s->end) {
        if (s->end - s->p >= 8 && plain_8(s->p)) { /* the common case, 8 bytes at a time */
            s->p += 8;
            continue;
        }
        unsigned char c = *s->p;
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            s->p++;
            continue;
        }
        if (c == '"') {
            s->p++;
            return !out || build_string(s, start, escaped, out);
        }
        if (c < 0x20)
            return fail(s, "a control byte in a string must be escaped");
        if (c == '\\') {
            escaped = true;
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

/* Numbers are read in the C locale whatever the process's (a plugin may set one). */
static locale_t c_numeric;
static pthread_once_t c_numeric_once = PTHREAD_ONCE_INIT;

static void c_numeric_make(void)
{
    c_numeric = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/*
 * The number just scanned (from start) as json-c's parser makes it: with a
 * fraction or an exponent a double that keeps its text (written back as
 * sent); else an int64, a uint64 above INT64_MAX, each clamped at its range.
 */
static bool build_number(struct scan *s, const unsigned char *start, json_object **out)
{
    size_t len = (size_t)(s->p - start);
    char small[64];
    char *text = len < sizeof small ? small : malloc(len + 1);
    if (!text)
        return out_of_memory(s);
    memcpy(text, start, len);
    text[len] = '\0';
    if (memchr(text, '.', len) || memchr(text, 'e', len) || memchr(text, 'E', len)) {
        pthread_once(&c_numeric_once, c_numeric_make);
        double d = c_numeric ? strtod_l(text, NULL, c_numeric) : strtod(text, NULL);
        *out = json_object_new_double_s(d, text);
    } else if (text[0] == '-') {
        int64_t n = 0;
        json_parse_int64(text, &n);
        *out = json_object_new_int64(n);
    } else {
        uint64_t n = 0;
        json_parse_uint64(text, &n);
        *out = n <= INT64_MAX ? json_object_new_int64((int64_t)n) : json_object_new_uint64(n);
    }
    if (text != small)
        free(text);
    return *out || out_of_memory(s);
}

static bool scan_number(struct scan *s, json_object **out)
{
    const unsigned char *start = s->p;
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
    return !out || build_number(s, start, out);
}

/* true, false or null; json-c's null is NULL. */
static bool scan_literal(struct scan *s, const char *word, json_object **out)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return fail(s, "unexpected character");
    s->p += n;
    if (!out || word[0] == 'n')
        return true;
    *out = json_object_new_boolean(word[0] == 't');
    return *out || out_of_memory(s);
}

static bool scan_value(struct scan *s, int depth, json_object **out);

/* A member into the object being built: a repeated name replaces the value, as json-c does. */
static bool add_member(struct scan *s, json_object *object, const unsigned char *name,
                       size_t name_len, json_object *value)
{
    char small[256];
    size_t key_len;
    /* (json-c's keys are C strings: a name with an escaped NUL ends there, as json-c cuts it.) */
    char *key = string_text(name, name_len, small, sizeof small, &key_len);
    int added = key ? json_object_object_add(object, key, value) : -1;
    if (key != small)
        free(key);
    if (added != 0) {
        json_object_put(value);
        return out_of_memory(s);
    }
    return true;
}

/*
 * An object or array: open, members separated by commas, close; no trailing
 * comma. Built into *out when out is not NULL (NULL on failure).
 */
static bool scan_container(struct scan *s, int depth, json_object **out)
{
    bool object = *s->p == '{';
    unsigned char close = object ? '}' : ']';
    if (depth >= JSON_MAX_DEPTH)
        return fail(s, "nested too deeply");
    json_object *built = NULL;
    if (out && !(built = object ? json_object_new_object() : json_object_new_array()))
        return out_of_memory(s);
    s->p++;
    skip_space(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        goto done;
    }
    for (;;) {
        const unsigned char *name = NULL;
        size_t name_len = 0;
        if (object) {
            skip_space(s);
            if (s->p >= s->end || *s->p != '"') {
                fail(s, "an object member name must be a string");
                goto failed;
            }
            name = s->p;
            if (!scan_string(s, NULL))
                goto failed;
            name_len = (size_t)(s->p - name);
            skip_space(s);
            if (s->p >= s->end || *s->p != ':') {
                fail(s, "':' expected after a member name");
                goto failed;
            }
            s->p++;
        }
        json_object *value = NULL;
        if (!scan_value(s, depth + 1, built ? &value : NULL))
            goto failed;
        if (built && object && !add_member(s, built, name, name_len, value))
            goto failed;
        if (built && !object && json_object_array_add(built, value) != 0) {
            json_object_put(value);
            out_of_memory(s);
            goto failed;
        }
        if (s->p >= s->end) {
            fail(s, "unexpected end of input");
            goto failed;
        }
        if (*s->p == close) {
            s->p++;
            goto done;
        }
        if (*s->p != ',') {
            fail(s, object ? "',' or '}' expected" : "',' or ']' expected");
            goto failed;
        }
        s->p++;
    }
done:
    if (built && !object)
        json_object_array_shrink(built, 0); /* (as json-c leaves a finished array) */
    if (out)
        *out = built;
    return true;
failed:
    json_object_put(built);
    return false;
}

/* A value, with the space around it; built into *out when out is not NULL. */
static bool scan_value(struct scan *s, int depth, json_object **out)
{
    if (out)
        *out = NULL;
    skip_space(s);
    if (s->p >= s->end)
        return fail(s, "unexpected end of input");
    bool ok;
    switch (*s->p) {
    case '{':
    case '[': ok = scan_container(s, depth, out); break;
    case '"': ok = scan_string(s, out); break;
    case 't': ok = scan_literal(s, "true", out); break;
    case 'f': ok = scan_literal(s, "false", out); break;
    case 'n': ok = scan_literal(s, "null", out); break;
    default:
        ok = *s->p == '-' || is_digit(*s->p) ? scan_number(s, out) : fail(s, "unexpected character");
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
    json_object *value = NULL;
    if (scan_value(&s, 0, &value) && s.p < s.end)
        fail(&s, "unexpected data after the JSON value");
    if (s.error) {
        json_object_put(value);
        snprintf(why, why_len, "%s at byte %zu", s.error, (size_t)(s.at - (const unsigned char *)text));
        return NULL;
    }
    if (!value) /* json-c's null is NULL: a body that is only null is refused as such */
        snprintf(why, why_len, "the value is null");
    return value;
}

/* ---- a few members, without building the tree ---- */

/* Whether a member name (its raw string, quotes included) is want. */
static bool name_is(const unsigned char *raw, size_t len, const char *want)
{
    if (!memchr(raw, '\\', len))
        return len - 2 == strlen(want) && memcmp(raw + 1, want, len - 2) == 0;
    /*
     * An escaped name: compare what it decodes to up to its first NUL, where
     * json-c cuts its keys ("id\u0000x" is its "id"). The buffer starts as
     * 0xFF, a byte no decoded text holds, and the decoder writes as it goes:
     * a name too long for the buffer still leaves its decoded start there,
     * and a NUL only where the name has one.
     */
    char name[64];
    size_t want_len = strlen(want);
    memset(name, 0xFF, sizeof name);
    json_string_decode((const char *)raw, len, name, sizeof name);
    return want_len < sizeof name && memcmp(name, want, want_len + 1) == 0;
}

/* The end of the value that starts at start and that the scanner just passed (its trailing space left out). */
static size_t value_length(const unsigned char *start, const unsigned char *after)
{
    while (after > start && (after[-1] == ' ' || after[-1] == '\t' || after[-1] == '\n'
                             || after[-1] == '\r'))
        after--;
    return (size_t)(after - start);
}

/*
 * An object on the watched paths (mask: the fields whose path leads through
 * it, level: how deep in those paths it is): scanned as scan_container does,
 * noting the raw value of each watched member. A repeated member replaces
 * the earlier one, as json-c keeps the last.
 */
static bool scan_watched(struct scan *s, int depth, struct json_field *fields, size_t n_fields,
                         int level, uint32_t mask)
{
    if (depth >= JSON_MAX_DEPTH)
        return fail(s, "nested too deeply");
    s->p++;
    skip_space(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return true;
    }
    for (;;) {
        skip_space(s);
        if (s->p >= s->end || *s->p != '"')
            return fail(s, "an object member name must be a string");
        const unsigned char *name = s->p;
        if (!scan_string(s, NULL))
            return false;
        size_t name_len = (size_t)(s->p - name);
        skip_space(s);
        if (s->p >= s->end || *s->p != ':')
            return fail(s, "':' expected after a member name");
        s->p++;
        skip_space(s);
        uint32_t here = 0, deeper = 0;
        for (size_t i = 0; i < n_fields; i++) {
            if (!(mask & (1u << i)) || !name_is(name, name_len, fields[i].path[level]))
                continue;
            if (level + 1 < JSON_FIELD_DEPTH && fields[i].path[level + 1]) {
                deeper |= 1u << i;
                fields[i].value = NULL; /* found again below, or absent */
                fields[i].len = 0;
            } else {
                here |= 1u << i;
            }
        }
        const unsigned char *start = s->p;
        bool ok;
        if (deeper && s->p < s->end && *s->p == '{') {
            ok = scan_watched(s, depth + 1, fields, n_fields, level + 1, deeper);
            skip_space(s);
        } else {
            ok = scan_value(s, depth + 1, NULL);
        }
        if (!ok)
            return false;
        for (size_t i = 0; here && i < n_fields; i++) {
            if (here & (1u << i)) {
                fields[i].value = (const char *)start;
                fields[i].len = value_length(start, s->p);
            }
        }
        if (s->p >= s->end)
            return fail(s, "unexpected end of input");
        if (*s->p == '}') {
            s->p++;
            return true;
        }
        if (*s->p != ',')
            return fail(s, "',' or '}' expected");
        s->p++;
    }
}

int json_scan_fields(const char *text, size_t len, struct json_field *fields, size_t n_fields,
                     char *why, size_t why_len)
{
    struct scan s = {.p = (const unsigned char *)text, .end = (const unsigned char *)text + len};
    for (size_t i = 0; i < n_fields; i++) {
        fields[i].value = NULL;
        fields[i].len = 0;
    }
    if (n_fields > 32) {
        snprintf(why, why_len, "too many fields to watch");
        return -1;
    }
    skip_space(&s);
    bool ok;
    if (s.p < s.end && *s.p == '{') {
        ok = scan_watched(&s, 0, fields, n_fields, 0, (uint32_t)((1ull << n_fields) - 1));
        skip_space(&s);
    } else {
        ok = scan_value(&s, 0, NULL);
    }
    if (ok && s.p < s.end)
        fail(&s, "unexpected data after the JSON value");
    if (s.error) {
        snprintf(why, why_len, "%s at byte %zu", s.error, (size_t)(s.at - (const unsigned char *)text));
        return -1;
    }
    return 0;
}

/* Append code point cp as UTF-8; false if it does not fit. */
static bool put_utf8(char *out, size_t cap, size_t *n, uint32_t cp)
{
    unsigned char b[4];
    size_t k;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        k = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 4;
    }
    if (*n + k >= cap)
        return false;
    memcpy(out + *n, b, k);
    *n += k;
    return true;
}

static uint32_t hex4(const char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v = v * 16 + (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

size_t json_string_decode(const char *raw, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    if (len < 2 || cap == 0)
        return SIZE_MAX;
    const char *p = raw + 1, *end = raw + len - 1; /* inside the quotes */
    while (p < end) {
        const char *plain = p;
        while (p < end && *p != '\\')
            p++;
        size_t run = (size_t)(p - plain);
        if (n + run >= cap)
            return SIZE_MAX;
        memcpy(out + n, plain, run);
        n += run;
        if (p >= end)
            break;
        char e = p[1];
        uint32_t cp;
        p += 2;
        switch (e) {
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u':
            cp = hex4(p);
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                uint32_t low = hex4(p + 2);
                if (low >= 0xDC00 && low < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    p += 6;
                }
            }
            if (cp >= 0xD800 && cp < 0xE000)
                cp = 0xFFFD; /* a lone surrogate */
            break;
        default: cp = (unsigned char)e; /* " \ / */
        }
        if (!put_utf8(out, cap, &n, cp))
            return SIZE_MAX;
    }
    out[n] = '\0';
    return n;
}
