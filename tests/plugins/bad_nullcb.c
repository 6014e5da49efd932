/* Bad-plugin corpus: a required callback (shutdown) is NULL. */
#include <switchboard/switchboard.h>

static sb_status init(sb_plugin *self, const sb_host *host, json_object *config, void **state,
                      sb_result *result)
{
    (void)self, (void)host, (void)config, (void)state, (void)result;
    return SB_OK;
}

static const sb_plugin_descriptor descriptor = {
    SB_DESCRIPTOR_HEADER,
    .name = "bad_nullcb",
    .version = "1",
    .init = init,
    .shutdown = NULL,
};

SB_PLUGIN_ENTRY(descriptor)
