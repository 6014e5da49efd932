/* sd_model.c - product records: validation, email normalization, contact matching. */
#include "sd_model.h"

#include "sd_util.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_BYTES 255
#define HEALTH_MAX_BYTES 64
#define FIELD_NAME_MAX 40
#define FIELD_VALUE_MAX 255
#define FIELDS_MAX 50
#define EMAIL_MAX 254

bool sd_id_valid(const char *id)
{
    return pk_id_valid(id, SD_ID_MAX, "._:@+-");
}

char *sd_email_normalize(const char *email)
{
    if (!email)
        return NULL;
    while (isspace((unsigned char)*email))
        email++;
    size_t n = strlen(email);
    while (n > 0 && isspace((unsigned char)email[n - 1]))
        n--;
    if (n == 0 || n > EMAIL_MAX)
        return NULL;
    const char *at = memchr(email, '@', n);
    if (!at || at == email || at == email + n - 1 || memchr(at + 1, '@', n - (size_t)(at - email) - 1))
        return NULL;
    char *out = pk_xcalloc(n + 1, 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)email[i];
        if (isspace(c) || c < 0x20) {
            free(out);
            return NULL;
        }
        out[i] = (char)tolower(c);
    }
    return out;
}

/* ---- validation ---- */

static bool field_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > FIELD_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) && name[i] != '_')
            return false;
    return true;
}

/* Names of the values every record has; custom fields may not take them (see sd_attrs.h). */
static const char *const reserved_fields[] = {"usage_health", "health_score", "last_login", NULL};

static bool finite_number(json_object *v)
{
    if (json_object_is_type(v, json_type_int))
        return true;
    return json_object_is_type(v, json_type_double) && isfinite(json_object_get_double(v));
}

static json_object *custom_fields(json_object *in, char *err, size_t errlen)
{
    if (!json_object_is_type(in, json_type_object)) {
        snprintf(err, errlen, "custom_fields must be an object");
        return NULL;
    }
    if (json_object_object_length(in) > FIELDS_MAX) {
        snprintf(err, errlen, "custom_fields has more than %d fields", FIELDS_MAX);
        return NULL;
    }
    json_object *out = json_object_new_object();
    json_object_object_foreach(in, key, value)
    {
        if (!field_name_valid(key)) {
            snprintf(err, errlen, "custom field name '%.40s' must be 1-%d of [a-z0-9_]", key,
                     FIELD_NAME_MAX);
            json_object_put(out);
            return NULL;
        }
        for (const char *const *r = reserved_fields; *r; r++) {
            if (strcmp(*r, key) == 0) {
                snprintf(err, errlen, "custom field name '%s' is reserved; send it as a field of "
                         "its own", key);
                json_object_put(out);
                return NULL;
            }
        }
        if (!value)
            continue; /* null removes the field */
        bool ok = json_object_is_type(value, json_type_boolean) || finite_number(value)
                  || (json_object_is_type(value, json_type_string)
                      && json_object_get_string_len(value) <= FIELD_VALUE_MAX);
        if (!ok) {
            snprintf(err, errlen,
                     "custom field '%s' must be a string of at most %d bytes, a number or a "
                     "boolean",
                     key, FIELD_VALUE_MAX);
            json_object_put(out);
            return NULL;
        }
        json_object_object_add(out, key, json_object_get(value));
    }
    return out;
}

static bool string_member(json_object *in, const char *key, size_t max, json_object *out,
                          char *err, size_t errlen)
{
    json_object *v;
    if (!json_object_object_get_ex(in, key, &v) || !v)
        return true;
    if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) > (int)max) {
        snprintf(err, errlen, "%s must be a string of at most %zu bytes", key, max);
        return false;
    }
    json_object_object_add(out, key, json_object_get(v));
    return true;
}

static bool id_member(json_object *in, const char *key, json_object *out, char *err,
                      size_t errlen)
{
    json_object *v;
    if (!json_object_object_get_ex(in, key, &v) || !v)
        return true;
    const char *id = json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int)
                         ? json_object_get_string(v)
                         : NULL;
    if (!sd_id_valid(id)) {
        snprintf(err, errlen, "%s must be 1-%d characters of [A-Za-z0-9._:@+-]", key, SD_ID_MAX);
        return false;
    }
    json_object_object_add(out, key, json_object_new_string(id));
    return true;
}

static const char *const user_fields[] = {"id", "email", "name", "customer_id", "usage_health",
                                          "health_score", "last_login", "custom_fields", NULL};
static const char *const customer_fields[] = {"id", "name", "usage_health", "health_score",
                                              "last_login", "custom_fields", NULL};

