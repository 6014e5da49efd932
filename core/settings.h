/* settings.h - per-installation settings: schema checks, validation, storage. */
#ifndef SB_CORE_SETTINGS_H
#define SB_CORE_SETTINGS_H

#include "util.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <switchboard/switchboard.h>

struct server;
struct sb_plugin;

typedef void (*settings_error_fn)(void *arg, const char *key, const char *message);

/* Check a plugin's schema itself (names, types, defaults); reasons go to err. */
bool settings_schema_valid(const sb_setting *schema, struct buf *err);
/* The schema's typed defaults as an object. */
json_object *settings_schema_defaults(const sb_setting *schema);
/* The schema for the admin API. */
json_object *settings_schema_json(const sb_setting *schema);

/*
 * Validate values (every key must be in the schema, every value of the right
 * type and range) and merge them over base (borrowed) into a new object in
 * *out. Returns the number of errors, each reported through on_error.
 */
int settings_validate(const sb_setting *schema, json_object *values, json_object *base,
                      json_object **out, settings_error_fn on_error, void *arg);

/*
 * @p defaults with @p overrides (may be NULL) over them, keeping only keys the
 * schema still has. New reference.
 */
json_object *settings_overlay(const sb_setting *schema, json_object *defaults,
                              json_object *overrides);
/* A plugin's check_settings refusal as "where: message" (read within the result's arrays). */
void settings_refusal_text(const sb_result *result, struct buf *err);

/* Effective settings of an installation (0: plugin-wide defaults). New reference. */
json_object *settings_effective(struct server *srv, struct sb_plugin *p, int64_t installation);
/* Validate and store changes for an installation; errors as "key: message" lines in err. */
int settings_update(struct server *srv, struct sb_plugin *p, int64_t installation,
                    json_object *changes, struct buf *err);
/* A copy safe to show: sensitive values replaced by "********". */
json_object *settings_redacted(const sb_setting *schema, json_object *values);
/* The schema entry for a name, or NULL. */
const sb_setting *settings_find(const sb_setting *schema, const char *name);

#endif
