/* si_tickets.c - ticket webhooks (not built yet in this step). */
#include "si_tickets.h"

sb_status si_tickets_on_event(si_state *st, const sb_event *event, sb_result *result)
{
    (void)st;
    (void)event;
    (void)result;
    return SB_OK;
}
