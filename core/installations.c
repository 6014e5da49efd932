/* installations.c - installations table and its in-memory index. */
#include "installations.h"

#include "crypto.h"
#include "hashmap.h"
#include "keyrotate.h"
#include "log.h"
#include "server.h"
#include "store/store.h"
#include "store/store_installations.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

struct installations {
    struct installation **items; /* in id order */
    size_t n, cap;
    struct hashmap *by_id;
    struct hashmap *by_workspace; /* "plugin\0workspace" */
    int64_t newest_update;        /* the latest updated_at read (seconds): refreshes start there */
    struct server *srv;
};

static const char *const state_names[] = {"active", "needs_reauth", "revoked"};

const char *installation_state_name(sb_installation_state state)
{
    return (unsigned)state <= SB_INSTALLATION_REVOKED ? state_names[state] : "unknown";
}

static sb_installation_state parse_state(const char *s)
{
    for (int i = 0; i <= SB_INSTALLATION_REVOKED; i++)
        if (s && strcmp(s, state_names[i]) == 0)
            return (sb_installation_state)i;
    return SB_INSTALLATION_REVOKED;
}

/* KEY_SMALL: the caller's buffer for the key, used when it fits (as it nearly always does). */
#define KEY_SMALL 256

/* "plugin\0workspace" in small if it fits, else allocated: free it if it is not small. */
static char *workspace_key(const char *plugin, const char *workspace, char small[KEY_SMALL],
                           size_t *len)
{
    size_t a = strlen(plugin), b = strlen(workspace);
    char *key = a + b + 1 <= KEY_SMALL ? small : xmalloc(a + b + 1);
    memcpy(key, plugin, a + 1);
    memcpy(key + a + 1, workspace, b);
    *len = a + 1 + b;
    return key;
}

