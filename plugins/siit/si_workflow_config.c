/*
 * si_workflow_config.c - plugins.siit.options.workflows: parsed into
 * struct si_workflows and checked, every error naming its element (where)
 * so the host can report its file and line. Pure code: no host calls.
 */
#include "si_workflow.h"

#include "plugin_kit.h"
#include "si_settings.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_BYTES 100
#define TRIGGER_MAX_BYTES 200
#define TEXT_MAX_BYTES 4000

/* Fail with @p where (printf-like, the element's path) and a message. */
static sb_status fail_at(sb_result *result, const char *where, const char *fmt, ...)
    PK_PRINTF(3, 4);

static sb_status fail_at(sb_result *result, const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(result->message, sizeof result->message, fmt, ap);
    va_end(ap);
    snprintf(result->where, sizeof result->where, "%s", where);
    snprintf(result->code, sizeof result->code, "invalid_workflow");
    return SB_FAIL;
}

/* What the messages call an element: `workflow "Name"` or `workflows[2]` before its name is known. */
struct ctx {
    char workflow[NAME_MAX_BYTES + 32]; /* e.g. workflow "Specialist handoff" */
    char where[96];                     /* e.g. workflows[1] */
};

static bool is_text(json_object *v)
{
    return json_object_is_type(v, json_type_string);
}

/* A string or an integer (Intercom ids are numeric strings; libconfig may write them bare). */
static bool is_id(json_object *v)
{
    if (json_object_is_type(v, json_type_int))
        return json_object_get_int64(v) > 0;
    return is_text(v) && si_id_valid(json_object_get_string(v));
}

bool si_duration_parse(json_object *value, uint32_t max_s, uint32_t *out_s)
{
    uint64_t seconds;
    if (json_object_is_type(value, json_type_int)) {
        int64_t n = json_object_get_int64(value);
        if (n <= 0)
            return false;
        seconds = (uint64_t)n;
    } else if (is_text(value)) {
        const char *s = json_object_get_string(value);
        uint64_t n = 0;
        size_t digits = 0;
        for (; s[digits] >= '0' && s[digits] <= '9'; digits++) {
            n = n * 10 + (uint64_t)(s[digits] - '0');
            if (n > 0xffffffffu)
                return false;
        }
        const char *unit = s + digits;
        uint64_t scale = !*unit                ? 1
                         : strcmp(unit, "s") == 0 ? 1
                         : strcmp(unit, "m") == 0 ? 60
                         : strcmp(unit, "h") == 0 ? 3600
                         : strcmp(unit, "d") == 0 ? 86400
                                                  : 0;
        if (digits == 0 || scale == 0)
            return false;
        seconds = n * scale;
    } else {
        return false;
    }
    if (seconds == 0 || seconds > max_s)
        return false;
    *out_s = (uint32_t)seconds;
    return true;
}

/* A template member: text, at most TEXT_MAX_BYTES, only known placeholders. */
static sb_status text_member(const struct ctx *c, const char *what, const char *key,
                             json_object *v, const char *where, sb_result *result)
{
    if (!is_text(v) || !*json_object_get_string(v))
        return fail_at(result, where, "%s, %s: %s must be a non-empty string", c->workflow, what,
                       key);
    if (strlen(json_object_get_string(v)) > TEXT_MAX_BYTES)
        return fail_at(result, where, "%s, %s: %s is longer than %d bytes", c->workflow, what,
                       key, TEXT_MAX_BYTES);
    char *unknown = si_workflow_text_unknown(json_object_get_string(v));
    if (unknown) {
        fail_at(result, where,
                "%s, %s: unknown placeholder(s) %s (known: {{request.id}}, {{request.subject}}, "
                "{{request.service}}, {{request.url}}, {{request.priority}}, {{requester.name}}, "
                "{{requester.email}}, {{workflow.name}})",
                c->workflow, what, unknown);
        free(unknown);
        return SB_FAIL;
    }
    return SB_OK;
}

