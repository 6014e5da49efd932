/* sd_records.c - users, customers, companies, tickets and support health in documents. */
#include "sd_records.h"

#include "sd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- document helpers (sd_plugin.h) ---- */

json_object *sd_get(struct sd_plugin *sd, sb_installation_id inst, const char *collection,
                    const char *key)
{
    return sd->host->doc_get(sd->self, inst, collection, key);
}

int sd_put(struct sd_plugin *sd, sb_installation_id inst, const char *collection,
           const char *key, json_object *value)
{
    return sd->host->doc_put(sd->self, inst, collection, key, value);
}

int sd_put_owned(struct sd_plugin *sd, sb_installation_id inst, const char *collection,
                 const char *key, json_object *value)
{
    int rc = sd_put(sd, inst, collection, key, value);
    json_object_put(value);
    return rc;
}

int sd_delete(struct sd_plugin *sd, sb_installation_id inst, const char *collection,
              const char *key)
{
    return sd->host->doc_delete(sd->self, inst, collection, key) < 0 ? -1 : 0;
}

char *sd_key_after(const char *key)
{
    return pk_xasprintf("%s\x01", key); /* no key lies between "k" and "k\x01" */
}

char *sd_pair_key(const char *a, const char *b)
{
    return pk_xasprintf("%s|%s", a, b);
}

void sd_settings_of(struct sd_plugin *sd, sb_installation_id inst, struct sd_settings *out)
{
    json_object *settings = sd->host->settings_get(sd->self, inst);
    sd_settings_parse(settings, out);
    json_object_put(settings);
}

int64_t sd_now_s(struct sd_plugin *sd)
{
    return sd->host->now_ms(sd->self) / 1000;
}

/* ---- users and customers ---- */

static const char *const plugin_owned[] = {"origin", "intercom_contact_id", "intercom_company_id",
                                           "link_checked_at", NULL};

/* Point one index entry from @p old_key to @p new_key (either may be NULL). */
static int move_index(const struct sd_env *env, const char *collection, const char *old_key,
                      const char *new_key, json_object *value)
{
    if (pk_str_eq(old_key, new_key))
        return 0;
    if (old_key && sd_delete(env->sd, env->inst, collection, old_key) != 0)
        return -1;
    return new_key ? sd_put(env->sd, env->inst, collection, new_key, value) : 0;
}

static int index_email(const struct sd_env *env, const char *user_id, const char *old_email,
                       const char *new_email)
{
    if (pk_str_eq(old_email, new_email))
        return 0;
    if (old_email) {
        /* Only drop the entry if it still names this user: another may have taken the address. */
        json_object *entry = sd_get(env->sd, env->inst, SD_USER_EMAILS, old_email);
        bool ours = pk_str_eq(sb_json_str(entry, "user_id"), user_id);
        json_object_put(entry);
        if (ours && sd_delete(env->sd, env->inst, SD_USER_EMAILS, old_email) != 0)
            return -1;
    }
    if (!new_email)
        return 0;
    json_object *entry = json_object_new_object();
    sb_json_add_str(entry, "user_id", user_id);
    return sd_put_owned(env->sd, env->inst, SD_USER_EMAILS, new_email, entry);
}

static int index_customer(const struct sd_env *env, const char *user_id, const char *old_customer,
                          const char *new_customer)
{
    char *old_key = old_customer ? sd_pair_key(old_customer, user_id) : NULL;
    char *new_key = new_customer ? sd_pair_key(new_customer, user_id) : NULL;
    json_object *empty = json_object_new_object();
    int rc = move_index(env, SD_CUSTOMER_USERS, old_key, new_key, empty);
    json_object_put(empty);
    free(old_key);
    free(new_key);
    return rc;
}

