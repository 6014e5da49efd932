/*
 * Unit tests: the store's area files (core/store/store_<area>.c) on a real
 * SQLite file - pages and cursors, "none" told from a failure, rows written
 * once, and the rows other modules' SQL puts there read back.
 */
#include "product_events.h"
#include "store/store.h"
#include "store/store_audit.h"
#include "store/store_events.h"
#include "store/store_installations.h"
#include "store/store_keys.h"
#include "store/store_oauth.h"
#include "store/store_products.h"
#include "store/store_settings.h"
#include "store/store_sql.h" /* to read back what other modules' queries see */
#include "unit.h"
#include "unit_store.h"

static char *dir;

static struct store *open_db(const char *name)
{
    return unit_store_open(dir, name);
}

/* ---- audit ---- */

/* Visited entries as "id:action;" (subject and detail shown when set). */
static int collect_audit(void *arg, const struct store_audit_entry *e)
{
    char *out = arg;
    snprintf(out + strlen(out), 256 - strlen(out), "%lld:%s%s%s;", (long long)e->id, e->action,
             e->subject ? "/" : "", e->subject ? e->subject : "");
    return 0;
}

static int stop_at_first_audit(void *arg, const struct store_audit_entry *e)
{
    (void)e;
    ++*(int *)arg;
    return 1;
}

static void audit_pages_newest_first(void)
{
    struct store *st = open_db("audit.db");
    CHECK_INT(store_audit_append(st, "p", 1, NULL, "installed", NULL), 0);
    CHECK_INT(store_audit_append(st, "p", 1, "ticket 7", "escalated", "to tier 2"), 0);
    CHECK_INT(store_audit_append(st, "p", 2, NULL, "installed", NULL), 0);
    CHECK_INT(store_audit_append(st, "q", 1, NULL, "installed", NULL), 0);
    CHECK_INT(store_audit_append(st, "p", 1, "ticket 7", "closed", NULL), 0);

    char out[256] = "";
    struct store_audit_filter all = {0};
    CHECK_INT(store_audit_each(st, &all, collect_audit, out), 5);
    CHECK_STR(out, "5:closed/ticket 7;4:installed;3:installed;2:escalated/ticket 7;1:installed;");

    /* One installation's timeline, two a page: the next page starts below the last id. */
    struct store_audit_filter page = {.plugin = "p", .installation = 1, .limit = 2};
    out[0] = '\0';
    CHECK_INT(store_audit_each(st, &page, collect_audit, out), 2);
    CHECK_STR(out, "5:closed/ticket 7;2:escalated/ticket 7;");
    page.before_id = 2;
    out[0] = '\0';
    CHECK_INT(store_audit_each(st, &page, collect_audit, out), 1);
    CHECK_STR(out, "1:installed;");

    struct store_audit_filter subject = {.plugin = "p", .subject = "ticket 7"};
    out[0] = '\0';
    CHECK_INT(store_audit_each(st, &subject, collect_audit, out), 2);
    CHECK_STR(out, "5:closed/ticket 7;2:escalated/ticket 7;");

    int calls = 0;
    CHECK_INT(store_audit_each(st, &all, stop_at_first_audit, &calls), 1);
    CHECK_INT(calls, 1);
    store_close(st);
}

/* ---- settings ---- */

static void settings_none_then_replaced(void)
{
    struct store *st = open_db("settings.db");
    json_object *body = json_object_new_object(); /* not NULL: the call must set it */
    json_object *kept = body;
    CHECK_INT(store_settings_get(st, "p", 1, &body), 0);
    CHECK(body == NULL);
    json_object_put(kept);

    json_object *first = json_tokener_parse("{\"mode\":\"a\",\"url\":\"https://x/y\"}");
    CHECK_INT(store_settings_put(st, "p", 1, first), 0);
    json_object *second = json_tokener_parse("{\"mode\":\"b\"}");
    CHECK_INT(store_settings_put(st, "p", 1, second), 0);
    CHECK_INT(store_settings_get(st, "p", 1, &body), 1);
    CHECK_STR(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN), "{\"mode\":\"b\"}");
    json_object_put(body);
    CHECK_INT(store_settings_get(st, "p", 2, &body), 0); /* another installation's: none */
    json_object_put(first);
    json_object_put(second);
    store_close(st);
}

