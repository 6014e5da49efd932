/*
 * sd_webhook.h - changes within seconds: Intercom's conversation webhooks
 * bring a ticket (and so its customer's support health) up to date without
 * waiting for the next sync, which stays the safety net for anything a
 * webhook missed.
 *
 * A notification only enqueues a "conversation" job keyed by the
 * conversation id, so the jobs of one conversation run one at a time, in
 * order. The job reads the conversation as it is now (GET
 * /conversations/{id}, through sd_transcript_refresh, which stores its new
 * messages too) and places it like a sync does; a repeated or late
 * notification reads the same current state and writes the same ticket. A
 * sync that read the conversation before the job cannot overwrite it with
 * its older copy (sd_place_ticket keeps the newer updated_at).
 */
#ifndef SD_WEBHOOK_H
#define SD_WEBHOOK_H

#include "sd_plugin.h"

#define SD_CONVERSATION_JOB "conversation"

/** The topics to register, NULL-terminated (the descriptor's topics). */
extern const char *const sd_webhook_topics[];

/** on_event: a conversation notification becomes a conversation job. */
sb_status sd_on_event(void *state, const sb_event *event, sb_result *result);

/** on_job for SD_CONVERSATION_JOB: bring one conversation's ticket up to date. */
sb_status sd_conversation_job(struct sd_plugin *sd, const sb_job *job, sb_result *result);

#endif
