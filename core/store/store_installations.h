/*
 * store_installations.h - the installations table: one row per (plugin,
 * Intercom workspace) with its identity, region, state and sealed token.
 * Tokens cross this interface sealed only (installations.c seals and opens
 * them). Every call runs in the caller's transaction, if one is open.
 */
#ifndef SB_CORE_STORE_INSTALLATIONS_H
#define SB_CORE_STORE_INSTALLATIONS_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* One installation; its strings are borrowed (valid during the call or callback). */
struct store_installation_row {
    int64_t id;
    const char *plugin;
    const char *workspace_id;
    const char *workspace_name; /* these three may be NULL */
    const char *admin_id;
    const char *admin_email;
    const char *region;         /* "US", "EU", "AU" */
    const char *state;          /* "active", "needs_reauth", "revoked" */
    int64_t installed_at;       /* seconds since the epoch */
    int64_t updated_at;
};

/*
 * Visit every installation updated at or after updated_since (seconds; 0:
 * all) in id order until each returns non-zero (it must not call into the
 * store). 0, or -1 with a log line.
 */
int store_installations_each(struct store *st, int64_t updated_since,
                             int (*each)(void *arg, const struct store_installation_row *row),
                             void *arg);

/*
 * Visit the installation with this id, or of this plugin and workspace (id
 * 0, or plugin and workspace_id NULL, for the other form), as
 * store_installations_each does. 0, or -1 with a log line.
 */
int store_installation_lookup(struct store *st, int64_t id, const char *plugin,
                              const char *workspace_id,
                              int (*each)(void *arg, const struct store_installation_row *row),
                              void *arg);

/*
 * Install row->plugin in row->workspace_id, or install it again: identity,
 * region and token replaced, state active, installed_at (a new one's) and
 * updated_at set to row->updated_at, revoked_at cleared. row's id, state and
 * installed_at are not read. The row's id into *id; 0, or -1 with a log line.
 */
int store_installation_save(struct store *st, const struct store_installation_row *row,
                            const unsigned char *sealed_token, size_t sealed_len, int64_t *id);

/*
 * Hand an installation's sealed token (borrowed, valid during the call) to
 * use: 1 when it has one, 0 when it has none (revoked, or no such id), -1
 * with a log line.
 */
int store_installation_sealed_token(struct store *st, int64_t id,
                                    void (*use)(void *arg, const unsigned char *sealed,
                                                size_t len),
                                    void *arg);

/*
 * Set an installation's state ("active", "needs_reauth", "revoked") and
 * updated_at; "revoked" also forgets the token and sets revoked_at. 0, or -1
 * with a log line.
 */
int store_installation_set_state(struct store *st, int64_t id, const char *state,
                                 int64_t updated_at);

#endif
