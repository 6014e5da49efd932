/* installations.c - installations, their events and settings (validated by the host's own schema code). */
#include "kit.h"

#include "abi.h"
#include "settings.h"

#include <stdlib.h>
#include <string.h>

struct kit_installation *kit_installation(struct sbt_kit *kit, sb_installation_id id)
{
    for (size_t i = 0; i < kit->n_installations; i++)
        if (kit->installations[i]->id == id)
            return kit->installations[i];
    return NULL;
}

bool kit_own_installation(struct sbt_kit *kit, sb_installation_id id, const char *call)
{
    if (id == 0 || kit_installation(kit, id))
        return true;
    kit_log(kit, SB_LOG_WARN, "%s for installation %lld, which is not the plugin's own", call,
            (long long)id);
    return false;
}

void kit_installation_view(const struct kit_installation *inst, sb_installation *out)
{
    *out = (sb_installation){
        .id = inst->id,
        .workspace_id = inst->workspace_id,
        .workspace_name = inst->workspace_name,
        .region = inst->region,
        .admin_id = inst->admin_id,
        .admin_email = inst->admin_email,
        .state = inst->state,
        .installed_at = inst->installed_at,
    };
}

static void collect_error(void *arg, const char *key, const char *message)
{
    struct buf *err = arg;
    if (err->len)
        buf_puts(err, "; ");
    buf_printf(err, "%s%s%s", key, *key ? ": " : "", message);
}

int kit_settings_init(struct sbt_kit *kit)
{
    struct buf err;
    buf_init(&err);
    if (!settings_schema_valid(kit->settings, &err)) {
        snprintf(kit->result.message, sizeof kit->result.message, "%s", err.data);
        buf_free(&err);
        return -1;
    }
    buf_free(&err);
    kit->defaults = settings_schema_defaults(kit->settings);
    return 0;
}

static sb_status installation_event(struct sbt_kit *kit, struct kit_installation *inst,
                                    sb_installation_event event)
{
    if (!kit->desc.on_installation)
        return SB_OK;
    sb_installation view;
    kit_installation_view(inst, &view);
    return kit->desc.on_installation(kit->state, &view, event, kit_fresh_result(kit));
}

void sbt_install_admin(sbt_kit *kit, const char *admin_id, const char *admin_email,
                       const char *region)
{
    const char *values[] = {admin_id, admin_email, region};
    char **slots[] = {&kit->next_admin_id, &kit->next_admin_email, &kit->next_region};
    for (size_t i = 0; i < ARRAY_LEN(values); i++)
        if (values[i]) {
            free(*slots[i]);
            *slots[i] = xstrdup(values[i]);
        }
}

sb_installation_id sbt_install(sbt_kit *kit, const char *workspace_id)
{
    if (!workspace_id || !*workspace_id)
        return 0;
    struct kit_installation *inst = NULL;
    for (size_t i = 0; i < kit->n_installations && !inst; i++)
        if (strcmp(kit->installations[i]->workspace_id, workspace_id) == 0)
            inst = kit->installations[i];
    if (!inst) {
        inst = xcalloc(1, sizeof *inst);
        inst->id = (sb_installation_id)kit->n_installations + 1;
        inst->workspace_id = xstrdup(workspace_id);
        inst->workspace_name = xasprintf("Workspace %s", workspace_id);
        inst->settings = json_object_new_object();
        KIT_PUSH(kit, installations, inst);
    }
    free(inst->region);
    free(inst->admin_id);
    free(inst->admin_email);
    inst->region = xstrdup(kit->next_region ? kit->next_region : "US");
    inst->admin_id = xstrdup(kit->next_admin_id ? kit->next_admin_id : "admin-1");
    inst->admin_email = xstrdup(kit->next_admin_email ? kit->next_admin_email : "admin@example.com");
    inst->state = SB_INSTALLATION_ACTIVE;
    inst->installed_at = kit->now_ms / 1000;
    return installation_event(kit, inst, SB_INSTALLED) == SB_OK ? inst->id : 0;
}

static sb_status change_state(sbt_kit *kit, sb_installation_id id, sb_installation_state state,
                              sb_installation_event event)
{
    struct kit_installation *inst = kit_installation(kit, id);
    if (!inst)
        return sb_result_set(kit_fresh_result(kit), SB_FAIL, "unknown installation %lld",
                             (long long)id);
    inst->state = state;
    return installation_event(kit, inst, event);
}

sb_status sbt_uninstall(sbt_kit *kit, sb_installation_id inst)
{
    return change_state(kit, inst, SB_INSTALLATION_REVOKED, SB_UNINSTALLED);
}

sb_status sbt_needs_reauth(sbt_kit *kit, sb_installation_id inst)
{
    return change_state(kit, inst, SB_INSTALLATION_NEEDS_REAUTH, SB_NEEDS_REAUTH);
}

/*
 * Validate and store @p changes for @p inst (NULL: the defaults), the host's way; why not in
 * @p result. 0, or -1 with nothing changed.
 */
static int settings_change(struct sbt_kit *kit, struct kit_installation *inst,
                           json_object *changes, sb_result *result)
{
    json_object *merged = NULL;
    struct buf err;
    buf_init(&err);
    int errors = settings_validate(kit->settings, changes, inst ? inst->settings : kit->defaults,
                                   &merged, collect_error, &err);
    if (errors) {
        sb_result_fail(result, SB_FAIL, "invalid_settings", "%s", err.data);
        buf_free(&err);
        return -1;
    }
    if (inst && kit->started && kit->desc.check_settings) {
        /* The plugin's own rules, over what would be in effect, as the host asks them. */
        json_object *would_be = settings_overlay(kit->settings, kit->defaults, merged);
        sb_status st = kit->desc.check_settings(kit->state, inst->id, would_be, result);
        json_object_put(would_be);
        if (st != SB_OK) {
            settings_refusal_text(result, &err);
            sb_result_fail(result, SB_FAIL, "invalid_settings", "%s", err.data);
            json_object_put(merged);
            buf_free(&err);
            return -1;
        }
    }
    buf_free(&err);
    json_object **slot = inst ? &inst->settings : &kit->defaults;
    json_object_put(*slot);
    *slot = merged;
    return 0;
}

