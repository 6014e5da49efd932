/*
 * si_escalation.h - escalating a Siit request into an Intercom ticket: the
 * escalation document, its job (contact, ticket, assignment, link) and the
 * product events it sends (escalation.created, escalation.failed).
 */
#ifndef SI_ESCALATION_H
#define SI_ESCALATION_H

#include "si_plugin.h"

/** Escalation ids are "esc_<n>"; room for them with their NUL. */
#define SI_ESCALATION_ID_SIZE 32

/*
 * Validate and queue an escalation for a request. spec has the same members as the body of
 * POST /api/siit/requests/{id}/escalations (team_id or admin_id, ticket_type_id, priority, subject,
 * message, requester {email, name}); missing members take the installation's settings defaults.
 * origin: "api" or "workflow". run_id: the workflow run waiting for it (NULL for "api"). On success
 * writes the new escalation id into id_out and returns SB_OK; on refusal fills result (http_status
 * 422 for a team that is not selectable, code, message) and returns SB_FAIL.
 */
sb_status si_escalation_start(si_state *st, sb_installation_id inst, const char *request_id,
                              json_object *spec, const char *origin, const char *run_id,
                              char *id_out, size_t id_size, sb_result *result);

/**
 * si_escalation_start for the product API: with the caller's Idempotency-Key (NULL: none), the
 * same request and key answer the escalation made the first time (*replayed set) instead of a
 * new one. A key that is not 1-200 visible ASCII characters is refused with 400.
 */
sb_status si_escalation_start_keyed(si_state *st, sb_installation_id inst,
                                    const char *request_id, json_object *spec,
                                    const char *origin, const char *run_id,
                                    const char *idempotency_key, char *id_out, size_t id_size,
                                    bool *replayed, sb_result *result);

bool si_idempotency_key_valid(const char *key);


/**
 * Tell Siit an escalation's ticket (product event escalation.created {request_id,
 * escalation_id, ticket_id, ticket_url}, "relinked": true when @p relink) and put "link_sent"
 * on the timeline, or "link_failed" when no product webhook is configured (returns -1 then).
 */
int si_escalation_send_link(si_state *st, sb_installation_id inst, json_object *esc,
                            bool relink);

/** The escalation job (type SI_JOB_ESCALATE, key = the request id). */
sb_status si_escalation_on_job(si_state *st, const sb_job *job, sb_result *result);

#endif
