/* route_flags.c - the sb_route flags' rules (see route_flags.h). */
#include "route_flags.h"

#include <stddef.h>

const char *route_flags_conflict(unsigned flags)
{
    /* "Any state" widens what NEEDS_INSTALLATION accepts; alone it would promise nothing. */
    if ((flags & SB_ROUTE_ANY_STATE) && !(flags & SB_ROUTE_NEEDS_INSTALLATION))
        return "SB_ROUTE_ANY_STATE without SB_ROUTE_NEEDS_INSTALLATION";
    return NULL;
}

const char *route_installation_need(unsigned flags)
{
    if (!(flags & SB_ROUTE_NEEDS_INSTALLATION))
        return NULL;
    return flags & SB_ROUTE_ANY_STATE ? "any" : "active";
}
