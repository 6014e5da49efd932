/*
 * webhooks.h - signed webhook intake. A notification is acknowledged only
 * after its event row (and its job) is committed; many requests share one
 * commit (group commit) so durability costs one fsync per batch.
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
 * The parsed envelope of a notification committed moments ago (its delivery
 * job usually runs in the same loop turn), handed over to the caller, who
 * puts the JSON and frees the strings. False if it is not kept (any more):
 * read the event row instead.
 */
struct intake_envelope {
    json_object *envelope;
    char *topic;
    char *notification_id;
    int64_t created_at;
};
bool intake_take_envelope(struct intake *in, int64_t event_id, struct intake_envelope *out);

struct intake *intake_new(struct server *srv);
/* Commit and answer whatever is waiting, then free. */
void intake_free(struct intake *in);
/* The commit turn (host.h): insert what was received, then answer it once committed. */
void intake_turn(struct intake *in);
void intake_turn_done(struct intake *in, bool committed);
void webhooks_handle(struct server *srv, struct http_request *req, const char *plugin);
void intake_stats(const struct intake *in, struct intake_stats *out);

#endif
