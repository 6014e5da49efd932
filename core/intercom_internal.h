/*
 * intercom_internal.h - what the Intercom client's own files share:
 * intercom.c (requests, retries, completions) and intercom_pages.c
 * (pagination walks). The rest of core uses intercom.h.
 */
#ifndef SB_CORE_INTERCOM_INTERNAL_H
#define SB_CORE_INTERCOM_INTERNAL_H

#include "intercom.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct curl_loop;
struct event;
struct hashmap;
struct ic_request;

struct intercom {
    struct server *srv;
    struct curl_loop *transport;
    struct event *deliver_ev;
    struct hashmap *requests;   /* id -> ic_request */
    struct hashmap *walks;      /* id -> walk (intercom_pages.c) */
    struct hashmap *governors;  /* installation -> ic_governor */
    struct ic_request **ready;  /* completed, awaiting their callback */
    size_t n_ready, cap_ready;
    uint64_t *streaming;        /* streamed requests with bytes to read at the next delivery */
    size_t n_streaming, cap_streaming;
    struct ic_request *delivering; /* completed, its last elements going out: cancel stops them */
    uint64_t next_id;           /* requests and walks share it: intercom_cancel takes either */
    int in_flight;
    int nodes_sharing;          /* the live nodes that spend the same budgets (governor.h) */
    struct intercom_stats stats;
    intercom_unauthorized_cb on_unauthorized;
    void *on_unauthorized_arg;
};

/* Ids gathered before cancelling them (a map must not change while it is visited). */
struct id_list {
    struct sb_plugin *plugin; /* whose ids are gathered; NULL: every plugin's */
    uint64_t *ids;
    size_t n, cap;
};
void id_list_add(struct id_list *list, uint64_t id);

/* ---- intercom.c, for the walks ---- */

/*
 * A plugin's call it got wrong: logged, and true (the call is refused with 0
 * and its callback never runs, as switchboard.h says).
 */
bool intercom_wrong_call(const struct sb_plugin *p, const char *service,
                         const sb_intercom_request *req, bool has_callbacks);
/*
 * Why the installation cannot call Intercom now, or NULL. Not the plugin's
 * mistake: it completes through the callback, later, with *kind and *code.
 */
const char *intercom_installation_problem(struct intercom *ic, const struct sb_plugin *p,
                                          int64_t installation, sb_error_kind *kind,
                                          const char **code);
/*
 * Queue the request of one page of a walk; @p page_done(@p walk, ...) gets
 * its answer from the deliver event. Such a request is its walk's to cancel,
 * not intercom_cancel_plugin's. @p path and @p body are copied. Its id.
 */
uint64_t intercom_send_page(struct intercom *ic, struct sb_plugin *p, int64_t installation,
                            const char *method, const char *path, json_object *body,
                            unsigned flags, sb_intercom_cb page_done, void *walk);
/* The same, failing without being sent (the installation's problem). */
uint64_t intercom_fail_page(struct intercom *ic, struct sb_plugin *p, int64_t installation,
                            const char *method, const char *path, sb_error_kind kind,
                            const char *code, const char *problem, sb_intercom_cb page_done,
                            void *walk);
/* Cancel a page's request without its page_done running (its walk is ending). */
void intercom_drop_page(struct intercom *ic, uint64_t request);

/* ---- intercom_pages.c ---- */

/* Cancel @p id if it is a walk of @p p: its done callback runs now. False if it is none. */
bool intercom_walk_cancel(struct intercom *ic, struct sb_plugin *p, uint64_t id);
/* Add the ids of the walks of ids->plugin (all walks if NULL). */
void intercom_walk_ids(struct intercom *ic, struct id_list *ids);

#endif
