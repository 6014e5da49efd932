/*
 * answers.h - the answers the host gives, as JSON, apart from sending them:
 * the one JSON error format, and what it answers on a plugin's behalf on
 * the product API and Canvas Kit (the answer owed when a handler returned
 * without one, the refusals of a workspace that cannot act, the text
 * canvases Intercom is shown instead of an error). The server (http.c,
 * api.c, canvas.c, replies.c) and the testing kit answer from here alike.
 */
#ifndef SB_CORE_ANSWERS_H
#define SB_CORE_ANSWERS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <switchboard/switchboard.h>

#define CANVAS_MAX_BYTES 65536

/* {"error":{"status":...,"code":...,"message":...,"request_id":...}} (a new object). */
json_object *answer_error_body(int status, const char *code, const char *message,
                               const char *request_id);

/* {"canvas":{"content":{"components":[{"type":"text","text":...,"style":...}]}}} */
json_object *canvas_text(const char *text, const char *style);
/* NULL if body is a valid canvas response within the size limits, else the reason. */
const char *canvas_problem(json_object *body, size_t *size_out);

/* An answer the host gives for a plugin; release with answer_free. */
struct plugin_answer {
    int status;             /* API: the HTTP status */
    char *code;             /* API: the JSON error's code */
    char *message;          /* API: the error's message; canvas: the text of an error canvas */
    uint32_t retry_after_s; /* API: a Retry-After to send, 0 for none */
};
void answer_free(struct plugin_answer *answer);

/*
 * A handler returned @p status without answering: true and the answer the
 * host gives for it in @p out (OK without an answer, RETRY as 503, FAIL as
 * result's http_status and code), or false when nothing is owed yet
 * (PENDING).
 */
bool answer_after_handler(bool canvas, sb_status status, const sb_result *result,
                          struct plugin_answer *out);

/*
 * A product-API request of plugin @p plugin naming @p workspace (NULL: none)
 * whose installation is in @p state (NULL: not installed), for a route with
 * @p route_flags: true and the refusal in @p out when the handler must not
 * run. SB_ROUTE_NEEDS_INSTALLATION routes need an installation, active
 * unless SB_ROUTE_ANY_STATE; on any route a workspace that has not installed
 * the plugin is refused (404 unknown_installation).
 */
bool answer_workspace_refusal(const char *plugin, unsigned route_flags, const char *workspace,
                              const sb_installation_state *state, struct plugin_answer *out);

/*
 * The canvas shown instead of calling the plugin when the workspace's
 * installation (@p state, NULL: none) cannot act, or NULL when it can.
 */
json_object *answer_canvas_unavailable(const sb_installation_state *state);

#endif
