/*
 * switchboard.h - the Switchboard plugin SDK, ABI version 1.
 *
 * A plugin is a shared object exporting exactly one symbol, made with
 * SB_PLUGIN_ENTRY(). That function returns a constant descriptor which
 * declares what the plugin is (name, version), what it wants (webhook topics,
 * product-API routes, per-installation settings, periodic schedules) and its
 * callbacks. The host validates the descriptor, then calls init() with a
 * table of host services (sb_host). Plugins never link against the host.
 *
 * Compatibility rules (the host enforces them when loading):
 *  - abi_major must equal the host's; abi_minor must not exceed the host's.
 *  - struct_size says how much of the descriptor the plugin knows about; the
 *    host copies that much into a zeroed copy, so older plugins keep loading
 *    when the descriptor grows at its end. A descriptor larger than the
 *    host's is refused.
 *  - The host table grows only at its end. A plugin that uses a member added
 *    after ABI 1.0 tests for it with SB_HOST_HAS() first.
 *  - Every struct here is append-only. Never reorder or remove members.
 *
 * Threading: the host runs one event loop thread. Every callback below runs
 * on it, and every host service must be called from it (loop_post() is the
 * one exception). Callbacks must not block: slow work goes through host
 * services (Intercom requests, timers, jobs) that complete through callbacks.
 *
 * Memory: strings and JSON the host passes to a callback are borrowed and
 * valid only during that callback unless a comment says otherwise. JSON is
 * json-c; a json_object returned by a host call is a new reference the
 * plugin releases with json_object_put(). JSON handed to the host is
 * borrowed unless the member says "takes ownership".
 *
 * Secrets: plugins never see access tokens or OAuth client secrets; the host
 * adds credentials to Intercom requests itself.
 */
