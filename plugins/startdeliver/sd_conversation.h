/*
 * sd_conversation.h - what a support ticket needs from an Intercom
 * conversation (as listed by GET /conversations or POST
 * /conversations/search) and from its contact (GET /contacts/{id}), copied
 * out of the borrowed page so the page can be released while contacts are
 * looked up. The *_facts() functions write the same facts back as JSON in
 * Intercom's own shape, so that what the plugin stores parses again with
 * the same code.
 */
#ifndef SD_CONVERSATION_H
#define SD_CONVERSATION_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

struct sd_conversation {
    char *id;
    char *state;             /* "open", "closed" or "snoozed" */
    char *title;             /* title, else subject, else the start of the first message */
    int64_t created_at;
    int64_t updated_at;
    int64_t waiting_since;   /* 0: the customer is not waiting */
    char *contact_id;        /* the first contact; NULL if the conversation has none */
    char *contact_external_id;
};

/** Longest title kept, in bytes (cut on a UTF-8 boundary). */
#define SD_TITLE_MAX 160

/**
 * Fill @p out from one conversation object. Returns 0, or -1 with @p err
 * set when it has no id (out is then empty).
 */
int sd_conversation_parse(json_object *conversation, struct sd_conversation *out, char *err,
                          size_t errlen);
void sd_conversation_free(struct sd_conversation *c);

/** The facts as a conversation object that sd_conversation_parse() reads back. */
json_object *sd_conversation_facts(const struct sd_conversation *c);

struct sd_contact {
    char *id;
    char *email;
    char *external_id;
    char *name;
    char *company_id;        /* Intercom id of its first company, or NULL */
};

/** Fill @p out from a contact object; -1 if it has no id. */
int sd_contact_parse(json_object *contact, struct sd_contact *out);
void sd_contact_free(struct sd_contact *c);
/** The facts as a contact object that sd_contact_parse() reads back. */
json_object *sd_contact_facts(const struct sd_contact *c);

/**
 * Plain text of an HTML fragment on one line (pk_html_to_text, line breaks
 * as spaces), cut to at most @p max bytes on a character boundary.
 */
char *sd_plain_text(const char *html, size_t max);

#endif
