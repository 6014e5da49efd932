/*
 * Compatibility corpus: a plugin from an older SDK whose descriptor ends
 * before the optional callbacks. The host must load it with those zeroed.
 */
#include <stddef.h>
#include <switchboard/switchboard.h>

static sb_status init(sb_plugin *self, const sb_host *host, json_object *config, void **state,
                      sb_result *result)
{
    (void)self, (void)host, (void)config, (void)result;
    *state = NULL;
    return SB_OK;
}

static void shutdown_plugin(void *state)
{
    (void)state;
}

static const sb_plugin_descriptor descriptor = {
    .abi_major = SB_ABI_MAJOR,
    .abi_minor = 0,
    .struct_size = offsetof(sb_plugin_descriptor, check_config),
    .name = "old_minor",
    .version = "0.9",
    .init = init,
    .shutdown = shutdown_plugin,
    /* Beyond struct_size: the host must ignore this. */
    .canvas = (sb_status(*)(void *, const sb_canvas_request *, sb_result *))1,
};

SB_PLUGIN_ENTRY(descriptor)
