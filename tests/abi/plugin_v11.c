/*
 * plugin_v11 - a plugin built against the frozen ABI 1.1 header
 * (tests/abi/switchboard-1.1), as a plugin compiled before 1.2 and never
 * rebuilt would be. It must load and run on the current host, whose service
 * table is longer than the one it knows: its 1.1 services (route arguments,
 * SB_ROUTE_NEEDS_INSTALLATION, result_from_error) work, and it keeps its
 * own references to what it passes (respond borrows since 1.1).
 * tests/integration/test_abi.py drives it.
 */
#include <stdlib.h>
#include <string.h>
#include <switchboard/switchboard.h>

#if SB_ABI_MINOR != 1
#error "plugin_v11 must be built against the frozen 1.1 header"
#endif

struct state {
    sb_plugin *self;
    const sb_host *host;
};

static const char probe_arg[] = "probe";

static sb_status route_probe(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    (void)result;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "route_arg", json_object_new_string(req->route_arg));
    json_object_object_add(o, "host_at_least_1_1",
                           json_object_new_boolean(SB_HOST_AT_LEAST(s->host, 1, 1)));
    /* A newer host: its table reaches past the 1.1 one this plugin was built with. */
    json_object_object_add(o, "host_table_longer",
                           json_object_new_boolean(s->host->struct_size > sizeof(sb_host)));
    json_object_object_add(o, "has_settings_set",
                           json_object_new_boolean(SB_HOST_HAS(s->host, settings_set)));
    s->host->respond(s->self, req->reply, 200, o);
    json_object_put(o); /* 1.1: respond borrows */
    return SB_OK;
}

struct call {
    struct state *s;
    sb_reply_token reply;
};

static void read_done(void *arg, const sb_intercom_response *res)
{
    struct call *c = arg;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_int(res->status));
    if (res->kind != SB_ERR_NONE) {
        sb_result failure = {0};
        c->s->host->result_from_error(c->s->self, res, "reading", &failure);
        json_object_object_add(o, "code", json_object_new_string(failure.code));
        json_object_object_add(o, "message", json_object_new_string(failure.message));
    } else {
        json_object *type = NULL;
        if (res->body && json_object_object_get_ex(res->body, "type", &type))
            json_object_object_add(o, "type", json_object_get(type));
    }
    c->s->host->respond(c->s->self, c->reply, 200, o);
    json_object_put(o);
    free(c);
}

/* GET /read/{what}: /me, or a conversation that is not there. */
static sb_status route_read(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    json_object *param = NULL;
    json_object_object_get_ex(req->params, "what", &param);
    const char *what = json_object_get_string(param);
    struct call *c = calloc(1, sizeof *c);
    if (!c)
        return sb_result_set(result, SB_RETRY, "out of memory");
    c->s = s;
    c->reply = req->reply;
    sb_intercom_request get = {.method = "GET",
                               .path = what && strcmp(what, "me") == 0 ? "/me"
                                                                        : "/conversations/404"};
    if (!s->host->intercom_request(s->self, req->installation, &get, read_done, c)) {
        free(c);
        return sb_result_set(result, SB_FAIL, "intercom_request refused");
    }
    return SB_PENDING;
}

static const sb_route routes[] = {
    {.method = "GET", .pattern = "/probe", .handler = route_probe, .arg = (void *)probe_arg},
    {.method = "GET", .pattern = "/read/{what}", .handler = route_read,
     .flags = SB_ROUTE_NEEDS_INSTALLATION},
    {.method = NULL},
};

static sb_status init(sb_plugin *self, const sb_host *host, json_object *config, void **state,
                      sb_result *result)
{
    (void)config;
    if (!SB_HOST_HAS(host, result_from_error))
        return sb_result_set(result, SB_FAIL, "the host lacks result_from_error");
    struct state *s = calloc(1, sizeof *s);
    if (!s)
        return sb_result_set(result, SB_FAIL, "out of memory");
    s->self = self;
    s->host = host;
    *state = s;
    return SB_OK;
}

static void shutdown_plugin(void *state)
{
    free(state);
}

static const sb_plugin_descriptor descriptor = {
    SB_DESCRIPTOR_HEADER,
    .name = "plugin_v11",
    .version = "1.1.3",
    .description = "built against the frozen SDK 1.1 header",
    .routes = routes,
    .init = init,
    .shutdown = shutdown_plugin,
};

SB_PLUGIN_ENTRY(descriptor)
