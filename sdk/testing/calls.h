/* calls.h - the call record and completion queue shared by intercom.c and outbound.c. */
#ifndef SBT_CALLS_H
#define SBT_CALLS_H

#include "kit.h"

/* A new recorded call (body deep-copied); the kit owns it. */
struct kit_call *kit_call_new(struct sbt_kit *kit, enum call_service service,
                              sb_installation_id inst, const char *method, const char *path,
                              json_object *body);
/* Outbound: the raw body and header lines as sent. */
void kit_call_set_raw(struct kit_call *c, const void *body, size_t len,
                      const char *const *headers);
/* Decide the call's answer now (refused, cancelled...); the first decision stands. */
void kit_call_force(struct kit_call *c, int status, sb_error_kind kind, const char *code,
                    const char *message);
struct kit_call *kit_call_find(struct sbt_kit *kit, sb_request_id id);
/* Queue a completion: a call's answer, or (call NULL) the end of a walk. */
void kit_pending_push(struct sbt_kit *kit, struct kit_call *call, struct kit_walk *walk_end);

/* The first canned answer for (method, target): once-answers first, used up. Free with kit_canned_free. */
bool kit_canned_answer(struct canned **list, size_t *n, const char *method, const char *target,
                       struct canned *out);
void kit_canned_free(struct canned *c);
int kit_canned_add(struct sbt_kit *kit, bool intercom, const char *method, const char *match,
                   bool once, int status, const char *content_type, const char *body);

/* intercom.c */
void kit_install_intercom(sb_host *host);
void kit_intercom_deliver(struct sbt_kit *kit, struct kit_call *call);
void kit_walk_end_deliver(struct sbt_kit *kit, struct kit_walk *walk);
void kit_walks_free(struct sbt_kit *kit);

/* outbound.c */
void kit_install_outbound(sb_host *host);
void kit_outbound_deliver(struct sbt_kit *kit, struct kit_call *call);

#endif
