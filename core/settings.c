/* settings.c - per-installation settings stored and merged over the plugin-wide ones. */
#include "settings.h"

#include "plugins.h"
#include "server.h"
#include "store/store_settings.h"
#include "turn.h"

#include <stdlib.h>
#include <string.h>

static json_object *stored_overrides(struct server *srv, struct sb_plugin *p, int64_t inst)
{
    json_object *obj;
    store_settings_get(srv->store, p->name, inst, &obj);
    return obj;
}

json_object *settings_effective(struct server *srv, struct sb_plugin *p, int64_t inst)
{
    json_object *over = inst ? stored_overrides(srv, p, inst) : NULL;
    /* Stored values passed validation when written; the overlay skips any the schema dropped since. */
    json_object *out = settings_overlay(p->desc.settings, p->defaults, over);
    json_object_put(over);
    return out;
}

static void collect_error(void *arg, const char *key, const char *message)
{
    struct buf *err = arg;
    if (err->len)
        buf_puts(err, "; ");
    if (*key)
        buf_printf(err, "%s: %s", key, message);
    else
        buf_puts(err, message);
}

/*
 * The plugin's own rules (sb_plugin_descriptor.check_settings) over what the
 * installation's settings would be with @p overrides stored. 0, or -1 with
 * the plugin's reason in @p err.
 */
static int plugin_accepts(struct server *srv, struct sb_plugin *p, int64_t inst,
                          json_object *overrides, struct buf *err)
{
    if (!p->running || !p->desc.check_settings)
        return 0;
    json_object *would_be = settings_overlay(p->desc.settings, p->defaults, overrides);
    sb_result result = {0};
    p->callbacks++;
    turn_scope_enter(srv->turn);
    sb_status st = p->desc.check_settings(p->state, inst, would_be, &result);
    turn_scope_leave(srv->turn);
    json_object_put(would_be);
    if (st == SB_OK)
        return 0;
    settings_refusal_text(&result, err);
    return -1;
}

int settings_update(struct server *srv, struct sb_plugin *p, int64_t inst, json_object *changes,
                    struct buf *err)
{
    json_object *over = stored_overrides(srv, p, inst);
    json_object *merged = NULL;
    int errors = settings_validate(p->desc.settings, changes, over, &merged, collect_error, err);
    json_object_put(over);
    if (errors)
        return -1;
    if (plugin_accepts(srv, p, inst, merged, err) != 0) {
        json_object_put(merged);
        return -1;
    }
    int rc = store_settings_put(srv->store, p->name, inst, merged);
    if (rc != 0)
        buf_puts(err, "could not save the settings");
    json_object_put(merged);
    return rc;
}
