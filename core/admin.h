/* admin.h - /admin/... for integrators, behind the admin token. */
#ifndef SB_CORE_ADMIN_H
#define SB_CORE_ADMIN_H

struct server;
struct http_request;

void admin_init(void);
void admin_free(void);
void admin_handle(struct server *srv, struct http_request *req);

#endif
