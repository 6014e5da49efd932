/* sd_usage_map.c - validating the usage mapping and matching event names against it. */
#include "sd_usage_map.h"

#include "sd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const entry_fields[] = {"event", "product", "usage_type"};

/* Printable text: no control characters, and not only blanks. */
static bool text_ok(const char *s, size_t max)
{
    size_t len = strlen(s);
    if (len == 0 || len > max)
        return false;
    bool visible = false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return false;
        if (*p != ' ')
            visible = true;
    }
    return visible;
}

/* Why an entry is not valid, or NULL; @p i names it. */
static bool entry_check(json_object *entry, size_t i, char *err, size_t errlen)
{
    if (!json_object_is_type(entry, json_type_object)) {
        snprintf(err, errlen, "mappings[%zu] must be an object", i);
        return false;
    }
    json_object_object_foreach(entry, key, value)
    {
        bool known = false;
        for (size_t f = 0; f < PK_ARRAY_LEN(entry_fields); f++)
            known = known || strcmp(key, entry_fields[f]) == 0;
        if (!known) {
            snprintf(err, errlen,
                     "mappings[%zu]: unknown field '%.40s' (allowed: event, product, usage_type)",
                     i, key);
            return false;
        }
        (void)value;
    }
    for (size_t f = 0; f < PK_ARRAY_LEN(entry_fields); f++) {
        const char *name = entry_fields[f];
        json_object *v = NULL;
        bool is_event = f == 0;
        size_t max = is_event ? SD_USAGE_EVENT_MAX : SD_USAGE_NAME_MAX;
        if (!json_object_object_get_ex(entry, name, &v) || !json_object_is_type(v, json_type_string)) {
            snprintf(err, errlen, "mappings[%zu].%s is required (a string)", i, name);
            return false;
        }
        const char *s = json_object_get_string(v);
        if (!text_ok(s, max)) {
            snprintf(err, errlen,
                     "mappings[%zu].%s must be 1-%zu characters of text (not empty or blank, "
                     "no control characters)",
                     i, name, max);
            return false;
        }
        const char *star = strchr(s, '*');
        if (is_event && star && star[1] != '\0') {
            snprintf(err, errlen,
                     "mappings[%zu].event: '*' may only end a prefix (\"feature.*\")", i);
            return false;
        }
    }
    return true;
}

json_object *sd_usage_map_from_input(json_object *body, char *err, size_t errlen)
{
    json_object *list = NULL;
    if (!json_object_is_type(body, json_type_object)
        || !json_object_object_get_ex(body, "mappings", &list)
        || !json_object_is_type(list, json_type_array)) {
        snprintf(err, errlen, "send {\"mappings\": [{\"event\", \"product\", \"usage_type\"}]}");
        return NULL;
    }
    json_object_object_foreach(body, key, value)
    {
        (void)value;
        if (strcmp(key, "mappings") != 0) {
            snprintf(err, errlen, "unknown field '%.40s' (send {\"mappings\": [...]})", key);
            return NULL;
        }
    }
    size_t n = json_object_array_length(list);
    if (n > SD_USAGE_MAP_MAX) {
        snprintf(err, errlen, "at most %d mappings (got %zu)", SD_USAGE_MAP_MAX, n);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *entry = json_object_array_get_idx(list, i);
        if (!entry_check(entry, i, err, errlen))
            return NULL;
        const char *event = sb_json_str(entry, "event");
        for (size_t j = 0; j < i; j++) {
            if (strcmp(event, sb_json_str(json_object_array_get_idx(list, j), "event")) == 0) {
                snprintf(err, errlen, "mappings[%zu].event '%.60s' is already mapped by mappings[%zu]",
                         i, event, j);
                return NULL;
            }
        }
    }
    json_object *stored = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        json_object *entry = json_object_array_get_idx(list, i);
        json_object *copy = json_object_new_object();
        for (size_t f = 0; f < PK_ARRAY_LEN(entry_fields); f++)
            sb_json_add_str(copy, entry_fields[f], sb_json_str(entry, entry_fields[f]));
        json_object_array_add(stored, copy);
    }
    json_object *out = json_object_new_object();
    json_object_object_add(out, "mappings", stored);
    return out;
}

void sd_usage_map_load(json_object *stored, struct sd_usage_map *out)
{
    out->rules = NULL;
    out->n = 0;
    json_object *list = sb_json_arr(stored, "mappings");
    size_t n = list ? json_object_array_length(list) : 0;
    if (n == 0)
        return;
    out->rules = pk_xcalloc(n, sizeof *out->rules);
    for (size_t i = 0; i < n; i++) {
        json_object *entry = json_object_array_get_idx(list, i);
        char err[256];
        if (!entry_check(entry, i, err, sizeof err))
            continue;
        struct sd_usage_rule *r = &out->rules[out->n++];
        r->event = sb_json_str(entry, "event");
        r->product = sb_json_str(entry, "product");
        r->usage_type = sb_json_str(entry, "usage_type");
        size_t len = strlen(r->event);
        r->prefix = r->event[len - 1] == '*';
        r->prefix_len = r->prefix ? len - 1 : len;
    }
}

void sd_usage_map_free(struct sd_usage_map *map)
{
    free(map->rules);
    map->rules = NULL;
    map->n = 0;
}

const struct sd_usage_rule *sd_usage_map_match(const struct sd_usage_map *map, const char *event)
{
    if (!event)
        return NULL;
    const struct sd_usage_rule *best = NULL;
    for (size_t i = 0; i < map->n; i++) {
        const struct sd_usage_rule *r = &map->rules[i];
        if (!r->prefix) {
            if (strcmp(r->event, event) == 0)
                return r; /* an exact name wins over every prefix */
        } else if (strncmp(r->event, event, r->prefix_len) == 0
                   && (!best || r->prefix_len > best->prefix_len)) {
            best = r;
        }
    }
    return best;
}
