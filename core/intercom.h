/*
 * intercom.h - the outbound Intercom client: requests on a curl_loop
 * (curl_loop.h), one rate governor per installation (governor.h), retries
 * with capped exponential backoff and error mapping (intercom.c), cursor
 * pagination (intercom_pages.c).
 */
#ifndef SB_CORE_INTERCOM_H
#define SB_CORE_INTERCOM_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <switchboard/switchboard.h>

struct server;
struct sb_plugin;
struct intercom;

struct intercom *intercom_new(struct server *srv, char *err, size_t errlen);
/* Cancel everything in flight (callbacks run with "cancelled") and free. */
void intercom_free(struct intercom *ic);

/*
 * Intercom answered 401 to a request of @p installation: its token no longer
 * works and the workspace must install the app again. @p why is Intercom's
 * message. Runs before the request completes (its callback then says
 * SB_ERR_NEEDS_REAUTH).
 */
typedef void (*intercom_unauthorized_cb)(void *arg, int64_t installation, const char *why);
/* Who hears of 401s (one listener, set at start-up; none: they only complete). */
void intercom_on_unauthorized(struct intercom *ic, intercom_unauthorized_cb cb, void *arg);

/*
 * A request outside any installation (OAuth token exchange, the /me call
 * with a fresh token, token revocation). cb receives the HTTP status (0 on
 * transport failure), the body and an error text for transport failures.
 */
typedef void (*intercom_raw_cb)(void *arg, int status, const char *body, size_t len,
                                const char *error);
void intercom_raw(struct intercom *ic, const char *method, const char *url, const char *token,
                  const char *content_type, const char *body, intercom_raw_cb cb, void *arg);

/* The SDK services (see switchboard.h). */
sb_request_id intercom_request(struct intercom *ic, struct sb_plugin *p, int64_t installation,
                               const sb_intercom_request *req, sb_intercom_cb cb, void *arg);
sb_request_id intercom_stream(struct intercom *ic, struct sb_plugin *p, int64_t installation,
                              const sb_intercom_request *req, const char *array_path,
                              sb_item_cb on_item, sb_intercom_cb done, void *arg);
sb_request_id intercom_paginate(struct intercom *ic, struct sb_plugin *p, int64_t installation,
                                const sb_intercom_request *req, const char *starting_after,
                                sb_page_cb page_cb, sb_intercom_cb done, void *arg);
int intercom_paginate_resume(struct intercom *ic, struct sb_plugin *p, sb_request_id walk,
                             int go_on);
void intercom_cancel(struct intercom *ic, struct sb_plugin *p, sb_request_id id);
/* Cancel every request and walk of a plugin (before its shutdown). */
void intercom_cancel_plugin(struct intercom *ic, struct sb_plugin *p);

struct intercom_stats {
    uint64_t requests;      /* sent, including retries */
    uint64_t responses_2xx, responses_4xx, responses_5xx, transport_errors;
    uint64_t rate_limited;  /* 429s received */
    uint64_t retries;
    uint64_t governor_waits; /* times a request was held back by the governor */
    int in_flight;
    int queued;
};
void intercom_stats(const struct intercom *ic, struct intercom_stats *out);

/* Rate-governor view of one installation, for the admin API. */
json_object *intercom_governor_json(struct intercom *ic, int64_t installation);
/* The live nodes of the cluster, which share every installation's budget (governor_set_share). */
void intercom_set_nodes_sharing(struct intercom *ic, int nodes);
int intercom_nodes_sharing(const struct intercom *ic);

#endif