static bool key_allowed(const char *key, const char *const *allowed)
{
    for (size_t i = 0; allowed[i]; i++)
        if (strcmp(key, allowed[i]) == 0)
            return true;
    return false;
}

static const char *const approval_keys[] = {"type", "approver", "timeout", NULL};
static const char *const ticket_keys[] = {"type",     "team_id", "admin_id", "ticket_type_id",
                                          "priority", "subject", "message",  NULL};
static const char *const priority_keys[] = {"type", "priority", NULL};
static const char *const notify_keys[] = {"type", "message", NULL};

/* One action, normalised into @p out (an object). */
static sb_status parse_action(const struct ctx *c, size_t index, json_object *action,
                              json_object *out, sb_result *result)
{
    char where[128], what[64];
    snprintf(where, sizeof where, "%s.actions[%zu]", c->where, index);
    if (!json_object_is_type(action, json_type_object))
        return fail_at(result, where, "%s: action %zu must be a group { type = \"...\"; ... }",
                       c->workflow, index + 1);
    json_object *type_v = sb_json_get(action, "type");
    const char *type = is_text(type_v) ? json_object_get_string(type_v) : NULL;
    const char *const *allowed = !type                                      ? NULL
                                 : strcmp(type, "approval") == 0               ? approval_keys
                                 : strcmp(type, "create_intercom_ticket") == 0 ? ticket_keys
                                 : strcmp(type, "set_priority") == 0           ? priority_keys
                                 : strcmp(type, "notify_requester") == 0       ? notify_keys
                                                                               : NULL;
    if (!allowed) {
        char type_where[160];
        snprintf(type_where, sizeof type_where, "%s%s", where, type_v ? ".type" : "");
        return fail_at(result, type_where,
                       "%s: action %zu needs type = \"approval\", \"create_intercom_ticket\", "
                       "\"set_priority\" or \"notify_requester\"",
                       c->workflow, index + 1);
    }
    snprintf(what, sizeof what, "action %zu (%s)", index + 1, type);
    sb_json_add_str(out, "type", type);
    char member[160];
    json_object_object_foreach(action, key, value) {
        snprintf(member, sizeof member, "%s.%s", where, key);
        if (!key_allowed(key, allowed))
            return fail_at(result, member, "%s, %s: unknown setting '%s'", c->workflow, what, key);
        if (strcmp(key, "type") == 0)
            continue;
        if (strcmp(key, "approver") == 0) {
            if (!is_text(value) || !*json_object_get_string(value)
                || strlen(json_object_get_string(value)) > NAME_MAX_BYTES)
                return fail_at(result, member,
                               "%s, %s: approver must be a non-empty string of at most %d bytes "
                               "(who decides, e.g. \"Support manager\")",
                               c->workflow, what, NAME_MAX_BYTES);
            sb_json_add_str(out, "approver", json_object_get_string(value));
        } else if (strcmp(key, "timeout") == 0) {
            uint32_t seconds;
            if (!si_duration_parse(value, SI_APPROVAL_TIMEOUT_MAX_S, &seconds))
                return fail_at(result, member,
                               "%s, %s: timeout must be seconds, or a number followed by s, m, h "
                               "or d (\"48h\"), from 1 second to 90 days",
                               c->workflow, what);
            sb_json_add_int(out, "timeout_s", seconds);
        } else if (strcmp(key, "team_id") == 0 || strcmp(key, "admin_id") == 0
                   || strcmp(key, "ticket_type_id") == 0) {
            if (!is_id(value))
                return fail_at(result, member,
                               "%s, %s: %s must be an Intercom id (\"5017691\" or 5017691)",
                               c->workflow, what, key);
            sb_json_add_str(out, key, json_object_get_string(value));
        } else if (strcmp(key, "priority") == 0) {
            if (!is_text(value) || !si_priority_valid(json_object_get_string(value)))
                return fail_at(result, member,
                               "%s, %s: priority must be \"low\", \"medium\", \"high\" or "
                               "\"urgent\"",
                               c->workflow, what);
            sb_json_add_str(out, "priority", json_object_get_string(value));
        } else { /* subject, message */
            if (text_member(c, what, key, value, member, result) != SB_OK)
                return SB_FAIL;
            sb_json_add_str(out, key, json_object_get_string(value));
        }
    }
    /* What each type cannot do without. */
    if (allowed == approval_keys) {
        if (!sb_json_get(out, "approver"))
            return fail_at(result, where, "%s, %s: approver is missing", c->workflow, what);
        if (!sb_json_get(out, "timeout_s"))
            sb_json_add_int(out, "timeout_s", SI_APPROVAL_TIMEOUT_DEFAULT_S);
    } else if (allowed == ticket_keys) {
        bool team = sb_json_get(out, "team_id"), admin = sb_json_get(out, "admin_id");
        if (team == admin)
            return fail_at(result, where,
                           "%s, %s: name the destination with team_id or admin_id (one of them)",
                           c->workflow, what);
    } else if (allowed == priority_keys) {
        if (!sb_json_get(out, "priority"))
            return fail_at(result, where, "%s, %s: priority is missing", c->workflow, what);
    } else if (!sb_json_get(out, "message")) {
        return fail_at(result, where, "%s, %s: message is missing", c->workflow, what);
    }
    return SB_OK;
}

