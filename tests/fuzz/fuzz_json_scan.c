/*
 * fuzz_json_scan - the field scanner webhook intake reads notifications with
 * (json_scan_fields and json_string_decode, core/json_input.c), against
 * json-c's whole parse (json_parse_whole) of the same bytes.
 *
 * Input: the body. The scan must succeed exactly when the whole parse does
 * (a body that is only `null`, which the whole parse refuses as such, is
 * valid to the scan) and fail with the same reason at the same byte. When the
 * top level is an object, each watched path is present exactly when json-c
 * has it (member by member, through objects only), and its raw value parses
 * on its own to what json-c holds there: a string decodes to json-c's bytes
 * (embedded NULs included; json_c_mangles says where json-c 0.16 decodes
 * wrong), an integer to json-c's int64.
 *
 * And the tree json_parse_whole builds (in the scan's own pass) is the one
 * json-c's parser makes of the same bytes: equal, of the same types, written
 * back to the same text (member order, a repeated member's place, numbers).
 */
#include "json_input.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What webhooks_handle reads, and "data" too, so that a field and one below it are watched at once. */
static const struct json_field watched[] = {
    {{"topic"}, NULL, 0},         {{"id"}, NULL, 0},
    {{"app_id"}, NULL, 0},        {{"created_at"}, NULL, 0},
    {{"data", "item"}, NULL, 0},  {{"data", "item", "id"}, NULL, 0},
    {{"data"}, NULL, 0},
};
#define N_WATCHED (sizeof watched / sizeof watched[0])

/* The value json-c holds at @p path, following objects only; false if it has none. */
static bool member_at(json_object *doc, const char *const *path, json_object **out)
{
    json_object *at = doc;
    for (; *path; path++) {
        if (!json_object_is_type(at, json_type_object) || !json_object_object_get_ex(at, *path, &at))
            return false;
    }
    *out = at;
    return true;
}

static unsigned hex4(const char *p)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++)
        v = v * 16 + (unsigned)(p[i] <= '9' ? p[i] - '0' : (p[i] | 0x20) - 'a' + 10);
    return v;
}

/*
 * Whether raw (a checked JSON string) escapes a character json-c 0.16 gets
 * wrong: it tests a surrogate pair's decoded code point for being a surrogate
 * with a 16-bit mask, so U+xD800..U+xDFFF above the first plane (U+1DA15,
 * CJK Extension F's U+2D800..) come out as U+FFFD or spoil the next escape.
 * json_string_decode decodes them; there the texts are not compared.
 */
static bool json_c_mangles(const char *raw, size_t len)
{
    for (size_t i = 1; i + 1 < len; i++) {
        if (raw[i] != '\\')
            continue;
        if (raw[i + 1] != 'u') {
            i++;
            continue;
        }
        unsigned high = hex4(raw + i + 2);
        if (high >= 0xD800 && high < 0xDC00 && i + 12 < len && raw[i + 6] == '\\' && raw[i + 7] == 'u') {
            unsigned low = hex4(raw + i + 8);
            if (low >= 0xDC00 && low < 0xE000) {
                unsigned cp = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                if ((cp & 0xF800) == 0xD800)
                    return true;
                i += 6;
            }
        }
        i += 5;
    }
    return false;
}

/* A string field: its decoded text is json-c's, and it needs exactly its length plus a NUL. */
static void check_string(const struct json_field *f, json_object *value)
{
    if (!json_object_is_type(value, json_type_string))
        abort();
    char *text = malloc(f->len + 1); /* decoding never lengthens a string */
    if (!text)
        abort();
    size_t n = json_string_decode(f->value, f->len, text, f->len + 1);
    if (n == SIZE_MAX || text[n] != '\0')
        abort();
    if (!json_c_mangles(f->value, f->len)
        && (n != (size_t)json_object_get_string_len(value)
            || memcmp(text, json_object_get_string(value), n) != 0))
        abort();
    if (json_string_decode(f->value, f->len, text, n) != SIZE_MAX) /* no room for the NUL */
        abort();
    free(text);
}

