/* tb_triggers.c - the moment each trigger tag was enabled (see tb_triggers.h). */
#include "tb_triggers.h"

#include <stdlib.h>
#include <string.h>

struct stale {
    const struct tb_settings *settings;
    json_object *keys; /* tags that are no longer triggers */
};

static int collect_stale(void *arg, const char *key, json_object *value)
{
    struct stale *st = arg;
    (void)value;
    if (!tb_settings_triggers(st->settings, key))
        json_object_array_add(st->keys, json_object_new_string(key));
    return 0;
}

int tb_triggers_sync(struct tb_plugin *tb, sb_installation_id inst,
                     const struct tb_settings *settings)
{
    struct stale st = {settings, pk_xchecked(json_object_new_array())};
    int rc = tb->host->doc_list(tb->self, inst, TB_TRIGGERS, NULL, NULL, 0, 0, collect_stale, &st)
                     < 0
                 ? -1
                 : 0;
    for (size_t i = 0; rc == 0 && i < json_object_array_length(st.keys); i++)
        rc = tb_delete(tb, inst, TB_TRIGGERS,
                       json_object_get_string(json_object_array_get_idx(st.keys, i)));
    json_object_put(st.keys);
    if (!settings->sync_feedback)
        return rc;
    int64_t now = tb_now_ms(tb);
    size_t n = json_object_array_length(settings->trigger_tags);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *tag =
            json_object_get_string(json_object_array_get_idx(settings->trigger_tags, i));
        if (!tb_id_valid(tag))
            continue; /* cannot match a tag Intercom sends; the tags route reports it */
        json_object *known = tb_get(tb, inst, TB_TRIGGERS, tag);
        if (known) {
            json_object_put(known); /* still a trigger: keeps its moment */
            continue;
        }
        json_object *doc = pk_xchecked(json_object_new_object());
        sb_json_add_int(doc, "since_ms", now);
        rc = tb_put_owned(tb, inst, TB_TRIGGERS, tag, doc);
    }
    return rc;
}

int64_t tb_trigger_since_ms(struct tb_plugin *tb, sb_installation_id inst, const char *tag_id)
{
    if (!tb_id_valid(tag_id))
        return -1;
    json_object *doc = tb_get(tb, inst, TB_TRIGGERS, tag_id);
    int64_t since = doc ? sb_json_int(doc, "since_ms", -1) : -1;
    json_object_put(doc);
    return since;
}

bool tb_trigger_counts(int64_t since_ms, int64_t applied_at_s)
{
    /* Intercom gives whole seconds: an application in the very second the tag was enabled
       counts, since which came first cannot be told. */
    return since_ms >= 0 && applied_at_s >= 0 && applied_at_s >= since_ms / 1000;
}
