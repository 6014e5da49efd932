/* si_store.c - the plugin's documents and the small helpers its files share. */
#include "si_plugin.h"

#include "plugin_kit.h"

#include <string.h>

json_object *si_get(si_state *st, sb_installation_id inst, const char *collection,
                    const char *key)
{
    return st->host->doc_get(st->self, inst, collection, key);
}

int si_put(si_state *st, sb_installation_id inst, const char *collection, const char *key,
           json_object *value)
{
    int rc = st->host->doc_put(st->self, inst, collection, key, value);
    json_object_put(value);
    return rc;
}

int64_t si_counter_next(si_state *st, sb_installation_id inst, const char *name)
{
    json_object *counter = si_get(st, inst, SI_COUNTERS, name);
    int64_t next = sb_json_int(counter, "next", 1);
    json_object_put(counter);
    if (next < 1)
        next = 1;
    json_object *updated = json_object_new_object();
    sb_json_add_int(updated, "next", next + 1);
    return si_put(st, inst, SI_COUNTERS, name, updated) == 0 ? next : 0;
}

bool si_id_valid(const char *id)
{
    return pk_id_valid(id, SI_REQUEST_ID_MAX, "_-.");
}

int64_t si_now_s(si_state *st)
{
    return st->host->now_ms(st->self) / 1000;
}

sb_status si_reply(si_state *st, const sb_http_request *req, int status, json_object *body)
{
    st->host->respond(st->self, req->reply, status, body);
    json_object_put(body); /* respond borrows it */
    return SB_OK;
}

const char *si_request_id_checked(const char *id, sb_result *result)
{
    if (si_id_valid(id))
        return id;
    pk_refuse(result, 400, "invalid_request_id",
              "a request id is 1-%d characters of letters, digits, '_', '-' and '.'",
              SI_REQUEST_ID_MAX);
    return NULL;
}
