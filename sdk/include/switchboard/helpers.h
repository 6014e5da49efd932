/*
 * helpers.h - small pure helpers for plugins (since 1.1): lenient JSON
 * members, Intercom's times, HTML and URL escaping, and Canvas Kit builders.
 *
 * Everything here is static inline and calls no host service, so it works
 * the same in a plugin, in its unit tests and in the host. Include it where
 * you want it; <switchboard/switchboard.h> does not.
 *
 * Allocation: functions that allocate return NULL when an allocation fails
 * and then leave nothing behind (a builder also releases what it was handed).
 */
#ifndef SWITCHBOARD_HELPERS_H
#define SWITCHBOARD_HELPERS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* JSON members, leniently: Intercom sends some ids as strings, some as     */
/* numbers, and leaves out or nulls what it has not got.                    */
/* ------------------------------------------------------------------------ */

/** Since 1.1: member @p key of @p o; NULL when absent, JSON null, or @p o is not an object. */
static inline json_object *sb_json_get(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

/** Since 1.1: member @p key if it is an object, else NULL. Borrowed from @p o. */
static inline json_object *sb_json_obj(json_object *o, const char *key)
{
    json_object *v = sb_json_get(o, key);
    return json_object_is_type(v, json_type_object) ? v : NULL;
}

/** Since 1.1: member @p key if it is an array, else NULL. Borrowed from @p o. */
static inline json_object *sb_json_arr(json_object *o, const char *key)
{
    json_object *v = sb_json_get(o, key);
    return json_object_is_type(v, json_type_array) ? v : NULL;
}

/**
 * Since 1.1: a string or integer member as text (an id sent as 42 reads as
 * "42"), borrowed from @p o; NULL when absent, of another type, or "".
 */
static inline const char *sb_json_str(json_object *o, const char *key)
{
    json_object *v = sb_json_get(o, key);
    if (!json_object_is_type(v, json_type_string) && !json_object_is_type(v, json_type_int))
        return NULL;
    const char *s = json_object_get_string(v);
    return s && *s ? s : NULL;
}

/**
 * Since 1.1: an integer member - an integer, a whole number written as a
 * double (1.7e9) or a decimal string ("42") - or @p fallback for anything
 * else, including fractions and values outside int64_t.
 */
static inline int64_t sb_json_int(json_object *o, const char *key, int64_t fallback)
{
    json_object *v = sb_json_get(o, key);
    switch (json_object_get_type(v)) {
    case json_type_int:
        return json_object_get_int64(v);
    case json_type_double: {
        double d = json_object_get_double(v);
        /* The range test comes first (it is false for NaN), so the cast is defined. */
        return d > -9.0e18 && d < 9.0e18 && (double)(int64_t)d == d ? (int64_t)d : fallback;
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

/** Since 1.1: a boolean member, or @p fallback when absent or not a boolean. */
static inline bool sb_json_bool(json_object *o, const char *key, bool fallback)
{
    json_object *v = sb_json_get(o, key);
    return json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : fallback;
}

/** Since 1.1: the member is present and JSON null (as opposed to absent). */
static inline bool sb_json_is_null(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v)
           && v == NULL;
}

/* ------------------------------------------------------------------------ */
/* Times. Intercom's REST answers carry Unix seconds; some webhook payloads */
/* carry RFC 3339 strings ("2026-01-10T04:22:28.240+00:00", or +0000).     */
/* ------------------------------------------------------------------------ */

/* Internal: exactly @p n digits at *p as a number, advancing *p; -1 (*p unmoved) if they are not there. */
static inline int sb_time_digits_(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    return v;
}

/* Internal: *p is @p c; then it is passed. */
static inline bool sb_time_skip_(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

/* Internal: days from 1970-01-01 to a valid proleptic Gregorian date (no timegm: it is not C11). */
static inline int64_t sb_time_days_(int64_t year, int month, int day)
{
    year -= month <= 2; /* count from March, so the leap day ends a year */
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    int64_t year_of_era = year - era * 400;
    int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

/**
 * Since 1.1: an RFC 3339 date-time as milliseconds since 1970-01-01T00:00:00Z
 * (negative before it) in *@p ms. Accepted: YYYY-MM-DD, then "T", "t" or a
 * space, then HH:MM:SS, an optional fraction of one or more digits (beyond
 * milliseconds dropped), and a zone: "Z", "z", +HH:MM, -HH:MM, or +HHMM /
 * -HHMM as Intercom's payloads also show. The date must exist (leap years,
 * days per month); a second of 60 (a leap second) counts as the next
 * minute's first. Nothing may follow. False for anything else, NULL
 * included, and *@p ms is then left alone.
 */
static inline bool sb_time_parse_rfc3339(const char *text, int64_t *ms)
{
    static const int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = text;
    if (!p)
        return false;
    int year = sb_time_digits_(&p, 4);
    int month = sb_time_skip_(&p, '-') ? sb_time_digits_(&p, 2) : -1;
    int day = sb_time_skip_(&p, '-') ? sb_time_digits_(&p, 2) : -1;
    if (year < 0 || month < 1 || month > 12 || day < 1 || day > month_days[month - 1])
        return false;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (month == 2 && day == 29 && !leap)
        return false;
    if (!sb_time_skip_(&p, 'T') && !sb_time_skip_(&p, 't') && !sb_time_skip_(&p, ' '))
        return false;
    int hour = sb_time_digits_(&p, 2);
    int minute = sb_time_skip_(&p, ':') ? sb_time_digits_(&p, 2) : -1;
    int second = sb_time_skip_(&p, ':') ? sb_time_digits_(&p, 2) : -1;
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60)
        return false;
    int millis = 0, fraction_digits = 0;
    if (sb_time_skip_(&p, '.')) {
        for (; *p >= '0' && *p <= '9'; p++, fraction_digits++)
            if (fraction_digits < 3)
                millis = millis * 10 + (*p - '0');
        if (fraction_digits == 0)
            return false;
        for (int i = fraction_digits; i < 3; i++)
            millis *= 10;
    }
    int offset_minutes = 0;
    if (!sb_time_skip_(&p, 'Z') && !sb_time_skip_(&p, 'z')) {
        int sign = sb_time_skip_(&p, '+') ? 1 : sb_time_skip_(&p, '-') ? -1 : 0;
        int offset_hours = sign ? sb_time_digits_(&p, 2) : -1;
        sb_time_skip_(&p, ':'); /* +HH:MM and +HHMM both occur */
        int offset_mins = offset_hours >= 0 ? sb_time_digits_(&p, 2) : -1;
        if (offset_hours < 0 || offset_hours > 23 || offset_mins < 0 || offset_mins > 59)
            return false; /* no zone at all is refused too: the time would be ambiguous */
        offset_minutes = sign * (offset_hours * 60 + offset_mins);
    }
    if (*p)
        return false;
    int64_t seconds = sb_time_days_(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
                      - (int64_t)offset_minutes * 60;
    *ms = seconds * 1000 + millis;
    return true;
}

/**
 * Since 1.1: a time member as Unix seconds: an integer, a number with a
 * fraction (dropped), a decimal string, or an RFC 3339 string as read by
 * sb_time_parse_rfc3339() - Intercom sends all of these. -1 when the member
 * is absent, null, of another type or shape, before 1970, or (as a number)
 * past the year 9999.
 */
static inline int64_t sb_json_time(json_object *o, const char *key)
{
    json_object *v = sb_json_get(o, key);
    const double year_10000 = 253402300800.0;
    switch (json_object_get_type(v)) {
    case json_type_int: {
        int64_t n = json_object_get_int64(v);
        return n >= 0 && (double)n < year_10000 ? n : -1;
    }
    case json_type_double: {
        double d = json_object_get_double(v);
        /* Comparisons are false for NaN, so the cast is defined. */
        return d >= 0 && d < year_10000 ? (int64_t)d : -1;
    }
    case json_type_string: {
        int64_t ms;
        if (sb_time_parse_rfc3339(json_object_get_string(v), &ms))
            return ms >= 0 ? ms / 1000 : -1;
        int64_t n = sb_json_int(o, key, -1);
        return n >= 0 && (double)n < year_10000 ? n : -1;
    }
    default:
        return -1;
    }
}

/* Internal: add @p value (new reference, NULL for JSON null) under @p key; on failure release it. */
static inline int sb_json_add_(json_object *o, const char *key, json_object *value, bool made)
{
    if (!made || json_object_object_add(o, key, value) != 0) {
        json_object_put(value);
        return -1;
    }
    return 0;
}

/** Since 1.1: add (or replace) a string member; JSON null when @p value is NULL. 0, or -1. */
static inline int sb_json_add_str(json_object *o, const char *key, const char *value)
{
    json_object *v = value ? json_object_new_string(value) : NULL;
    return sb_json_add_(o, key, v, !value || v);
}

/** Since 1.1: add (or replace) an integer member. 0, or -1. */
static inline int sb_json_add_int(json_object *o, const char *key, int64_t value)
{
    json_object *v = json_object_new_int64(value);
    return sb_json_add_(o, key, v, v != NULL);
}

/** Since 1.1: add (or replace) a boolean member. 0, or -1. */
static inline int sb_json_add_bool(json_object *o, const char *key, bool value)
{
    json_object *v = json_object_new_boolean(value);
    return sb_json_add_(o, key, v, v != NULL);
}

/* ------------------------------------------------------------------------ */
/* Escaping. Each comes twice: _into writes into a buffer of yours like     */
/* snprintf, and the plain form returns a new string.                       */
/* ------------------------------------------------------------------------ */

/* Internal: how one byte is escaped; writes the replacement into @p rep, returns its length. */
typedef size_t (*sb_escape_byte_fn_)(unsigned char c, char rep[8]);

/*
 * Internal: @p s escaped byte by byte into @p out. Only whole replacements
 * are written (never half an entity), @p out is NUL-terminated when
 * @p cap > 0, and the length the whole result needs (without the NUL) is
 * returned: a value >= @p cap means @p out was too small.
 */
static inline size_t sb_escape_into_(char *out, size_t cap, const char *s, sb_escape_byte_fn_ escape)
{
    size_t need = 0, used = 0;
    bool fits = true;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        char rep[8];
        size_t n = escape(*p, rep);
        if (fits && used + n < cap) {
            memcpy(out + used, rep, n);
            used += n;
        } else {
            fits = false;
        }
        need += n;
    }
    if (cap)
        out[used] = '\0';
    return need;
}

/* Internal: @p s escaped into a new string, or NULL when allocation fails. */
static inline char *sb_escape_dup_(const char *s, sb_escape_byte_fn_ escape)
{
    size_t len = sb_escape_into_(NULL, 0, s, escape);
    char *out = (char *)malloc(len + 1);
    if (out)
        sb_escape_into_(out, len + 1, s, escape);
    return out;
}

/* Internal: & < > " ' become entities; every other byte, UTF-8 included, stays. */
static inline size_t sb_html_escape_byte_(unsigned char c, char rep[8])
{
    const char *entity = c == '&'    ? "&amp;"
                         : c == '<'  ? "&lt;"
                         : c == '>'  ? "&gt;"
                         : c == '"'  ? "&quot;"
                         : c == '\'' ? "&#39;"
                                     : NULL;
    if (!entity) {
        rep[0] = (char)c;
        return 1;
    }
    size_t n = strlen(entity);
    memcpy(rep, entity, n);
    return n;
}

/* Internal: RFC 3986 unreserved characters stay; every other byte becomes %XX. */
static inline size_t sb_url_escape_byte_(unsigned char c, char rep[8])
{
    static const char hex[] = "0123456789ABCDEF";
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
        || c == '.' || c == '_' || c == '~') {
        rep[0] = (char)c;
        return 1;
    }
    rep[0] = '%';
    rep[1] = hex[c >> 4];
    rep[2] = hex[c & 15];
    return 3;
}

/**
 * Since 1.1: @p s (NULL: "") for HTML text and for attribute values in
 * quotes of either kind: & < > " ' become entities; everything else,
 * UTF-8 included, is kept as it is. Writes at most @p cap bytes to @p out
 * like snprintf (whole entities only, NUL-terminated when @p cap > 0) and
 * returns the escaped length: a result >= @p cap means it did not fit.
 */
static inline size_t sb_html_escape_into(char *out, size_t cap, const char *s)
{
    return sb_escape_into_(out, cap, s, sb_html_escape_byte_);
}

/** Since 1.1: @p s HTML-escaped as by sb_html_escape_into(), in a new string (free() it); NULL if out of memory. */
static inline char *sb_html_escape(const char *s)
{
    return sb_escape_dup_(s, sb_html_escape_byte_);
}

/**
 * Since 1.1: @p s (NULL: "") percent-encoded for one URL path segment or
 * one query component (a name or a value): every byte but RFC 3986's
 * unreserved characters (A-Z a-z 0-9 - . _ ~) becomes %XX, UTF-8 byte by
 * byte, so "/", "?", "&", "=", "#", "+" and spaces cannot change the URL's
 * structure. Writes into @p out like sb_html_escape_into().
 */
static inline size_t sb_url_escape_into(char *out, size_t cap, const char *s)
{
    return sb_escape_into_(out, cap, s, sb_url_escape_byte_);
}

/** Since 1.1: @p s URL-escaped as by sb_url_escape_into(), in a new string (free() it); NULL if out of memory. */
static inline char *sb_url_escape(const char *s)
{
    return sb_escape_dup_(s, sb_url_escape_byte_);
}

/* ------------------------------------------------------------------------ */
/* Canvas Kit: components for the answers to initialize and submit.        */
/* Each returns a new reference, NULL if out of memory; optional strings    */
/* (NULL) are left out. Containers take over the arrays they are handed,    */
/* as json_object_array_add() takes over what it adds.                      */
/* ------------------------------------------------------------------------ */

/* Internal: {"type": type} plus up to three optional string members. */
static inline json_object *sb_canvas_component_(const char *type, const char *k1, const char *v1,
                                               const char *k2, const char *v2, const char *k3,
                                               const char *v3)
{
    json_object *c = json_object_new_object();
    if (!c || sb_json_add_str(c, "type", type) != 0 || (v1 && sb_json_add_str(c, k1, v1) != 0)
        || (v2 && sb_json_add_str(c, k2, v2) != 0) || (v3 && sb_json_add_str(c, k3, v3) != 0)) {
        json_object_put(c);
        return NULL;
    }
    return c;
}

/* Internal: add @p child (taken over, NULL: a failure upstream) to @p o, or release both. */
static inline json_object *sb_canvas_adopt_(json_object *o, const char *key, json_object *child)
{
    if (!o || !child || json_object_object_add(o, key, child) != 0) {
        json_object_put(child);
        json_object_put(o);
        return NULL;
    }
    return o;
}

/**
 * Since 1.1: the answer to a Canvas Kit request,
 * {"canvas":{"content":{"components": components}}}, taking over
 * @p components (an array of the components below).
 */
static inline json_object *sb_canvas(json_object *components)
{
    json_object *content = sb_canvas_adopt_(json_object_new_object(), "components", components);
    json_object *canvas = sb_canvas_adopt_(json_object_new_object(), "content", content);
    return sb_canvas_adopt_(json_object_new_object(), "canvas", canvas);
}

/** Since 1.1: {"type":"text"}; @p style "header", "paragraph", "muted" or "error". Text is Markdown. */
static inline json_object *sb_canvas_text(const char *text, const char *style)
{
    return sb_canvas_component_("text", "text", text, "style", style, NULL, NULL);
}

/** Since 1.1: a button that submits (component_id = @p id); @p style "primary", "secondary" or "link". */
static inline json_object *sb_canvas_button(const char *id, const char *label, const char *style)
{
    json_object *button = sb_canvas_component_("button", "id", id, "label", label, "style", style);
    return sb_canvas_adopt_(button, "action", sb_canvas_component_("submit", NULL, NULL, NULL,
                                                                     NULL, NULL, NULL));
}

/** Since 1.1: a text input whose value comes back in input_values[@p id] on submit. */
static inline json_object *sb_canvas_input(const char *id, const char *label,
                                           const char *placeholder, const char *value)
{
    json_object *input = sb_canvas_component_("input", "id", id, "label", label, "placeholder",
                                              placeholder);
    if (input && value && sb_json_add_str(input, "value", value) != 0) {
        json_object_put(input);
        return NULL;
    }
    return input;
}

/** Since 1.1: a horizontal rule. */
static inline json_object *sb_canvas_divider(void)
{
    return sb_canvas_component_("divider", NULL, NULL, NULL, NULL, NULL, NULL);
}

/** Since 1.1: empty space; @p size "xs", "s", "m", "l" or "xl" (NULL: Intercom's default). */
static inline json_object *sb_canvas_spacer(const char *size)
{
    return sb_canvas_component_("spacer", "size", size, NULL, NULL, NULL, NULL);
}

/** Since 1.1: a list, taking over @p items (an array of sb_canvas_list_item()s). */
static inline json_object *sb_canvas_list(json_object *items)
{
    return sb_canvas_adopt_(sb_canvas_component_("list", NULL, NULL, NULL, NULL, NULL, NULL),
                            "items", items);
}

/**
 * Since 1.1: one item of a list, with up to three lines of text; with
 * @p url, clicking it opens that page in a new tab.
 */
static inline json_object *sb_canvas_list_item(const char *id, const char *title,
                                               const char *subtitle, const char *tertiary_text,
                                               const char *url)
{
    json_object *item = sb_canvas_component_("item", "id", id, "title", title, "subtitle", subtitle);
    if (item && tertiary_text && sb_json_add_str(item, "tertiary_text", tertiary_text) != 0) {
        json_object_put(item);
        return NULL;
    }
    if (!url)
        return item;
    return sb_canvas_adopt_(item, "action",
                            sb_canvas_component_("url", "url", url, NULL, NULL, NULL, NULL));
}

/** Since 1.1: a table of field / value rows, taking over @p items (sb_canvas_field_value()s). */
static inline json_object *sb_canvas_data_table(json_object *items)
{
    return sb_canvas_adopt_(sb_canvas_component_("data-table", NULL, NULL, NULL, NULL, NULL, NULL),
                            "items", items);
}

/** Since 1.1: one row of a data table. */
static inline json_object *sb_canvas_field_value(const char *field, const char *value)
{
    return sb_canvas_component_("field-value", "field", field, "value", value, NULL, NULL);
}

#ifdef __cplusplus
}
#endif

#endif /* SWITCHBOARD_HELPERS_H */
