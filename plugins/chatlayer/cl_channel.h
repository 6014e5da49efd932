/* cl_channel.h - the channel's settings checked against the workspace (see cl_channel.c). */
#ifndef CL_CHANNEL_H
#define CL_CHANNEL_H

#include "cl_plugin.h"

/**
 * The check's end: @p result {"valid","problems":[{"setting","problem"}],
 * "bot_agent":{id,name,email}|null,"checked_at"} (borrowed; stored before
 * the call), or NULL with Intercom's @p failure.
 */
typedef void (*cl_check_done)(void *arg, json_object *result, const sb_intercom_response *failure);

/** Start a check; @p done runs once, later. 0, or -1 (then @p done never runs). */
int cl_channel_check(struct cl_plugin *cl, sb_installation_id inst, cl_check_done done, void *arg);
/** The last stored check, or NULL. New reference. */
json_object *cl_channel_last_check(struct cl_plugin *cl, sb_installation_id inst);

#endif
