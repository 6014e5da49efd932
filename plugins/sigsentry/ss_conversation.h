/*
 * ss_conversation.h - what triage needs from an Intercom conversation
 * (GET /conversations/{id}): the customer's words, when it started, who
 * wrote it. Pure code.
 *
 * The text is the subject and body of the opening message when a customer
 * wrote it (author type user, lead or contact), followed by every
 * conversation part a customer wrote, in order, with HTML tags removed and
 * the common entities decoded. Teammate, bot and note parts are left out:
 * triage judges what the customer reported, not the team's answers. The
 * text is cut at SS_CONVERSATION_TEXT_MAX bytes.
 */
#ifndef SS_CONVERSATION_H
#define SS_CONVERSATION_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#define SS_CONVERSATION_TEXT_MAX 32768

struct ss_conversation_facts {
    char *id;            /* owned */
    char *text;          /* owned; "" when the customer wrote nothing yet */
    int64_t created_ms;  /* 0 when unknown */
    char *customer_name; /* owned; NULL when unknown */
};

/** Fill @p out from a conversation object; false when it has no id. */
bool ss_conversation_facts(json_object *conversation, struct ss_conversation_facts *out);
void ss_conversation_facts_clear(struct ss_conversation_facts *f);

#endif
