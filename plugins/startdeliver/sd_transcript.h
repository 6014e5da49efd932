/*
 * sd_transcript.h - a ticket's messages: the conversation's first message
 * and its parts, in order, as documents of their own so that a sync adds the
 * new ones without rewriting the old.
 *
 *   messages     "<conversation id>|<ordinal, 10 digits>" -> message
 *   transcripts  conversation id -> {"stored", "last_at", "last_part",
 *                "updated_at", "omitted"}: how far the stored messages reach
 *
 * A message: {"ordinal", "id", "part_type" ("source" for the first message),
 * "author": {"type", "id", "name"}, "created_at", "body" (plain text, HTML
 * removed), "truncated" (only when the body was cut at 64 KiB),
 * "attachments": [{"name", "url", "content_type"}] (http(s) links only),
 * "note" (an internal note)}. Parts with neither text nor attachments
 * (assignments, a close without a message) are not messages. Notes are stored and shown
 * only when the include_notes setting is on (filtered when read, so the
 * setting applies to earlier messages too).
 *
 * Intercom's GET /conversations/{id} answers with the whole conversation in
 * one body (at most its 500 most recent parts); the host streams it
 * (intercom_stream), handing over each part as it arrives, and the part's
 * message is stored then, so neither the host nor the plugin holds more than
 * one part. The first message comes with the rest of the conversation, at
 * the end: on a first reading the parts take ordinals from 1 and the first
 * message ordinal 0. The mark is written at the end; a reading cut short
 * leaves it as it was, and the next one rewrites the same ordinals with the
 * same messages. Parts older than those 500 at the first read cannot be
 * listed through the REST API: "omitted" counts them.
 */
#ifndef SD_TRANSCRIPT_H
#define SD_TRANSCRIPT_H

#include "sd_plugin.h"

#include <stdbool.h>

#define SD_MESSAGES "messages"
#define SD_TRANSCRIPTS "transcripts"

/**
 * Whether @p conversation (as listed: GET /conversations or search, without
 * parts) needs GET /conversations/{id} for its transcript. When it does not,
 * its transcript is up to date or is its first message alone, which this
 * stores. Returns 1 (fetch it), 0 (done) or -1 (the store failed).
 */
int sd_transcript_from_listed(struct sd_plugin *sd, sb_installation_id inst,
                              json_object *conversation);

/**
 * Store the messages of @p conversation (as GET /conversations/{id} returns
 * it, with conversation_parts) that are newer than those stored, in one
 * transaction. Never pass a webhook's item: it holds only the newest part,
 * and the parts before it would count as seen. Returns how many were added, or -1 when the store failed
 * (nothing written) or the object has no id.
 */
int sd_transcript_store(struct sd_plugin *sd, sb_installation_id inst, json_object *conversation);

/**
 * Called once GET /conversations/{id} answered and, on success, its messages
 * were stored: @p res is the response (res->body the conversation without
 * its parts, borrowed for the call; error_code set on failure), @p added how
 * many messages were added, or -1 when the request failed or storing did
 * (then error_code is NULL).
 */
typedef void (*sd_transcript_cb)(void *arg, const sb_intercom_response *res, int added);

/**
 * Read one conversation (GET /conversations/{id}, streamed) and store its new
 * messages as its parts arrive; @p done runs exactly once, later. For a
 * webhook or a sync that learns a conversation changed. Returns the request
 * id (0: a wrong call, @p done never runs).
 */
sb_request_id sd_transcript_refresh(struct sd_plugin *sd, sb_installation_id inst,
                                    const char *conversation_id, sd_transcript_cb done,
                                    void *arg);

/**
 * A page of a ticket's messages for the product API: {"data", "next",
 * "omitted"}, at most @p limit, after the ordinal cursor @p after (NULL: from
 * the start; "next" is the last ordinal of the page), notes left out unless
 * @p include_notes. NULL when the store failed.
 */
json_object *sd_transcript_page(struct sd_plugin *sd, sb_installation_id inst,
                                const char *conversation_id, const char *after, size_t limit,
                                bool include_notes);

/** The product API's GET /tickets/{id}/messages (sd_transcript_api.c). */
sb_status sd_route_ticket_messages(void *state, const sb_http_request *req, sb_result *result);

#endif
