/*
 * testing.h - the Switchboard testing kit (since SDK 1.1): run a plugin's
 * unit tests without the server. Link libswitchboard-testing
 * (pkg-config switchboard-testing).
 *
 * A kit is a complete fake host for one plugin descriptor. It hands the
 * plugin an sb_host table whose services behave like the host's, and lets
 * the test drive everything the host would deliver and inspect everything
 * the plugin did:
 *
 *  - feed: installations and their events, webhooks, jobs and schedules,
 *    product-API and Canvas Kit requests, loop_post callbacks, timers;
 *  - answer: Intercom and outbound calls from canned responses or a
 *    callback; their completions wait in a queue until the test calls
 *    sbt_deliver_pending(), never inside the plugin's call, exactly once;
 *  - inspect: recorded calls, replies, jobs and their results, product
 *    events, documents, the audit timeline and the log.
 *
 * Documents behave like the host's store (byte-ordered keys, half-open
 * ranges, reverse scans, limits, values kept as JSON text) and transaction()
 * undoes every document, job, checkpoint, audit and product-event write of
 * a function that fails, with the header's return rules.
 *
 * Time stands still unless the test moves it: now_ms() is a settable clock,
 * timers fire only in sbt_clock_advance(), jobs become due by the clock.
 *
 * Everything runs on the calling thread; loop_post() alone may be called
 * from other threads. Nothing the kit returns needs freeing unless its
 * comment says so: kit-owned data lives until sbt_free(). Strings and JSON
 * passed to the kit are borrowed (copied when kept).
 */
#ifndef SWITCHBOARD_TESTING_H
#define SWITCHBOARD_TESTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <switchboard/switchboard.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sbt_kit sbt_kit;

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                */
/* ------------------------------------------------------------------------ */

/**
 * A kit for @p descriptor, checked like the host checks it when loading (ABI
 * major, sizes, required callbacks, routes, settings schema, schedules).
 * Returns NULL with the reason in @p err when the host would refuse it.
 */
sbt_kit *sbt_new(const sb_plugin_descriptor *descriptor, char *err, size_t errlen);
/** Like sbt_new() for a plugin file: dlopen()s it and calls its entry point. */
sbt_kit *sbt_open(const char *so_path, char *err, size_t errlen);
/**
 * Start the plugin: check_config (if any) then init with @p options_json
 * (the configuration's "options" group; NULL: {}). Returns init's status;
 * sbt_result() tells why it failed.
 */
sb_status sbt_start(sbt_kit *kit, const char *options_json);
/**
 * Run only the plugin's check_config on @p options_json (NULL: {}), as
 * --check-config does; SB_OK when the plugin has none. sbt_result() then
 * holds its message and where (the bad element's path, e.g. "rules[1].name").
 */
sb_status sbt_check_config(sbt_kit *kit, const char *options_json);
/** Cancel what is pending, call shutdown() after a successful start, free everything. */
void sbt_free(sbt_kit *kit);

/** The handle and host table the plugin received (for calling plugin code directly). */
sb_plugin *sbt_plugin(sbt_kit *kit);
const sb_host *sbt_host(sbt_kit *kit);
/** The state the plugin's init stored. */
void *sbt_state(sbt_kit *kit);
/** The result the last handler the kit called filled in. */
const sb_result *sbt_result(const sbt_kit *kit);

/* ------------------------------------------------------------------------ */
/* Installations and settings                                               */
/* ------------------------------------------------------------------------ */

/**
 * Install the plugin in workspace @p workspace_id (region "US", admin
 * "admin-1" <admin@example.com> unless set with sbt_install_admin()) and call
 * on_installation(SB_INSTALLED). Installing an installed workspace again makes
 * it active again. Returns the installation's id, 0 if the plugin refused.
 */
sb_installation_id sbt_install(sbt_kit *kit, const char *workspace_id);
/** The admin and region the next sbt_install() records (NULL keeps the default). */
void sbt_install_admin(sbt_kit *kit, const char *admin_id, const char *admin_email,
                       const char *region);
/** Uninstall: state revoked, on_installation(SB_UNINSTALLED). Returns its status. */
sb_status sbt_uninstall(sbt_kit *kit, sb_installation_id inst);
/** The token stopped working: state needs_reauth, on_installation(SB_NEEDS_REAUTH). */
sb_status sbt_needs_reauth(sbt_kit *kit, sb_installation_id inst);
/**
 * Change settings like an integrator (@p changes_json: an object of the
 * schema's keys), validated like the host does (unknown keys, types, enum
 * values, int bounds); on success on_installation(SB_SETTINGS_CHANGED).
 * @p inst 0 changes the plugin-wide defaults (no event). Returns 0, or -1
 * with the reason in sbt_result()->message.
 */
