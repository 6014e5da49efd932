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
 * deep. On failure returns NULL and writes a short reason with its byte
 * offset (never input bytes) into why; a text that is only `null` also comes
 * back NULL ("the value is null"), as json-c has no object for it.
 */
json_object *json_parse_whole(const char *text, size_t len, char *why, size_t why_len);

#endif
