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
 * Versioning - the one rule (the host enforces it when loading):
 *  - SB_ABI_MAJOR changes only when something is removed, reordered or
 *    changes meaning; a plugin built for another major is refused.
 *  - A minor only appends: members at the end of structs, services at the
 *    end of sb_host, new enum values and flag bits. Every member added after
 *    1.0 is marked "since 1.N" below.
 *  - The host honours the minor a plugin declares in its descriptor. A struct
 *    the plugin allocates - the descriptor, its sb_route / sb_setting /
 *    sb_schedule arrays, and every struct the plugin passes to a service or
 *    has a service fill (sb_installation, sb_intercom_request, sb_result,
 *    sb_outbound_request) - is read and written only as far as that struct
 *    reached in the plugin's minor. A plugin therefore keeps working,
 *    unchanged and without a rebuild, on every later host of its major.
 *  - A plugin built for a newer minor than the host's loads too: the host
 *    walks its arrays with the element sizes the descriptor records (since
 *    1.1) and ignores members it does not know. Such a plugin must not rely
 *    on anything newer than the host: it tests a service with SB_HOST_HAS()
 *    and reads or writes a member "since 1.N" of a struct the host hands it
 *    only when SB_HOST_AT_LEAST(host, 1, N). A route flag or setting type
 *    the host does not know refuses the plugin rather than being ignored.
 *  - Structs the host allocates and hands to a callback (sb_host, sb_event,
 *    sb_job, sb_http_request, sb_canvas_request, the responses, sb_result)
 *    may be larger than the plugin knows; it only touches its own members.
 *
 * Threading: the host runs one event loop thread. Every callback below runs
 * on it, and every host service must be called from it (loop_post() is the
 * one exception). Callbacks must not block: slow work goes through host
 * services (Intercom requests, timers, jobs) that complete through callbacks.
 *
 * Memory - the one rule: strings and JSON the host passes to a callback are
 * borrowed and valid only during that callback unless a comment says
 * otherwise. JSON is json-c. A json_object a host call returns is a new
 * reference the plugin releases with json_object_put(). Every pointer the
 * plugin passes to a service is borrowed: the host copies what it keeps
 * before the call returns and never releases the plugin's references.
 * (ABI 1.0 made respond() the one exception, taking ownership of its body;
 * the host keeps doing so for plugins that declare minor 0.)
 *
 * Transactions: every callback the host makes into a plugin - handlers,
 * timers, Intercom and outbound completions, loop_post callbacks - runs
 * inside one storage transaction that the host opens before the call and
 * commits after it returns, together with the job's or webhook's own result.
 * All doc_*, job_enqueue, job_checkpoint, audit and product_event calls of
 * one callback therefore commit together or not at all, and none is visible
 * to other requests before the callback returns. transaction() nests inside
 * it: a group of writes that is undone alone when its function fails.
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
#define SB_ABI_MINOR 2
/**
 * The release of Switchboard and of this SDK, MAJOR.MINOR.PATCH: the one
 * place it is written (the build, pkg-config and the User-Agent read it here).
 */
#define SB_SDK_VERSION "1.2.0"

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
 * Why something failed: the one vocabulary for Intercom requests, outbound
 * HTTP and handler results. Values are only ever appended (since 1.1).
 */
typedef enum sb_error_kind {
    SB_ERR_NONE = 0,            /**< no failure */
    SB_ERR_RATE_LIMITED = 1,    /**< 429 after the host waited out its own budget */
    SB_ERR_NEEDS_REAUTH = 2,    /**< 401: the token stopped working; the workspace must install again */
    SB_ERR_REVOKED = 3,         /**< the installation was uninstalled or revoked */
    SB_ERR_NOT_FOUND = 4,       /**< 404 or 410: what the request is about does not exist */
    SB_ERR_INVALID_REQUEST = 5, /**< another 4xx: the request itself is wrong; retrying will not help */
    SB_ERR_FORBIDDEN = 6,       /**< 403: the app lacks the permission (scope) */
    SB_ERR_SERVER_ERROR = 7,    /**< 5xx, or a 2xx whose body could not be read */
    SB_ERR_NETWORK = 8,         /**< timeout, connection refused or reset, DNS: no answer arrived */
    SB_ERR_CANCELLED = 9,       /**< cancelled by the plugin or the host (shutdown, walk stopped) */
    SB_ERR_NOT_ALLOWED = 10     /**< refused before sending: host not in outbound_hosts, bad URL, too large */
} sb_error_kind;