static void index_add(struct installations *all, struct installation *inst)
{
    if (all->n == all->cap) {
        all->cap = all->cap ? all->cap * 2 : 64;
        all->items = xrealloc(all->items, all->cap * sizeof *all->items);
    }
    all->items[all->n++] = inst;
    hashmap_put_u64(all->by_id, inst->id, inst);
    size_t len;
    char small[KEY_SMALL];
    char *key = workspace_key(inst->plugin, inst->workspace_id, small, &len);
    hashmap_put(all->by_workspace, key, len, inst);
    if (key != small)
        free(key);
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void installation_free(struct installation *inst)
{
    free(inst->plugin);
    free(inst->workspace_id);
    free(inst->workspace_name);
    free(inst->admin_id);
    free(inst->admin_email);
    free(inst);
}

/* Replace *field with a copy of s (or NULL). */
static void set_string(char **field, const char *s)
{
    if (*field && s && strcmp(*field, s) == 0)
        return;
    free(*field);
    *field = dup_or_null(s);
}

/*
 * A row read from the store, new or changed: added, or its copy updated in
 * place (callers hold struct installation pointers; plugin and workspace,
 * its keys, never change).
 */
static int add_row(void *arg, const struct store_installation_row *row)
{
    struct installations *all = arg;
    struct installation *inst = hashmap_get_u64(all->by_id, row->id);
    bool known = inst != NULL;
    if (!known) {
        inst = xcalloc(1, sizeof *inst);
        inst->id = row->id;
        inst->plugin = xstrdup(row->plugin);
        inst->workspace_id = xstrdup(row->workspace_id);
    }
    set_string(&inst->workspace_name, row->workspace_name);
    set_string(&inst->admin_id, row->admin_id);
    set_string(&inst->admin_email, row->admin_email);
    if (!region_parse(row->region, &inst->region))
        inst->region = REGION_US;
    inst->state = parse_state(row->state);
    inst->installed_at = row->installed_at;
    inst->updated_at = row->updated_at;
    if (row->updated_at > all->newest_update)
        all->newest_update = row->updated_at;
    if (!known)
        index_add(all, inst);
    return 0;
}

struct installations *installations_load(struct server *srv, char *err, size_t errlen)
{
    /* Before any token is read: which key opens them is settled here (keyrotate.h). */
    if (srv->cfg
        && (keyrotate_recover(srv->store, srv->cfg->key_file, srv->seal_key, err, errlen) != 0
            || keyrotate_check_key(srv->store, srv->cfg->key_file, srv->seal_key, err, errlen)
                   != 0))
        return NULL;
    struct installations *all = xcalloc(1, sizeof *all);
    all->by_id = hashmap_new();
    all->by_workspace = hashmap_new();
    all->srv = srv;
    if (store_installations_each(srv->store, 0, add_row, all) != 0) {
        snprintf(err, errlen, "cannot read installations");
        installations_free(all);
        return NULL;
    }
    return all;
}

static int refresh(struct installations *all)
{
    /* From the second of the newest change read: a change later in that second is read
       again, harmlessly, rather than missed. */
    return store_installations_each(all->srv->store, all->newest_update, add_row, all);
}

int installations_refresh(struct server *srv)
{
    return refresh(srv->installations);
}

/*
 * On a shared database an installation another node has just saved may not
 * be here yet (the refresh comes every second): a lookup that finds nothing
 * reads that one installation from the store first.
 */
static bool looked_up_after_miss(struct installations *all, int64_t id, const char *plugin,
                                 const char *workspace_id)
{
    return all->srv && store_shared(all->srv->store)
           && store_installation_lookup(all->srv->store, id, plugin, workspace_id, add_row, all)
                  == 0;
}

void installations_free(struct installations *all)
{
    if (!all)
        return;
    for (size_t i = 0; i < all->n; i++)
        installation_free(all->items[i]);
    free(all->items);
    hashmap_free(all->by_id);
    hashmap_free(all->by_workspace);
    free(all);
}

struct installation *installations_get(struct installations *all, int64_t id)
{
    struct installation *inst = hashmap_get_u64(all->by_id, id);
    if (!inst && looked_up_after_miss(all, id, NULL, NULL))
        inst = hashmap_get_u64(all->by_id, id);
    return inst;
}

struct installation *installations_find(struct installations *all, const char *plugin,
                                        const char *workspace_id)
{
    size_t len;
    char small[KEY_SMALL]; /* on every webhook: no allocation */
    char *key = workspace_key(plugin, workspace_id, small, &len);
    struct installation *inst = hashmap_get(all->by_workspace, key, len);
    if (!inst && looked_up_after_miss(all, 0, plugin, workspace_id))
        inst = hashmap_get(all->by_workspace, key, len);
    if (key != small)
        free(key);
    return inst;
}

size_t installations_count(struct installations *all)
{
    return all->n;
}

int installations_each(struct installations *all, const char *plugin,
                       int (*fn)(void *, struct installation *), void *arg)
{
    for (size_t i = 0; i < all->n; i++) {
        if (plugin && strcmp(all->items[i]->plugin, plugin) != 0)
            continue;
        int rc = fn(arg, all->items[i]);
        if (rc)
            return rc;
    }
    return 0;
}

char *installation_token_aad(const char *plugin, const char *workspace)
{
    return xasprintf("%s/%s", plugin, workspace);
}

struct installation *installations_save(struct server *srv, const char *plugin,
                                        const struct installation_identity *who,
                                        const char *token, bool *created)
{
    size_t tlen = strlen(token);
    unsigned char *sealed = xmalloc(tlen + SEAL_OVERHEAD);
    char *aad = installation_token_aad(plugin, who->workspace_id);
    int rc = seal(srv->seal_key, aad, strlen(aad), token, tlen, sealed);
    free(aad);
    if (rc != 0) {
        log_error("installations", "cannot seal a token");
        free(sealed);
        return NULL;
    }
    int64_t now = time_now_ms() / 1000, id;
    struct store_installation_row row = {
        .plugin = plugin,
        .workspace_id = who->workspace_id,
        .workspace_name = who->workspace_name,
        .admin_id = who->admin_id,
        .admin_email = who->admin_email,
        .region = region_name(who->region),
        .updated_at = now,
    };
    rc = store_installation_save(srv->store, &row, sealed, tlen + SEAL_OVERHEAD, &id);
    OPENSSL_cleanse(sealed, tlen + SEAL_OVERHEAD);
    free(sealed);
    if (rc != 0)
        return NULL;

    /* Known before this save? Not installations_get: on a shared database its refresh
       would read the row just saved. */
    struct installation *inst = hashmap_get_u64(srv->installations->by_id, id);
    *created = inst == NULL;
    if (!inst) {
        inst = xcalloc(1, sizeof *inst);
        inst->id = id;
        inst->plugin = xstrdup(plugin);
        inst->workspace_id = xstrdup(who->workspace_id);
        inst->installed_at = now;
        index_add(srv->installations, inst);
    }
    free(inst->workspace_name);
    free(inst->admin_id);
    free(inst->admin_email);
    inst->workspace_name = dup_or_null(who->workspace_name);
    inst->admin_id = dup_or_null(who->admin_id);
    inst->admin_email = dup_or_null(who->admin_email);
    inst->region = who->region;
    inst->state = SB_INSTALLATION_ACTIVE;
    inst->updated_at = now;
    return inst;
}

struct token_opening {
    struct server *srv;
    const struct installation *inst;
    char *token;
};

static void open_token(void *arg, const unsigned char *sealed, size_t len)
{
    struct token_opening *o = arg;
    if (len <= (size_t)SEAL_OVERHEAD)
        return;
    unsigned char *plain = xmalloc(len - SEAL_OVERHEAD + 1);
    char *aad = installation_token_aad(o->inst->plugin, o->inst->workspace_id);
    long n = unseal(o->srv->seal_key, aad, strlen(aad), sealed, len, plain);
    free(aad);
    if (n < 0) {
        log_error("installations",
                  "token of installation %lld does not open with the key file "
                  "(was the key replaced?)",
                  (long long)o->inst->id);
        free(plain);
    } else {
        plain[n] = '\0';
        o->token = (char *)plain;
    }
}

char *installation_token(struct server *srv, const struct installation *inst)
{
    struct token_opening o = {srv, inst, NULL};
    store_installation_sealed_token(srv->store, inst->id, open_token, &o);
    return o.token;
}

void installation_token_free(char *token)
{
    if (!token)
        return;
    OPENSSL_cleanse(token, strlen(token));
    free(token);
}

int installation_set_state(struct server *srv, struct installation *inst,
                           sb_installation_state state)
{
    int64_t now = time_now_ms() / 1000;
    if (store_installation_set_state(srv->store, inst->id, installation_state_name(state), now)
        != 0)
        return -1;
    inst->state = state;
    inst->updated_at = now;
    return 0;
}

json_object *installation_json(const struct installation *inst)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(inst->id));
    json_object_object_add(o, "plugin", json_object_new_string(inst->plugin));
    json_object_object_add(o, "workspace_id", json_object_new_string(inst->workspace_id));
    json_object_object_add(o, "workspace_name", inst->workspace_name
                                                    ? json_object_new_string(inst->workspace_name)
                                                    : NULL);
    json_object_object_add(o, "region", json_object_new_string(region_name(inst->region)));
    json_object_object_add(o, "admin_id",
                           inst->admin_id ? json_object_new_string(inst->admin_id) : NULL);
    json_object_object_add(o, "admin_email",
                           inst->admin_email ? json_object_new_string(inst->admin_email) : NULL);
    json_object_object_add(o, "state",
                           json_object_new_string(installation_state_name(inst->state)));
    json_object_object_add(o, "installed_at", json_object_new_int64(inst->installed_at));
    json_object_object_add(o, "updated_at", json_object_new_int64(inst->updated_at));
    return o;
}

void installation_to_sdk(const struct installation *inst, sb_installation *out)
{
    out->id = inst->id;
    out->workspace_id = inst->workspace_id;
    out->workspace_name = inst->workspace_name;
    out->region = region_name(inst->region);
    out->admin_id = inst->admin_id;
    out->admin_email = inst->admin_email;
    out->state = inst->state;
    out->installed_at = inst->installed_at;
}
