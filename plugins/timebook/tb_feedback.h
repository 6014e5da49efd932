/*
 * tb_feedback.h - tagged conversations become feedback tickets.
 *
 * A notification that reports a trigger tag applied at or after the moment
 * the tag became a trigger (tb_triggers.h) makes one ticket per conversation
 * and tag, ever: the ticket's key is "<conversation>|<tag>", written with its
 * inbox entries and the feedback.created product event in one transaction,
 * and only when the key is new. Repeated notifications, the tag removed and
 * applied again, and retries after a crash therefore find the ticket and do
 * nothing. The conversation is read once (GET /conversations/{id}?
 * display_as=plaintext: Intercom gives the text without HTML) for its first
 * message, the tagged part and the contact.
 */
#ifndef TB_FEEDBACK_H
#define TB_FEEDBACK_H

#include "tb_plugin.h"

/** on_event for conversation topics. */
sb_status tb_feedback_event(struct tb_plugin *tb, const sb_event *event, sb_result *result);

/** Inbox keys of a ticket: "<product>|<ms>|<id>" and "<product>|<tag>|<ms>|<id>". Caller frees. */
char *tb_inbox_key(const char *product, int64_t created_ms, const char *ticket_id);
char *tb_inbox_tag_key(const char *product, const char *tag_id, int64_t created_ms,
                       const char *ticket_id);

#endif
