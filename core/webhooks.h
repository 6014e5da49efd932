/*
 * webhooks.h - signed webhook intake. A notification is acknowledged only
 * after its event row (and its job) is committed; many requests share one
 * commit (group commit) so durability costs one fsync per batch.
 */
#ifndef SB_CORE_WEBHOOKS_H
#define SB_CORE_WEBHOOKS_H

#include <stdint.h>

struct server;
struct http_request;

struct intake_stats {
    uint64_t received, accepted, duplicates, ignored, unrouted, pings;
    uint64_t bad_signature, malformed, commits, commit_failures;
};

struct intake *intake_new(struct server *srv);
/* Commit and answer whatever is waiting, then free. */
void intake_free(struct intake *in);
void webhooks_handle(struct server *srv, struct http_request *req, const char *plugin);
void intake_stats(const struct intake *in, struct intake_stats *out);

#endif
