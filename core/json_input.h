/*
 * json_input.h - parsing JSON that arrives from outside (webhooks, Canvas Kit,
 * admin and product-API bodies): the whole input must be exactly one strict
 * JSON value.
 *
 * json-c's one-shot parsers stop at the end of the first value and at the
 * first NUL, so `{"a":1}garbage` or `{"a":1}\0...` would pass as `{"a":1}`
 * while the signature covered different bytes, and it takes comments, single
 * quotes, trailing commas and NaN. Here anything but RFC 8259 is an error.
 */
#ifndef SB_CORE_JSON_INPUT_H
#define SB_CORE_JSON_INPUT_H

#include <json-c/json.h>
#include <stddef.h>

/*
 * Parse text[0..len) as one strict (RFC 8259) JSON value, nesting at most 64
 * deep, in one pass that checks and builds: the tree is the one json-c's own
 * parser makes of the same text (a repeated member keeps the last value in
 * the first one's place; numbers as json-c types them, a double keeping its
 * text), except that astral characters escaped as surrogate pairs decode
 * right where json-c 0.16 mangles some. On failure returns NULL and writes a
 * short reason with its byte offset (never input bytes) into why; a text that
 * is only `null` also comes back NULL ("the value is null"), as json-c has no
 * object for it.
 */
json_object *json_parse_whole(const char *text, size_t len, char *why, size_t why_len);

/*
 * A member to read without building the tree: its path of member names from
 * the top-level object (NULL after the last, unless all JSON_FIELD_DEPTH are
 * used), and what was found there.
 */
#define JSON_FIELD_DEPTH 4 /* member names in a path at most */
struct json_field {
    const char *path[JSON_FIELD_DEPTH];
    const char *value; /* the raw JSON value (a string keeps its quotes), or NULL if absent */
    size_t len;
};
/*
 * Check text[0..len) exactly as json_parse_whole does (same grammar, same
 * depth limit, same reasons with their byte offsets) and, in the same pass,
 * note where each of up to 32 fields is; nothing is allocated. Where a member
 * is repeated the last one counts, as with json-c. 0, or -1 with a reason.
 */
int json_scan_fields(const char *text, size_t len, struct json_field *fields, size_t n_fields,
                     char *why, size_t why_len);
/*
 * The text of a raw JSON string (quotes included, already checked by the
 * scan) into out, escapes decoded, NUL-terminated: its length, or SIZE_MAX if
 * it does not fit in cap bytes.
 */
size_t json_string_decode(const char *raw, size_t len, char *out, size_t cap);

#endif
