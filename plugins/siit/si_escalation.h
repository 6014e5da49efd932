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

/** The escalation job (type SI_JOB_ESCALATE, key = the request id). */
sb_status si_escalation_on_job(si_state *st, const sb_job *job, sb_result *result);

#endif