int sbt_settings_set(sbt_kit *kit, sb_installation_id inst, const char *changes_json);
/** The installation's state, or -1 if unknown. */
int sbt_installation_state(const sbt_kit *kit, sb_installation_id inst);

/* ------------------------------------------------------------------------ */
/* Webhooks and jobs                                                        */
/* ------------------------------------------------------------------------ */

/** Where a job (or a webhook delivery, which is a job too) stands. */
typedef enum sbt_job_state {
    SBT_JOB_QUEUED = 0,   /**< waiting to run (again), see due_ms */
    SBT_JOB_PENDING = 1,  /**< its handler returned SB_PENDING; waits for job_complete */
    SBT_JOB_DONE = 2,     /**< ended SB_OK */
    SBT_JOB_SKIPPED = 3,  /**< ended SB_FAIL with http_status 404 or 410 */
    SBT_JOB_DEAD = 4      /**< ended SB_FAIL, or RETRY after the last attempt */
} sbt_job_state;

/** A job as the kit keeps it; kit-owned, current until the kit changes it. */
typedef struct sbt_job {
    sb_job_id id;
    sb_installation_id installation;
    const char *type;          /**< job type, schedule name, or the webhook's topic */
    const char *key;           /**< NULL if none */
    json_object *payload;      /**< NULL if none; a webhook's item */
    bool webhook;              /**< a webhook delivery (on_event) rather than on_job */
    sbt_job_state state;
    uint32_t attempt;          /**< runs so far */
    int64_t due_ms;            /**< QUEUED: when it may run (kit clock) */
    json_object *checkpoint;   /**< what job_checkpoint() saved; NULL if nothing */
    sb_status status;          /**< the last status (a handler's or job_complete's) */
    sb_result result;          /**< the last result */
    bool completed;            /**< job_complete() was called for it */
} sbt_job;

/**
 * Deliver a webhook notification now: @p item_json becomes data.item of an
 * envelope {"type":"notification_event","app_id":workspace,"topic":...}. It
 * becomes a job (attempt 1) that a RETRY leaves queued for sbt_run_due().
 * Returns the job id (sbt_job_get() for its status), 0 on a wrong call.
 */
sb_job_id sbt_webhook(sbt_kit *kit, sb_installation_id inst, const char *topic,
                      const char *item_json);
/** Enqueue a job as job_enqueue() does and run it now. Returns its id. */
sb_job_id sbt_job_run(sbt_kit *kit, sb_installation_id inst, const char *type,
                      const char *key, const char *payload_json);
/** Run the descriptor's schedule @p name for @p inst now (job type = name). */
sb_job_id sbt_schedule_run(sbt_kit *kit, sb_installation_id inst, const char *name);
/**
 * Run the next due job the host would hand out: the oldest queued job whose
 * due time has come and that no older unfinished job with the same key
 * precedes. Returns its id, 0 when none is due.
 */
sb_job_id sbt_run_next(sbt_kit *kit);
/** Run due jobs until none is; returns how many ran. */
size_t sbt_run_due(sbt_kit *kit);
/** A job by id, NULL if unknown. */
const sbt_job *sbt_job_get(const sbt_kit *kit, sb_job_id id);
/** Jobs in creation order: how many, and the i-th. */
size_t sbt_job_count(const sbt_kit *kit);
const sbt_job *sbt_job_at(const sbt_kit *kit, size_t i);
/** How many jobs of @p type (NULL: any) are in @p state. */
size_t sbt_jobs_in_state(const sbt_kit *kit, const char *type, sbt_job_state state);
/**
 * Attempts before a retried job is dead (default 8, like jobs.max_attempts).
 * A RETRY without retry_after_s waits 2^(attempt-1) seconds of the kit clock.
 */
void sbt_set_max_attempts(sbt_kit *kit, uint32_t attempts);

/* ------------------------------------------------------------------------ */
/* Product-API and Canvas Kit requests                                      */
/* ------------------------------------------------------------------------ */