static sb_status parse_trigger(const struct ctx *c, json_object *trigger, struct si_workflow *wf,
                               sb_result *result)
{
    char where[128];
    snprintf(where, sizeof where, "%s.trigger", c->where);
    if (!json_object_is_type(trigger, json_type_object) || json_object_object_length(trigger) != 1)
        return fail_at(result, where,
                       "%s: trigger must be a group with one of service = \"...\" (a request "
                       "created with that service) or tag = \"...\" (that tag added)",
                       c->workflow);
    json_object_object_foreach(trigger, key, value) {
        snprintf(where, sizeof where, "%s.trigger.%s", c->where, key);
        if (strcmp(key, "service") != 0 && strcmp(key, "tag") != 0)
            return fail_at(result, where, "%s: unknown trigger '%s' (service or tag)", c->workflow,
                           key);
        if (!is_text(value) || !*json_object_get_string(value)
            || strlen(json_object_get_string(value)) > TRIGGER_MAX_BYTES)
            return fail_at(result, where, "%s: trigger %s must be a non-empty string of at most "
                                          "%d bytes",
                           c->workflow, key, TRIGGER_MAX_BYTES);
        wf->trigger = strcmp(key, "tag") == 0 ? SI_TRIGGER_TAG : SI_TRIGGER_SERVICE;
        wf->trigger_value = pk_xstrdup(json_object_get_string(value));
    }
    return SB_OK;
}

/* Workflow @p index into @p wf; the ones before it are parsed (their names must differ). */
static sb_status parse_workflow(size_t index, json_object *item, const struct si_workflow *before,
                                struct si_workflow *wf, sb_result *result)
{
    struct ctx c;
    snprintf(c.where, sizeof c.where, "workflows[%zu]", index);
    snprintf(c.workflow, sizeof c.workflow, "workflow %zu", index + 1);
    char where[128];
    if (!json_object_is_type(item, json_type_object))
        return fail_at(result, c.where, "workflow %zu must be a group { name = ...; trigger = "
                                        "...; actions = (...); }",
                       index + 1);
    json_object_object_foreach(item, key, value) {
        (void)value;
        snprintf(where, sizeof where, "%s.%s", c.where, key);
        if (strcmp(key, "name") != 0 && strcmp(key, "trigger") != 0 && strcmp(key, "actions") != 0)
            return fail_at(result, where, "workflow %zu: unknown setting '%s' (name, trigger, "
                                          "actions)",
                           index + 1, key);
    }
    json_object *name = sb_json_get(item, "name");
    snprintf(where, sizeof where, "%s%s", c.where, name ? ".name" : "");
    if (!is_text(name) || !*json_object_get_string(name)
        || strlen(json_object_get_string(name)) > NAME_MAX_BYTES)
        return fail_at(result, where, "workflow %zu: name must be a non-empty string of at most "
                                      "%d bytes",
                       index + 1, NAME_MAX_BYTES);
    for (size_t i = 0; i < index; i++)
        if (strcmp(before[i].name, json_object_get_string(name)) == 0)
            return fail_at(result, where, "workflow %zu: the name \"%s\" is taken by workflow %zu",
                           index + 1, json_object_get_string(name), i + 1);
    wf->name = pk_xstrdup(json_object_get_string(name));
    snprintf(c.workflow, sizeof c.workflow, "workflow \"%s\"", wf->name);

