/* tb_settings.c - settings schema, its typed form, and the id rules for keys. */
#include "tb_settings.h"

#include "plugin_kit.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ID_BYTES 64

const sb_setting tb_settings_schema[] = {
    {.name = "sync_feedback", .type = SB_SETTING_BOOL, .default_value = "false",
     .description = "conversations tagged with a trigger tag become feedback tickets"},
    {.name = "sync_contacts", .type = SB_SETTING_BOOL, .default_value = "false",
     .description = "import every Intercom contact, then keep the mirror current from webhooks; "
                    "off drops the mirror"},
    {.name = "trigger_tags", .type = SB_SETTING_STRING_LIST, .default_value = "",
     .description = "ids of the Intercom tags that make a tagged conversation feedback "
                    "(GET /api/timebook/tags lists them)"},
    {.name = "product", .type = SB_SETTING_STRING, .default_value = "",
     .description = "the Timebook product whose feedback inbox receives the tickets"},
    {.name = NULL},
};

void tb_settings_parse(json_object *settings, struct tb_settings *out)
{
    memset(out, 0, sizeof *out);
    out->sync_feedback = sb_json_bool(settings, "sync_feedback", false);
    out->sync_contacts = sb_json_bool(settings, "sync_contacts", false);
    json_object *tags = sb_json_arr(settings, "trigger_tags");
    out->trigger_tags = tags ? json_object_get(tags) : pk_xchecked(json_object_new_array());
    const char *product = sb_json_str(settings, "product");
    out->product = pk_xstrdup(product ? product : "");
}

void tb_settings_free(struct tb_settings *s)
{
    json_object_put(s->trigger_tags);
    free(s->product);
    memset(s, 0, sizeof *s);
}

bool tb_settings_triggers(const struct tb_settings *s, const char *tag_id)
{
    if (!s->sync_feedback || !tag_id)
        return false;
    size_t n = json_object_array_length(s->trigger_tags);
    for (size_t i = 0; i < n; i++)
        if (pk_str_eq(json_object_get_string(json_object_array_get_idx(s->trigger_tags, i)),
                      tag_id))
            return true;
    return false;
}

bool tb_id_valid(const char *id)
{
    return pk_id_valid(id, MAX_ID_BYTES, "_-");
}

bool tb_conversation_id_valid(const char *id)
{
    return pk_id_valid(id, MAX_ID_BYTES, "") && strspn(id, "0123456789") == strlen(id);
}

bool tb_product_valid(const char *product)
{
    return pk_id_valid(product, MAX_ID_BYTES, "_.-");
}
