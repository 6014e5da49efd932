/* answers.c - the host's answers as JSON (see answers.h). */
#include "answers.h"

#include "errors.h"
#include "util.h"

#include <stdlib.h>
#include <switchboard/helpers.h>

json_object *answer_error_body(int status, const char *code, const char *message,
                               const char *request_id)
{
    json_object *err = json_object_new_object();
    json_object_object_add(err, "status", json_object_new_int(status));
    json_object_object_add(err, "code", json_object_new_string(code));
    json_object_object_add(err, "message", json_object_new_string(message));
    json_object_object_add(err, "request_id", json_object_new_string(request_id));
    json_object *root = json_object_new_object();
    json_object_object_add(root, "error", err);
    return root;
}

json_object *canvas_text(const char *text, const char *style)
{
    json_object *components = json_object_new_array();
    json_object_array_add(components, sb_canvas_text(text, style));
    return sb_canvas(components);
}

static size_t json_size(json_object *o)
{
    size_t len = 0;
    json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                                      &len);
    return len;
}

const char *canvas_problem(json_object *body, size_t *size_out)
{
    json_object *canvas, *content, *components, *url, *stored;
    if (size_out)
        *size_out = body ? json_size(body) : 0;
    if (!body || !json_object_is_type(body, json_type_object))
        return "the answer is not a JSON object";
    if (!json_object_object_get_ex(body, "canvas", &canvas)
        || !json_object_is_type(canvas, json_type_object))
        return "the answer has no \"canvas\" object";
    bool has_content = json_object_object_get_ex(canvas, "content", &content);
    bool has_url = json_object_object_get_ex(canvas, "content_url", &url);
    if (has_content == has_url)
        return "a canvas needs exactly one of \"content\" and \"content_url\"";
    if (has_content) {
        if (!json_object_is_type(content, json_type_object)
            || !json_object_object_get_ex(content, "components", &components)
            || !json_object_is_type(components, json_type_array))
            return "canvas.content needs a \"components\" array";
        size_t n = json_object_array_length(components);
        for (size_t i = 0; i < n; i++) {
            json_object *c = json_object_array_get_idx(components, i), *type;
            if (!json_object_is_type(c, json_type_object)
                || !json_object_object_get_ex(c, "type", &type)
                || !json_object_is_type(type, json_type_string))
                return "every canvas component needs a \"type\"";
        }
        if (json_size(content) > CANVAS_MAX_BYTES)
            return "canvas.content is larger than 64 KB";
    } else if (!json_object_is_type(url, json_type_string)) {
        return "canvas.content_url must be a string";
    }
    if (json_object_object_get_ex(canvas, "stored_data", &stored)
        && json_size(stored) > CANVAS_MAX_BYTES)
        return "canvas.stored_data is larger than 64 KB";
    return NULL;
}

void answer_free(struct plugin_answer *answer)
{
    free(answer->code);
    free(answer->message);
    *answer = (struct plugin_answer){0};
}

static void answer_set(struct plugin_answer *out, int status, const char *code, char *message)
{
    *out = (struct plugin_answer){.status = status, .code = xstrdup(code), .message = message};
}

bool answer_after_handler(bool canvas, sb_status status, const sb_result *result,
                          struct plugin_answer *out)
{
    if (status == SB_PENDING)
        return false;
    const char *msg = result->message[0] ? result->message : NULL;
    if (status == SB_OK) {
        answer_set(out, 500, "plugin_error",
                   xstrdup(canvas ? "This panel has nothing to show."
                                  : "the plugin returned no answer"));
    } else if (canvas) {
        answer_set(out, 500, "plugin_error",
                   xstrdup("This panel could not be loaded. Please try again."));
    } else {
        int http = status == SB_RETRY ? 503
                   : result->http_status >= 400 && result->http_status <= 599 ? result->http_status
                                                                              : 500;
        /* The plugin's own reason (sb_result.code), made safe for the host's error format. */
        char code[sizeof result->code];
        errors_code_clean(result->code, "plugin_error", code, sizeof code);
        answer_set(out, http, code, xstrdup(msg ? msg : "the plugin failed"));
        if (status == SB_RETRY)
            out->retry_after_s = result->retry_after_s;
    }
    return true;
}

bool answer_workspace_refusal(const char *plugin, unsigned route_flags, const char *workspace,
                              const sb_installation_state *state, struct plugin_answer *out)
{
    bool needs_installation = route_flags & SB_ROUTE_NEEDS_INSTALLATION;
    if (needs_installation && (!workspace || !*workspace)) {
        answer_set(out, 400, "installation_required",
                   xstrdup("this route needs a workspace: ?workspace_id= or "
                           "X-Switchboard-Workspace"));
        return true;
    }
    /* Flagged or not, a workspace named but never installed is the same refusal. */
    if (workspace && !state) {
        answer_set(out, 404, "unknown_installation",
                   xasprintf("workspace '%s' has not installed plugin '%s'", workspace, plugin));
        return true;
    }
    if (!needs_installation || (route_flags & SB_ROUTE_ANY_STATE))
        return false;
    if (*state == SB_INSTALLATION_REVOKED) {
        answer_set(out, 409, "installation_revoked",
                   xasprintf("workspace '%s' uninstalled plugin '%s'", workspace, plugin));
        return true;
    }
    if (*state == SB_INSTALLATION_NEEDS_REAUTH) {
        answer_set(out, 409, "installation_needs_reauth",
                   xasprintf("workspace '%s' must install plugin '%s' again", workspace, plugin));
        return true;
    }
    return false;
}

json_object *answer_canvas_unavailable(const sb_installation_state *state)
{
    if (!state)
        return canvas_text("This workspace has not connected the app yet. Ask an admin to "
                           "install it, then reopen this conversation.",
                           "muted");
    if (*state == SB_INSTALLATION_ACTIVE)
        return NULL;
    return canvas_text(*state == SB_INSTALLATION_REVOKED
                           ? "This app is disconnected from the workspace."
                           : "The connection to this workspace has expired. Ask an admin to "
                             "install the app again.",
                       "muted");
}
