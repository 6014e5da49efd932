/*
 * tb_ticket.h - reading tag applications out of a webhook's conversation and
 * building a feedback ticket from the conversation. Pure: no host calls.
 */
#ifndef TB_TICKET_H
#define TB_TICKET_H

#include <json-c/json.h>
#include <stdint.h>

/**
 * The tag applications a notification reports, as a new array of
 * {"tag_id", "tag_name", "applied_at" (s), "part_id" (the tagged part, may be absent)}.
 * conversation_part.tag.created names them in tags_added (or the tagged part's
 * tags); its time is the tag's applied_at, else the notification's
 * @p notified_at. Other conversation topics only count tags that carry their
 * own applied_at, so a tag applied long ago never looks new.
 */
json_object *tb_tag_applications(json_object *item, const char *topic, int64_t notified_at);

/** What a ticket is made of besides the conversation. */
struct tb_ticket_facts {
    const char *product;
    const char *tag_id;
    const char *tag_name;  /* may be NULL */
    int64_t applied_at;    /* s */
    const char *part_id;   /* the tagged part; NULL or unknown: the first message */
    const char *link;      /* the conversation in Intercom's inbox */
    int64_t created_ms;
};

/** "<conversation id>-<tag id>": the ticket's id (ids checked by the caller). Caller frees. */
char *tb_ticket_id(const char *conversation_id, const char *tag_id);

/**
 * The ticket for @p conversation (GET /conversations/{id}?display_as=plaintext):
 * first message, tagged part, contact (name, email), link, tag and times.
 * New reference.
 */
json_object *tb_ticket_build(json_object *conversation, const struct tb_ticket_facts *facts);

/** At most @p max bytes of @p text, cut at a UTF-8 character boundary. Caller frees. */
char *tb_text_clip(const char *text, size_t max);


#endif
