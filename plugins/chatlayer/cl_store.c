/* cl_store.c - the plugin's documents: conversations, counters, typed settings. */
#include "cl_plugin.h"

#include "plugin_kit.h"

#include <string.h>

#define COUNTS_KEY "counts"

static const char *const counter_names[] = {"handled", "handed_over", "closed"};

json_object *cl_conversation_get(struct cl_plugin *cl, sb_installation_id inst, const char *id)
{
    return cl->host->doc_get(cl->self, inst, CL_CONVERSATIONS, id);
}

json_object *cl_conversation_new(const char *id, int64_t now_ms)
{
    json_object *c = pk_xchecked(json_object_new_object());
    sb_json_add_str(c, "conversation_id", id);
    sb_json_add_str(c, "status", "active");
    sb_json_add_int(c, "turns", 0);
    sb_json_add_int(c, "started_at", now_ms);
    sb_json_add_int(c, "updated_at", now_ms);
    sb_json_add_str(c, "last_flow", NULL);
    json_object_object_add(c, "bot_state", NULL);
    json_object_object_add(c, "transcript", pk_xchecked(json_object_new_array()));
    json_object_object_add(c, "seen", pk_xchecked(json_object_new_array()));
    json_object_object_add(c, "posted", pk_xchecked(json_object_new_array()));
    return c;
}

int cl_conversation_put(struct cl_plugin *cl, sb_installation_id inst, json_object *conv)
{
    return cl->host->doc_put(cl->self, inst, CL_CONVERSATIONS, sb_json_str(conv, "conversation_id"),
                             conv);
}

void cl_list_push(json_object *o, const char *key, json_object *value, size_t max)
{
    json_object *list = sb_json_arr(o, key);
    if (!list) {
        list = pk_xchecked(json_object_new_array());
        json_object_object_add(o, key, list);
    }
    json_object_array_add(list, value);
    size_t n = json_object_array_length(list);
    if (n > max)
        json_object_array_del_idx(list, 0, n - max);
}

bool cl_list_has(json_object *o, const char *key, const char *value)
{
    json_object *list = sb_json_arr(o, key);
    for (size_t i = 0; list && i < json_object_array_length(list); i++)
        if (pk_str_eq(json_object_get_string(json_object_array_get_idx(list, i)), value))
            return true;
    return false;
}

json_object *cl_counts(struct cl_plugin *cl, sb_installation_id inst)
{
    json_object *stored = cl->host->doc_get(cl->self, inst, CL_STATS, COUNTS_KEY);
    json_object *counts = pk_xchecked(json_object_new_object());
    for (size_t i = 0; i < PK_ARRAY_LEN(counter_names); i++)
        sb_json_add_int(counts, counter_names[i], sb_json_int(stored, counter_names[i], 0));
    json_object_put(stored);
    return counts;
}

int cl_count(struct cl_plugin *cl, sb_installation_id inst, const char *name)
{
    json_object *counts = cl_counts(cl, inst);
    sb_json_add_int(counts, name, sb_json_int(counts, name, 0) + 1);
    int rc = cl->host->doc_put(cl->self, inst, CL_STATS, COUNTS_KEY, counts);
    json_object_put(counts);
    return rc;
}

void cl_settings_of(struct cl_plugin *cl, sb_installation_id inst, struct cl_settings *out)
{
    json_object *settings = cl->host->settings_get(cl->self, inst);
    cl_settings_from_json(settings, out);
    json_object_put(settings);
}
