/* Bad-plugin corpus: init refuses to start, with a reason. */
#include <switchboard/switchboard.h>

static sb_status init(sb_plugin *self, const sb_host *host, json_object *config, void **state,
                      sb_result *result)
{
    (void)self, (void)host, (void)config, (void)state;
    return sb_result_set(result, SB_FAIL, "cannot reach the vendor's licence server");
}

static void shutdown_plugin(void *state)
{
    (void)state;
}

static const sb_plugin_descriptor descriptor = {
    SB_DESCRIPTOR_HEADER,
    .name = "bad_initfail",
    .version = "1",
    .init = init,
    .shutdown = shutdown_plugin,
};

SB_PLUGIN_ENTRY(descriptor)
