/*
 * sd_usage_map.h - the usage mapping: which Intercom events become usage
 * events, of which product and usage type. The product sets it through the
 * product API ({"mappings": [{"event", "product", "usage_type"}]}); an
 * "event" ending in '*' is a prefix ("feature.*", or "*" for every event),
 * anything else an exact name. An exact name wins over a prefix, and a
 * longer prefix over a shorter one. Events that match nothing are counted,
 * not imported.
 *
 * Pure: no host calls, so the unit tests link it directly.
 */
#ifndef SD_USAGE_MAP_H
#define SD_USAGE_MAP_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

/** Most mappings one installation may have. */
#define SD_USAGE_MAP_MAX 500
/** Longest event name or prefix, product and usage type, in bytes. */
#define SD_USAGE_EVENT_MAX 255
#define SD_USAGE_NAME_MAX 128

struct sd_usage_rule {
    const char *event;       /* as given, '*' included */
    size_t prefix_len;       /* prefix rules: bytes before the '*' */
    bool prefix;
    const char *product;
    const char *usage_type;
};

/** Rules borrowed from the stored document they were read from. */
struct sd_usage_map {
    struct sd_usage_rule *rules;
    size_t n;
};

/**
 * Validate the product's body. Returns the stored form ({"mappings": [...]},
 * each entry exactly "event", "product", "usage_type"), or NULL with @p err
 * naming the entry and field at fault.
 */
json_object *sd_usage_map_from_input(json_object *body, char *err, size_t errlen);

/**
 * Read a stored mapping (NULL: none, an empty map). The map borrows the
 * strings of @p stored, which must outlive it. Entries that do not validate
 * (a document written by hand) are left out.
 */
void sd_usage_map_load(json_object *stored, struct sd_usage_map *out);
void sd_usage_map_free(struct sd_usage_map *map);

/** The rule an event name falls under, or NULL. */
const struct sd_usage_rule *sd_usage_map_match(const struct sd_usage_map *map, const char *event);

#endif
