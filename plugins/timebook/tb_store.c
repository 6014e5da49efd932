/* tb_store.c - the plugin's document calls, settings and clock, in one place. */
#include "tb_plugin.h"

#include "tb_settings.h"

json_object *tb_get(struct tb_plugin *tb, sb_installation_id inst, const char *collection,
                    const char *key)
{
    return tb->host->doc_get(tb->self, inst, collection, key);
}

int tb_put_owned(struct tb_plugin *tb, sb_installation_id inst, const char *collection,
                 const char *key, json_object *value)
{
    int rc = tb->host->doc_put(tb->self, inst, collection, key, value);
    json_object_put(value);
    return rc;
}

int tb_delete(struct tb_plugin *tb, sb_installation_id inst, const char *collection,
              const char *key)
{
    return tb->host->doc_delete(tb->self, inst, collection, key) < 0 ? -1 : 0;
}

int64_t tb_now_ms(struct tb_plugin *tb)
{
    return tb->host->now_ms(tb->self);
}

void tb_settings_of(struct tb_plugin *tb, sb_installation_id inst, struct tb_settings *out)
{
    json_object *settings = tb->host->settings_get(tb->self, inst);
    tb_settings_parse(settings, out);
    json_object_put(settings);
}
