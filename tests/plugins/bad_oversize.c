/*
 * Bad-plugin corpus: a descriptor larger than the host knows, as a plugin
 * built against a future SDK would have (with its minor faked to pass).
 */
#include <switchboard/switchboard.h>

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

static const struct {
    sb_plugin_descriptor base;
    void *future_members[4];
} descriptor = {
    .base = {
        .abi_major = SB_ABI_MAJOR,
        .abi_minor = SB_ABI_MINOR,
        .struct_size = sizeof(sb_plugin_descriptor) + 4 * sizeof(void *),
        .name = "bad_oversize",
        .version = "1",
        .init = init,
        .shutdown = shutdown_plugin,
    },
};

SB_PLUGIN_ENTRY(descriptor.base)