/** A kind's stable name, e.g. "rate_limited": the `code` of the host's JSON errors. */
static inline const char *sb_error_kind_name(sb_error_kind kind)
{
    static const char *const names[] = {
        "none",           "rate_limited", "needs_reauth", "revoked",   "not_found",  "invalid_request",
        "forbidden",      "server_error", "network",      "cancelled", "not_allowed"};
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "error";
}

/**
 * The classifier: what a handler should return when work failed for @p kind.
 * RETRY for what heals by itself (rate limits, 5xx, the network, a cancelled
 * call, a token that comes back when the workspace installs again); FAIL for
 * what does not. NOT_FOUND and REVOKED are FAIL but end a job 'skipped', not
 * dead: see sb_result.http_status and the result_from_error service.
 */
static inline sb_status sb_error_status(sb_error_kind kind)
{
    switch (kind) {
    case SB_ERR_NONE: return SB_OK;
    case SB_ERR_RATE_LIMITED:
    case SB_ERR_NEEDS_REAUTH:
    case SB_ERR_SERVER_ERROR:
    case SB_ERR_NETWORK:
    case SB_ERR_CANCELLED: return SB_RETRY;
    default: return SB_FAIL;
    }
}

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
    /**
     * Since 1.1. RETRY/FAIL: a machine-readable reason, [a-z0-9_]; a product-API
     * route's error answers {"error":{"code":code,"message":message}} with it
     * (default "plugin_error"). sb_error_kind_name() gives the standard ones.
     */
    char code[48];
    /**
     * Since 1.1. check_config's FAIL: where in the plugin's "options" the
     * problem is, as member names and [indexes] from the options group, e.g.
     * "flows[2].intents[0].match" (empty: the group as a whole). The host
     * reports that element's file and line; a path it cannot find falls back to
     * the nearest element on it that exists.
     */
    char where[128];
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

/** Since 1.1: like sb_result_set(), with a machine-readable code (see sb_result.code). */
static inline SB_PRINTF(4, 5) sb_status
sb_result_fail(sb_result *result, sb_status status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(result->message, sizeof result->message, fmt, ap);
    va_end(ap);
    snprintf(result->code, sizeof result->code, "%s", code ? code : "");
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

/** Since 1.1: a state's stable name ("active", "needs_reauth", "revoked"), as the admin API shows it. */
static inline const char *sb_installation_state_name(sb_installation_state state)
{
    switch (state) {
    case SB_INSTALLATION_ACTIVE: return "active";
    case SB_INSTALLATION_NEEDS_REAUTH: return "needs_reauth";
    case SB_INSTALLATION_REVOKED: return "revoked";
    }
    return "unknown";
}

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
    /** Since 1.1: what job_checkpoint() last saved for this delivery; NULL if nothing. */
    json_object *checkpoint;
} sb_event;

