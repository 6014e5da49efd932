/*
 * si_teams.h - the workspace's teams and ticket types as the plugin knows
 * them: a re-sync reads GET /me, GET /teams and GET /ticket_types and stores
 * them per installation; a team is "reachable" when the plugin's admin (the
 * token's admin, GET /me) is one of its members.
 */
#ifndef SI_TEAMS_H
#define SI_TEAMS_H

#include "si_plugin.h"

/** Queue a re-sync of teams and ticket types (one at a time per installation). */
sb_status si_directory_sync_enqueue(si_state *st, sb_installation_id inst, sb_result *result);
/** The re-sync job (type SI_JOB_SYNC_DIRECTORY). */
sb_status si_directory_sync_job(si_state *st, const sb_job *job, sb_result *result);

#endif
