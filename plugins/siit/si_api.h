/*
 * si_api.h - the product API of siit (/api/siit/...) that siit-core serves:
 * teams and ticket types, escalations, relink and the timeline. The workflow
 * routes are si_workflow.h's. Every route needs ?workspace_id=.
 */
#ifndef SI_API_H
#define SI_API_H

#include "si_plugin.h"

sb_status si_route_teams(void *state, const sb_http_request *req, sb_result *result);
sb_status si_route_directory_sync(void *state, const sb_http_request *req, sb_result *result);
sb_status si_route_ticket_types(void *state, const sb_http_request *req, sb_result *result);
sb_status si_route_escalate(void *state, const sb_http_request *req, sb_result *result);
sb_status si_route_escalations(void *state, const sb_http_request *req, sb_result *result);
sb_status si_route_escalation_get(void *state, const sb_http_request *req, sb_result *result);
sb_status si_route_relink(void *state, const sb_http_request *req, sb_result *result);
/** A request's escalations as the product sees them, oldest first; NULL on a store failure. */
json_object *si_request_escalations(si_state *st, sb_installation_id inst, const char *request_id);

sb_status si_route_timeline(void *state, const sb_http_request *req, sb_result *result);

#endif
