/*
 * fuzz_json_stream - the incremental JSON reader (core/json_stream.c) that
 * hands a large Intercom answer's array to a plugin element by element.
 *
 * Input: one byte choosing the array's path and the size bounds, one byte
 * naming the element at which the callback stops (255: never), one byte
 * seeding the chunk cuts, then the body. The body is read in one chunk, one
 * byte at a time and in seeded chunks, and the three readings must agree
 * exactly (elements, skeleton, status and message). They must also agree
 * with json_parse_whole() (json_input.c) on the whole body: a successful
 * reading's skeleton with its elements put back is the whole body's value; a
 * body the whole parse refuses is refused; a body it takes is refused only
 * for one of the reader's own rules (a member on the path twice, a bound, a
 * stop).
 */
#include "json_input.h"
#include "json_stream.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const paths[] = {"conversation_parts.conversation_parts", "conversations", "a",
                                    "a.b", "data", NULL};
#define N_PATHS (sizeof paths / sizeof paths[0])

struct reading {
    json_object *items;
    json_object *skeleton;
    enum json_stream_status status;
    char error[192];
    size_t stop_at;
};

static int collect(void *arg, json_object *item, size_t index)
{
    struct reading *r = arg;
    if (index != json_object_array_length(r->items))
        abort();
    json_object_array_add(r->items, json_object_get(item));
    return index == r->stop_at;
}

/* Read in one chunk (@p mode 0), a byte at a time (1), or in seeded chunks of 1 to 64 bytes (2). */
static void read_body(struct reading *r, const char *path, size_t max_item, size_t max_skeleton,
                      const uint8_t *body, size_t len, unsigned mode, uint32_t seed)
{
    struct json_stream *js = json_stream_new(path, max_item, max_skeleton, collect, r);
    if (!js)
        abort();
    size_t at = 0;
    while (at < len) {
        size_t n = len - at;
        if (mode == 1) {
            n = 1;
        } else if (mode == 2) {
            seed = seed * 1103515245u + 12345u;
            n = 1 + (seed >> 16) % 64;
        }
        if (n > len - at)
            n = len - at;
        json_stream_feed(js, body + at, n);
        at += n;
    }
    r->status = json_stream_finish(js, &r->skeleton);
    snprintf(r->error, sizeof r->error, "%s", json_stream_error(js));
    if (json_stream_items(js) != json_object_array_length(r->items))
        abort();
    json_stream_free(js);
}

static bool same_reading(const struct reading *a, const struct reading *b)
{
    return a->status == b->status && strcmp(a->error, b->error) == 0
           && json_object_equal(a->items, b->items)
           && (a->skeleton == b->skeleton || json_object_equal(a->skeleton, b->skeleton));
}

/* The array at the dotted @p path in @p doc, or NULL. */
static json_object *array_at(json_object *doc, const char *path)
{
    char copy[64];
    snprintf(copy, sizeof copy, "%s", path);
    json_object *at = doc;
    for (char *member = strtok(copy, "."); member && at; member = strtok(NULL, ".")) {
        json_object *next = NULL;
        at = json_object_is_type(at, json_type_object) && json_object_object_get_ex(at, member, &next)
                 ? next
                 : NULL;
    }
    return json_object_is_type(at, json_type_array) ? at : NULL;
}

static void check_against_whole(const struct reading *r, const char *path, const uint8_t *body,
                                size_t len)
{
    char why[128];
    json_object *whole = json_parse_whole((const char *)body, len, why, sizeof why);
    if (!whole) {
        if (r->status == JSON_STREAM_OK)
            abort(); /* taken by the reader, refused whole */
    } else if (r->status == JSON_STREAM_INVALID) {
        abort(); /* refused by the reader as not JSON, taken whole */
    } else if (r->status == JSON_STREAM_OK) {
        json_object *joined = NULL;
        if (json_object_deep_copy(r->skeleton, &joined, NULL) != 0)
            abort();
        json_object *array = path ? array_at(joined, path) : NULL;
        size_t n = json_object_array_length(r->items);
        if (n && (!array || json_object_array_length(array) != 0))
            abort(); /* elements handed out from somewhere else than the array */
        for (size_t i = 0; i < n; i++)
            json_object_array_add(array, json_object_get(json_object_array_get_idx(r->items, i)));
        if (!json_object_equal(joined, whole))
            abort();
        json_object_put(joined);
    }
    json_object_put(whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    const char *path = paths[(data[0] & 0x7f) % N_PATHS];
    bool tight = data[0] & 0x80; /* small bounds, so that they are met */
    size_t max_item = tight ? 48 : 1 << 20, max_skeleton = tight ? 160 : 1 << 20;
    size_t stop_at = data[1] == 255 ? SIZE_MAX : data[1];
    uint32_t seed = data[2];
    const uint8_t *body = data + 3;
    size_t len = size - 3;
    struct reading readings[3];
    for (unsigned mode = 0; mode < 3; mode++) {
        readings[mode] = (struct reading){.items = json_object_new_array(), .stop_at = stop_at};
        read_body(&readings[mode], path, max_item, max_skeleton, body, len, mode, seed);
    }
    if (!same_reading(&readings[0], &readings[1]) || !same_reading(&readings[0], &readings[2]))
        abort();
    check_against_whole(&readings[0], path, body, len);
    for (unsigned mode = 0; mode < 3; mode++) {
        json_object_put(readings[mode].items);
        json_object_put(readings[mode].skeleton);
    }
    return 0;
}
