/* ABI corpus: a setting type this host does not know (as a later minor might add) refuses the plugin. */
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

static const sb_setting settings[] = {
    {.name = "fine", .type = SB_SETTING_BOOL, .default_value = "true"},
    {.name = "colour", .type = (sb_setting_type)(SB_SETTING_STRING_LIST + 1), .default_value = "#fff"},
    {.name = NULL},
};

static const sb_plugin_descriptor descriptor = {
    SB_DESCRIPTOR_HEADER,
    .name = "bad_setting_type",
    .version = "1",
    .settings = settings,
    .init = init,
    .shutdown = shutdown_plugin,
};

SB_PLUGIN_ENTRY(descriptor)
