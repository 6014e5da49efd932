/* canvas.h - Canvas Kit endpoints: verify, resolve the installation, ask the plugin, check. */
#ifndef SB_CORE_CANVAS_H
#define SB_CORE_CANVAS_H

struct server;
struct http_request;

void canvas_handle(struct server *srv, struct http_request *req, const char *plugin,
                   const char *flow);

#endif
