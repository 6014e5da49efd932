/*
 * intercom_writes.h - the typed Intercom writes of the SDK (set_attributes,
 * conversation_reply): the host builds the request Intercom documents, so
 * its shape is not every plugin's concern. They go through intercom_request
 * and complete like it.
 */
#ifndef SB_CORE_INTERCOM_WRITES_H
#define SB_CORE_INTERCOM_WRITES_H

#include <json-c/json.h>
#include <stdint.h>
#include <switchboard/switchboard.h>

struct server;
struct sb_plugin;

/* PUT /contacts|companies|conversations/{id} {"custom_attributes": attributes}, retry-safe. */
sb_request_id intercom_set_attributes(struct server *srv, struct sb_plugin *p, int64_t installation,
                                      sb_object_type type, const char *id, json_object *attributes,
                                      sb_intercom_cb cb, void *arg);
/*
 * POST /conversations/{id}/reply as an admin (NULL: the installing admin),
 * a comment or a note; not retried after an uncertain failure.
 */
sb_request_id intercom_conversation_reply(struct server *srv, struct sb_plugin *p,
                                          int64_t installation, const char *conversation_id,
                                          sb_reply_type type, const char *body_html,
                                          const char *admin_id, sb_intercom_cb cb, void *arg);

#endif
