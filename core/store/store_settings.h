/*
 * store_settings.h - the settings table: an installation's stored overrides
 * of its plugin's settings, one JSON object per (plugin, installation). Every
 * call runs in the caller's transaction, if one is open.
 */
#ifndef SB_CORE_STORE_SETTINGS_H
#define SB_CORE_STORE_SETTINGS_H

#include <json-c/json.h>
#include <stdint.h>

struct store;

/*
 * The stored overrides into *body (a new reference; NULL if they do not
 * parse): 1 when there are some, 0 when none are stored, -1 with a log line.
 */
int store_settings_get(struct store *st, const char *plugin, int64_t installation,
                       json_object **body);
/* Store (insert or replace) the overrides, stamped now. 0, or -1 with a log line. */
int store_settings_put(struct store *st, const char *plugin, int64_t installation,
                       json_object *body);

#endif
