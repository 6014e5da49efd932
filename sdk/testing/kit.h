/*
 * kit.h - the testing kit's insides, shared by its files (one per service
 * group). Not installed. The kit reuses the host's pure pieces, compiled in
 * and kept private to the library (sdk/testing/CMakeLists.txt lists them):
 * route patterns, struct sizes per minor, error kinds and result_from_error,
 * the host's answers and JSON errors, canvas fields, Intercom's request and
 * page shapes, the streamed-answer reader, the outbound checks and
 * allow-list, document names, how a
 * status ends a job, the settings schema and core/util.c.
 *
 * Allocation failures abort (util.c's x* functions): a test has no better
 * way out.
 */
#ifndef SBT_KIT_H
#define SBT_KIT_H

#include <switchboard/testing.h>

#include <pthread.h>

#include "router.h"
#include "util.h"

#define KIT_MAGIC 0x5b7e57a1u

/* The handle the plugin passes back on every call. */
struct sb_plugin {
    uint32_t magic;
    struct sbt_kit *kit;
};

struct kit_doc {
    sb_installation_id inst;
    char *collection;
    char *key;
    char *value; /* JSON text, as the host's store keeps it */
};

struct kit_installation {
    sb_installation_id id;
    char *workspace_id, *workspace_name, *region, *admin_id, *admin_email;
    sb_installation_state state;
    int64_t installed_at;
    json_object *settings; /* the integrator's values (validated), merged over the plugin-wide ones */
};

struct kit_audit {
    int64_t id;
    sb_installation_id inst;
    char *subject, *action, *detail;
    int64_t at;
};

/* One write that transaction() undoes when its function fails. */
enum undo_kind { UNDO_DOC, UNDO_JOB_ADDED, UNDO_CHECKPOINT, UNDO_AUDIT, UNDO_PRODUCT_EVENT };

struct undo {
    enum undo_kind kind;
    sb_installation_id inst;
    char *collection, *key, *old_value; /* UNDO_DOC: old_value NULL = was absent */
    sb_job_id job;                      /* UNDO_JOB_ADDED, UNDO_CHECKPOINT */
    json_object *old_checkpoint;        /* UNDO_CHECKPOINT */
};

struct kit_job {
    sbt_job pub;
    char *type, *key;
    json_object *envelope; /* webhooks */
    char *notification_id;
    int64_t created_at;
};

struct kit_reply {
    sbt_reply pub;
    bool canvas;
    char *content_type;
    char *body;
};

enum call_service { CALL_INTERCOM, CALL_PAGINATE, CALL_SET_ATTRIBUTES, CALL_REPLY, CALL_OUTBOUND,
                    CALL_STREAM };

struct kit_walk;

struct kit_call {
    sbt_call pub;
    enum call_service service;
    char *method, *path, *raw_body;
    char **headers;
    sb_intercom_cb intercom_cb;
    sb_outbound_cb outbound_cb;
    void *arg;
    struct kit_walk *walk;     /* a page of this walk */
    char *stream_path;         /* intercom_stream: the array handed out element by element */
    sb_item_cb item_cb;
    bool stream_cancelled;     /* cancelled from one of its elements' callbacks */
    bool delivered;
    /* An answer decided when the call was made (refused, unknown installation...). */
    bool forced;
    int forced_status;
    sb_error_kind forced_kind;
    char *forced_code, *forced_message;
};

struct kit_walk {
    sb_request_id id;
    sb_installation_id inst;
    char *method, *path;
    json_object *body;
    unsigned flags;
    char *cursor;
    sb_page_cb page_cb;
    sb_intercom_cb done;
    void *arg;
    struct kit_call *current; /* the page being fetched */
    bool waiting_resume, finished;
    /* A walk ended by resume(0) or cancel while no page was in flight: done runs from the queue. */
    char *end_code;
};

/* Something sbt_deliver_pending() runs: a call's answer, or a walk's end. */
struct pending {
    struct kit_call *call;
    struct kit_walk *walk_end;
};

struct canned {
    char *method, *match;
    bool once;
    int status;
    char *content_type, *body;
};

struct kit_timer {
    sb_timer_id id;
    int64_t due_ms;
    void (*cb)(void *);
    void *arg;
};

struct posted {
    void (*cb)(void *);
    void *arg;
    struct posted *next;
};

struct kit_log_line {
    sbt_log_line pub;
    char *text;
};

