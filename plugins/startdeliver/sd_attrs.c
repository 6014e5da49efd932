/* sd_attrs.c - desired attributes, their types, and diffs against what was written. */
#include "sd_attrs.h"

#include "sd_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PREFIX "sd_"

static const char *const type_names[] = {"string", "integer", "float", "boolean", "datetime"};

const char *sd_model_name(enum sd_model_kind model)
{
    return model == SD_MODEL_COMPANY ? "company" : "contact";
}

const char *sd_attr_type_name(enum sd_attr_type type)
{
    return (unsigned)type < PK_ARRAY_LEN(type_names) ? type_names[type] : "string";
}

enum sd_attr_type sd_attr_type_parse(const char *data_type)
{
    for (size_t i = 0; data_type && i < PK_ARRAY_LEN(type_names); i++)
        if (strcmp(type_names[i], data_type) == 0)
            return (enum sd_attr_type)i;
    return SD_ATTR_OTHER;
}

/* ---- values ---- */

static json_object *company_text(json_object *value, bool is_time)
{
    char buf[64];
    if (is_time) {
        time_t t = (time_t)json_object_get_int64(value);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return json_object_new_string(buf);
    }
    switch (json_object_get_type(value)) {
    case json_type_boolean:
        return json_object_new_string(json_object_get_boolean(value) ? "true" : "false");
    case json_type_int:
        snprintf(buf, sizeof buf, "%" PRId64, json_object_get_int64(value));
        return json_object_new_string(buf);
    case json_type_double:
        snprintf(buf, sizeof buf, "%.15g", json_object_get_double(value));
        return json_object_new_string(buf);
    default:
        return json_object_new_string(json_object_get_string(value));
    }
}

static void add_value(json_object *out, enum sd_model_kind model, const char *field,
                      json_object *value, bool is_time, bool is_score)
{
    if (!value || (json_object_is_type(value, json_type_string)
                   && json_object_get_string_len(value) == 0))
        return; /* an empty value is no value: it would read as "cleared" on companies */
    char *name = pk_xasprintf(PREFIX "%s", field);
    json_object *v;
    if (model == SD_MODEL_COMPANY)
        v = company_text(value, is_time);
    else if (is_score) /* always float, so 72 and 72.5 fit the same attribute */
        v = json_object_new_double(json_object_get_double(value));
    else
        v = json_object_get(value);
    json_object_object_add(out, name, v);
    free(name);
}

static json_object *member(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

json_object *sd_attrs_desired(json_object *record, enum sd_model_kind model)
{
    json_object *out = json_object_new_object();
    add_value(out, model, "usage_health", member(record, "usage_health"), false, false);
    add_value(out, model, "health_score", member(record, "health_score"), false, true);
    add_value(out, model, "last_login", member(record, "last_login"), true, false);
    json_object *fields = sb_json_obj(record, "custom_fields");
    if (fields) {
        json_object_object_foreach(fields, key, value)
            add_value(out, model, key, value, false, false);
    }
    return out;
}

enum sd_attr_type sd_attr_type_for(enum sd_model_kind model, const char *name, json_object *value)
{
    if (model == SD_MODEL_COMPANY)
        return SD_ATTR_STRING;
    if (strcmp(name, PREFIX "last_login") == 0)
        return SD_ATTR_DATETIME;
    if (strcmp(name, PREFIX "health_score") == 0)
        return SD_ATTR_FLOAT;
    switch (json_object_get_type(value)) {
    case json_type_boolean:
        return SD_ATTR_BOOLEAN;
    case json_type_int:
        return SD_ATTR_INTEGER;
    case json_type_double:
        return SD_ATTR_FLOAT;
    default:
        return SD_ATTR_STRING;
    }
}

bool sd_attr_type_compatible(enum sd_attr_type existing, enum sd_attr_type wanted)
{
    return existing == wanted || (existing == SD_ATTR_FLOAT && wanted == SD_ATTR_INTEGER);
}

/* ---- diffs ---- */

static json_object *clearing_value(enum sd_model_kind model)
{
    return model == SD_MODEL_COMPANY ? json_object_new_string("") : NULL;
}

json_object *sd_attrs_diff(json_object *desired, json_object *pushed, enum sd_model_kind model)
{
    json_object *changes = json_object_new_object();
    json_object_object_foreach(desired, key, value)
    {
        json_object *before;
        if (!pushed || !json_object_object_get_ex(pushed, key, &before)
            || !json_object_equal(before, value))
            json_object_object_add(changes, key, json_object_get(value));
    }
    if (pushed) {
        json_object_object_foreach(pushed, old_key, old_value)
        {
            (void)old_value;
            if (!json_object_object_get_ex(desired, old_key, NULL))
                json_object_object_add(changes, old_key, clearing_value(model));
        }
    }
    if (json_object_object_length(changes) == 0) {
        json_object_put(changes);
        return NULL;
    }
    return changes;
}

static bool is_clearing(json_object *value, enum sd_model_kind model)
{
    if (!value)
        return true;
    return model == SD_MODEL_COMPANY && json_object_is_type(value, json_type_string)
           && json_object_get_string_len(value) == 0;
}

json_object *sd_attrs_apply(json_object *pushed, json_object *written, enum sd_model_kind model)
{
    json_object *out = json_object_new_object();
    if (pushed) {
        json_object_object_foreach(pushed, key, value)
            json_object_object_add(out, key, json_object_get(value));
    }
    json_object_object_foreach(written, wkey, wvalue)
    {
        if (is_clearing(wvalue, model))
            json_object_object_del(out, wkey);
        else
            json_object_object_add(out, wkey, json_object_get(wvalue));
    }
    return out;
}
