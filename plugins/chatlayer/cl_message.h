/*
 * cl_message.h - the user message a webhook carries: which conversation,
 * which team it is assigned to, who wrote it and what (as plain text). A
 * conversation.user.created notification carries it as the conversation's
 * source; conversation.user.replied as the newest conversation part. The
 * same fields are the payload of the plugin's "message" job. Pure.
 */
#ifndef CL_MESSAGE_H
#define CL_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct cl_message {
    char *conversation_id;
    char *message_id;   /* the part's id, or the source's: tells a message from its echo */
    char *team_id;      /* team_assignee_id; NULL when unassigned */
    char *part_type;    /* "comment", "note", ...; "source" for the first message */
    char *author_type;  /* "user", "lead", "contact", "admin", "bot", "team" */
    char *author_id;
    char *author_name;  /* NULL if unknown */
    char *author_email; /* NULL if unknown */
    char *text;         /* the body as plain text */
    int64_t created_at;
};

/** Read a notification's conversation item. False with the reason when it has no message. */
bool cl_message_from_item(json_object *item, struct cl_message *out, char *err, size_t errlen);
/** The message as a job payload (new reference), and back (false if malformed). */
json_object *cl_message_to_json(const struct cl_message *msg);
bool cl_message_from_json(json_object *payload, struct cl_message *out);
void cl_message_clear(struct cl_message *msg);

/** Written by a contact (user or lead), as opposed to a teammate, a bot or a workflow. */
bool cl_message_from_contact(const struct cl_message *msg);
/** A message the bot should read: from a contact, a comment (not a note), with text. */
bool cl_message_for_bot(const struct cl_message *msg);

/** True for ids usable in document keys and paths: 1..64 of [A-Za-z0-9_-]. */
bool cl_id_valid(const char *id);

/** Intercom's HTML body as plain text: tags dropped, paragraphs and <br> as newlines. New string. */
char *cl_html_text(const char *html);

#endif
