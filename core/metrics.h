/* metrics.h - counters and the /metrics page (Prometheus text format 0.0.4). */
#ifndef SB_CORE_METRICS_H
#define SB_CORE_METRICS_H

#include <stddef.h>

struct server;
struct http_request;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);
/* http_observe_fn: one finished request. */
void metrics_observe(const struct http_request *req, int status, size_t bytes, double ms,
                     void *arg);
void metrics_handle(struct server *srv, struct http_request *req);

#endif