/** An HTTP answer: the plugin's respond()/respond_raw(), or the host's own. */
typedef struct sbt_reply {
    sb_reply_token token;
    bool answered;             /**< false while the handler's SB_PENDING waits */
    int status;
    const char *content_type;  /**< "application/json" for respond() */
    const char *body;          /**< NUL-terminated; "" if empty */
    size_t body_len;
    json_object *json;         /**< the body parsed, if it is JSON */
    sb_status handler_status;  /**< what the handler returned (SB_OK if it never ran) */
    bool handler_ran;          /**< false when the kit answered for the host (404, 405, 409...) */
} sbt_reply;

/**
 * A product-API request: @p target is the path under /api/{plugin} with an
 * optional query ("/projects/p1?workspace_id=w1&since=3"), matched against
 * the descriptor's routes ({name} segments percent-decoded into params).
 * ?workspace_id= selects the installation; SB_ROUTE_NEEDS_INSTALLATION
 * (and SB_ROUTE_ANY_STATE) is answered like the host (400, 404, 409), and
 * an uninstalled workspace is 404 on any route. A handler's FAIL without an
 * answer gets {"error":{"code":...,"message":...}} with result.http_status
 * (default 500); RETRY gets 503. @p body may be NULL. The reply is
 * kit-owned and completes later if the handler returned SB_PENDING.
 */
const sbt_reply *sbt_api(sbt_kit *kit, const char *method, const char *target,
                         const char *body);
/** Like sbt_api() with a Content-Type and a body of @p len bytes (e.g. NDJSON). */
const sbt_reply *sbt_api_raw(sbt_kit *kit, const char *method, const char *target,
                             const char *content_type, const char *body, size_t len);
/**
 * Since 1.1: like sbt_api_raw() with request header lines "Name: value"
 * (NULL-terminated; may be NULL), which the handler reads with req->header.
 */
const sbt_reply *sbt_api_headers(sbt_kit *kit, const char *method, const char *target,
                                 const char *const *headers, const char *content_type,
                                 const char *body, size_t len);
/**
 * A Canvas Kit request (@p flow "initialize" or "submit") with the request
 * body Intercom sends (workspace_id, conversation, admin, contact,
 * component_id, input_values). An unknown or inactive workspace gets the
 * host's text canvas without calling the plugin.
 */
const sbt_reply *sbt_canvas(sbt_kit *kit, const char *flow, const char *body_json);

/* ------------------------------------------------------------------------ */
/* Intercom and outbound calls                                              */
/* ------------------------------------------------------------------------ */

/** A call the plugin made; kit-owned. */
typedef struct sbt_call {
    sb_request_id id;
    /** "intercom_request", "intercom_stream" (since 1.2), "intercom_paginate", "set_attributes",
        "conversation_reply" or "outbound_request" */
    const char *service;
    sb_installation_id installation; /**< Intercom calls */
    const char *method;
    const char *path;          /**< Intercom: path and query as sent (cursor included); outbound: the URL */
    json_object *body;         /**< the body as JSON; NULL if none or not JSON */
    const char *raw_body;      /**< outbound: the body bytes, NUL-terminated ("" if none) */
    size_t raw_body_len;
    const char *const *headers; /**< outbound: the header lines, NULL-terminated */
    unsigned flags;            /**< Intercom: SB_INTERCOM_* as sent */
    bool cancelled;            /**< cancelled before its answer was delivered */
} sbt_call;

/** An answer for a call; status 0 means no response arrived (a network failure). */
typedef struct sbt_answer {
    int status;
    /** The body: JSON for Intercom (errors as {"type":"error.list","errors":[{code,message}]}). */
    const char *body;
    /** Outbound: response header lines "Name: value", NULL-terminated; may be NULL. */
    const char *const *headers;
    /** Seconds to wait (RATE_LIMITED / SERVER_ERROR), as Retry-After would say. */
    uint32_t retry_after_s;
} sbt_answer;

/**
 * A test's own answering: fill @p answer and return true to answer @p call,
 * false to fall back to the canned responses. The strings in @p answer must
 * stay valid until the next sbt_deliver_pending() returns.
 */
typedef bool (*sbt_responder)(void *arg, const sbt_call *call, sbt_answer *answer);

/**
 * Canned Intercom answers. @p path matches the request's path and query
 * exactly, or every path starting with it when it ends in '*'; @p method
 * NULL matches any. sbt_intercom_on() answers every match; sbt_intercom_once()
 * answers one and is used up, in the order added, before any _on() answer -
 * queue the pages of a pagination walk with it. A call nothing answers gets
 * 404 not_found. Returns 0, or -1 if @p body_json is not JSON. An
 * intercom_stream() call's 2xx answer is read as the host reads it: each
 * element of its array goes to on_item, then done() gets the rest.
 */