int sd_record_store(const struct sd_env *env, enum sd_record_kind kind, json_object *fields,
                    const char *origin, const char *intercom_id, bool *created)
{
    const char *collection = kind == SD_RECORD_USER ? SD_USERS : SD_CUSTOMERS;
    const char *link_key = kind == SD_RECORD_USER ? "intercom_contact_id" : "intercom_company_id";
    const char *id = sb_json_str(fields, "id");
    if (!id)
        return -1;
    json_object *old = sd_get(env->sd, env->inst, collection, id);
    json_object *doc = NULL;
    json_object_deep_copy(fields, &doc, NULL);
    if (!doc) {
        json_object_put(old);
        return -1;
    }
    for (const char *const *k = plugin_owned; *k; k++) {
        json_object *v;
        if (old && json_object_object_get_ex(old, *k, &v) && v)
            json_object_object_add(doc, *k, json_object_get(v));
    }
    const char *old_origin = sb_json_str(old, "origin");
    bool product = strcmp(origin, "product") == 0 || pk_str_eq(old_origin, "product");
    sb_json_add_str(doc, "origin", product ? "product" : "intercom");
    if (intercom_id)
        sb_json_add_str(doc, link_key, intercom_id);
    json_object *run_mark;
    if (old && json_object_object_get_ex(old, "created_by_run", &run_mark) && run_mark)
        json_object_object_add(doc, "created_by_run", json_object_get(run_mark));
    else if (!old && env->run_id && !product)
        sb_json_add_str(doc, "created_by_run", env->run_id);
    sb_json_add_int(doc, "updated_at", env->sd->host->now_ms(env->sd->self));

    int rc = 0;
    if (kind == SD_RECORD_USER) {
        rc = index_email(env, id, sb_json_str(old, "email"), sb_json_str(doc, "email"));
        if (rc == 0)
            rc = index_customer(env, id, sb_json_str(old, "customer_id"),
                                sb_json_str(doc, "customer_id"));
    }
    if (rc == 0)
        rc = sd_put(env->sd, env->inst, collection, id, doc);
    if (created)
        *created = old == NULL;
    json_object_put(old);
    json_object_put(doc);
    return rc;
}

static char *user_by_id(void *arg, const char *user_id)
{
    const struct sd_env *env = arg;
    json_object *user = sd_get(env->sd, env->inst, SD_USERS, user_id);
    json_object_put(user);
    return user ? pk_xstrdup(user_id) : NULL;
}

static char *user_by_email(void *arg, const char *email)
{
    const struct sd_env *env = arg;
    json_object *entry = sd_get(env->sd, env->inst, SD_USER_EMAILS, email);
    char *id = sd_strdup_or_null(sb_json_str(entry, "user_id"));
    json_object_put(entry);
    return id;
}

struct sd_user_lookup sd_user_lookup(const struct sd_env *env)
{
    return (struct sd_user_lookup){user_by_id, user_by_email, (void *)env};
}

/* Link a user to the contact that wrote in, if it has no link yet. */
static int link_contact(const struct sd_env *env, const char *user_id, const char *contact_id)
{
    json_object *user = sd_get(env->sd, env->inst, SD_USERS, user_id);
    if (!user)
        return -1;
    int rc = 0;
    if (!sb_json_str(user, "intercom_contact_id")) {
        sb_json_add_str(user, "intercom_contact_id", contact_id);
        rc = sd_put(env->sd, env->inst, SD_USERS, user_id, user);
    }
    json_object_put(user);
    return rc;
}

/* ---- companies ---- */

static char *customer_of_company(const struct sd_env *env, const char *company_id)
{
    if (!company_id)
        return NULL;
    json_object *company = sd_get(env->sd, env->inst, SD_COMPANIES, company_id);
    char *customer = sd_strdup_or_null(sb_json_str(company, "customer_id"));
    json_object_put(company);
    return customer;
}

static bool customer_exists(const struct sd_env *env, const char *id)
{
    if (!sd_id_valid(id))
        return false;
    json_object *c = sd_get(env->sd, env->inst, SD_CUSTOMERS, id);
    json_object_put(c);
    return c != NULL;
}

/* Created by this very run: a company read twice in one run (a restarted scroll) counts once. */
static bool created_by_this_run(const struct sd_env *env, const char *customer_id)
{
    if (!env->run_id)
        return false;
    json_object *c = sd_get(env->sd, env->inst, SD_CUSTOMERS, customer_id);
    bool same = pk_str_eq(sb_json_str(c, "created_by_run"), env->run_id);
    json_object_put(c);
    return same;
}

/* Make the customer's link point at this company, writing only when it changes. */
static int link_company(const struct sd_env *env, const char *customer_id, const char *company_id)
{
    json_object *customer = sd_get(env->sd, env->inst, SD_CUSTOMERS, customer_id);
    if (!customer)
        return -1;
    int rc = 0;
    if (!pk_str_eq(sb_json_str(customer, "intercom_company_id"), company_id)) {
        sb_json_add_str(customer, "intercom_company_id", company_id);
        rc = sd_put(env->sd, env->inst, SD_CUSTOMERS, customer_id, customer);
    }
    json_object_put(customer);
    return rc;
}

