/*
 * si_plugin.h - the siit plugin's state, its documents, and what its files
 * share. Everything here runs on the host's loop thread.
 *
 * Documents per installation (keys sort as bytes; '|' cannot occur in a
 * request id or an escalation id, so "<request id>|" prefixes are exact ranges):
 *   requests      <request id> -> what Siit reported (si_requests.c): service,
 *                 subject, url, requester, priority, tags
 *   teams         <team id> -> {"id","name","reachable","admin_ids":[..]}
 *                 (GET /teams, refreshed by a re-sync)
 *   ticket_types  <ticket type id> -> {"id","name","category","archived"}
 *   directory     "sync" -> {"synced_at","admin_id","state","error"}: the last
 *                 re-sync of teams and ticket types
 *   escalations   <escalation id> -> the escalation (si_escalation.c)
 *   request_escalations  "<request id>|<escalation id>" -> {"idempotency_key"}
 *   idempotency   "<request id>|<Idempotency-Key>" -> {"escalation_id"}
 *   tickets       <Intercom ticket id> -> {"request_id","escalation_id"}:
 *                 resolves the ticket webhooks to their request
 *   timeline      "<request id>|<seq, 12 digits>" -> {"seq","at","kind","text","details"}
 *   counters      "escalation" -> {"next"}; "timeline|<request id>" -> {"next"}
 */
#ifndef SI_PLUGIN_H
#define SI_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <switchboard/switchboard.h>

#define SI_REQUESTS "requests"
#define SI_TEAMS "teams"
#define SI_TICKET_TYPES "ticket_types"
#define SI_DIRECTORY "directory"
#define SI_ESCALATIONS "escalations"
#define SI_REQUEST_ESCALATIONS "request_escalations"
#define SI_IDEMPOTENCY "idempotency"
#define SI_TICKETS "tickets"
#define SI_TIMELINE "timeline"
#define SI_COUNTERS "counters"

/** Job types (on_job); "workflow" and "workflow:*" go to si_workflow_on_job. */
#define SI_JOB_ESCALATE "escalate"
#define SI_JOB_SYNC_DIRECTORY "sync_directory"
#define SI_JOB_WORKFLOW "workflow"

/** Request ids come from Siit: 1-64 of [A-Za-z0-9_.-]. */
#define SI_REQUEST_ID_MAX 64

struct si_workflows;                       /* parsed options.workflows (si_workflow.h) */

typedef struct si_state {
    sb_plugin *self;
    const sb_host *host;
    struct si_workflows *workflows;        /* NULL when none configured */
} si_state;

/* ---- si_store.c: documents and small shared helpers ---- */

/** doc_get; a new reference or NULL. */
json_object *si_get(si_state *st, sb_installation_id inst, const char *collection,
                    const char *key);
/** doc_put that takes ownership of @p value; 0 or -1. */
int si_put(si_state *st, sb_installation_id inst, const char *collection, const char *key,
           json_object *value);
/** The next number of counter @p name (1, 2, ...), or 0 when the store failed. */
int64_t si_counter_next(si_state *st, sb_installation_id inst, const char *name);
/** A request id (or any id used in a key): 1-64 of [A-Za-z0-9_.-]. */
bool si_id_valid(const char *id);
/** Unix seconds. */
int64_t si_now_s(si_state *st);
/** Answer a product-API request with @p body (released here); returns SB_OK. */
sb_status si_reply(si_state *st, const sb_http_request *req, int status, json_object *body);
/** @p id when it is a valid request id, else NULL after filling a 400 invalid_request_id. */
const char *si_request_id_checked(const char *id, sb_result *result);

#endif
