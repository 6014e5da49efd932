/*
 * replies.h - HTTP answers a plugin owes (product API and Canvas Kit),
 * addressed by token so a late or repeated answer can never touch a freed
 * request. Each has a deadline; when it passes the host answers for the
 * plugin (504 for the API, an error canvas for Canvas Kit).
 */
#ifndef SB_CORE_REPLIES_H
#define SB_CORE_REPLIES_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <switchboard/switchboard.h>

struct server;
struct http_request;
struct sb_plugin;

enum reply_kind { REPLY_API, REPLY_CANVAS };

struct replies *replies_new(struct server *srv);
/* Answer everything still open (503 / error canvas) and free. */
void replies_free(struct replies *rs);

sb_reply_token replies_open(struct replies *rs, struct http_request *req, struct sb_plugin *p,
                            enum reply_kind kind, int deadline_ms);
/* The plugin answers; takes ownership of body. -1 if the token is unknown, answered or not its own. */
int replies_json(struct replies *rs, struct sb_plugin *p, sb_reply_token token, int status,
                 json_object *body);
int replies_raw(struct replies *rs, struct sb_plugin *p, sb_reply_token token, int status,
                const char *content_type, const void *data, size_t len);
/* After the handler returned: answer for it if it did not (OK without answer, RETRY, FAIL). */
void replies_after_handler(struct replies *rs, sb_reply_token token, sb_status status,
                           const sb_result *result);
/* Send the answers held during a scope (or 503s if its commit failed). */
void replies_release(struct replies *rs, bool committed);

/*
 * Answers that belong to a commit in flight (turn.c: the turn's commit runs
 * on the store's commit thread): moved out of the scope's list, so a later
 * scope's commit or rollback neither sends nor fails them. The buffer goes
 * back and forth between the two lists: no allocation per turn.
 */
struct replies_held {
    sb_reply_token *tokens;
    size_t n, cap;
};
/* Move the answers held so far into held, which must be empty. */
void replies_hold_for_commit(struct replies *rs, struct replies_held *held);
/* Their commit ended: send them (or their failures); held is left empty. */
void replies_release_held(struct replies *rs, struct replies_held *held, bool committed);
size_t replies_open_count(const struct replies *rs);

#endif