enum sd_company_result sd_company_store(const struct sd_env *env, json_object *company)
{
    const char *id = sb_json_str(company, "id");
    if (!id)
        return SD_COMPANY_INVALID;
    const char *company_id = sb_json_str(company, "company_id");
    const char *name = sb_json_str(company, "name");
    enum sd_company_result result = SD_COMPANY_UNMATCHED;
    char *customer_id = NULL;
    if (customer_exists(env, company_id)) {
        customer_id = pk_xstrdup(company_id);
        result = created_by_this_run(env, customer_id) ? SD_COMPANY_CREATED_CUSTOMER
                                                        : SD_COMPANY_MATCHED;
    } else if (env->settings->create_users) {
        customer_id = sd_created_customer_id(company_id, id);
        bool created = created_by_this_run(env, customer_id);
        if (!customer_exists(env, customer_id)) {
            json_object *fields = json_object_new_object();
            sb_json_add_str(fields, "id", customer_id);
            if (name)
                sb_json_add_str(fields, "name", name);
            int rc = sd_record_store(env, SD_RECORD_CUSTOMER, fields, "intercom", id, &created);
            json_object_put(fields);
            if (rc != 0) {
                free(customer_id);
                return SD_COMPANY_INVALID;
            }
        }
        result = created ? SD_COMPANY_CREATED_CUSTOMER : SD_COMPANY_MATCHED;
    }
    if (customer_id && link_company(env, customer_id, id) != 0)
        result = SD_COMPANY_INVALID;
    json_object *doc = json_object_new_object();
    sb_json_add_str(doc, "company_id", company_id);
    sb_json_add_str(doc, "name", name);
    sb_json_add_str(doc, "customer_id", customer_id);
    if (sd_put_owned(env->sd, env->inst, SD_COMPANIES, id, doc) != 0)
        result = SD_COMPANY_INVALID;
    free(customer_id);
    return result;
}

/* ---- tickets ---- */

static int remove_ticket(const struct sd_env *env, const char *conversation_id)
{
    json_object *old = sd_get(env->sd, env->inst, SD_TICKETS, conversation_id);
    if (!old)
        return 0;
    int rc = 0;
    const char *user = sb_json_str(old, "user_id");
    if (user) {
        char *key = sd_pair_key(user, conversation_id);
        rc = sd_delete(env->sd, env->inst, SD_USER_TICKETS, key);
        free(key);
    }
    if (rc == 0)
        rc = sd_delete(env->sd, env->inst, SD_TICKETS, conversation_id);
    json_object_put(old);
    return rc;
}

static int write_skipped(const struct sd_env *env, const struct sd_conversation *conv,
                         const struct sd_contact *contact, const char *why)
{
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "conversation", sd_conversation_facts(conv));
    if (contact) {
        json_object_object_add(doc, "contact", sd_contact_facts(contact));
    } else {
        /* Only the conversation's own view of the contact is known. */
        struct sd_contact known = {.id = conv->contact_id,
                                   .external_id = conv->contact_external_id};
        json_object_object_add(doc, "contact", sd_contact_facts(&known));
    }
    sb_json_add_str(doc, "reason", why);
    int rc = sd_put_owned(env->sd, env->inst, SD_SKIPPED, conv->id, doc);
    return rc == 0 ? remove_ticket(env, conv->id) : rc;
}

