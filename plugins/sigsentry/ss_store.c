/* ss_store.c - sigsentry's documents: helpers, binding state, project, services, retention. */
#include "ss_plugin.h"

#include "ss_util.h"

#include <stdlib.h>
#include <string.h>

int ss_put(struct ss_plugin *ss, sb_installation_id inst, const char *collection,
           const char *key, json_object *value)
{
    int rc = ss->host->doc_put(ss->self, inst, collection, key, value);
    json_object_put(value);
    return rc;
}

json_object *ss_get(struct ss_plugin *ss, sb_installation_id inst, const char *collection,
                    const char *key)
{
    return ss->host->doc_get(ss->self, inst, collection, key);
}

int64_t ss_now_ms(struct ss_plugin *ss)
{
    return ss->host->now_ms(ss->self);
}

bool ss_conversation_id_valid(const char *id)
{
    return pk_id_valid(id, SS_CONVERSATION_ID_MAX, "_-");
}

void ss_settings_of(struct ss_plugin *ss, sb_installation_id inst, struct ss_settings *out)
{
    json_object *settings = ss->host->settings_get(ss->self, inst);
    ss_settings_from_json(settings, out);
    json_object_put(settings);
}

void ss_rules_of(struct ss_plugin *ss, const struct ss_settings *settings, struct ss_rules *out)
{
    ss_settings_rules(settings, &ss->options.rules, out, NULL);
}

/* ---- binding ---- */

bool ss_binding_active(struct ss_plugin *ss, sb_installation_id inst)
{
    sb_installation view;
    if (!inst || ss->host->installation_get(ss->self, inst, &view) != 0
        || view.state != SB_INSTALLATION_ACTIVE)
        return false;
    json_object *state = ss_get(ss, inst, SS_BINDING, "state");
    bool active = sb_json_bool(state, "active", true);
    json_object_put(state);
    return active;
}

int ss_binding_set(struct ss_plugin *ss, sb_installation_id inst, bool active, const char *reason)
{
    json_object *state = json_object_new_object();
    sb_json_add_bool(state, "active", active);
    sb_json_add_int(state, "changed_at", ss_now_ms(ss));
    sb_json_add_str(state, "reason", reason);
    return ss_put(ss, inst, SS_BINDING, "state", state);
}

/* ---- project and services ---- */

json_object *ss_project_get(struct ss_plugin *ss, sb_installation_id inst)
{
    return ss_get(ss, inst, SS_PROJECT, "project");
}

static int collect(void *arg, const char *key, json_object *value)
{
    (void)key;
    json_object_array_add(arg, json_object_get(value));
    return 0;
}

json_object *ss_services_list(struct ss_plugin *ss, sb_installation_id inst)
{
    json_object *list = json_object_new_array();
    ss->host->doc_list(ss->self, inst, SS_SERVICES, NULL, NULL, 0, 0, collect, list);
    return list;
}

/* ---- retention ---- */

struct first_key {
    int64_t time;
};

static int first_time(void *arg, const char *key, json_object *value)
{
    (void)key;
    ((struct first_key *)arg)->time = sb_json_int(value, "time", 0);
    return 1;
}

struct prune_ctx {
    struct ss_plugin *ss;
    sb_installation_id inst;
    int64_t cutoff;
    int deleted;
    bool failed;
};

static int prune_in_transaction(void *arg)
{
    struct prune_ctx *p = arg;
    struct ss_plugin *ss = p->ss;
    json_object *services = ss_services_list(ss, p->inst);
    char cutoff_iso[SS_TIME_LEN];
    ss_time_iso(p->cutoff, cutoff_iso);
    size_t n = json_object_array_length(services);
    for (size_t i = 0; i < n && !p->failed; i++) {
        json_object *svc = json_object_array_get_idx(services, i);
        const char *name = sb_json_str(svc, "name");
        if (!name)
            continue;
        char *from = pk_xasprintf("%s|", name), *to = pk_xasprintf("%s|%s", name, cutoff_iso);
        int gone = ss->host->doc_delete_range(ss->self, p->inst, SS_LOGS, from, to);
        if (gone < 0) {
            p->failed = true;
        } else if (gone > 0) {
            /* Keep the service (it stays known to triage); update what its logs say. */
            char *end = pk_xasprintf("%s}", name); /* '}' sorts right after '|' */
            struct first_key first = {0};
            ss->host->doc_list(ss->self, p->inst, SS_LOGS, from, end, 1, 0, first_time, &first);
            json_object *copy = json_object_get(svc);
            int64_t left = sb_json_int(copy, "records", 0) - gone;
            sb_json_add_int(copy, "records", left > 0 ? left : 0);
            json_object_object_add(copy, "first_seen",
                                   first.time ? json_object_new_int64(first.time) : NULL);
            if (!first.time)
                json_object_object_add(copy, "last_seen", NULL);
            if (ss_put(ss, p->inst, SS_SERVICES, name, copy) != 0)
                p->failed = true;
            p->deleted += gone;
            free(end);
        }
        free(from);
        free(to);
    }
    json_object_put(services);
    return p->failed ? -1 : 0;
}

int ss_logs_prune(struct ss_plugin *ss, sb_installation_id inst)
{
    json_object *project = ss_project_get(ss, inst);
    if (!project)
        return 0;
    int64_t days = sb_json_int(project, "retention_days", 0);
    json_object_put(project);
    if (days <= 0)
        return 0;
    struct prune_ctx p = {ss, inst, ss_now_ms(ss) - days * 86400 * 1000, 0, false};
    if (ss->host->transaction(ss->self, prune_in_transaction, &p) != 0)
        return -1;
    return p.deleted;
}

/* ---- analyses of a conversation ---- */

json_object *ss_analyses_recent(struct ss_plugin *ss, sb_installation_id inst,
                                const char *conversation_id, size_t limit)
{
    json_object *list = json_object_new_array();
    char *from = pk_xasprintf("%s|", conversation_id), *to = pk_xasprintf("%s}", conversation_id);
    ss->host->doc_list(ss->self, inst, SS_ANALYSES, from, to, limit, SB_DOC_REVERSE, collect,
                       list);
    free(from);
    free(to);
    return list;
}
