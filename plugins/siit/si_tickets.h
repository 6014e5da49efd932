/*
 * si_tickets.h - Intercom ticket webhooks (ticket.state.updated,
 * ticket.closed, ticket.resolved) for tickets the plugin created: a timeline
 * entry on their request and the product event ticket.state_changed.
 */
#ifndef SI_TICKETS_H
#define SI_TICKETS_H

#include "si_plugin.h"

sb_status si_tickets_on_event(si_state *st, const sb_event *event, sb_result *result);

#endif
