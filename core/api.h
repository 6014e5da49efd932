/* api.h - /api/{plugin}/...: a plugin's product-side routes behind its API key. */
#ifndef SB_CORE_API_H
#define SB_CORE_API_H

#include <stdbool.h>

struct server;
struct http_request;

/* "Authorization: Bearer <key>", compared in constant time. */
bool bearer_matches(struct http_request *req, const char *expected);

void api_handle(struct server *srv, struct http_request *req, const char *plugin,
                const char *rest);

#endif
