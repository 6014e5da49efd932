/*
 * Bad-plugin corpus: a newer SDK minor than the host's, whose descriptor
 * does not record its array element sizes. A newer minor loads only when the
 * host can walk its arrays with those sizes (see tests/abi/plugin_v19.c).
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
    {.method = "GET", .pattern = "/x", .handler = handler},
    {.method = NULL},
};

static const sb_plugin_descriptor descriptor = {
    .abi_major = SB_ABI_MAJOR,
    .abi_minor = SB_ABI_MINOR + 1,
    .struct_size = sizeof(sb_plugin_descriptor),
    .name = "bad_minor",
    .version = "1",
    .routes = routes,
    .init = init,
    .shutdown = shutdown_plugin,
};

SB_PLUGIN_ENTRY(descriptor)