/** A job the plugin enqueued, or a due schedule (type = schedule name). */
typedef struct sb_job {
    sb_job_id id;
    sb_installation_id installation; /**< 0 for plugin-wide jobs */
    const char *type;
    const char *key;                 /**< ordering key; NULL if none */
    json_object *payload;            /**< NULL if none */
    uint32_t attempt;                /**< 1 on the first run */
    /**
     * Since 1.1: what job_checkpoint() last saved for this job, NULL if
     * nothing: a retried, restarted or replayed job resumes from it.
     */
    json_object *checkpoint;
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
    /** Since 1.1: the matched route's sb_route.arg. */
    void *route_arg;
    /**
     * Since 1.1: the value of request header @p name (case-insensitive), or
     * NULL if absent, e.g. an Idempotency-Key; valid during the handler. Call
     * it with the request it belongs to.
     */
    const char *(*header)(const struct sb_http_request *req, const char *name);
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
    /** Since 1.1: the failure's kind; SB_ERR_NONE on 2xx. Classify by this, not by error_code. */
    sb_error_kind kind;
    /** Since 1.1: RATE_LIMITED / SERVER_ERROR: seconds Intercom asked to wait; 0 if unknown. */
    uint32_t retry_after_s;
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

/**
 * Since 1.2. One element of the array an intercom_stream() call reads, as
 * soon as it has arrived: @p item is borrowed for the call (NULL for a JSON
 * null), @p index counts from 0. It runs inside the host's transaction scope
 * like every callback, so what it stores commits with the other writes of
 * that loop turn. SB_OK goes on; anything else cancels the request (the
 * transfer is stopped, no further element is handed out, and done() runs
 * with SB_ERR_CANCELLED and error_code "stopped").
 */
typedef sb_status (*sb_item_cb)(void *arg, json_object *item, size_t index);

/** Since 1.1: what set_attributes() writes to. */
typedef enum sb_object_type {
    SB_OBJECT_CONTACT = 0,      /**< PUT /contacts/{id} */
    SB_OBJECT_COMPANY = 1,      /**< PUT /companies/{id} (Intercom's id, not company_id) */
    SB_OBJECT_CONVERSATION = 2  /**< PUT /conversations/{id} */
} sb_object_type;

/** Since 1.1: what conversation_reply() adds. */
typedef enum sb_reply_type {
    SB_REPLY_COMMENT = 0,  /**< visible to the customer */
    SB_REPLY_NOTE = 1      /**< internal note, teammates only */
} sb_reply_type;

/* ------------------------------------------------------------------------ */
/* Outbound HTTP (since 1.1): calls that are not Intercom's                 */
/* ------------------------------------------------------------------------ */

/**
 * A request to a host listed in the plugin's outbound_hosts configuration.
 * Anything else fails at once with SB_ERR_NOT_ALLOWED and nothing is sent.
 */
typedef struct sb_outbound_request {
    const char *method;          /**< "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *url;             /**< absolute http:// or https:// URL */
    /**
     * Extra header lines "Name: value", NULL-terminated; may be NULL. Values
     * are never logged (they often carry the vendor's API key).
     */
    const char *const *headers;
    const void *body;            /**< NULL for none; copied before the call returns */
    size_t body_len;
    uint32_t timeout_ms;         /**< whole request; 0: 30 seconds */
} sb_outbound_request;

/** What came back. Borrowed for the callback. */
typedef struct sb_outbound_response {
    sb_request_id request;
    int status;                  /**< HTTP status; 0 when no response arrived */
    sb_error_kind kind;          /**< SB_ERR_NONE on 2xx; else why (4xx/5xx mapped like Intercom's) */
    const char *error_message;   /**< human text when kind != SB_ERR_NONE; NULL otherwise */
    const char *body;            /**< the body bytes, NUL-terminated; "" if none */
    size_t body_len;
    json_object *json;           /**< the body parsed, when it is JSON; else NULL */
    const char *content_type;    /**< NULL if absent */
    /** The value of response header @p name (case-insensitive), or NULL. */
    const char *(*header)(const struct sb_outbound_response *response, const char *name);
    uint32_t retry_after_s;      /**< from Retry-After on 429/503; 0 if absent */
} sb_outbound_response;

/** Completion of an outbound request: exactly once, always later, on the loop thread. */
typedef void (*sb_outbound_cb)(void *arg, const sb_outbound_response *response);

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
 * line from the host) unless stated otherwise. Services returning an id
 * return 0 only when the call itself was wrong (an invalid handle, a missing
 * argument, a callback from another thread): the host logs why, and the
 * callback never runs. Every other failure, including an unknown or revoked
 * installation, reaches the callback, later, with its kind.
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
     * Run @p fn as one group of writes inside the callback's transaction (see
     * "Transactions" at the top): every doc_*, job_enqueue, job_checkpoint,
     * audit and product_event call it makes is kept, or undone together when
     * fn returns non-zero. Returns 0 when fn returned 0 and its writes stand;
     * fn's value when fn returned a positive value (writes undone); -1 when
     * fn returned a negative value or the store failed (writes undone, a log
     * line says which). Return positive values from fn to tell your own
     * reasons apart from a store failure. Writes are durable once the
     * enclosing callback returns.
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
     * SB_INTERCOM_RETRY_SAFE). @p cb runs exactly once, later, on the loop
     * thread - also when the installation is unknown or revoked (kind says
     * so). Returns the request id; 0 only for a wrong call (see above), and
     * then @p cb never runs.
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
     * Answer a product-API or canvas request with JSON; @p body (NULL: an
     * empty body) is borrowed. (A plugin that declares minor 0 hands over its
     * reference instead, as ABI 1.0 specified.) Returns -1 if the token is
     * unknown or already answered (e.g. the deadline passed).
     */
    int (*respond)(sb_plugin *self, sb_reply_token reply, int http_status, json_object *body);
    /** Answer with raw bytes of a given content type (e.g. "text/html; charset=utf-8"). */
    int (*respond_raw)(sb_plugin *self, sb_reply_token reply, int http_status,
                       const char *content_type, const void *data, size_t len);

    /* --- since 1.1 --- */

    /**
     * The classifier for a failed Intercom call: fills @p result (message
     * "<what>: <Intercom's code and text> (HTTP n)", code = the kind's name,
     * retry_after_s, and http_status 404/410 for NOT_FOUND/REVOKED so a job
     * ends 'skipped') and returns the status a handler should return
     * (sb_error_status of the kind). @p what says what was being done.
     */
    sb_status (*result_from_error)(sb_plugin *self, const sb_intercom_response *response,
                                   const char *what, sb_result *result);
    /**
     * Save a checkpoint for a running job or webhook delivery (@p job is
     * sb_job.id or sb_event.job; @p checkpoint borrowed). It commits with the
     * callback's other writes and comes back as sb_job/sb_event.checkpoint on
     * every later attempt, after a crash and after a replay, until the job
     * ends ok or skipped. NULL clears it.
     */
    int (*job_checkpoint)(sb_plugin *self, sb_job_id job, json_object *checkpoint);
    /**
     * Set custom attributes (@p attributes: an object, borrowed) on a
     * contact, company or conversation: PUT {"custom_attributes": {...}},
     * retried safely (it is idempotent). Completes like intercom_request.
     */
    sb_request_id (*set_attributes)(sb_plugin *self, sb_installation_id inst,
                                    sb_object_type type, const char *id,
                                    json_object *attributes, sb_intercom_cb cb, void *arg);
    /**
     * Reply to a conversation as an admin (@p admin_id NULL: the installing
     * admin) with a comment or an internal note whose body is HTML (escape
     * what you interpolate: sb_html_escape in <switchboard/helpers.h>). Not
     * retried after an uncertain failure: a reply must not appear twice.
     */
    sb_request_id (*conversation_reply)(sb_plugin *self, sb_installation_id inst,
                                        const char *conversation_id, sb_reply_type type,
                                        const char *body_html, const char *admin_id,
                                        sb_intercom_cb cb, void *arg);
    /**
     * Send an event to the vendor's product: a durable, signed (Standard
     * Webhooks), retried POST to the plugin's product.webhook_url of
     * {"type": type, "timestamp": ..., "installation": {...}, "data": payload}.
     * It commits with the callback's writes (see "Transactions"). @p payload
     * is borrowed; @p inst may be 0 for plugin-wide events. Returns 0, or -1
     * when no product webhook is configured or the arguments are wrong.
     */
    int (*product_event)(sb_plugin *self, sb_installation_id inst, const char *type,
                         json_object *payload);
    /**
     * An HTTP request that is not Intercom's (a bot engine, a vendor API),
     * only to hosts listed in the plugin's outbound_hosts: anything else
     * completes with SB_ERR_NOT_ALLOWED without a byte leaving the machine.
     * Not retried by the host. @p cb runs exactly once, later, on the loop
     * thread. Returns the request id; 0 only for a wrong call.
     */
    sb_request_id (*outbound_request)(sb_plugin *self, const sb_outbound_request *req,
                                      sb_outbound_cb cb, void *arg);
    /** Cancel an outbound request: its callback runs with SB_ERR_CANCELLED. */
    void (*outbound_cancel)(sb_plugin *self, sb_request_id request);
    /**
     * Since 1.1. Change an installation's settings as an integrator does through
     * the admin API, for a plugin that lets the vendor's product choose them (and
     * checks them against live data first): @p changes (an object of schema keys,
     * borrowed) is validated like the admin API's (unknown keys, types, enum
     * values, bounds), stored with the callback's other writes, and
     * on_installation(SB_SETTINGS_CHANGED) runs before this returns, so the
     * plugin acts on the new settings at once. Returns 0, or -1 with nothing
     * changed and why in @p result (code "invalid_settings"; may be NULL).
     */
    int (*settings_set)(sb_plugin *self, sb_installation_id inst, json_object *changes,
                        sb_result *result);

    /* --- since 1.2 --- */

    /**
     * Since 1.2. intercom_request for an answer too large to hold whole (a
     * conversation of thousands of parts): on a 2xx answer each element of
     * the array at @p array_path - object members from the top, separated by
     * dots, e.g. "conversation_parts.conversation_parts" - goes to @p on_item
     * as soon as it has arrived, parsed alone; then @p done runs once with
     * response->body the rest of the answer, that array left empty. The host
     * holds the rest and one element at a time, never the whole answer. An
     * answer without that array hands out nothing and gives done() all of it.
     *
     * Everything else is intercom_request's: the rate governor, headers,
     * 429 waits and the 401 rule, and a non-2xx answer (read whole; error
     * bodies are small) goes to done() as there. Retries (5xx, time-outs,
     * connection errors, a body cut off or not JSON) happen only before the
     * first element was handed out; after it the host does not retry on its
     * own, as the plugin has acted on elements already: done() reports the
     * failure, and the plugin retries through its job, storing elements by
     * keys so that a second reading rewrites rather than repeats them. A
     * body that is not strict JSON, or an element or the rest of the answer
     * over 16 MiB, ends with SB_ERR_SERVER_ERROR "invalid_response". Returns the
     * request id; intercom_cancel, also called from on_item, stops it with no
     * further element. 0 for a wrong call (also a malformed @p array_path), and
     * then neither callback runs.
     */
    sb_request_id (*intercom_stream)(sb_plugin *self, sb_installation_id inst,
                                     const sb_intercom_request *req, const char *array_path,
                                     sb_item_cb on_item, sb_intercom_cb done, void *arg);
} sb_host;

