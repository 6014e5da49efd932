/*
 * tb_triggers.h - when each trigger tag became one. Feedback is not
 * retroactive: a tag application counts only if it happened at or after the
 * moment its tag became a trigger (the settings change that made it one, or
 * the install with it in the defaults). A tag taken out of the list, or
 * sync_feedback switched off, forgets that moment, so enabling it again
 * starts from the new time.
 */
#ifndef TB_TRIGGERS_H
#define TB_TRIGGERS_H

#include "tb_plugin.h"
#include "tb_settings.h"

/** Bring the "triggers" collection in line with @p settings; new triggers start now. 0, or -1. */
int tb_triggers_sync(struct tb_plugin *tb, sb_installation_id inst,
                     const struct tb_settings *settings);
/** When @p tag_id became a trigger (ms), or -1 if it is none. */
int64_t tb_trigger_since_ms(struct tb_plugin *tb, sb_installation_id inst, const char *tag_id);
/** Whether a tag applied at @p applied_at_s (Intercom's whole seconds) counts. */
bool tb_trigger_counts(int64_t since_ms, int64_t applied_at_s);

#endif
