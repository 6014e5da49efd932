/*
 * product_events.h - sb_host.product_event: durable, signed, retried
 * deliveries of a plugin's events to the vendor's product
 * (plugins.<name>.product.webhook_url).
 *
 * A delivery is a row of the durable job queue that the host runs itself
 * instead of calling the plugin: type "product:<event type>", payload
 * {"webhook_id": "msg_...", "body": {...}}. So it commits with the callback
 * that enqueued it, retries with the job backoff (its own attempt budget,
 * product.max_attempts), ends dead and is replayed like any job, and a crash
 * loses nothing. Each attempt is a POST signed per Standard Webhooks with
 * the same webhook-id and that attempt's webhook-timestamp.
 *
 * 2xx is delivered; 410 Gone disables the plugin's endpoint (persisted)
 * and holds its deliveries - queued, not counted as attempts - until
 * product_endpoint_enable(); anything else is retried.
 */
#ifndef SB_CORE_PRODUCT_EVENTS_H
#define SB_CORE_PRODUCT_EVENTS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <switchboard/switchboard.h>

struct server;
struct sb_plugin;

/* Job types starting with this are product deliveries (plugins cannot enqueue them). */
#define PRODUCT_JOB_PREFIX "product:"

struct product_events *product_events_new(struct server *srv);
/* Abandon deliveries in flight: their jobs are still 'running' and run again after a restart. */
void product_events_free(struct product_events *pe);

/*
 * Enqueue one event inside the caller's transaction (the jobs module's
 * rules: call jobs_kick afterwards). payload is borrowed. 0, or -1 with a
 * log line when the plugin has no product webhook or the arguments are wrong.
 */
int product_event_enqueue(struct product_events *pe, struct sb_plugin *p, int64_t installation,
                          const char *type, json_object *payload);

bool product_job_type(const char *type);

/*
 * The dispatcher runs a due delivery (a job of type PRODUCT_JOB_PREFIX...):
 * SB_PENDING while it is sent (jobs_complete or jobs_hold finish the job
 * later), or a final status with result filled.
 */
sb_status product_deliver(struct product_events *pe, struct sb_plugin *p, int64_t job_id,
                          const char *payload, sb_result *result);

/* Admin API: the endpoint's state and its deliveries' counts; NULL-free JSON. */
json_object *product_endpoint_json(struct product_events *pe, const struct sb_plugin *p);
/* Enable a disabled endpoint again and release its held deliveries; -1 with err. */
int product_endpoint_enable(struct product_events *pe, const struct sb_plugin *p, char *err,
                            size_t errlen);

#endif
