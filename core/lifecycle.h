/*
 * lifecycle.h - what happens to an installation, in one place: the plugin
 * hook, schedules, jobs and the audit line that go with each change.
 */
#ifndef SB_CORE_LIFECYCLE_H
#define SB_CORE_LIFECYCLE_H

#include <stdbool.h>
#include <switchboard/switchboard.h>

struct server;
struct installation;

/* After a (re-)install: schedules, audit, on_installation(SB_INSTALLED). Returns the hook's status. */
sb_status lifecycle_installed(struct server *srv, struct installation *inst, bool created,
                              sb_result *result);
/*
 * Revoke: optionally tell Intercom (POST /auth/uninstall with the token),
 * forget the token, cancel queued jobs and schedules, audit, and call
 * on_installation(SB_UNINSTALLED). Idempotent.
 */
int lifecycle_revoke(struct server *srv, struct installation *inst, const char *reason,
                     bool tell_intercom);
/* A 401 from Intercom: flag it and tell the plugin. */
void lifecycle_needs_reauth(struct server *srv, struct installation *inst, const char *why);
/*
 * The Intercom client's unauthorized hook (intercom_on_unauthorized, with the
 * server as @p srv): an installation still active needs re-auth.
 */
void lifecycle_intercom_unauthorized(void *srv, int64_t installation, const char *why);
/* Settings changed: reschedule and tell the plugin. */
void lifecycle_settings_changed(struct server *srv, struct installation *inst);

#endif
