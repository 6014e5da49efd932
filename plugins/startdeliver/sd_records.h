/*
 * sd_records.h - the plugin's records and their indexes: users and
 * customers (from the product, or created from Intercom), companies, tickets
 * with the skipped ones, and the support health read off them. Callers run
 * these inside a host transaction when several must commit together.
 */
#ifndef SD_RECORDS_H
#define SD_RECORDS_H

#include "sd_model.h"
#include "sd_plugin.h"
#include "sd_rules.h"

/** What a record operation needs to know about its installation. */
struct sd_env {
    struct sd_plugin *sd;
    sb_installation_id inst;
    const struct sd_settings *settings;
    const char *workspace_id;
    const char *region;
    const char *run_id;          /* the sync run writing, or NULL (product API) */
};

/* ---- users and customers ---- */

/**
 * Store a user or customer: @p fields are the product-owned fields
 * (sd_record_from_input, or those of a created record); the plugin's own
 * fields (links to Intercom) are kept, and the email and customer indexes
 * follow. @p origin is "product" or "intercom" (a product write makes any
 * record a product record; an Intercom creation never downgrades one).
 * @p contact_or_company_id, if set, links the record to Intercom.
 * Returns 0 (with *created telling whether it is new) or -1.
 */
int sd_record_store(const struct sd_env *env, enum sd_record_kind kind, json_object *fields,
                    const char *origin, const char *contact_or_company_id, bool *created);

/** The lookups sd_match_contact() needs, over this installation's users. */
struct sd_user_lookup sd_user_lookup(const struct sd_env *env);

/* ---- companies ---- */

enum sd_company_result {
    SD_COMPANY_MATCHED = 0,          /* its company_id is a customer's id */
    SD_COMPANY_CREATED_CUSTOMER = 1, /* no customer matched; one was created (create_users on),
                                        by this run (so a re-read company counts the same) */
    SD_COMPANY_UNMATCHED = 2,
    SD_COMPANY_INVALID = 3           /* no id */
};

/** Record one Intercom company and link it to its customer. */
enum sd_company_result sd_company_store(const struct sd_env *env, json_object *company);

/* ---- tickets ---- */

enum sd_placement {
    SD_PLACED = 0,            /* ticket written for a matched user */
    SD_PLACED_NEW_USER = 1,   /* ticket written for a user created from the contact */
    SD_NOT_PLACED = 2,           /* no user matched and create_users is off */
    SD_PLACE_FAILED = 3             /* cannot become a ticket (why says it) */
};

/**
 * Turn a conversation into a ticket of the user its contact matches, create
 * that user (create_users on), or record it as skipped. @p contact is the
 * contact read from Intercom, or NULL when the conversation's own external
 * id was enough. A conversation is always in exactly one of tickets and
 * skipped afterwards (unless it failed). A ticket stored from a later state
 * of the conversation (newer updated_at) is kept as it is: SD_PLACED.
 */
enum sd_placement sd_place_ticket(const struct sd_env *env, const struct sd_conversation *conv,
                                  const struct sd_contact *contact, char *why, size_t whylen);

/** A ticket document for the API: its fields, its status now and its customer. */
json_object *sd_ticket_view(const struct sd_env *env, json_object *ticket, int64_t now_s);

/* ---- support health ---- */

/** Count a customer's tickets by status at @p now_s. */
void sd_customer_ticket_counts(const struct sd_env *env, const char *customer_id, int64_t now_s,
                               struct sd_ticket_counts *out);
/** {"health","reason","tickets":{"open","overdue","resolved"},"thresholds":{...}} */
json_object *sd_health_json(const struct sd_env *env, const char *customer_id, int64_t now_s);

#endif