/* ---- installations ---- */

struct loaded {
    int n;
    char text[256];
};

static int collect_installation(void *arg, const struct store_installation_row *row)
{
    struct loaded *l = arg;
    l->n++;
    size_t used = strlen(l->text);
    snprintf(l->text + used, sizeof l->text - used, "%lld:%s/%s:%s:%s:%s@%lld-%lld;",
             (long long)row->id, row->plugin, row->workspace_id,
             row->workspace_name ? row->workspace_name : "-", row->region, row->state,
             (long long)row->installed_at, (long long)row->updated_at);
    return 0;
}

static void copy_token(void *arg, const unsigned char *sealed, size_t len)
{
    memcpy(arg, sealed, len);
    ((char *)arg)[len] = '\0';
}

static void installations_saved_again_and_revoked(void)
{
    struct store *st = open_db("installations.db");
    struct store_installation_row row = {.plugin = "p", .workspace_id = "ws1",
                                         .workspace_name = "Acme", .region = "EU",
                                         .updated_at = 100};
    int64_t id = 0, again = 0, other = 0;
    CHECK_INT(store_installation_save(st, &row, (const unsigned char *)"sealed-1", 8, &id), 0);
    CHECK(id > 0);
    row.workspace_id = "ws2";
    row.workspace_name = NULL;
    row.region = "US";
    CHECK_INT(store_installation_save(st, &row, (const unsigned char *)"sealed-2", 8, &other), 0);
    CHECK(other != id);

    char token[32];
    CHECK_INT(store_installation_set_state(st, id, "revoked", 200), 0);
    CHECK_INT(store_installation_sealed_token(st, id, copy_token, token), 0); /* forgotten */
    CHECK_INT(store_installation_sealed_token(st, 999, copy_token, token), 0);

    /* Installed again: the same row, active, with the new token and identity. */
    row.workspace_id = "ws1";
    row.workspace_name = "Acme Inc";
    row.region = "AU";
    row.updated_at = 300;
    CHECK_INT(store_installation_save(st, &row, (const unsigned char *)"sealed-3", 8, &again), 0);
    CHECK_INT(again, id);
    CHECK_INT(store_installation_sealed_token(st, id, copy_token, token), 1);
    CHECK_STR(token, "sealed-3");

    CHECK_INT(store_installation_set_state(st, other, "needs_reauth", 400), 0);
    CHECK_INT(store_installation_sealed_token(st, other, copy_token, token), 1); /* kept */
    CHECK_STR(token, "sealed-2");

    struct loaded l = {0};
    CHECK_INT(store_installations_each(st, 0, collect_installation, &l), 0);
    CHECK_INT(l.n, 2);
    char want[256];
    /* Installed at the first save, updated at the last change. */
    snprintf(want, sizeof want,
             "%lld:p/ws1:Acme Inc:AU:active@100-300;%lld:p/ws2:-:US:needs_reauth@100-400;",
             (long long)id, (long long)other);
    CHECK_STR(l.text, want);
    store_close(st);
}

/* ---- key rotation ---- */

static int collect_sealed(void *arg, const struct store_sealed_token *t)
{
    char *out = arg;
    snprintf(out + strlen(out), 128 - strlen(out), "%lld:%s/%s:%.*s;", (long long)t->id,
             t->plugin, t->workspace_id, (int)t->len, (const char *)t->sealed);
    return 0;
}

static void sealed_tokens_replaced(void)
{
    struct store *st = open_db("keys.db");
    struct store_installation_row row = {.plugin = "p", .workspace_id = "ws1", .region = "US",
                                         .updated_at = 1};
    int64_t a, b;
    CHECK_INT(store_installation_save(st, &row, (const unsigned char *)"old-a", 5, &a), 0);
    row.workspace_id = "ws2";
    CHECK_INT(store_installation_save(st, &row, (const unsigned char *)"old-b", 5, &b), 0);
    CHECK_INT(store_installation_set_state(st, a, "revoked", 2), 0);

    char out[128] = "";
    CHECK_INT(store_keys_each_sealed_token(st, collect_sealed, out), 0);
    char want[128];
    snprintf(want, sizeof want, "%lld:p/ws2:old-b;", (long long)b); /* the revoked one has none */
    CHECK_STR(out, want);

    CHECK_INT(store_keys_zero_deleted_content(st), 0);
    CHECK_INT(store_begin(st), 0);
    CHECK_INT(store_keys_replace_sealed_token(st, b, (const unsigned char *)"new-b!", 6), 0);
    CHECK_INT(store_commit(st), 0);
    CHECK_INT(store_keys_flush_log(st), 0);
    out[0] = '\0';
    CHECK_INT(store_keys_each_sealed_token(st, collect_sealed, out), 0);
    snprintf(want, sizeof want, "%lld:p/ws2:new-b!;", (long long)b);
    CHECK_STR(out, want);
    store_close(st);
}

