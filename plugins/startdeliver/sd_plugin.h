/*
 * sd_plugin.h - the startdeliver plugin's state and the document collections
 * it keeps per installation. Everything here runs on the host's loop thread.
 *
 * Collections (documents are JSON; keys sort as bytes):
 *   users           user id -> user (sd_model.h)
 *   user_emails     normalized email -> {"user_id"}
 *   customers       customer id -> customer (sd_model.h)
 *   customer_users  "<customer id>|<user id>" -> {}            (who belongs to whom)
 *   tickets         conversation id -> ticket
 *   user_tickets    "<user id>|<conversation id>" -> {"state","waiting_since"}
 *   messages        "<conversation id>|<ordinal>" -> a ticket's message (sd_transcript.h)
 *   transcripts     conversation id -> how far its stored messages reach
 *   skipped         conversation id -> {"conversation","contact","reason"}
 *   contacts        Intercom contact id -> contact facts and the sync run that read it
 *   companies       Intercom company id -> {"company_id","name","customer_id"}
 *   pushed          "contact:<id>" / "company:<id>" -> attributes last written
 *   usage           "<user id>|<created_at>|<event>" -> usage event
 *   usage_marks     user id -> {"latest"}: newest event already imported
 *   usage_mapping   "current" -> {"mappings": [...]}: events to products (sd_usage_map.h)
 *   usage_unmatched event name -> {"count","last_at"}: events no mapping matched
 *   usage_ignored   "<user id>|<created_at>|<event>" -> {}: each one counted there, once
 *   sync            "checkpoint" (a run in progress), "last" (the last finished
 *                   run), "watermark" (where the next incremental run starts)
 * '|' cannot occur in ids (sd_id_valid), so "<id>|" prefixes are exact ranges.
 */
#ifndef SD_PLUGIN_H
#define SD_PLUGIN_H

#include <switchboard/switchboard.h>

#include "sd_conversation.h"
#include "sd_settings.h"

#define SD_USERS "users"
#define SD_USER_EMAILS "user_emails"
#define SD_CUSTOMERS "customers"
#define SD_CUSTOMER_USERS "customer_users"
#define SD_TICKETS "tickets"
#define SD_USER_TICKETS "user_tickets"
#define SD_SKIPPED "skipped"
#define SD_CONTACTS "contacts"
#define SD_COMPANIES "companies"
#define SD_PUSHED "pushed"
#define SD_USAGE "usage"
#define SD_USAGE_MARKS "usage_marks"
#define SD_USAGE_MAPPING "usage_mapping"
#define SD_USAGE_MAPPING_KEY "current"
#define SD_USAGE_UNMATCHED "usage_unmatched"
#define SD_USAGE_IGNORED "usage_ignored"
#define SD_SYNC "sync"

struct sd_run;

struct sd_plugin {
    sb_plugin *self;
    const sb_host *host;
    struct sd_run *runs;            /* syncs in progress, at most one per installation */
    int64_t incremental_overlap_s;  /* options.incremental_overlap_s */
};

/* ---- documents, for the plugin's own collections ---- */

json_object *sd_get(struct sd_plugin *sd, sb_installation_id inst, const char *collection,
                    const char *key);
int sd_put(struct sd_plugin *sd, sb_installation_id inst, const char *collection,
           const char *key, json_object *value);
/** sd_put that takes ownership of @p value. */
int sd_put_owned(struct sd_plugin *sd, sb_installation_id inst, const char *collection,
                 const char *key, json_object *value);
int sd_delete(struct sd_plugin *sd, sb_installation_id inst, const char *collection,
              const char *key);
/** Key just above @p key, for resuming a scan after it. Caller frees. */
char *sd_key_after(const char *key);
/** "<a>|<b>". Caller frees. */
char *sd_pair_key(const char *a, const char *b);

/** Typed settings of an installation. */
void sd_settings_of(struct sd_plugin *sd, sb_installation_id inst, struct sd_settings *out);

/** Time in seconds. */
int64_t sd_now_s(struct sd_plugin *sd);

#endif