/* An integer field (no fraction, no exponent): its token is json-c's int64, when it fits. */
static void check_integer(const struct json_field *f, json_object *value)
{
    if (memchr(f->value, '.', f->len) || memchr(f->value, 'e', f->len) || memchr(f->value, 'E', f->len))
        return;
    if (!json_object_is_type(value, json_type_int))
        abort();
    char *digits = malloc(f->len + 1);
    if (!digits)
        abort();
    memcpy(digits, f->value, f->len);
    digits[f->len] = '\0';
    errno = 0;
    long long n = strtoll(digits, NULL, 10);
    if (errno == 0 && n != json_object_get_int64(value))
        abort();
    free(digits);
}

/* One field against json-c's tree: there exactly when json-c has it, and the same value. */
static void check_field(const struct json_field *f, json_object *doc, const uint8_t *data, size_t size)
{
    json_object *value = NULL;
    bool present = member_at(doc, f->path, &value);
    if (present != (f->value != NULL))
        abort();
    if (!present)
        return;
    const char *begin = (const char *)data, *end = begin + size;
    if (f->value < begin || f->len == 0 || f->len > (size_t)(end - f->value))
        abort();
    char first = f->value[0], last = f->value[f->len - 1];
    if (first == ' ' || first == '\t' || first == '\n' || first == '\r' || last == ' ' || last == '\t'
        || last == '\n' || last == '\r')
        abort(); /* the span is the value alone */
    char why[128];
    json_object *alone = json_parse_whole(f->value, f->len, why, sizeof why);
    if (alone ? !json_object_equal(alone, value) : value != NULL || strcmp(why, "the value is null") != 0)
        abort();
    json_object_put(alone);
    if (first == '"')
        check_string(f, value);
    else if (first == '-' || (first >= '0' && first <= '9'))
        check_integer(f, value);
}

/* json-c's own parser on the bytes: what it builds, NULL for null or an error. */
static json_object *json_c_parse(const uint8_t *data, size_t size)
{
    json_tokener *tok = json_tokener_new_ex(65); /* our 64 levels, and the top */
    if (!tok)
        abort();
    json_object *v = json_tokener_parse_ex(tok, (const char *)data, (int)size);
    if (!v && json_tokener_get_error(tok) == json_tokener_continue)
        v = json_tokener_parse_ex(tok, "", 1); /* a top-level number ends with the input */
    json_tokener_free(tok);
    return v;
}

/* The tree built is json-c's, unless a string escapes a character json-c mangles. */
static void check_tree(json_object *doc, const uint8_t *data, size_t size)
{
    if (json_c_mangles((const char *)data, size))
        return;
    json_object *theirs = json_c_parse(data, size);
    const int plain = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
    if (!theirs || !json_object_equal(doc, theirs)
        || json_object_get_type(doc) != json_object_get_type(theirs)
        || strcmp(json_object_to_json_string_ext(doc, plain),
                  json_object_to_json_string_ext(theirs, plain)) != 0)
        abort();
    json_object_put(theirs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json_field fields[N_WATCHED];
    memcpy(fields, watched, sizeof fields);
    char scan_why[128] = "", whole_why[128] = "";
    int scanned = json_scan_fields((const char *)data, size, fields, N_WATCHED, scan_why, sizeof scan_why);
    json_object *doc = json_parse_whole((const char *)data, size, whole_why, sizeof whole_why);
    bool null_body = !doc && strcmp(whole_why, "the value is null") == 0;
    if (!doc && !null_body) {
        if (scanned != -1 || strcmp(scan_why, whole_why) != 0)
            abort(); /* refused alike, for the same reason at the same byte */
        return 0;
    }
    if (scanned != 0)
        abort();
    for (size_t i = 0; i < N_WATCHED; i++)
        check_field(&fields[i], doc, data, size);
    if (doc)
        check_tree(doc, data, size);
    json_object_put(doc);
    return 0;
}