static bool known_field(const char *const *fields, const char *key)
{
    for (; *fields; fields++)
        if (strcmp(*fields, key) == 0)
            return true;
    return false;
}

json_object *sd_record_from_input(enum sd_record_kind kind, json_object *in, const char *path_id,
                                  char *err, size_t errlen)
{
    const char *const *fields = kind == SD_RECORD_USER ? user_fields : customer_fields;
    if (!json_object_is_type(in, json_type_object)) {
        snprintf(err, errlen, "a %s must be a JSON object",
                 kind == SD_RECORD_USER ? "user" : "customer");
        return NULL;
    }
    json_object_object_foreach(in, key, unused)
    {
        (void)unused;
        if (!known_field(fields, key)) {
            snprintf(err, errlen, "unknown field '%.60s'", key);
            return NULL;
        }
    }
    json_object *out = json_object_new_object();
    if (!id_member(in, "id", out, err, errlen))
        goto fail;
    const char *id = sb_json_str(out, "id");
    if (path_id && id && strcmp(path_id, id) != 0) {
        snprintf(err, errlen, "the body's id differs from the one in the path");
        goto fail;
    }
    if (!id) {
        if (!sd_id_valid(path_id)) {
            snprintf(err, errlen, "id is required: 1-%d characters of [A-Za-z0-9._:@+-]",
                     SD_ID_MAX);
            goto fail;
        }
        json_object_object_add(out, "id", json_object_new_string(path_id));
    }
    if (!string_member(in, "name", NAME_MAX_BYTES, out, err, errlen)
        || !string_member(in, "usage_health", HEALTH_MAX_BYTES, out, err, errlen))
        goto fail;
    if (kind == SD_RECORD_USER) {
        if (!id_member(in, "customer_id", out, err, errlen))
            goto fail;
        const char *email = sb_json_str(in, "email");
        if (email || (json_object_object_get_ex(in, "email", NULL) && !sb_json_is_null(in, "email"))) {
            char *normalized = sd_email_normalize(email);
            if (!normalized) {
                snprintf(err, errlen, "email is not an address");
                goto fail;
            }
            json_object_object_add(out, "email", json_object_new_string(normalized));
            free(normalized);
        }
    }
    json_object *v;
    if (json_object_object_get_ex(in, "health_score", &v) && v) {
        if (!finite_number(v)) {
            snprintf(err, errlen, "health_score must be a number");
            goto fail;
        }
        json_object_object_add(out, "health_score", json_object_get(v));
    }
    if (json_object_object_get_ex(in, "last_login", &v) && v) {
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0) {
            snprintf(err, errlen, "last_login must be a Unix time in seconds");
            goto fail;
        }
        json_object_object_add(out, "last_login", json_object_get(v));
    }
    if (json_object_object_get_ex(in, "custom_fields", &v) && v) {
        json_object *fields_out = custom_fields(v, err, errlen);
        if (!fields_out)
            goto fail;
        json_object_object_add(out, "custom_fields", fields_out);
    }
    return out;
fail:
    json_object_put(out);
    return NULL;
}

/* ---- matching ---- */

const char *sd_match_name(enum sd_match match)
{
    switch (match) {
    case SD_MATCH_EXTERNAL_ID:
        return "external_id";
    case SD_MATCH_EMAIL:
        return "email";
    case SD_MATCH_NONE:
    default:
        return "none";
    }
}

enum sd_match sd_match_contact(const struct sd_user_lookup *lookup, const char *external_id,
                               const char *email, char **user_id)
{
    *user_id = NULL;
    if (external_id && sd_id_valid(external_id)) {
        *user_id = lookup->by_id(lookup->arg, external_id);
        if (*user_id)
            return SD_MATCH_EXTERNAL_ID;
    }
    char *normalized = sd_email_normalize(email);
    if (normalized) {
        *user_id = lookup->by_email(lookup->arg, normalized);
        free(normalized);
        if (*user_id)
            return SD_MATCH_EMAIL;
    }
    return SD_MATCH_NONE;
}

char *sd_created_user_id(const char *external_id, const char *contact_id)
{
    if (sd_id_valid(external_id))
        return pk_xstrdup(external_id);
    return pk_xasprintf("intercom-%s", contact_id ? contact_id : "unknown");
}

char *sd_created_customer_id(const char *company_id, const char *intercom_company_id)
{
    if (sd_id_valid(company_id))
        return pk_xstrdup(company_id);
    return pk_xasprintf("intercom-company-%s", intercom_company_id ? intercom_company_id : "unknown");
}
