/*
 * sd_attrs.h - which Intercom custom attributes a product record asks for,
 * their data types, and the difference from what was last written, so that
 * advanced push writes only values that changed.
 *
 * Names: every attribute is "sd_" + the record's field name
 * (sd_usage_health, sd_health_score, sd_last_login, sd_<custom field>).
 * Custom fields cannot use the three built-in names (sd_model.c refuses them).
 *
 * Types on contacts follow the values: usage_health string, health_score
 * float, last_login datetime, custom fields string / integer / float /
 * boolean by their JSON type. Intercom's 2.14 description declares company
 * custom_attributes values as strings, so on companies every attribute is a
 * string: numbers in decimal, booleans as true/false, last_login as an ISO
 * 8601 UTC time.
 */
#ifndef SD_ATTRS_H
#define SD_ATTRS_H

#include <json-c/json.h>
#include <stdbool.h>

enum sd_model_kind { SD_MODEL_CONTACT = 0, SD_MODEL_COMPANY = 1 };

enum sd_attr_type {
    SD_ATTR_STRING = 0,
    SD_ATTR_INTEGER,
    SD_ATTR_FLOAT,
    SD_ATTR_BOOLEAN,
    SD_ATTR_DATETIME,
    SD_ATTR_OTHER /* a type Intercom has that we never create (date, options, ...) */
};

/** Intercom's model name: "contact" or "company". */
const char *sd_model_name(enum sd_model_kind model);
/** Intercom's data_type name. */
const char *sd_attr_type_name(enum sd_attr_type type);
enum sd_attr_type sd_attr_type_parse(const char *data_type);

/**
 * The attributes a user (contact) or customer (company) record asks for:
 * a new object of attribute name -> value, in the types described above.
 */
json_object *sd_attrs_desired(json_object *record, enum sd_model_kind model);

/** The data type to create attribute @p name with, given the value to be written. */
enum sd_attr_type sd_attr_type_for(enum sd_model_kind model, const char *name, json_object *value);

/** Whether values of type @p wanted may be written into an attribute of type @p existing. */
bool sd_attr_type_compatible(enum sd_attr_type existing, enum sd_attr_type wanted);

/**
 * What to write so that Intercom holds @p desired, given that @p pushed was
 * last written: changed or new values, and a clearing value (null on
 * contacts, "" on companies) for attributes no longer desired. NULL when
 * nothing changed. @p pushed may be NULL (nothing written yet).
 */
json_object *sd_attrs_diff(json_object *desired, json_object *pushed, enum sd_model_kind model);

/** The new "last written" state after @p written was accepted by Intercom. New object. */
json_object *sd_attrs_apply(json_object *pushed, json_object *written, enum sd_model_kind model);

#endif
