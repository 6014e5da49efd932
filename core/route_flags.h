/*
 * route_flags.h - which sb_route flags a host knows, which combinations a
 * plugin may declare, and what a route needs of its installation: one rule
 * for the host's loader, its admin API and the testing kit.
 */
#ifndef SB_CORE_ROUTE_FLAGS_H
#define SB_CORE_ROUTE_FLAGS_H

#include <switchboard/switchboard.h>

/* The route flags this host knows; any other bit refuses the plugin. */
#define ROUTE_KNOWN_FLAGS (SB_ROUTE_PUBLIC | SB_ROUTE_NEEDS_INSTALLATION | SB_ROUTE_ANY_STATE)

/* NULL if the known bits of @p flags go together, else why not (a static string). */
const char *route_flags_conflict(unsigned flags);

/*
 * What a route with @p flags needs of the request's installation: "active",
 * "any" (present, in any state) or NULL (nothing).
 */
const char *route_installation_need(unsigned flags);

#endif
