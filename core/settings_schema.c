/*
 * settings_schema.c - a plugin's settings schema: checked, its defaults typed,
 * values validated against it. Pure (no server, no store): the testing kit
 * compiles it too, so a plugin's tests validate settings as the host does.
 */
#include "settings.h"

#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = {"bool", "int", "string", "enum", "string_list"};

const sb_setting *settings_find(const sb_setting *schema, const char *name)
{
    for (; schema && schema->name; schema++)
        if (strcmp(schema->name, name) == 0)
            return schema;
    return NULL;
}

json_object *settings_overlay(const sb_setting *schema, json_object *defaults,
                              json_object *overrides)
{
    json_object *out = json_object_new_object();
    json_object_object_foreach(defaults, dk, dv) {
        json_object_object_add(out, dk, json_object_get(dv));
    }
    if (json_object_is_type(overrides, json_type_object)) {
        json_object_object_foreach(overrides, ok, ov) {
            if (settings_find(schema, ok))
                json_object_object_add(out, ok, json_object_get(ov));
        }
    }
    return out;
}

void settings_refusal_text(const sb_result *result, struct buf *err)
{
    int where_len = (int)strnlen(result->where, sizeof result->where);
    int message_len = (int)strnlen(result->message, sizeof result->message);
    if (where_len)
        buf_printf(err, "%.*s: ", where_len, result->where);
    if (message_len)
        buf_printf(err, "%.*s", message_len, result->message);
    else
        buf_puts(err, "refused by the plugin");
}

static bool enum_allows(const sb_setting *s, const char *value)
{
    for (const char *const *a = s->allowed; a && *a; a++)
        if (strcmp(*a, value) == 0)
            return true;
    return false;
}

static void list_allowed(const sb_setting *s, struct buf *b)
{
    for (const char *const *a = s->allowed; a && *a; a++)
        buf_printf(b, "%s%s", a == s->allowed ? "" : ", ", *a);
}

/* Parse a default written as text into its typed JSON value; NULL if invalid. */
static json_object *parse_default(const sb_setting *s)
{
    const char *text = s->default_value;
    switch (s->type) {
    case SB_SETTING_BOOL:
        if (!text || strcmp(text, "false") == 0)
            return json_object_new_boolean(0);
        return strcmp(text, "true") == 0 ? json_object_new_boolean(1) : NULL;
    case SB_SETTING_INT: {
        int64_t v = 0;
        if (text && !str_to_i64(text, &v))
            return NULL;
        return json_object_new_int64(v);
    }
    case SB_SETTING_STRING:
        return json_object_new_string(text ? text : "");
    case SB_SETTING_ENUM:
        if (!text)
            return s->allowed && s->allowed[0] ? json_object_new_string(s->allowed[0]) : NULL;
        return enum_allows(s, text) ? json_object_new_string(text) : NULL;
    case SB_SETTING_STRING_LIST: {
        json_object *arr = json_object_new_array();
        if (text && *text) {
            char *copy = xstrdup(text);
            for (char *save = NULL, *t = strtok_r(copy, ",", &save); t;
                 t = strtok_r(NULL, ",", &save)) {
                while (*t == ' ')
                    t++;
                if (*t)
                    json_object_array_add(arr, json_object_new_string(t));
            }
            free(copy);
        }
        return arr;
    }
    }
    return NULL;
}

bool settings_schema_valid(const sb_setting *schema, struct buf *err)
{
    for (const sb_setting *s = schema; s && s->name; s++) {
        if (!str_is_token(s->name, 64)) {
            buf_printf(err, "setting name '%s' is not [a-z0-9_-]", s->name);
            return false;
        }
        if ((unsigned)s->type > SB_SETTING_STRING_LIST) {
            buf_printf(err, "setting '%s' has unknown type %d", s->name, (int)s->type);
            return false;
        }
        if (s->type == SB_SETTING_ENUM && (!s->allowed || !s->allowed[0])) {
            buf_printf(err, "enum setting '%s' lists no allowed values", s->name);
            return false;
        }
        if (settings_find(schema, s->name) != s) {
            buf_printf(err, "setting '%s' is declared twice", s->name);
            return false;
        }
        json_object *def = parse_default(s);
        if (!def) {
            buf_printf(err, "setting '%s' has an invalid default \"%s\"", s->name,
                       s->default_value ? s->default_value : "");
            return false;
        }
        json_object_put(def);
    }
    return true;
}

json_object *settings_schema_defaults(const sb_setting *schema)
{
    json_object *out = json_object_new_object();
    for (const sb_setting *s = schema; s && s->name; s++) {
        json_object *def = parse_default(s);
        if (def)
            json_object_object_add(out, s->name, def);
    }
    return out;
}

