/*
 * ABI corpus: SB_ROUTE_ANY_STATE without SB_ROUTE_NEEDS_INSTALLATION
 * promises nothing, so it refuses the plugin.
 */
#include <switchboard/switchboard.h>

static sb_status handler(void *state, const sb_http_request *req, sb_result *result)
{
    (void)state, (void)req, (void)result;
    return SB_OK;
}

static sb_status init(sb_plugin *self, const sb_host *host, json_object *config, void **state,
                      sb_result *result)
{
    (void)self, (void)host, (void)config, (void)state, (void)result;
    return SB_OK;
}

static void shutdown_plugin(void *state)
{
    (void)state;
}

static const sb_route routes[] = {
    {.method = "GET", .pattern = "/ok", .handler = handler, .flags = SB_ROUTE_PUBLIC},
    {.method = "GET", .pattern = "/any", .handler = handler, .flags = SB_ROUTE_ANY_STATE},
    {.method = NULL},
};

static const sb_plugin_descriptor descriptor = {
    SB_DESCRIPTOR_HEADER,
    .name = "bad_route_any_state",
    .version = "1",
    .routes = routes,
    .init = init,
    .shutdown = shutdown_plugin,
};

SB_PLUGIN_ENTRY(descriptor)
