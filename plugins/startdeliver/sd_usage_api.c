/* sd_usage_api.c - the usage mapping through the product API, and its part of the status. */
#include "sd_usage_api.h"

#include "sd_usage_map.h"
#include "sd_util.h"

#include <stdio.h>

static sb_status answer(struct sd_plugin *sd, const sb_http_request *req, json_object *body)
{
    sd->host->respond(sd->self, req->reply, 200, body);
    json_object_put(body); /* respond borrows it */
    return SB_OK;
}

sb_status sd_route_usage_mapping_put(void *state, const sb_http_request *req, sb_result *result)
{
    struct sd_plugin *sd = state;
    char err[256];
    json_object *stored = sd_usage_map_from_input(req->body, err, sizeof err);
    if (!stored)
        return pk_refuse(result, 422, "invalid_request", "%s", err);
    sb_json_add_int(stored, "updated_at", sd_now_s(sd));
    if (sd_put(sd, req->installation, SD_USAGE_MAPPING, SD_USAGE_MAPPING_KEY, stored) != 0) {
        json_object_put(stored);
        return pk_refuse(result, 500, "store_error", "cannot store the usage mapping");
    }
    char detail[64];
    snprintf(detail, sizeof detail, "%zu mappings",
             json_object_array_length(sb_json_arr(stored, "mappings")));
    sd->host->audit(sd->self, req->installation, "usage_mapping", "set", detail);
    return answer(sd, req, stored);
}

sb_status sd_route_usage_mapping_get(void *state, const sb_http_request *req, sb_result *result)
{
    struct sd_plugin *sd = state;
    (void)result;
    json_object *stored = sd_get(sd, req->installation, SD_USAGE_MAPPING, SD_USAGE_MAPPING_KEY);
    if (!stored) {
        stored = json_object_new_object();
        json_object_object_add(stored, "mappings", json_object_new_array());
        json_object_object_add(stored, "updated_at", NULL);
    }
    return answer(sd, req, stored);
}

struct unmatched_scan {
    json_object *names;
    size_t shown;
    bool more;
};

static int add_unmatched(void *arg, const char *key, json_object *value)
{
    struct unmatched_scan *s = arg;
    if (s->shown == SD_UNMATCHED_SHOWN) {
        s->more = true;
        return 1;
    }
    sb_json_add_int(s->names, key, sb_json_int(value, "count", 0));
    s->shown++;
    return 0;
}

json_object *sd_usage_status(struct sd_plugin *sd, sb_installation_id inst)
{
    json_object *o = json_object_new_object();
    json_object *stored = sd_get(sd, inst, SD_USAGE_MAPPING, SD_USAGE_MAPPING_KEY);
    json_object *list = sb_json_arr(stored, "mappings");
    sb_json_add_int(o, "mappings", list ? (int64_t)json_object_array_length(list) : 0);
    json_object_put(stored);
    struct unmatched_scan s = {json_object_new_object(), 0, false};
    sd->host->doc_list(sd->self, inst, SD_USAGE_UNMATCHED, NULL, NULL, SD_UNMATCHED_SHOWN + 1, 0,
                      add_unmatched, &s);
    json_object_object_add(o, "unmatched", s.names);
    json_object_object_add(o, "unmatched_more", json_object_new_boolean(s.more));
    return o;
}
