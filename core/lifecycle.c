/* lifecycle.c - installation state changes and their consequences. */
#include "lifecycle.h"

#include "audit.h"
#include "installations.h"
#include "intercom.h"
#include "jobs.h"
#include "log.h"
#include "plugins.h"
#include "schedules.h"
#include "server.h"
#include "turn.h"
#include "util.h"

#include <string.h>

static sb_status notify(struct server *srv, struct installation *inst, sb_installation_event ev,
                        sb_result *result)
{
    struct sb_plugin *p = plugins_find(srv->plugins, inst->plugin);
    if (!p || !p->running || !p->desc.on_installation)
        return SB_OK;
    sb_installation view;
    installation_to_sdk(inst, &view);
    sb_result local = {0};
    if (!result)
        result = &local;
    p->callbacks++;
    turn_scope_enter(srv->turn);
    sb_status st = p->desc.on_installation(p->state, &view, ev, result);
    /* What the hook recorded is part of its outcome: lost, the change did not take. */
    if (!turn_scope_leave(srv->turn) && st != SB_FAIL && st != SB_RETRY)
        st = sb_result_set(result, SB_RETRY, "what it recorded could not be stored");
    if (st == SB_FAIL || st == SB_RETRY)
        log_warn("lifecycle", "plugin %s: installation %lld hook failed: %s", p->name,
                 (long long)inst->id, result->message[0] ? result->message : "(no message)");
    return st;
}

sb_status lifecycle_installed(struct server *srv, struct installation *inst, bool created,
                              sb_result *result)
{
    struct sb_plugin *p = plugins_find(srv->plugins, inst->plugin);
    log_info("lifecycle", "plugin %s %s workspace %s (installation %lld, region %s)",
             inst->plugin, created ? "installed in" : "re-installed in", inst->workspace_id,
             (long long)inst->id, region_name(inst->region));
    audit_append(srv->store, inst->plugin, inst->id, "installation",
                 created ? "installed" : "reinstalled", inst->admin_email);
    if (p && p->running)
        schedules_sync(srv->schedules, p, inst);
    return notify(srv, inst, SB_INSTALLED, result);
}

struct revoke_ctx {
    char *plugin;
    int64_t installation;
};

static void revoke_done(void *arg, int status, const char *body, size_t len, const char *error)
{
    struct revoke_ctx *ctx = arg;
    (void)body;
    (void)len;
    if (status >= 200 && status < 300)
        log_info("lifecycle", "Intercom revoked the token of installation %lld",
                 (long long)ctx->installation);
    else
        log_warn("lifecycle", "revoking the token of installation %lld at Intercom failed: %s",
                 (long long)ctx->installation,
                 error ? error : status ? "unexpected HTTP status" : "no response");
    free(ctx->plugin);
    free(ctx);
}

int lifecycle_revoke(struct server *srv, struct installation *inst, const char *reason,
                     bool tell_intercom)
{
    if (inst->state == SB_INSTALLATION_REVOKED)
        return 0;
    if (tell_intercom) {
        char *token = installation_token(srv, inst);
        if (token) {
            char *url = xasprintf("%s/auth/uninstall", srv->cfg->api_url[inst->region]);
            struct revoke_ctx *ctx = xcalloc(1, sizeof *ctx);
            ctx->plugin = xstrdup(inst->plugin);
            ctx->installation = inst->id;
            intercom_raw(srv->intercom, "POST", url, token, "application/json", "{}",
                         revoke_done, ctx);
            free(url);
            installation_token_free(token);
        }
    }
    if (installation_set_state(srv, inst, SB_INSTALLATION_REVOKED) != 0)
        return -1;
    jobs_cancel_installation(srv->jobs, inst->id);
    schedules_forget_installation(srv->schedules, inst->id);
    log_info("lifecycle", "installation %lld (%s, workspace %s) revoked: %s", (long long)inst->id,
             inst->plugin, inst->workspace_id, reason);
    audit_append(srv->store, inst->plugin, inst->id, "installation", "revoked", reason);
    notify(srv, inst, SB_UNINSTALLED, NULL);
    return 0;
}

void lifecycle_needs_reauth(struct server *srv, struct installation *inst, const char *why)
{
    if (installation_set_state(srv, inst, SB_INSTALLATION_NEEDS_REAUTH) != 0)
        return;
    log_warn("lifecycle", "installation %lld (%s, workspace %s) needs to be installed again: %s",
             (long long)inst->id, inst->plugin, inst->workspace_id, why);
    audit_append(srv->store, inst->plugin, inst->id, "installation", "needs_reauth", why);
    notify(srv, inst, SB_NEEDS_REAUTH, NULL);
}

void lifecycle_intercom_unauthorized(void *srv, int64_t installation, const char *why)
{
    struct server *server = srv;
    struct installation *inst = installations_get(server->installations, installation);
    if (inst && inst->state == SB_INSTALLATION_ACTIVE)
        lifecycle_needs_reauth(server, inst, why);
}

void lifecycle_settings_changed(struct server *srv, struct installation *inst)
{
    struct sb_plugin *p = plugins_find(srv->plugins, inst->plugin);
    audit_append(srv->store, inst->plugin, inst->id, "installation", "settings_changed", NULL);
    if (p && p->running && inst->state == SB_INSTALLATION_ACTIVE)
        schedules_sync(srv->schedules, p, inst);
    notify(srv, inst, SB_SETTINGS_CHANGED, NULL);
}