/**
 * True if @p host offers service @p member. Services appended after the
 * host's minor are absent; a host may also leave one unset (NULL).
 */
#define SB_HOST_HAS(host, member)                                               \
    ((host)->struct_size >= offsetof(sb_host, member) + sizeof((host)->member) \
     && (host)->member != NULL)

/** Since 1.1: true if the host runs ABI @p major.@p minor or a later minor of that major. */
#define SB_HOST_AT_LEAST(host, major, minor)                                   \
    ((host)->abi_major == (major) && (host)->abi_minor >= (minor))

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
    /** Since 1.1: handed to the handler as req->route_arg (one handler, many routes). */
    void *arg;
} sb_route;

/** Route flag: no API key needed (e.g. a page linked from an Intercom note). */
#define SB_ROUTE_PUBLIC 0x1u
/**
 * Since 1.1. Route flag: the request must name an active installation
 * (?workspace_id= or X-Switchboard-Workspace). The host answers 400
 * installation_required when it is missing, 404 unknown_installation when no
 * installation of this plugin has it, 409 installation_revoked or
 * installation_needs_reauth when it cannot act, so the handler never sees 0.
 */
#define SB_ROUTE_NEEDS_INSTALLATION 0x2u
/**
 * Since 1.1. Route flag, only with SB_ROUTE_NEEDS_INSTALLATION: the route
 * also serves revoked and needs-reauth installations (reporting the state,
 * keeping the product's data, reading history). The host still answers 400
 * installation_required and 404 unknown_installation; the handler reads the
 * state with installation_get. Alone it refuses the plugin at load.
 */
