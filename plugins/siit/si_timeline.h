/*
 * si_timeline.h - a request's timeline: every Intercom action taken for it,
 * in order (GET /api/siit/requests/{id}/timeline).
 */
#ifndef SI_TIMELINE_H
#define SI_TIMELINE_H

#include "si_plugin.h"

/*
 * One entry on a request's timeline, in order (kind: "contact_found", "contact_created",
 * "ticket_created", "ticket_assigned", "link_sent", "link_failed", "approval_requested", "approved",
 * "rejected", "approval_timed_out", "workflow_started", "workflow_finished", "escalation_failed",
 * "ticket_state_changed", "priority_set", "requester_notified", ...). details: borrowed, may be NULL.
 * Runs inside the caller's callback transaction. Returns 0 or -1.
 */
int si_timeline_add(si_state *st, sb_installation_id inst, const char *request_id,
                    const char *kind, const char *text, json_object *details);

/**
 * A page of a request's timeline, oldest first: {"entries":[..],"next":<after or null>}.
 * @p after: the "next" of the previous page (NULL: from the start). New reference, NULL on a
 * store failure.
 */
json_object *si_timeline_page(si_state *st, sb_installation_id inst, const char *request_id,
                              const char *after, size_t limit);

#endif