int sbt_intercom_on(sbt_kit *kit, const char *method, const char *path, int status,
                    const char *body_json);
int sbt_intercom_once(sbt_kit *kit, const char *method, const char *path, int status,
                      const char *body_json);
/** Asked before the canned answers, for every Intercom call; NULL removes it. */
void sbt_intercom_responder(sbt_kit *kit, sbt_responder fn, void *arg);

/**
 * Hosts outbound_request() may reach, like the plugin's outbound_hosts:
 * "host" (default port of the scheme), "host:port" or "host:*"; the host
 * compares case-insensitively; IPv6 literals in brackets. Without any,
 * every outbound call fails with SB_ERR_NOT_ALLOWED.
 */
void sbt_outbound_allow(sbt_kit *kit, const char *host);
/** Canned outbound answers, matched on the URL like sbt_intercom_on() on paths. */
int sbt_outbound_on(sbt_kit *kit, const char *method, const char *url, int status,
                    const char *content_type, const char *body);
int sbt_outbound_once(sbt_kit *kit, const char *method, const char *url, int status,
                      const char *content_type, const char *body);
void sbt_outbound_responder(sbt_kit *kit, sbt_responder fn, void *arg);

/**
 * Deliver every queued completion (Intercom, outbound, pagination pages),
 * also those the delivered callbacks queue, in order. Returns how many.
 */
size_t sbt_deliver_pending(sbt_kit *kit);
/** Completions waiting for sbt_deliver_pending(). */
size_t sbt_pending_count(const sbt_kit *kit);

/** Intercom calls in the order made (walks: one per page fetched). */
size_t sbt_intercom_count(const sbt_kit *kit);
const sbt_call *sbt_intercom_call(const sbt_kit *kit, size_t i);
/** Outbound calls that were allowed, in the order made (refused ones are not sent). */
size_t sbt_outbound_count(const sbt_kit *kit);
const sbt_call *sbt_outbound_call(const sbt_kit *kit, size_t i);

/* ------------------------------------------------------------------------ */
/* Product events, documents, audit                                         */
/* ------------------------------------------------------------------------ */

/** A product_event() that committed; kit-owned. */
typedef struct sbt_product_event {
    sb_installation_id installation;
    const char *type;
    json_object *payload;
} sbt_product_event;

/** Whether product_event() works (the host: product.webhook_url configured); default true. */
void sbt_product_webhook(sbt_kit *kit, bool configured);
size_t sbt_product_event_count(const sbt_kit *kit);
const sbt_product_event *sbt_product_event_at(const sbt_kit *kit, size_t i);

/** How many documents a collection of an installation holds. */
size_t sbt_doc_count(const sbt_kit *kit, sb_installation_id inst, const char *collection);

/* ------------------------------------------------------------------------ */
/* Time, loop and log                                                       */
/* ------------------------------------------------------------------------ */

/** Set the clock (ms since the epoch; the default is 2027-01-15T08:00:00Z). */
void sbt_clock_set(sbt_kit *kit, int64_t now_ms);
/**
 * Move the clock forward by @p ms, firing timers that come due on the way in
 * due order (the clock reads each timer's due time while it runs). Returns
 * how many fired.
 */
size_t sbt_clock_advance(sbt_kit *kit, int64_t ms);
/** Timers set and not yet fired or cancelled. */
size_t sbt_timer_count(const sbt_kit *kit);
/** Run the callbacks loop_post() queued, in order; returns how many ran. */
size_t sbt_run_posted(sbt_kit *kit);

/** One captured log line. */
typedef struct sbt_log_line {
    sb_log_level level;
    const char *text;
} sbt_log_line;

size_t sbt_log_count(const sbt_kit *kit);
const sbt_log_line *sbt_log_at(const sbt_kit *kit, size_t i);
/** How many lines at @p level or above contain @p needle (the plugin's and the kit's). */
size_t sbt_log_find(const sbt_kit *kit, sb_log_level level, const char *needle);
/** Also print every line to stderr as it is logged (off by default). */
void sbt_log_echo(sbt_kit *kit, bool echo);

#ifdef __cplusplus
}
#endif

#endif /* SWITCHBOARD_TESTING_H */
