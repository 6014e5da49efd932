/* api.h - /api/{plugin}/...: a plugin's product-side routes behind its API key. */
#ifndef SB_CORE_API_H
#define SB_CORE_API_H

#include "router.h"

#include <stdbool.h>

struct server;
struct http_request;

/* "Authorization: Bearer <key>", compared in constant time. */
bool bearer_matches(struct http_request *req, const char *expected);

/*
 * Answer a request no route of a table took (r is not ROUTE_FOUND): 405 with
 * Allow (allowed is freed), 400 bad_path or 404 not_found with the message.
 * The admin API and the product API answer their misses alike.
 */
void reply_route_miss(struct http_request *req, enum router_result r, char *allowed,
                      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

void api_handle(struct server *srv, struct http_request *req, const char *plugin,
                const char *rest);

#endif