#ifndef SWITCHBOARD_SWITCHBOARD_H
#define SWITCHBOARD_SWITCHBOARD_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#ifdef __cplusplus
extern "C" {
#endif

/** ABI major version: plugins built against another major are refused. */
#define SB_ABI_MAJOR 1
/** ABI minor version: grows when members are appended. */
#define SB_ABI_MINOR 0
/** SDK release, for humans. */
#define SB_SDK_VERSION "1.0.0"

/** Name of the one symbol a plugin exports. */
#define SB_ENTRY_SYMBOL "switchboard_plugin_entry"

#if defined(__GNUC__) || defined(__clang__)
#define SB_VISIBLE __attribute__((visibility("default")))
#define SB_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define SB_VISIBLE
#define SB_PRINTF(fmt, args)
#endif

/* ------------------------------------------------------------------------ */
/* Status and results                                                       */
/* ------------------------------------------------------------------------ */

/** The one status every handler returns. */
typedef enum sb_status {
    SB_OK = 0,      /**< done */
    SB_PENDING = 1, /**< completes later through the host (job_complete, respond, paginate_resume) */
    SB_RETRY = 2,   /**< transient failure: try again (after result->retry_after_s if set) */
    SB_FAIL = 3     /**< permanent failure, with result->message */
} sb_status;

/**
 * Details a handler may add to its status. The host zeroes it before each
 * call; the message reaches logs, the admin API and a job's last error, so it
 * must never contain secrets.
 */
typedef struct sb_result {
    uint32_t retry_after_s; /**< RETRY: seconds to wait; 0 lets the host back off */
    /**
     * FAIL from a product-API route: status to answer (default 500). FAIL from
     * a job or webhook handler with 404 or 410: what the job is about no longer
     * exists (a deleted conversation, say), so it ends 'skipped' with message as
     * the reason, neither retried nor dead (an older host records it dead).
     */
    int http_status;
    char message[256];      /**< RETRY/FAIL: why */
} sb_result;

/** Fill a result's message and return @p status; for one-line error exits. */
static inline SB_PRINTF(3, 4) sb_status
sb_result_set(sb_result *result, sb_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(result->message, sizeof result->message, fmt, ap);
    va_end(ap);
    return status;
}

/* ------------------------------------------------------------------------ */
/* Handles                                                                  */
/* ------------------------------------------------------------------------ */

/** The host's handle for one loaded plugin; pass it to every host call. */
typedef struct sb_plugin sb_plugin;

/** An installation: one Intercom workspace that installed this plugin. 0 means none. */
typedef int64_t sb_installation_id;

/** A durable job. */
typedef uint64_t sb_job_id;

/** A pending HTTP answer (product API or Canvas Kit); see sb_host.respond. */
typedef uint64_t sb_reply_token;

/** An outbound Intercom request or pagination walk, for cancelling. */
typedef uint64_t sb_request_id;

/** A timer. */
typedef uint64_t sb_timer_id;

/** Log levels. */
typedef enum sb_log_level {
    SB_LOG_DEBUG = 0,
    SB_LOG_INFO = 1,
    SB_LOG_WARN = 2,
    SB_LOG_ERROR = 3
} sb_log_level;

/* ------------------------------------------------------------------------ */
/* Installations                                                            */
/* ------------------------------------------------------------------------ */

/** Where an installation stands. */
typedef enum sb_installation_state {
    SB_INSTALLATION_ACTIVE = 0,       /**< token works */
    SB_INSTALLATION_NEEDS_REAUTH = 1, /**< Intercom answered 401: the workspace must install again */
    SB_INSTALLATION_REVOKED = 2       /**< uninstalled in Intercom or revoked from our side */
} sb_installation_state;

/** Why on_installation is called. */
typedef enum sb_installation_event {
    SB_INSTALLED = 0,         /**< first install, or a re-install that replaced the token */
    SB_UNINSTALLED = 1,       /**< revoked: no more events or jobs will arrive for it */
    SB_NEEDS_REAUTH = 2,      /**< the token stopped working (401) */
    SB_SETTINGS_CHANGED = 3   /**< an integrator changed its settings */
} sb_installation_event;

/** An installation as plugins see it. Strings are borrowed (see each call). */
typedef struct sb_installation {
    sb_installation_id id;
    const char *workspace_id;   /**< Intercom app.id_code (= webhook app_id = canvas workspace_id) */
    const char *workspace_name;
    const char *region;         /**< "US", "EU" or "AU" */
    const char *admin_id;       /**< the installing admin: use it as admin_id in replies and notes */
    const char *admin_email;
    sb_installation_state state;
    int64_t installed_at;       /**< Unix seconds */
} sb_installation;

/* ------------------------------------------------------------------------ */
/* What the host delivers                                                   */
/* ------------------------------------------------------------------------ */

/** A webhook notification, delivered through the durable job queue. */
typedef struct sb_event {
    sb_job_id job;                   /**< for job_complete() after SB_PENDING */
    sb_installation_id installation;
    const char *topic;               /**< e.g. "conversation.user.created" */
    const char *notification_id;     /**< Intercom's id, unique per notification */
    int64_t created_at;              /**< Unix seconds, from the envelope */
    json_object *item;               /**< data.item */
    json_object *envelope;           /**< the whole notification */
    uint32_t attempt;                /**< 1 on the first delivery */
} sb_event;

/** A job the plugin enqueued, or a due schedule (type = schedule name). */
typedef struct sb_job {
    sb_job_id id;
    sb_installation_id installation; /**< 0 for plugin-wide jobs */
    const char *type;
    const char *key;                 /**< ordering key; NULL if none */
    json_object *payload;            /**< NULL if none */
    uint32_t attempt;                /**< 1 on the first run */
} sb_job;

/** A product-API request (/api/{plugin}/...). */
typedef struct sb_http_request {
    sb_reply_token reply;            /**< answer with respond() or respond_raw() */
    sb_installation_id installation; /**< from ?workspace_id= or X-Switchboard-Workspace; 0 if absent */
    const char *method;
    const char *path;                /**< the full path, without the query */
    const char *request_id;          /**< for correlating logs */
    json_object *params;             /**< {name} segments of the route pattern, as strings */
    json_object *query;              /**< query parameters, as strings */
    json_object *body;               /**< parsed JSON body; NULL if empty or not JSON */
    const char *raw_body;            /**< the body bytes (e.g. NDJSON); NUL-terminated */
    size_t raw_body_len;
    const char *content_type;        /**< NULL if absent */
} sb_http_request;

/** A Canvas Kit request from the Intercom inbox, signature already verified. */
typedef struct sb_canvas_request {
    sb_reply_token reply;            /**< answer with respond(reply, 200, {"canvas":{...}}) */
    sb_installation_id installation; /**< resolved from workspace_id; 0 if not installed */
    const char *flow;                /**< "initialize" or "submit" */
    json_object *body;               /**< the whole request */
    const char *conversation_id;     /**< NULL if none */
    const char *admin_id;            /**< the teammate looking at the panel; NULL if none */
    const char *contact_id;          /**< NULL if none */
    const char *component_id;        /**< submit: the component that was clicked */
    json_object *input_values;       /**< submit: values of input components; may be NULL */
} sb_canvas_request;

/* ------------------------------------------------------------------------ */
/* Intercom requests                                                        */
/* ------------------------------------------------------------------------ */

/** Flag: this write may be retried after a 5xx, timeout or connection error. */
#define SB_INTERCOM_RETRY_SAFE 0x1u

/** An Intercom REST call; the host adds host, token, version and headers. */
typedef struct sb_intercom_request {
    const char *method;   /**< "GET", "POST", "PUT" or "DELETE" */
    const char *path;     /**< path and query, e.g. "/conversations/42?display_as=plaintext" */
    json_object *body;    /**< borrowed (serialized before the call returns); NULL for none */
    unsigned flags;       /**< SB_INTERCOM_* */
} sb_intercom_request;

/** What came back. Borrowed for the callback. */
typedef struct sb_intercom_response {
    sb_request_id request;
    sb_installation_id installation;
    int status;                 /**< HTTP status; 0 when no response arrived */
    json_object *body;          /**< parsed body; NULL if empty or not JSON */
    const char *error_code;     /**< NULL on 2xx; else errors[0].code, or "timeout",
                                     "connection", "cancelled", "needs_reauth", "revoked" */
    const char *error_message;  /**< human text for error_code; NULL on 2xx */
    uint32_t attempts;          /**< how many times the host sent it */
} sb_intercom_response;

/** Completion of intercom_request (called exactly once, always later, never inside the call). */
typedef void (*sb_intercom_cb)(void *arg, const sb_intercom_response *response);

/**
 * One page of a pagination walk. @p items is the page's list (the first of
 * "data", "conversations", "contacts", "companies", "events", "tickets" that
 * is an array); @p next_cursor is the cursor of the next page or NULL on the
 * last one (store it to resume after a crash). Return SB_OK for the next
 * page, SB_PENDING to wait for paginate_resume(), anything else to stop.
 */
typedef sb_status (*sb_page_cb)(void *arg, const sb_intercom_response *page,
                                json_object *items, const char *next_cursor);

/* ------------------------------------------------------------------------ */
/* Documents                                                                */
/* ------------------------------------------------------------------------ */

/** One document of a doc_list() scan; return 0 to go on, non-zero to stop. */
typedef int (*sb_doc_cb)(void *arg, const char *key, json_object *value);

/** Flags for doc_list(). */
#define SB_DOC_REVERSE 0x1u /**< scan from the high end of the range */

/* ------------------------------------------------------------------------ */
/* The host services table                                                  */
/* ------------------------------------------------------------------------ */

/**
 * Services the host offers, passed to init(). Valid until shutdown() returns.
 * Functions returning int return 0 on success and -1 on failure (with a log
 * line from the host) unless stated otherwise.
 */
typedef struct sb_host {
    uint32_t struct_size;     /**< sizeof(sb_host) of the host: test with SB_HOST_HAS */
    uint16_t abi_major;
    uint16_t abi_minor;

    /* --- logging and time --- */

    /** Log a line under the plugin's name. Never log secrets. */
    void (*log)(sb_plugin *self, sb_log_level level, const char *fmt, ...) SB_PRINTF(3, 4);
    /** Wall-clock time in milliseconds since the Unix epoch. */
    int64_t (*now_ms)(sb_plugin *self);
    /** Call @p cb on the loop after @p delay_ms. Returns 0 on failure. */
    sb_timer_id (*timer_add)(sb_plugin *self, uint32_t delay_ms, void (*cb)(void *arg), void *arg);
    /** Cancel a timer that has not fired; harmless on a fired one. */
    void (*timer_cancel)(sb_plugin *self, sb_timer_id timer);
    /** Thread-safe: run @p cb on the loop thread soon (for plugins with helper threads). */
    int (*loop_post)(sb_plugin *self, void (*cb)(void *arg), void *arg);
    /** The server's public base URL, e.g. "https://switchboard.example.com" (no trailing slash). */
    const char *(*public_url)(sb_plugin *self);

    /* --- installations and settings --- */

    /** Fill @p out; its strings stay valid until the current callback returns. */
    int (*installation_get)(sb_plugin *self, sb_installation_id id, sb_installation *out);
    /** The installation for an Intercom workspace id, or 0. */
    sb_installation_id (*installation_find)(sb_plugin *self, const char *workspace_id);
    /** Call @p cb for each installation of this plugin (any state); stops when cb returns non-zero. */
    int (*installation_each)(sb_plugin *self,
                             int (*cb)(void *arg, const sb_installation *inst), void *arg);
    /**
     * Revoke an installation from our side: the host tells Intercom
     * (POST /auth/uninstall), forgets the token, stops its jobs, and calls
     * on_installation(SB_UNINSTALLED). @p reason goes to the audit log.
     */
    int (*installation_revoke)(sb_plugin *self, sb_installation_id id, const char *reason);
    /**
     * Effective settings of an installation (0: the plugin-wide defaults):
     * every key of the schema, validated and typed. New reference.
     */
    json_object *(*settings_get)(sb_plugin *self, sb_installation_id id);

    /* --- documents: JSON values under ordered keys, namespaced by plugin and installation --- */

    /** Store @p value (borrowed) under (collection, key), replacing any older value. */
    int (*doc_put)(sb_plugin *self, sb_installation_id inst, const char *collection,
                   const char *key, json_object *value);
    /** The value, as a new reference, or NULL if absent. */
    json_object *(*doc_get)(sb_plugin *self, sb_installation_id inst, const char *collection,
                            const char *key);
    /** Delete one document; returns 1 if it existed, 0 if not, -1 on error. */
    int (*doc_delete)(sb_plugin *self, sb_installation_id inst, const char *collection,
                      const char *key);
    /**
     * Visit documents with from <= key < to in byte order (NULL: open end),
     * at most @p limit of them (0: no limit). Returns how many were visited,
     * or -1 on error.
     */
    int (*doc_list)(sb_plugin *self, sb_installation_id inst, const char *collection,
                    const char *from, const char *to, size_t limit, unsigned flags,
                    sb_doc_cb cb, void *arg);
    /** Delete documents with from <= key < to; returns how many, or -1. */
    int (*doc_delete_range)(sb_plugin *self, sb_installation_id inst, const char *collection,
                            const char *from, const char *to);
    /**
     * Run @p fn in one transaction: every doc_*, job_enqueue and audit call it
     * makes commits together, or not at all when fn returns non-zero. Use it
     * for bulk writes and to record progress atomically with its effects.
     * Returns fn's result, or -1 if the commit failed.
     */
    int (*transaction)(sb_plugin *self, int (*fn)(void *arg), void *arg);

    /* --- jobs --- */

    /**
     * Enqueue a durable job for on_job(). Jobs with the same non-NULL key run
     * one at a time in creation order. @p payload is borrowed. Returns the
     * job id, or 0 on failure.
     */
    sb_job_id (*job_enqueue)(sb_plugin *self, sb_installation_id inst, const char *type,
                             const char *key, json_object *payload, uint32_t delay_s);
    /** Finish a job (or webhook event) whose handler returned SB_PENDING. */
    int (*job_complete)(sb_plugin *self, sb_job_id job, sb_status status,
                        const sb_result *result);

    /* --- audit timeline --- */

    /** Append to an installation's timeline: who/what (subject), verb (action), free text. */
    int (*audit)(sb_plugin *self, sb_installation_id inst, const char *subject,
                 const char *action, const char *detail);
    /**
     * The newest @p limit entries (0: 100) of the timeline, newest first, for
     * one subject or all (NULL): a new array of {id, at, subject, action, detail}.
     */
    json_object *(*audit_list)(sb_plugin *self, sb_installation_id inst, const char *subject,
                               size_t limit);

    /* --- Intercom --- */

    /**
     * Send an Intercom REST request for an installation. The host adds the
     * regional base URL, token, Accept, Content-Type and Intercom-Version,
     * applies the rate governor and retries (GETs always; writes only with
     * SB_INTERCOM_RETRY_SAFE). @p cb runs exactly once, later. Returns the
     * request id (never 0).
     */
    sb_request_id (*intercom_request)(sb_plugin *self, sb_installation_id inst,
                                      const sb_intercom_request *req, sb_intercom_cb cb,
                                      void *arg);
    /**
     * Walk cursor pages: GET requests carry the cursor as ?starting_after=,
     * POST (search) requests as "pagination":{"starting_after":...} in the
     * body. @p starting_after resumes a walk (NULL: from the start). Each page
     * goes to @p page_cb and is released before the next is fetched; @p done
     * runs once at the end with the last response (error_code set if the walk
     * failed or was stopped). Returns the walk's id.
     */
    sb_request_id (*intercom_paginate)(sb_plugin *self, sb_installation_id inst,
                                       const sb_intercom_request *req, const char *starting_after,
                                       sb_page_cb page_cb, sb_intercom_cb done, void *arg);
    /** Continue (@p go_on non-zero) or stop a walk whose page_cb returned SB_PENDING. */
    int (*paginate_resume)(sb_plugin *self, sb_request_id walk, int go_on);
    /** Cancel a request or walk: its callback runs with error_code "cancelled". */
    void (*intercom_cancel)(sb_plugin *self, sb_request_id request);

    /* --- answering HTTP --- */

    /**
     * Answer a product-API or canvas request with JSON. Takes ownership of
     * @p body (may be NULL for an empty body). Returns -1 if the token is
     * unknown or already answered (e.g. the deadline passed).
     */
    int (*respond)(sb_plugin *self, sb_reply_token reply, int http_status, json_object *body);
    /** Answer with raw bytes of a given content type (e.g. "text/html; charset=utf-8"). */
    int (*respond_raw)(sb_plugin *self, sb_reply_token reply, int http_status,
                       const char *content_type, const void *data, size_t len);
} sb_host;

/** True if @p host offers @p member (appended members are absent on older hosts). */
#define SB_HOST_HAS(host, member)                                               \
    ((host)->struct_size >= offsetof(sb_host, member) + sizeof((host)->member) \
     && (host)->member != NULL)

/* ------------------------------------------------------------------------ */
/* The descriptor                                                           */
/* ------------------------------------------------------------------------ */

/** Type of a per-installation setting. */
typedef enum sb_setting_type {
    SB_SETTING_BOOL = 0,        /**< default "true" / "false" */
    SB_SETTING_INT = 1,         /**< default decimal; bounded by min/max when min < max */
    SB_SETTING_STRING = 2,      /**< default text */
    SB_SETTING_ENUM = 3,        /**< one of allowed[] */
    SB_SETTING_STRING_LIST = 4  /**< default comma-separated */
} sb_setting_type;

/** Setting flag: never shown by the admin API or logs (e.g. an endpoint key). */
#define SB_SETTING_SENSITIVE 0x1u

/** One entry of the settings schema; the array ends with a {NULL} entry. */
typedef struct sb_setting {
    const char *name;               /**< [a-z0-9_], unique */
    sb_setting_type type;
    const char *default_value;      /**< as text (see sb_setting_type); NULL: false / 0 / "" / [] */
    const char *const *allowed;     /**< ENUM: NULL-terminated allowed values */
    int64_t min, max;               /**< INT bounds, used when min < max */
    unsigned flags;                 /**< SB_SETTING_* */
    const char *description;        /**< one line, for the admin API */
} sb_setting;

/** A product-API route; the array ends with a {NULL} entry. */
typedef struct sb_route {
    const char *method;   /**< "GET", "POST", "PUT", "DELETE" */
    /** Path under /api/{plugin}, with {name} segments, e.g. "/projects/{id}/logs". */
    const char *pattern;
    sb_status (*handler)(void *state, const sb_http_request *req, sb_result *result);
    unsigned flags;       /**< SB_ROUTE_* */
} sb_route;

/** Route flag: no API key needed (e.g. a page linked from an Intercom note). */
#define SB_ROUTE_PUBLIC 0x1u

/** A periodic job per installation; the array ends with a {NULL} entry. */
typedef struct sb_schedule {
    const char *name;              /**< delivered to on_job() as the job type */
    uint32_t interval_s;           /**< default interval */
    const char *interval_setting;  /**< optional INT setting that overrides it */
    uint32_t setting_unit_s;       /**< seconds per unit of that setting (e.g. 3600 for hours) */
} sb_schedule;

/** What a plugin is and does. Build it with SB_DESCRIPTOR_HEADER first. */
typedef struct sb_plugin_descriptor {
    uint16_t abi_major;   /**< SB_ABI_MAJOR */
    uint16_t abi_minor;   /**< SB_ABI_MINOR */
    uint32_t struct_size; /**< sizeof(sb_plugin_descriptor) */

    const char *name;        /**< [a-z0-9_-]{1,32}: URL segment, config group, namespace */
    const char *version;     /**< the plugin's own version */
    const char *description; /**< one line */

    const char *const *topics;      /**< webhook topics it handles, NULL-terminated; may be NULL */
    const sb_route *routes;         /**< may be NULL */
    const sb_setting *settings;     /**< per-installation settings schema; may be NULL */
    const sb_schedule *schedules;   /**< may be NULL */

    /**
     * Required. Set up; keep @p self and @p host for later calls. @p config is
     * the plugin's "options" group from the configuration as JSON (borrowed;
     * an empty object if absent). Store the plugin's state in *state.
     */
    sb_status (*init)(sb_plugin *self, const sb_host *host, json_object *config, void **state,
                      sb_result *result);
    /** Required. Free everything; called once, only after a successful init. */
    void (*shutdown)(void *state);

    /** Optional: check "options" without starting (used by --check-config and before init). */
    sb_status (*check_config)(json_object *config, sb_result *result);
    /** Optional: an installation was added, removed, lost its token or changed settings. */
    sb_status (*on_installation)(void *state, const sb_installation *inst,
                                 sb_installation_event event, sb_result *result);
    /** Required when topics are declared: a webhook notification. */
    sb_status (*on_event)(void *state, const sb_event *event, sb_result *result);
    /** Required when schedules are declared or job_enqueue is used. */
    sb_status (*on_job)(void *state, const sb_job *job, sb_result *result);
    /** Optional: Canvas Kit initialize and submit. */
    sb_status (*canvas)(void *state, const sb_canvas_request *req, sb_result *result);
} sb_plugin_descriptor;

/** The version fields every descriptor starts with. */
#define SB_DESCRIPTOR_HEADER                                                   \
    .abi_major = SB_ABI_MAJOR, .abi_minor = SB_ABI_MINOR,                      \
    .struct_size = (uint32_t)sizeof(sb_plugin_descriptor)

/** Signature of the entry point. */
typedef const sb_plugin_descriptor *(*sb_entry_fn)(void);

/**
 * Define the plugin's one exported symbol, returning @p descriptor (a
 * static const sb_plugin_descriptor). Use it once per plugin.
 */
#define SB_PLUGIN_ENTRY(descriptor)                                            \
    SB_VISIBLE const sb_plugin_descriptor *switchboard_plugin_entry(void);     \
    SB_VISIBLE const sb_plugin_descriptor *switchboard_plugin_entry(void)      \
    {                                                                          \
        return &(descriptor);                                                  \
    }

#ifdef __cplusplus
}
#endif

#endif /* SWITCHBOARD_SWITCHBOARD_H */
