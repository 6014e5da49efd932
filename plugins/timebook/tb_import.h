/*
 * tb_import.h - the contact sync: a full import when sync_contacts is turned
 * on, then webhooks (tb_contacts.c) keep the mirror current.
 *
 * The "sync" document "contacts" holds the sync's state ("off", "importing",
 * "live"), its generation (one per time it was turned on) and the import's
 * progress. The import is one durable job per generation: it walks
 * GET /contacts in cursor pages (intercom_paginate) and, in each page's
 * transaction, writes the page's contacts, the job's checkpoint (the next
 * cursor, done, total) and the progress, so after a crash the job resumes
 * from the page after the last committed one with exact counts. The admin
 * API shows that checkpoint with the job (GET /admin/jobs?plugin=timebook).
 *
 * Turning sync_contacts off cancels the walk, ends the job, and drops the
 * mirror: a copy no longer kept current would be served as if it were, and
 * turning it on again imports everything afresh.
 */
#ifndef TB_IMPORT_H
#define TB_IMPORT_H

#include "tb_plugin.h"
#include "tb_settings.h"

/** on_job for TB_IMPORT_JOB. */
sb_status tb_import_job(struct tb_plugin *tb, const sb_job *job, sb_result *result);
/**
 * Follow a settings change: start an import, or stop the sync and drop the mirror. After a
 * re-install (@p reinstalled) a running sync starts over: webhooks may have been missed
 * meanwhile, and an import whose job ended with the lost token would never finish. 0, or -1.
 */
int tb_contacts_follow_settings(struct tb_plugin *tb, sb_installation_id inst,
                                const struct tb_settings *settings, bool reinstalled);
/** The mirror is being kept (importing or live). */
bool tb_contacts_mirrored(struct tb_plugin *tb, sb_installation_id inst);
/** Stop an import walking for @p inst in this process, if any (the job is not completed). */
void tb_import_cancel(struct tb_plugin *tb, sb_installation_id inst);
/** Free every import without completing its job (shutdown: the host re-queues the jobs). */
void tb_import_free_all(struct tb_plugin *tb);

#endif