static int write_ticket(const struct sd_env *env, const struct sd_conversation *conv,
                        const char *user_id, enum sd_match match)
{
    json_object *old = sd_get(env->sd, env->inst, SD_TICKETS, conv->id);
    const char *old_user = sb_json_str(old, "user_id");
    int rc = 0;
    if (old_user && strcmp(old_user, user_id) != 0) {
        char *old_key = sd_pair_key(old_user, conv->id);
        rc = sd_delete(env->sd, env->inst, SD_USER_TICKETS, old_key);
        free(old_key);
    }
    json_object_put(old);
    if (rc != 0)
        return rc;

    json_object *index = json_object_new_object();
    sb_json_add_str(index, "state", conv->state);
    sd_add_time(index, "waiting_since", conv->waiting_since);
    char *key = sd_pair_key(user_id, conv->id);
    rc = sd_put_owned(env->sd, env->inst, SD_USER_TICKETS, key, index);
    free(key);

    json_object *ticket = json_object_new_object();
    sb_json_add_str(ticket, "id", conv->id);
    sb_json_add_str(ticket, "title", conv->title);
    sb_json_add_str(ticket, "state", conv->state);
    sb_json_add_int(ticket, "created_at", conv->created_at);
    sb_json_add_int(ticket, "updated_at", conv->updated_at);
    sd_add_time(ticket, "waiting_since", conv->waiting_since);
    char *link = pk_conversation_link(env->region, env->workspace_id, conv->id);
    sb_json_add_str(ticket, "link", link);
    free(link);
    sb_json_add_str(ticket, "contact_id", conv->contact_id);
    sb_json_add_str(ticket, "user_id", user_id);
    sb_json_add_str(ticket, "matched_by", sd_match_name(match));
    sb_json_add_int(ticket, "synced_at", env->sd->host->now_ms(env->sd->self));
    if (rc == 0)
        rc = sd_put(env->sd, env->inst, SD_TICKETS, conv->id, ticket);
    json_object_put(ticket);
    if (rc == 0 && sd_delete(env->sd, env->inst, SD_SKIPPED, conv->id) != 0)
        rc = -1;
    return rc;
}

/* Create (or find, if an earlier conversation created it) the user of an unmatched contact. */
static char *user_for_unmatched(const struct sd_env *env, const struct sd_conversation *conv,
                                const struct sd_contact *contact, bool *created)
{
    const char *external_id = conv->contact_external_id
                                  ? conv->contact_external_id
                                  : contact ? contact->external_id : NULL;
    char *id = sd_created_user_id(external_id, conv->contact_id);
    *created = false;
    char *existing = user_by_id((void *)env, id);
    if (existing) {
        free(id);
        return existing;
    }
    json_object *fields = json_object_new_object();
    sb_json_add_str(fields, "id", id);
    char *email = contact ? sd_email_normalize(contact->email) : NULL;
    if (email)
        sb_json_add_str(fields, "email", email);
    free(email);
    if (contact && contact->name)
        sb_json_add_str(fields, "name", contact->name);
    char *customer = customer_of_company(env, contact ? contact->company_id : NULL);
    if (customer)
        sb_json_add_str(fields, "customer_id", customer);
    free(customer);
    int rc = sd_record_store(env, SD_RECORD_USER, fields, "intercom", conv->contact_id, created);
    json_object_put(fields);
    if (rc != 0) {
        free(id);
        return NULL;
    }
    return id;
}

/*
 * The stored ticket is of a later state of the conversation than @p conv: a
 * webhook's job wrote it after a sync read its page, so that page's copy is
 * stale and must not overwrite it (the next sync reads it again anyway).
 */
static bool ticket_is_newer(const struct sd_env *env, const struct sd_conversation *conv)
{
    json_object *ticket = sd_get(env->sd, env->inst, SD_TICKETS, conv->id);
    bool newer = ticket && sb_json_int(ticket, "updated_at", 0) > conv->updated_at;
    json_object_put(ticket);
    return newer;
}

enum sd_placement sd_place_ticket(const struct sd_env *env, const struct sd_conversation *conv,
                                  const struct sd_contact *contact, char *why, size_t whylen)
{
    if (ticket_is_newer(env, conv))
        return SD_PLACED;
    if (!conv->contact_id) {
        snprintf(why, whylen, "conversation %s has no contact", conv->id);
        return SD_PLACE_FAILED;
    }
    const char *external_id = conv->contact_external_id
                                  ? conv->contact_external_id
                                  : contact ? contact->external_id : NULL;
    struct sd_user_lookup lookup = sd_user_lookup(env);
    char *user_id = NULL;
    enum sd_match match =
        sd_match_contact(&lookup, external_id, contact ? contact->email : NULL, &user_id);
    enum sd_placement placed = SD_PLACED;
    if (match == SD_MATCH_NONE) {
        if (!env->settings->create_users) {
            snprintf(why, whylen, "no user has the external id or email of contact %s",
                     conv->contact_id);
            return write_skipped(env, conv, contact, why) == 0 ? SD_NOT_PLACED : SD_PLACE_FAILED;
        }
        bool created = false;
        user_id = user_for_unmatched(env, conv, contact, &created);
        if (!user_id) {
            snprintf(why, whylen, "cannot store the user of contact %s", conv->contact_id);
            return SD_PLACE_FAILED;
        }
        placed = created ? SD_PLACED_NEW_USER : SD_PLACED;
    } else if (link_contact(env, user_id, conv->contact_id) != 0) {
        snprintf(why, whylen, "cannot link user %s to contact %s", user_id, conv->contact_id);
        free(user_id);
        return SD_PLACE_FAILED;
    }
    int rc = write_ticket(env, conv, user_id, match);
    free(user_id);
    if (rc != 0) {
        snprintf(why, whylen, "cannot store the ticket of conversation %s", conv->id);
        return SD_PLACE_FAILED;
    }
    return placed;
}

