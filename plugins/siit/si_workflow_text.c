/*
 * si_workflow_text.c - the subject and message texts of workflow actions:
 * plain text with {{placeholders}} (plugin_kit's templates) filled from the
 * request Siit reported. The configuration check refuses unknown
 * placeholders; rendering keeps one it does not know as written. Pure code.
 */
#include "si_workflow.h"

#include "plugin_kit.h"

#include <string.h>

const char *const si_workflow_placeholders[] = {
    "request.id",     "request.subject", "request.service", "request.url", "request.priority",
    "requester.name", "requester.email", "workflow.name",   NULL};

char *si_workflow_text_unknown(const char *tmpl)
{
    return pk_template_unknown(tmpl, si_workflow_placeholders, true);
}

/* The value of placeholder @p name for @p request, NULL when it has none. */
static const char *value_of(const char *name, size_t len, json_object *request,
                            const char *workflow)
{
    static const struct {
        const char *placeholder, *member;
        bool requester;
    } members[] = {
        {"request.id", "id", false},          {"request.subject", "subject", false},
        {"request.service", "service", false}, {"request.url", "url", false},
        {"request.priority", "priority", false}, {"requester.name", "name", true},
        {"requester.email", "email", true},
    };
    if (len == strlen("workflow.name") && memcmp(name, "workflow.name", len) == 0)
        return workflow;
    for (size_t i = 0; i < PK_ARRAY_LEN(members); i++) {
        if (strlen(members[i].placeholder) != len || memcmp(members[i].placeholder, name, len) != 0)
            continue;
        json_object *from = members[i].requester ? sb_json_obj(request, "requester") : request;
        return sb_json_str(from, members[i].member);
    }
    return NULL;
}

struct render_context {
    json_object *request;
    const char *workflow;
};

static bool lookup(void *ctx, const char *name, size_t len, const char **value)
{
    const struct render_context *rc = ctx;
    for (size_t i = 0; si_workflow_placeholders[i]; i++)
        if (strlen(si_workflow_placeholders[i]) == len
            && memcmp(si_workflow_placeholders[i], name, len) == 0) {
            *value = value_of(name, len, rc->request, rc->workflow);
            return true;
        }
    return false;
}

char *si_workflow_text_render(const char *tmpl, json_object *request, const char *workflow)
{
    struct pk_buf out = {0};
    struct render_context rc = {request, workflow};
    pk_template_render(&out, tmpl, lookup, &rc, PK_ESCAPE_NONE);
    return pk_buf_steal(&out);
}
