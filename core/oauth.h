/* oauth.h - /oauth/{plugin}/{install,callback,uninstalled}. */
#ifndef SB_CORE_OAUTH_H
#define SB_CORE_OAUTH_H

struct server;
struct http_request;

void oauth_handle(struct server *srv, struct http_request *req, const char *plugin,
                  const char *action);

#endif