#define SB_ROUTE_ANY_STATE 0x4u

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

    /* --- since 1.1: element sizes of the arrays above (SB_DESCRIPTOR_HEADER sets them) --- */
    uint16_t route_size;    /**< sizeof(sb_route) */
    uint16_t setting_size;  /**< sizeof(sb_setting) */
    uint16_t schedule_size; /**< sizeof(sb_schedule) */

    /**
     * Since 1.1. Optional: the plugin's own rules over an installation's
     * settings as a whole, for what the schema cannot say (two settings that
     * must differ, say). Called when the admin API or settings_set changes an
     * installation's settings, after the schema's checks and before anything
     * is stored, with @p settings as they would then be in effect (defaults,
     * stored values and the change, typed; borrowed). It runs in the request:
     * decide from @p settings and the plugin's own documents, not from
     * Intercom. SB_FAIL refuses the change: nothing is stored and the admin API
     * answers 422 invalid_settings with result->message, prefixed by
     * result->where when set (the setting's key).
     */
    sb_status (*check_settings)(void *state, sb_installation_id inst, json_object *settings,
                                sb_result *result);
} sb_plugin_descriptor;

/** The version fields every descriptor starts with. */
#define SB_DESCRIPTOR_HEADER                                                   \
    .abi_major = SB_ABI_MAJOR, .abi_minor = SB_ABI_MINOR,                      \
    .struct_size = (uint32_t)sizeof(sb_plugin_descriptor),                     \
    .route_size = (uint16_t)sizeof(sb_route),                                  \
    .setting_size = (uint16_t)sizeof(sb_setting),                              \
    .schedule_size = (uint16_t)sizeof(sb_schedule)

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
