/*
 * installations.h - one row per (plugin, Intercom workspace): identity,
 * region, sealed token and state, cached in memory for the hot paths
 * (webhook routing, canvas lookups, outbound requests).
 */
#ifndef SB_CORE_INSTALLATIONS_H
#define SB_CORE_INSTALLATIONS_H

#include "config.h"

#include <json-c/json.h>
#include <stdint.h>
#include <switchboard/switchboard.h>

struct server;

struct installation {
    int64_t id;
    char *plugin;
    char *workspace_id;
    char *workspace_name;
    char *admin_id;
    char *admin_email;
    enum region region;
    sb_installation_state state;
    int64_t installed_at;
    int64_t updated_at;
};

struct installation_identity {
    const char *workspace_id;
    const char *workspace_name;
    const char *admin_id;
    const char *admin_email;
    enum region region;
};

/* Settles an interrupted key rotation first (keyrotate_recover: may replace srv->seal_key). */
struct installations *installations_load(struct server *srv, char *err, size_t errlen);
void installations_free(struct installations *all);

struct installation *installations_get(struct installations *all, int64_t id);
struct installation *installations_find(struct installations *all, const char *plugin,
                                        const char *workspace_id);
size_t installations_count(struct installations *all);
/*
 * Read the installations saved or changed since the newest one read (by
 * other nodes of a cluster: cluster.c calls it every second): new ones are
 * added, changed ones updated in place. 0, or -1. On a shared database
 * installations_get and _find also read the one they look for from the
 * store when they do not find it here, so an install another node has just
 * completed is found at once.
 */
int installations_refresh(struct server *srv);
/* Visit installations (of one plugin, or all when plugin is NULL); stop when fn returns non-zero. */
int installations_each(struct installations *all, const char *plugin,
                       int (*fn)(void *arg, struct installation *inst), void *arg);

/*
 * Store an installation (new, or re-installed: token replaced, state active)
 * with its token sealed. *created tells which. Returns it, or NULL.
 */
struct installation *installations_save(struct server *srv, const char *plugin,
                                        const struct installation_identity *who,
                                        const char *token, bool *created);
/* The additional data a token is sealed with: "plugin/workspace" (caller frees). */
char *installation_token_aad(const char *plugin, const char *workspace);
/* The unsealed token (caller frees with installation_token_free), or NULL. */
char *installation_token(struct server *srv, const struct installation *inst);
void installation_token_free(char *token);
/* Change state; REVOKED also forgets the token. */
int installation_set_state(struct server *srv, struct installation *inst,
                           sb_installation_state state);

const char *installation_state_name(sb_installation_state state);
json_object *installation_json(const struct installation *inst);
/* Fill the SDK view (strings borrowed from inst). */
void installation_to_sdk(const struct installation *inst, sb_installation *out);

#endif
