/*
 * plugin_v19 - a plugin built for a newer minor (1.9) than the host runs.
 * It stands in for an SDK whose sb_route, sb_setting, sb_schedule and
 * descriptor grew members this host does not know (declared here as
 * wrappers with extra members, filled with values a host that ignored the
 * recorded element sizes would misread), and whose sb_host grew a service.
 * The host must load it, walk its arrays with the descriptor's element
 * sizes, and the plugin must see the newer service as absent.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <switchboard/switchboard.h>

#define V19_MINOR 9

/* What the 1.9 SDK's structs look like: the 1.1 ones with members appended. */
struct route_v19 {
    sb_route base;
    const char *summary;
    uint64_t rate_limit;
};

struct setting_v19 {
    sb_setting base;
    const char *label;
};

struct schedule_v19 {
    sb_schedule base;
    uint32_t jitter_s;
    const char *window;
};

struct descriptor_v19 {
    sb_plugin_descriptor base;
    void (*future_callbacks[5])(void);
};

/* The 1.9 host table: a service appended after the 1.1 ones. */
struct host_v19 {
    sb_host base;
    int (*teleport)(sb_plugin *self, const char *where);
};

/* SB_HOST_HAS for the 1.9 table: the size test comes first, so an absent member is never read. */
#define HOST_V19_HAS(host, member)                                                             \
    ((host)->base.struct_size >= offsetof(struct host_v19, member) + sizeof((host)->member)     \
     && (host)->member != NULL)

struct state {
    sb_plugin *self;
    const struct host_v19 *host;
};

static const char *const colours[] = {"red", "green", NULL};

static const struct setting_v19 settings[] = {
    {{.name = "colour", .type = SB_SETTING_ENUM, .default_value = "green", .allowed = colours},
     .label = "Colour"},
    {{.name = "every_s", .type = SB_SETTING_INT, .default_value = "600", .min = 1, .max = 3600},
     .label = "Every"},
    {{.name = "note", .type = SB_SETTING_STRING, .default_value = "nine"}, .label = "Note"},
    {{.name = NULL}, .label = "terminator"},
};

static const struct schedule_v19 schedules[] = {
    {{.name = "sweep", .interval_s = 600, .interval_setting = "every_s", .setting_unit_s = 1},
     .jitter_s = 7, .window = "night"},
    {{.name = "audit", .interval_s = 86400}, .jitter_s = 1, .window = "any"},
    {{.name = NULL}, .window = "terminator"},
};

static sb_status route_probe(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    (void)result;
    const sb_host *host = &s->host->base;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "has_teleport",
                           json_object_new_boolean(HOST_V19_HAS(s->host, teleport)));
    json_object_object_add(o, "has_respond", json_object_new_boolean(SB_HOST_HAS(host, respond)));
    json_object_object_add(o, "host_at_least_1_9",
                           json_object_new_boolean(SB_HOST_AT_LEAST(host, 1, V19_MINOR)));
    json_object_object_add(o, "host_at_least_1_1",
                           json_object_new_boolean(SB_HOST_AT_LEAST(host, 1, 1)));
    host->respond(s->self, req->reply, 200, o); /* borrowed since 1.1 */
    json_object_put(o);
    return SB_OK;
}

static sb_status route_echo(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    (void)result;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "params", json_object_get(req->params));
    s->host->base.respond(s->self, req->reply, 200, o);
    json_object_put(o);
    return SB_OK;
}

static const struct route_v19 routes[] = {
    {{"GET", "/probe", route_probe, 0, NULL}, .summary = "what the plugin sees", .rate_limit = 1},
    {{"POST", "/echo/{what}", route_echo, SB_ROUTE_PUBLIC, NULL}, .summary = "echo",
     .rate_limit = UINT64_MAX},
    {{NULL, NULL, NULL, 0, NULL}, .summary = "terminator"},
};

static sb_status on_job(void *state, const sb_job *job, sb_result *result)
{
    (void)state, (void)job, (void)result;
    return SB_OK;
}

static sb_status init(sb_plugin *self, const sb_host *host, json_object *config, void **state,
                      sb_result *result)
{
    (void)config;
    struct state *s = calloc(1, sizeof *s);
    if (!s)
        return sb_result_set(result, SB_FAIL, "out of memory");
    s->self = self;
    s->host = (const struct host_v19 *)host;
    *state = s;
    return SB_OK;
}

static void shutdown_plugin(void *state)
{
    free(state);
}

static sb_status never_called(void *state, const sb_event *event, sb_result *result)
{
    (void)state, (void)event;
    return sb_result_set(result, SB_FAIL, "a 1.9 member the host does not know was called");
}

static const struct descriptor_v19 descriptor = {
    .base = {
        .abi_major = SB_ABI_MAJOR,
        .abi_minor = V19_MINOR,
        .struct_size = sizeof(struct descriptor_v19),
        .name = "plugin_v19",
        .version = "1.9.0",
        .description = "Built for ABI 1.9, newer than the host",
        .routes = &routes[0].base,
        .settings = &settings[0].base,
        .schedules = &schedules[0].base,
        .init = init,
        .shutdown = shutdown_plugin,
        .on_job = on_job,
        .route_size = sizeof(struct route_v19),
        .setting_size = sizeof(struct setting_v19),
        .schedule_size = sizeof(struct schedule_v19),
    },
    .future_callbacks = {(void (*)(void))never_called, (void (*)(void))never_called},
};

SB_PLUGIN_ENTRY(descriptor.base)