    json_object *trigger = sb_json_get(item, "trigger");
    if (!trigger)
        return fail_at(result, c.where, "%s: trigger is missing", c.workflow);
    if (parse_trigger(&c, trigger, wf, result) != SB_OK)
        return SB_FAIL;

    json_object *actions = sb_json_get(item, "actions");
    snprintf(where, sizeof where, "%s%s", c.where, actions ? ".actions" : "");
    size_t n = json_object_is_type(actions, json_type_array) ? json_object_array_length(actions)
                                                             : 0;
    if (n == 0 || n > SI_WORKFLOW_ACTIONS_MAX)
        return fail_at(result, where, "%s: actions must be a list of 1 to %d actions", c.workflow,
                       SI_WORKFLOW_ACTIONS_MAX);
    wf->actions = pk_xchecked(json_object_new_array());
    for (size_t i = 0; i < n; i++) {
        json_object *action = pk_xchecked(json_object_new_object());
        json_object_array_add(wf->actions, action);
        if (parse_action(&c, i, json_object_array_get_idx(actions, i), action, result) != SB_OK)
            return SB_FAIL;
    }
    return SB_OK;
}

static sb_status parse(json_object *options, struct si_workflows *out, sb_result *result)
{
    json_object *list = sb_json_get(options, "workflows");
    if (!list)
        return SB_OK;
    if (!json_object_is_type(list, json_type_array))
        return fail_at(result, "workflows", "workflows must be a list of groups: ( { name = ...; "
                                            "trigger = ...; actions = (...); }, ... )");
    size_t n = json_object_array_length(list);
    if (n > SI_WORKFLOWS_MAX)
        return fail_at(result, "workflows", "at most %d workflows", SI_WORKFLOWS_MAX);
    out->items = pk_xcalloc(n, sizeof *out->items);
    for (size_t i = 0; i < n; i++) {
        /* Counted before parsing, so a half-parsed one is freed with the rest. */
        out->count++;
        if (parse_workflow(i, json_object_array_get_idx(list, i), out->items, &out->items[i],
                           result)
            != SB_OK)
            return SB_FAIL;
    }
    return SB_OK;
}

static void clear(struct si_workflows *wf)
{
    for (size_t i = 0; i < wf->count; i++) {
        free(wf->items[i].name);
        free(wf->items[i].trigger_value);
        json_object_put(wf->items[i].actions);
    }
    free(wf->items);
}

sb_status si_workflows_check(json_object *options, sb_result *result)
{
    struct si_workflows wf = {0};
    sb_status st = parse(options, &wf, result);
    clear(&wf);
    return st;
}

sb_status si_workflows_load(json_object *options, struct si_workflows **out, sb_result *result)
{
    *out = NULL;
    struct si_workflows *wf = pk_xcalloc(1, sizeof *wf);
    if (parse(options, wf, result) != SB_OK) {
        si_workflows_free(wf);
        return SB_FAIL;
    }
    if (wf->count == 0) {
        si_workflows_free(wf);
        return SB_OK;
    }
    *out = wf;
    return SB_OK;
}

void si_workflows_free(struct si_workflows *wf)
{
    if (!wf)
        return;
    clear(wf);
    free(wf);
}