#define KIT_ARRAY(type, name) type *name; size_t n_##name, cap_##name
#define KIT_PUSH(kit_, name, value)                                                            \
    do {                                                                                       \
        if ((kit_)->n_##name == (kit_)->cap_##name) {                                          \
            (kit_)->cap_##name = (kit_)->cap_##name ? (kit_)->cap_##name * 2 : 16;             \
            (kit_)->name = xrealloc((kit_)->name, (kit_)->cap_##name * sizeof *(kit_)->name);  \
        }                                                                                      \
        (kit_)->name[(kit_)->n_##name++] = (value);                                            \
    } while (0)

struct sbt_kit {
    struct sb_plugin handle;
    sb_host host;
    sb_plugin_descriptor desc;   /* the kit's zeroed copy, host layout */
    sb_route *routes;            /* host-layout copies of the plugin's arrays */
    sb_setting *settings;
    sb_schedule *schedules;
    struct router *router;
    void *state;
    bool started;
    sb_result result;

    /* installations and settings */
    KIT_ARRAY(struct kit_installation *, installations);
    json_object *defaults;       /* plugin-wide settings: schema defaults and sbt_settings_set(0) */
    char *next_admin_id, *next_admin_email, *next_region;

    /* documents, audit, product events, transactions */
    KIT_ARRAY(struct kit_doc, docs); /* sorted by (inst, collection, key) */
    KIT_ARRAY(struct kit_audit, audit);
    int64_t next_audit_id;
    KIT_ARRAY(sbt_product_event, product_events);
    bool product_webhook;
    KIT_ARRAY(struct undo, undo);
    int tx_depth;

    /* jobs */
    KIT_ARRAY(struct kit_job *, jobs);
    sb_job_id next_job_id;
    uint32_t max_attempts;

    /* HTTP */
    KIT_ARRAY(struct kit_reply *, replies);

    /* Intercom and outbound */
    KIT_ARRAY(struct kit_call *, calls); /* owns every call, refused ones too */
    KIT_ARRAY(struct kit_call *, intercom_calls);
    KIT_ARRAY(struct kit_call *, outbound_calls);
    KIT_ARRAY(struct kit_walk *, walks);
    KIT_ARRAY(struct pending, pending);
    size_t pending_head;
    KIT_ARRAY(struct canned, intercom_canned);
    KIT_ARRAY(struct canned, outbound_canned);
    KIT_ARRAY(char *, allowed_hosts);
    sbt_responder intercom_responder, outbound_responder;
    void *intercom_responder_arg, *outbound_responder_arg;
    sb_request_id next_request_id;
    struct kit_call *streaming;  /* the intercom_stream answer whose elements are going out */

    /* time, loop, log */
    int64_t now_ms;
    KIT_ARRAY(struct kit_timer, timers);
    sb_timer_id next_timer_id;
    pthread_mutex_t post_lock;
    struct posted *post_head, *post_tail;
    KIT_ARRAY(struct kit_log_line, log);
    bool log_echo;

    void *dl_handle;            /* sbt_open() */
};

/* kit.c */
struct sbt_kit *kit_of(sb_plugin *self, const char *call);
/* A callback into the plugin: the result zeroed before, kept after. */
sb_result *kit_fresh_result(struct sbt_kit *kit);

/* log.c */
void kit_log(struct sbt_kit *kit, sb_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void kit_log_v(struct sbt_kit *kit, sb_log_level level, const char *fmt, va_list ap);
void kit_log_free(struct sbt_kit *kit);
void kit_install_log(sb_host *host);

/* clock.c: time, timers, loop_post */
void kit_install_clock(sb_host *host);
void kit_clock_free(struct sbt_kit *kit);

/* installations.c */
struct kit_installation *kit_installation(struct sbt_kit *kit, sb_installation_id id);
/* 0 (plugin-wide) or an installation of the plugin; otherwise logs and returns false. */
bool kit_own_installation(struct sbt_kit *kit, sb_installation_id id, const char *call);
void kit_installation_view(const struct kit_installation *inst, sb_installation *out);
int kit_settings_init(struct sbt_kit *kit);
void kit_install_installations(sb_host *host);
void kit_installations_free(struct sbt_kit *kit);

/* store.c: documents, audit, product events, transaction */
void kit_install_store(sb_host *host);
void kit_store_free(struct sbt_kit *kit);
/* Record an undo entry when inside transaction(). */
void kit_undo_push(struct sbt_kit *kit, struct undo entry);

/* jobs.c */
void kit_install_jobs(sb_host *host);
struct kit_job *kit_job(struct sbt_kit *kit, sb_job_id id);
void kit_job_remove(struct sbt_kit *kit, sb_job_id id);
void kit_jobs_free(struct sbt_kit *kit);

/* http.c: product API, canvas, respond */
void kit_install_http(sb_host *host);
void kit_http_free(struct sbt_kit *kit);

/* calls.c: Intercom, outbound, completions (see calls.h) */
void kit_install_calls(sb_host *host);
/* Complete every pending call as cancelled, as the host does before a shutdown. */
void kit_calls_cancel(struct sbt_kit *kit);
void kit_calls_free(struct sbt_kit *kit);

/* Parse JSON test input; NULL input gives NULL, invalid JSON aborts the test with a message. */
json_object *kit_parse(const char *json_text, const char *what);

#endif