/* ---- OAuth states ---- */

static void oauth_states_used_once(void)
{
    struct store *st = open_db("oauth.db");
    CHECK_INT(store_oauth_state_insert(st, "aa11", "p", 100, 700), 0);
    CHECK_INT(store_oauth_state_insert(st, "bb22", "p", 100, 50), 0);
    CHECK_INT(store_oauth_state_insert(st, "aa11", "p", 100, 700), -1); /* a nonce is unique */
    CHECK_INT(store_oauth_state_consume(st, "aa11", "other", 200), 0);  /* another plugin's */
    CHECK_INT(store_oauth_state_consume(st, "cc33", "p", 200), 0);      /* unknown */
    CHECK_INT(store_oauth_state_consume(st, "aa11", "p", 200), 1);
    CHECK_INT(store_oauth_state_consume(st, "aa11", "p", 201), 0); /* used already */
    CHECK_INT(store_oauth_states_prune(st, 60), 1);                 /* only bb22 expired */
    CHECK_INT(store_oauth_states_prune(st, 60), 0);
    CHECK_INT(store_oauth_state_consume(st, "bb22", "p", 200), 0);  /* pruned */
    store_close(st);
}

/* ---- product webhooks ---- */

static void insert_job(struct store *st, const char *plugin, const char *type, const char *state,
                       int64_t run_at)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO jobs (plugin, type, state, max_attempts, run_at, created_at, updated_at)"
             " VALUES ('%s', '%s', '%s', 5, %lld, 1, 1)",
             plugin, type, state, (long long)run_at);
    CHECK_INT(store_exec(st, sql), 0);
}

static void product_endpoint_disabled_once(void)
{
    struct store *st = open_db("product.db");
    int64_t since = -1;
    char *why = (char *)"unset";
    CHECK_INT(store_product_endpoint_disabled(st, "p", &since, &why), 0);
    CHECK_INT(since, 0);
    CHECK(why == NULL);
    CHECK_INT(store_product_endpoint_disable(st, "p", 1000, "https://x answered 410 Gone"), 1);
    CHECK_INT(store_product_endpoint_disable(st, "p", 2000, "later"), 0); /* the first one stays */
    CHECK_INT(store_product_endpoint_disabled(st, "p", &since, &why), 1);
    CHECK_INT(since, 1000);
    CHECK_STR(why, "https://x answered 410 Gone");
    free(why);
    CHECK_INT(store_product_endpoint_disabled(st, "p", &since, NULL), 1);
    CHECK_INT(store_product_endpoint_enable(st, "p", 3000), 0);
    CHECK_INT(store_product_endpoint_disabled(st, "p", &since, NULL), 0);
    CHECK_INT(store_product_endpoint_disable(st, "p", 4000, "again"), 1);
    store_close(st);
}

