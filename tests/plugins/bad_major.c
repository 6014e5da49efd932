/* Bad-plugin corpus: built against a different SDK major version. */
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

static const sb_plugin_descriptor descriptor = {
    .abi_major = SB_ABI_MAJOR + 1,
    .abi_minor = 0,
    .struct_size = sizeof(sb_plugin_descriptor),
    .name = "bad_major",
    .version = "1",
    .init = init,
    .shutdown = shutdown_plugin,
};

SB_PLUGIN_ENTRY(descriptor)
