/*
 * ss_plugin.h - the sigsentry plugin's state, its documents, and the entry
 * points its host-facing files share. Everything here runs on the host's
 * loop thread.
 *
 * Documents per installation (keys sort as bytes; '|' cannot occur in a
 * service name or a conversation id, so "<x>|" prefixes are exact ranges):
 *   project   "project" -> {"id","name","retention_days","created_at",
 *                           "updated_at","next_seq"}       (one project per binding)
 *   services  <service> -> {"name","aliases":[..],"records","by_level":{..},
 *                           "first_seen","last_seen"}     (known services)
 *   logs      "<service>|<ISO time>|<seq>" -> {"time","level","message"}
 *             so one service's records in a time window are one key range;
 *             <ISO time> is ss_time_iso (fixed width), <seq> 12 digits.
 *   triage    <conversation id> -> the current triage revision and its
 *             progress (see ss_triage_job.c)
 *   analyses  "<conversation id>|<ms, 15 digits>|<analysis id>" ->
 *             an analysis and its progress (see ss_analyze.c); the ms part
 *             is the creation time, raised past the conversation's newest
 *             key when needed, so keys sort in creation order.
 *   binding   "state" -> {"active","changed_at","reason"}
 * Plugin-wide (installation 0):
 *   analysis_ids  <analysis id> -> {"installation","key"}: resolves the
 *                 public analysis URL, whose id is 128 random bits.
 */
#ifndef SS_PLUGIN_H
#define SS_PLUGIN_H

#include <switchboard/switchboard.h>

#include "ss_settings.h"

#define SS_PROJECT "project"
#define SS_SERVICES "services"
#define SS_LOGS "logs"
#define SS_TRIAGE "triage"
#define SS_ANALYSES "analyses"
#define SS_BINDING "binding"
#define SS_ANALYSIS_IDS "analysis_ids"

/** Job types (on_job). */
#define SS_JOB_POST_ANALYSIS "post_analysis"
#define SS_JOB_PRUNE_LOGS "prune_logs"

/** Conversation ids are Intercom's numeric strings; anything key-safe is accepted. */
#define SS_CONVERSATION_ID_MAX 64

struct ss_plugin {
    sb_plugin *self;
    const sb_host *host;
    struct ss_options options;
};

/* ---- ss_store.c: documents ---- */

/** doc_put that takes ownership of @p value; 0 or -1. */
int ss_put(struct ss_plugin *ss, sb_installation_id inst, const char *collection,
           const char *key, json_object *value);
json_object *ss_get(struct ss_plugin *ss, sb_installation_id inst, const char *collection,
                    const char *key);
int64_t ss_now_ms(struct ss_plugin *ss);
/** True for ids usable in document keys: 1..64 of [A-Za-z0-9_-]. */
bool ss_conversation_id_valid(const char *id);

/** Typed settings of a binding (clear with ss_settings_clear). */
void ss_settings_of(struct ss_plugin *ss, sb_installation_id inst, struct ss_settings *out);
/** The binding's triage rules: options plus its keyword entries. */
void ss_rules_of(struct ss_plugin *ss, const struct ss_settings *settings, struct ss_rules *out);

/** Active: installed, token usable, not disconnected. */
bool ss_binding_active(struct ss_plugin *ss, sb_installation_id inst);
/** Record the binding's state (on disconnect, uninstall, re-install). */
int ss_binding_set(struct ss_plugin *ss, sb_installation_id inst, bool active, const char *reason);

/** The project of a binding, or NULL. */
json_object *ss_project_get(struct ss_plugin *ss, sb_installation_id inst);
/** Known services, as an array of service documents in name order. New reference. */
json_object *ss_services_list(struct ss_plugin *ss, sb_installation_id inst);

/** Delete log records older than the project's retention; returns how many, or -1. */
int ss_logs_prune(struct ss_plugin *ss, sb_installation_id inst);

/** The newest analyses of a conversation (at most @p limit), newest first. New reference. */
json_object *ss_analyses_recent(struct ss_plugin *ss, sb_installation_id inst,
                                const char *conversation_id, size_t limit);

/* ---- ss_ingest.c: the product's log records ---- */

/**
 * Validate and store an NDJSON body for the binding's project. Returns the
 * report {"accepted","rejected","errors":[{"line","error"}],"errors_truncated"}
 * and sets *stored to false when the store refused the batch.
 */
json_object *ss_ingest(struct ss_plugin *ss, sb_installation_id inst, json_object *project,
                       const char *body, size_t len, bool *stored);

/* ---- ss_analyze.c: analyses ---- */

struct ss_analysis_request {
    const char *conversation_id;
    const char *service;     /* NULL: every known service */
    int64_t window_start, window_end;
    const char *trigger;     /* "auto", "panel" or "api" */
    const char *requested_by; /* admin id, or NULL */
    int64_t triage_revision; /* 0 if none */
};

/**
 * Read the logs of the window, store the analysis (with its public id), and
 * enqueue the job that posts it as a note - atomically. Returns the stored
 * document (new reference) or NULL with a log line.
 */
json_object *ss_analysis_run(struct ss_plugin *ss, sb_installation_id inst,
                             const struct ss_analysis_request *req);
/**
 * An on-demand analysis of a conversation: the service and window start of
 * its triage, up to now; without a triage, every service from
 * @p created_ms_hint (the conversation's start, 0 if unknown) minus the time
 * buffer. Returns the triage document that @p out borrows from (NULL if
 * none); the caller releases it after using @p out.
 */
json_object *ss_analysis_request_for(struct ss_plugin *ss, sb_installation_id inst,
                                     const char *conversation_id, int64_t created_ms_hint,
                                     struct ss_analysis_request *out);
/** on_job for SS_JOB_POST_ANALYSIS. */
sb_status ss_post_analysis_job(struct ss_plugin *ss, const sb_job *job, sb_result *result);
/** The analysis with a public id, and its installation; NULL if unknown. New reference. */
json_object *ss_analysis_by_id(struct ss_plugin *ss, const char *id, sb_installation_id *inst);

/* ---- ss_triage_job.c: webhook events ---- */

sb_status ss_on_event(void *state, const sb_event *ev, sb_result *result);

/* ---- ss_intercom.c: how failed calls end the triage and analysis jobs ---- */

/**
 * How a failed call ends a job: the host's classifier (result_from_error),
 * except that a binding revoked meanwhile ends it OK: nothing is left to do.
 */
sb_status ss_call_failure(struct ss_plugin *ss, const sb_intercom_response *res, const char *what,
                          sb_result *result);
/** True when a failed attribute write is the workspace's configuration, not a passing fault. */
bool ss_attribute_error_is_permanent(const sb_intercom_response *res);
/** True when Intercom answered that the conversation does not exist (any more): 404 not_found. */
bool ss_conversation_gone(const sb_intercom_response *res);
/**
 * End a job about a conversation Intercom no longer has: FAIL with
 * http_status 404, which the host records as a 'skipped' job (a retry would
 * meet the same 404, and a dead job would ask an integrator to replay it for
 * nothing); the reason goes to @p result's message and to the conversation's
 * audit timeline as action "skipped". RETRY if the reason could not be
 * recorded.
 */
sb_status ss_skip_gone_conversation(struct ss_plugin *ss, sb_installation_id inst,
                                    const char *conversation_id, sb_result *result);

/* ---- ss_api.c and ss_panel.c ---- */

extern const sb_route ss_routes[];
sb_status ss_canvas(void *state, const sb_canvas_request *req, sb_result *result);

#endif