static void product_deliveries_counted_and_released(void)
{
    struct store *st = open_db("deliveries.db");
    insert_job(st, "p", PRODUCT_JOB_PREFIX "ticket.closed", "queued", 9000); /* held */
    insert_job(st, "p", PRODUCT_JOB_PREFIX "ticket.closed", "queued", 100); /* due already */
    insert_job(st, "p", PRODUCT_JOB_PREFIX "ticket.closed", "running", 10);
    insert_job(st, "p", PRODUCT_JOB_PREFIX "ticket.opened", "dead", 10);
    insert_job(st, "p", PRODUCT_JOB_PREFIX "ticket.opened", "done", 10);
    insert_job(st, "p", "sync", "queued", 9000); /* the plugin's own job */
    insert_job(st, "q", PRODUCT_JOB_PREFIX "x", "queued", 9000); /* another plugin's */
    int64_t unsent = -1, dead = -1;
    CHECK_INT(store_product_deliveries_count(st, "p", &unsent, &dead), 0);
    CHECK_INT(unsent, 3);
    CHECK_INT(dead, 1);

    CHECK_INT(store_product_deliveries_release(st, "p", 500), 0);
    /* p's held delivery is due now; a due one, its own job and q's stay as they were. */
    struct store_query *q = store_query(st, "SELECT plugin || ':' || type || ':' || run_at FROM "
                                            "jobs WHERE state = 'queued' ORDER BY id");
    char queued[256] = "";
    while (store_step_row(st, q) == 1)
        snprintf(queued + strlen(queued), sizeof queued - strlen(queued), "%s%s",
                 *queued ? "," : "", store_col_text(q, 0));
    CHECK_STR(queued, "p:product:ticket.closed:500,p:product:ticket.closed:100,"
                      "p:sync:9000,q:product:x:9000");
    store_reset(q);
    CHECK_INT(store_product_deliveries_count(st, "q", &unsent, &dead), 0);
    CHECK_INT(unsent, 1);
    CHECK_INT(dead, 0);
    store_close(st);
}

/* ---- events, as the admin API reads them ---- */

static void insert_event(struct store *st, int64_t id, const char *installation, const char *topic)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO events (id, plugin, notification_id, installation_id, workspace_id, "
             "topic, created_at, received_at, outcome, body) VALUES (%lld, 'p', 'n%lld', %s, %s, "
             "'%s', 7, 8, 'queued', '{\"id\":\"n%lld\"}')",
             (long long)id, (long long)id, installation,
             strcmp(installation, "NULL") == 0 ? "NULL" : "'ws1'", topic, (long long)id);
    CHECK_INT(store_exec(st, sql), 0);
}

static int collect_event(void *arg, const struct store_event *row)
{
    char *out = arg;
    snprintf(out + strlen(out), 256 - strlen(out), "%lld:%s:%s:%s;", (long long)row->id,
             row->topic, row->installation ? "inst" : "none",
             row->workspace_id ? row->workspace_id : "-");
    return 0;
}

static void events_newest_first_by_page(void)
{
    struct store *st = open_db("events.db");
    insert_event(st, 1, "1", "conversation.user.created");
    insert_event(st, 2, "NULL", "conversation.user.created");
    insert_event(st, 3, "1", "contact.created");
    insert_event(st, 4, "1", "conversation.user.created");

    char out[256] = "";
    struct store_event_filter all = {.limit = 100};
    CHECK_INT(store_events_each(st, &all, collect_event, out), 4);
    CHECK_STR(out, "4:conversation.user.created:inst:ws1;3:contact.created:inst:ws1;"
                   "2:conversation.user.created:none:-;1:conversation.user.created:inst:ws1;");

    struct store_event_filter page = {.installation = 1,
                                      .topic = "conversation.user.created", .limit = 1};
    out[0] = '\0';
    CHECK_INT(store_events_each(st, &page, collect_event, out), 1);
    CHECK_STR(out, "4:conversation.user.created:inst:ws1;");
    page.before_id = 4;
    out[0] = '\0';
    CHECK_INT(store_events_each(st, &page, collect_event, out), 1);
    CHECK_STR(out, "1:conversation.user.created:inst:ws1;");

    out[0] = '\0';
    CHECK_INT(store_event_by_id(st, 2, collect_event, out), 1);
    CHECK_STR(out, "2:conversation.user.created:none:-;");
    CHECK_INT(store_event_by_id(st, 99, collect_event, out), 0);
    store_close(st);
}

int main(void)
{
    dir = unit_tempdir();
    RUN(audit_pages_newest_first);
    RUN(settings_none_then_replaced);
    RUN(installations_saved_again_and_revoked);
    RUN(sealed_tokens_replaced);
    RUN(oauth_states_used_once);
    RUN(product_endpoint_disabled_once);
    RUN(product_deliveries_counted_and_released);
    RUN(events_newest_first_by_page);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_INT(system(cmd), 0);
    free(dir);
    UNIT_DONE();
}