json_object *settings_schema_json(const sb_setting *schema)
{
    json_object *arr = json_object_new_array();
    for (const sb_setting *s = schema; s && s->name; s++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(s->name));
        json_object_object_add(o, "type", json_object_new_string(type_names[s->type]));
        json_object *def = parse_default(s);
        json_object_object_add(o, "default", (s->flags & SB_SETTING_SENSITIVE) ? NULL : def);
        if (s->flags & SB_SETTING_SENSITIVE)
            json_object_put(def);
        if (s->type == SB_SETTING_ENUM) {
            json_object *allowed = json_object_new_array();
            for (const char *const *a = s->allowed; *a; a++)
                json_object_array_add(allowed, json_object_new_string(*a));
            json_object_object_add(o, "allowed", allowed);
        }
        if (s->type == SB_SETTING_INT && s->min < s->max) {
            json_object_object_add(o, "min", json_object_new_int64(s->min));
            json_object_object_add(o, "max", json_object_new_int64(s->max));
        }
        json_object_object_add(o, "sensitive",
                               json_object_new_boolean((s->flags & SB_SETTING_SENSITIVE) != 0));
        if (s->description)
            json_object_object_add(o, "description", json_object_new_string(s->description));
        json_object_array_add(arr, o);
    }
    return arr;
}

/* Check one value; returns a new typed value or NULL with a message in err. */
static json_object *check_value(const sb_setting *s, json_object *v, struct buf *err)
{
    switch (s->type) {
    case SB_SETTING_BOOL:
        if (!json_object_is_type(v, json_type_boolean)) {
            buf_puts(err, "must be true or false");
            return NULL;
        }
        return json_object_new_boolean(json_object_get_boolean(v));
    case SB_SETTING_INT: {
        if (!json_object_is_type(v, json_type_int)) {
            buf_puts(err, "must be an integer");
            return NULL;
        }
        int64_t n = json_object_get_int64(v);
        if (s->min < s->max && (n < s->min || n > s->max)) {
            buf_printf(err, "must be between %lld and %lld", (long long)s->min,
                       (long long)s->max);
            return NULL;
        }
        return json_object_new_int64(n);
    }
    case SB_SETTING_STRING:
        if (!json_object_is_type(v, json_type_string)) {
            buf_puts(err, "must be a string");
            return NULL;
        }
        if (json_object_get_string_len(v) > 16384) {
            buf_puts(err, "is longer than 16384 bytes");
            return NULL;
        }
        return json_object_new_string(json_object_get_string(v));
    case SB_SETTING_ENUM:
        if (!json_object_is_type(v, json_type_string) || !enum_allows(s, json_object_get_string(v))) {
            buf_puts(err, "must be one of: ");
            list_allowed(s, err);
            return NULL;
        }
        return json_object_new_string(json_object_get_string(v));
    case SB_SETTING_STRING_LIST: {
        if (!json_object_is_type(v, json_type_array)) {
            buf_puts(err, "must be a list of strings");
            return NULL;
        }
        json_object *arr = json_object_new_array();
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n; i++) {
            json_object *e = json_object_array_get_idx(v, i);
            if (!json_object_is_type(e, json_type_string)) {
                buf_puts(err, "must be a list of strings");
                json_object_put(arr);
                return NULL;
            }
            json_object_array_add(arr, json_object_new_string(json_object_get_string(e)));
        }
        return arr;
    }
    }
    return NULL;
}

int settings_validate(const sb_setting *schema, json_object *values, json_object *base,
                      json_object **out, settings_error_fn on_error, void *arg)
{
    json_object *merged = json_object_new_object();
    int errors = 0;
    if (base) {
        json_object_object_foreach(base, bk, bv) {
            json_object_object_add(merged, bk, json_object_get(bv));
        }
    }
    if (!json_object_is_type(values, json_type_object)) {
        on_error(arg, "", "settings must be an object");
        json_object_put(merged);
        *out = NULL;
        return 1;
    }
    json_object_object_foreach(values, key, value) {
        const sb_setting *s = settings_find(schema, key);
        if (!s) {
            on_error(arg, key, "unknown setting");
            errors++;
            continue;
        }
        struct buf err;
        buf_init(&err);
        json_object *typed = check_value(s, value, &err);
        if (!typed) {
            on_error(arg, key, err.data);
            errors++;
        } else {
            json_object_object_add(merged, key, typed);
        }
        buf_free(&err);
    }
    if (errors) {
        json_object_put(merged);
        merged = NULL;
    }
    *out = merged;
    return errors;
}

json_object *settings_redacted(const sb_setting *schema, json_object *values)
{
    json_object *copy = json_object_new_object();
    json_object_object_foreach(values, key, value) {
        const sb_setting *s = settings_find(schema, key);
        if (s && (s->flags & SB_SETTING_SENSITIVE) && json_object_get_string_len(value) > 0)
            json_object_object_add(copy, key, json_object_new_string("********"));
        else
            json_object_object_add(copy, key, json_object_get(value));
    }
    return copy;
}