int sbt_settings_set(sbt_kit *kit, sb_installation_id id, const char *changes_json)
{
    struct kit_installation *inst = id ? kit_installation(kit, id) : NULL;
    sb_result *result = kit_fresh_result(kit);
    if (id && !inst) {
        sb_result_set(result, SB_FAIL, "unknown installation %lld", (long long)id);
        return -1;
    }
    json_object *changes = kit_parse(changes_json, "settings");
    int rc = settings_change(kit, inst, changes, result);
    json_object_put(changes);
    if (rc != 0 || !inst)
        return rc;
    return installation_event(kit, inst, SB_SETTINGS_CHANGED) == SB_OK ? 0 : -1;
}

int sbt_installation_state(const sbt_kit *kit, sb_installation_id id)
{
    struct kit_installation *inst = kit_installation((struct sbt_kit *)kit, id);
    return inst ? (int)inst->state : -1;
}

/* ---- the services ---- */

static int h_installation_get(sb_plugin *self, sb_installation_id id, sb_installation *out)
{
    struct sbt_kit *kit = kit_of(self, "installation_get");
    struct kit_installation *inst = kit ? kit_installation(kit, id) : NULL;
    if (!inst || !out)
        return -1;
    /* Written only as far as the plugin's minor has the struct, like the host does. */
    sb_installation view;
    kit_installation_view(inst, &view);
    abi_copy_out(out, &view, sizeof view, kit->desc.abi_minor, ABI_INSTALLATION);
    return 0;
}

static sb_installation_id h_installation_find(sb_plugin *self, const char *workspace_id)
{
    struct sbt_kit *kit = kit_of(self, "installation_find");
    for (size_t i = 0; kit && workspace_id && i < kit->n_installations; i++)
        if (strcmp(kit->installations[i]->workspace_id, workspace_id) == 0)
            return kit->installations[i]->id;
    return 0;
}

static int h_installation_each(sb_plugin *self, int (*cb)(void *, const sb_installation *),
                               void *arg)
{
    struct sbt_kit *kit = kit_of(self, "installation_each");
    if (!kit || !cb)
        return -1;
    for (size_t i = 0; i < kit->n_installations; i++) {
        sb_installation view;
        kit_installation_view(kit->installations[i], &view);
        if (cb(arg, &view))
            break;
    }
    return 0;
}

static int h_installation_revoke(sb_plugin *self, sb_installation_id id, const char *reason)
{
    struct sbt_kit *kit = kit_of(self, "installation_revoke");
    if (!kit || !id || !kit_own_installation(kit, id, "installation_revoke"))
        return -1;
    kit_log(kit, SB_LOG_INFO, "installation %lld revoked by the plugin: %s", (long long)id,
            reason ? reason : "revoked by the plugin");
    change_state(kit, id, SB_INSTALLATION_REVOKED, SB_UNINSTALLED);
    return 0;
}

static json_object *h_settings_get(sb_plugin *self, sb_installation_id id)
{
    struct sbt_kit *kit = kit_of(self, "settings_get");
    if (!kit || !kit_own_installation(kit, id, "settings_get"))
        return NULL;
    struct kit_installation *inst = id ? kit_installation(kit, id) : NULL;
    return settings_overlay(kit->settings, kit->defaults, inst ? inst->settings : NULL);
}

static int h_settings_set(sb_plugin *self, sb_installation_id id, json_object *changes,
                          sb_result *result)
{
    struct sbt_kit *kit = kit_of(self, "settings_set");
    if (!kit || !id || !kit_own_installation(kit, id, "settings_set"))
        return -1;
    sb_result ignored = {0};
    if (!json_object_is_type(changes, json_type_object)) {
        sb_result_fail(result ? result : &ignored, SB_FAIL, "invalid_settings",
                       "settings must be a JSON object");
        return -1;
    }
    struct kit_installation *inst = kit_installation(kit, id);
    if (settings_change(kit, inst, changes, result ? result : &ignored) != 0)
        return -1;
    /* Its own result: the caller's handler is still running with the kit's. */
    if (kit->desc.on_installation) {
        sb_installation view;
        kit_installation_view(inst, &view);
        sb_result hook = {0};
        kit->desc.on_installation(kit->state, &view, SB_SETTINGS_CHANGED, &hook);
    }
    return 0;
}

void kit_install_installations(sb_host *host)
{
    host->installation_get = h_installation_get;
    host->installation_find = h_installation_find;
    host->installation_each = h_installation_each;
    host->installation_revoke = h_installation_revoke;
    host->settings_get = h_settings_get;
    host->settings_set = h_settings_set;
}

void kit_installations_free(struct sbt_kit *kit)
{
    for (size_t i = 0; i < kit->n_installations; i++) {
        struct kit_installation *inst = kit->installations[i];
        free(inst->workspace_id);
        free(inst->workspace_name);
        free(inst->region);
        free(inst->admin_id);
        free(inst->admin_email);
        json_object_put(inst->settings);
        free(inst);
    }
    free(kit->installations);
    json_object_put(kit->defaults);
    free(kit->next_admin_id);
    free(kit->next_admin_email);
    free(kit->next_region);
}