json_object *sd_ticket_view(const struct sd_env *env, json_object *ticket, int64_t now_s)
{
    json_object *view = NULL;
    json_object_deep_copy(ticket, &view, NULL);
    if (!view)
        return json_object_new_object();
    enum sd_ticket_status status =
        sd_ticket_status(sb_json_str(ticket, "state"), sb_json_int(ticket, "waiting_since", 0),
                         now_s, &env->settings->rules);
    sb_json_add_str(view, "status", sd_ticket_status_name(status));
    json_object *user = sd_get(env->sd, env->inst, SD_USERS, sb_json_str(ticket, "user_id"));
    sb_json_add_str(view, "customer_id", sb_json_str(user, "customer_id"));
    json_object_put(user);
    return view;
}

/* ---- support health ---- */

struct count_ctx {
    const struct sd_env *env;
    int64_t now_s;
    struct sd_ticket_counts *counts;
};

static int count_ticket(void *arg, const char *key, json_object *value)
{
    struct count_ctx *c = arg;
    (void)key;
    sd_ticket_counts_add(c->counts, sd_ticket_status(sb_json_str(value, "state"),
                                                     sb_json_int(value, "waiting_since", 0),
                                                     c->now_s, &c->env->settings->rules));
    return 0;
}

/* Visit every ticket of the user named by a customer_users key ("<customer>|<user>"). */
static int count_user(void *arg, const char *key, json_object *value)
{
    struct count_ctx *c = arg;
    (void)value;
    const char *user = strchr(key, '|');
    if (!user)
        return 0;
    char *from = pk_xasprintf("%s|", user + 1);
    char *to = pk_xasprintf("%s}", user + 1); /* '}' follows '|' */
    c->env->sd->host->doc_list(c->env->sd->self, c->env->inst, SD_USER_TICKETS, from, to, 0, 0,
                               count_ticket, c);
    free(from);
    free(to);
    return 0;
}

void sd_customer_ticket_counts(const struct sd_env *env, const char *customer_id, int64_t now_s,
                               struct sd_ticket_counts *out)
{
    memset(out, 0, sizeof *out);
    struct count_ctx c = {env, now_s, out};
    char *from = pk_xasprintf("%s|", customer_id);
    char *to = pk_xasprintf("%s}", customer_id);
    env->sd->host->doc_list(env->sd->self, env->inst, SD_CUSTOMER_USERS, from, to, 0, 0,
                            count_user, &c);
    free(from);
    free(to);
}

json_object *sd_health_json(const struct sd_env *env, const char *customer_id, int64_t now_s)
{
    struct sd_ticket_counts counts;
    sd_customer_ticket_counts(env, customer_id, now_s, &counts);
    const struct sd_rules *rules = &env->settings->rules;
    enum sd_health health = sd_support_health(&counts, rules);
    char reason[160];
    sd_health_reason(&counts, rules, health, reason, sizeof reason);
    json_object *o = json_object_new_object();
    sb_json_add_str(o, "health", sd_health_name(health));
    sb_json_add_str(o, "reason", reason);
    json_object *tickets = json_object_new_object();
    sb_json_add_int(tickets, "open", counts.open);
    sb_json_add_int(tickets, "overdue", counts.overdue);
    sb_json_add_int(tickets, "resolved", counts.resolved);
    json_object_object_add(o, "tickets", tickets);
    json_object *thresholds = json_object_new_object();
    sb_json_add_int(thresholds, "overdue_threshold_hours", rules->overdue_after_s / 3600);
    sb_json_add_int(thresholds, "fair_overdue", rules->fair_overdue);
    sb_json_add_int(thresholds, "poor_overdue", rules->poor_overdue);
    sb_json_add_int(thresholds, "fair_unresolved", rules->fair_unresolved);
    json_object_object_add(o, "thresholds", thresholds);
    sb_json_add_int(o, "as_of", now_s);
    return o;
}
