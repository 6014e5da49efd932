/*
 * webhooks.h - signed webhook intake. A notification is acknowledged only
 * after its event row (which carries its delivery) is committed; many
 * requests share one commit (group commit) so durability costs one fsync
 * per batch.
 */
#ifndef SB_CORE_WEBHOOKS_H
#define SB_CORE_WEBHOOKS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

struct server;
struct http_request;
struct intake;

struct intake_stats {
    uint64_t received, accepted, duplicates, ignored, unrouted, pings;
    uint64_t bad_signature, malformed, commits, commit_failures;
};

/*
 * The notification a webhook delivery job carries, for on_event. Its strings
 * and envelope are owned: intake_event_clear.
 */
struct intake_event {
    json_object *envelope;
    json_object *item; /* the envelope's data.item (borrowed from it), NULL if none */
    char *topic;
    char *notification_id;
    int64_t created_at;
};
/*
 * The event of a job, its body built: from the notification kept since it
 * was committed moments ago (its delivery usually runs in the same loop
 * turn), else read back from its row. 1, 0 if the event no longer exists, -1 if it could
 * not be read.
 */
int intake_job_event(struct intake *in, int64_t event_id, struct intake_event *out);
void intake_event_clear(struct intake_event *e);

struct intake *intake_new(struct server *srv);
/* Commit and answer whatever is waiting, then free. */
void intake_free(struct intake *in);
/* Join the commit turn (turn.h): insert what was received, then answer it once committed. */
void intake_join_turn(struct intake *in);
void webhooks_handle(struct server *srv, struct http_request *req, const char *plugin);
void intake_stats(const struct intake *in, struct intake_stats *out);
/* Drop the notifications kept for deliveries (read back from their rows if still needed):
   memory_trim, once the server is quiet. */
void intake_release_memory(struct intake *in);

#endif
