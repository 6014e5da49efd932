/* cl_flows.c - parsing and checking the options, and matching a message against the flows. */
#include "cl_flows.h"

#include "cl_template.h"
#include "plugin_kit.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FLOWS_MAX 200
#define INTENTS_MAX 50
#define KEYWORDS_MAX 100
#define REPLIES_MAX 10
#define TEMPLATE_MAX 4000

/* Where the parser is, and the first problem it met. */
struct parser {
    char *err;
    size_t errlen;
    char *where;
    size_t wherelen;
};

static PK_PRINTF(3, 4) bool fail(struct parser *ps, const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err, ps->errlen, fmt, ap);
    va_end(ap);
    snprintf(ps->where, ps->wherelen, "%s", where);
    return false;
}

/* A path into the options: where + a member or index, cut to the buffer (paths are short). */
static PK_PRINTF(3, 4) void path_of(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

/* Refuse members of @p o not in @p known (NULL-terminated); @p at is @p o's path. */
static bool only_known(struct parser *ps, json_object *o, const char *at,
                       const char *const *known)
{
    json_object_object_foreach(o, key, value) {
        (void)value;
        bool found = false;
        for (const char *const *k = known; *k && !found; k++)
            found = strcmp(*k, key) == 0;
        if (!found) {
            char where[128];
            path_of(where, sizeof where, "%s%s%s", at, *at ? "." : "", key);
            return fail(ps, where, "unknown option '%s'", key);
        }
    }
    return true;
}

static bool template_of(struct parser *ps, json_object *v, const char *where, const char *what,
                        char **out)
{
    if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
        return fail(ps, where, "%s must be a non-empty string", what);
    const char *s = json_object_get_string(v);
    if (strlen(s) > TEMPLATE_MAX)
        return fail(ps, where, "%s is longer than %d bytes", what, TEMPLATE_MAX);
    char why[160];
    if (!cl_template_check(s, why, sizeof why))
        return fail(ps, where, "%s: %s", what, why);
    *out = pk_xstrdup(s);
    return true;
}

static bool keywords_of(struct parser *ps, json_object *v, const char *at, struct cl_intent *in)
{
    char where[128];
    path_of(where, sizeof where, "%s.keywords", at);
    if (json_object_is_type(v, json_type_string)) {
        in->keywords = pk_xcalloc(1, sizeof *in->keywords);
        in->n_keywords = 0;
        if (json_object_get_string_len(v) == 0)
            return fail(ps, where, "a keyword must not be empty");
        in->keywords[in->n_keywords++] = pk_xstrdup(json_object_get_string(v));
    } else if (json_object_is_type(v, json_type_array)) {
        size_t n = json_object_array_length(v);
        if (n == 0 || n > KEYWORDS_MAX)
            return fail(ps, where, "keywords must list 1 to %d words or phrases", KEYWORDS_MAX);
        in->keywords = pk_xcalloc(n, sizeof *in->keywords);
        for (size_t i = 0; i < n; i++) {
            json_object *k = json_object_array_get_idx(v, i);
            if (!json_object_is_type(k, json_type_string) || json_object_get_string_len(k) == 0) {
                path_of(where, sizeof where, "%s.keywords[%zu]", at, i);
                return fail(ps, where, "a keyword must be a non-empty string");
            }
            in->keywords[in->n_keywords++] = pk_xstrdup(json_object_get_string(k));
        }
    } else {
        return fail(ps, where, "keywords must be a string or a list of strings");
    }
    for (size_t i = 0; i < in->n_keywords; i++)
        for (char *c = in->keywords[i]; *c; c++)
            *c = (char)tolower((unsigned char)*c);
    return true;
}

static bool intent_of(struct parser *ps, json_object *v, const char *at, struct cl_intent *in)
{
    static const char *const known[] = {"keywords", "match", "icase", NULL};
    if (!json_object_is_type(v, json_type_object))
        return fail(ps, at, "an intent must be a group with keywords or match");
    if (!only_known(ps, v, at, known))
        return false;
    json_object *keywords = sb_json_get(v, "keywords"), *match = sb_json_get(v, "match");
    json_object *icase = sb_json_get(v, "icase");
    if (!keywords == !match)
        return fail(ps, at, "an intent needs exactly one of keywords or match");
    char where[128];
    if (icase && !json_object_is_type(icase, json_type_boolean)) {
        path_of(where, sizeof where, "%s.icase", at);
        return fail(ps, where, "icase must be true or false");
    }
    if (keywords) {
        if (icase) {
            path_of(where, sizeof where, "%s.icase", at);
            return fail(ps, where, "icase applies to match; keywords always ignore case");
        }
        return keywords_of(ps, keywords, at, in);
    }
    path_of(where, sizeof where, "%s.match", at);
    if (!json_object_is_type(match, json_type_string) || json_object_get_string_len(match) == 0)
        return fail(ps, where, "match must be a non-empty regular expression");
    int flags = REG_EXTENDED | REG_NOSUB | (json_object_get_boolean(icase) ? REG_ICASE : 0);
    int rc = regcomp(&in->regex, json_object_get_string(match), flags);
    if (rc != 0) {
        char why[128];
        regerror(rc, &in->regex, why, sizeof why);
        return fail(ps, where, "invalid regular expression: %s", why);
    }
    in->has_regex = true;
    return true;
}

static bool replies_of(struct parser *ps, json_object *v, const char *at, struct cl_flow *flow)
{
    char where[128];
    path_of(where, sizeof where, "%s.reply", at);
    if (json_object_is_type(v, json_type_string)) {
        flow->replies = pk_xcalloc(1, sizeof *flow->replies);
        if (!template_of(ps, v, where, "reply", &flow->replies[0]))
            return false;
        flow->n_replies = 1;
        return true;
    }
    size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
    if (n == 0 || n > REPLIES_MAX)
        return fail(ps, where, "reply must be a string or a list of 1 to %d strings", REPLIES_MAX);
    flow->replies = pk_xcalloc(n, sizeof *flow->replies);
    for (size_t i = 0; i < n; i++) {
        path_of(where, sizeof where, "%s.reply[%zu]", at, i);
        if (!template_of(ps, json_object_array_get_idx(v, i), where, "a reply",
                         &flow->replies[flow->n_replies]))
            return false;
        flow->n_replies++;
    }
    return true;
}

static bool action_of(struct parser *ps, json_object *v, const char *at, struct cl_flow *flow)
{
    static const char *const known[] = {"type", "reason", NULL};
    char where[128];
    path_of(where, sizeof where, "%s.action", at);
    if (json_object_is_type(v, json_type_string)) {
        /* action = "handover"; is short for action = { type = "handover"; }; */
        if (!cl_action_from_name(json_object_get_string(v), &flow->action)
            || flow->action == CL_ACTION_NONE)
            return fail(ps, where, "unknown action '%s' (known: handover, close)",
                        json_object_get_string(v));
        if (flow->action == CL_ACTION_CLOSE)
            return fail(ps, where, "close needs a reason: action = { type = \"close\"; "
                                   "reason = \"...\"; }");
        return true;
    }
    if (!json_object_is_type(v, json_type_object))
        return fail(ps, where, "action must be a group with a type");
    if (!only_known(ps, v, where, known))
        return false;
    const char *type = sb_json_str(v, "type");
    char type_where[160];
    path_of(type_where, sizeof type_where, "%s.type", where);
    if (!type)
        return fail(ps, where, "action needs a type (handover or close)");
    if (!cl_action_from_name(type, &flow->action) || flow->action == CL_ACTION_NONE)
        return fail(ps, type_where, "unknown action '%s' (known: handover, close)", type);
    json_object *reason = sb_json_get(v, "reason");
    path_of(type_where, sizeof type_where, "%s.reason", where);
    if (flow->action == CL_ACTION_HANDOVER) {
        if (reason)
            return fail(ps, type_where, "handover takes no reason");
        return true;
    }
    if (!reason)
        return fail(ps, where, "close needs a reason, the message the user gets");
    return template_of(ps, reason, type_where, "reason", &flow->reason);
}

static bool flow_of(struct parser *ps, json_object *v, const char *at, bool fallback,
                    size_t index, struct cl_flow *flow)
{
    static const char *const known[] = {"name", "intents", "reply", "action", NULL};
    static const char *const known_fallback[] = {"reply", "action", NULL};
    if (!json_object_is_type(v, json_type_object))
        return fail(ps, at, "%s must be a group", fallback ? "fallback" : "a flow");
    if (!only_known(ps, v, at, fallback ? known_fallback : known))
        return false;
    char where[128];
    json_object *name = sb_json_get(v, "name");
    if (name && (!json_object_is_type(name, json_type_string)
                 || json_object_get_string_len(name) == 0
                 || json_object_get_string_len(name) > 64)) {
        path_of(where, sizeof where, "%s.name", at);
        return fail(ps, where, "name must be a string of 1 to 64 bytes");
    }
    flow->name = name ? pk_xstrdup(json_object_get_string(name))
                 : fallback ? pk_xstrdup("fallback")
                            : pk_xasprintf("flow %zu", index);
    if (!fallback) {
        json_object *intents = sb_json_get(v, "intents");
        size_t n = json_object_is_type(intents, json_type_array)
                       ? json_object_array_length(intents)
                       : 0;
        path_of(where, sizeof where, "%s.intents", at);
        if (n == 0 || n > INTENTS_MAX)
            return fail(ps, intents ? where : at, "a flow needs intents: a list of 1 to %d",
                        INTENTS_MAX);
        flow->intents = pk_xcalloc(n, sizeof *flow->intents);
        for (size_t i = 0; i < n; i++) {
            path_of(where, sizeof where, "%s.intents[%zu]", at, i);
            flow->n_intents++;
            if (!intent_of(ps, json_object_array_get_idx(intents, i), where, &flow->intents[i]))
                return false;
        }
    }
    json_object *reply = sb_json_get(v, "reply"), *action = sb_json_get(v, "action");
    if (!reply && !action)
        return fail(ps, at, "%s needs a reply, an action or both", fallback ? "fallback" : "a flow");
    if (reply && !replies_of(ps, reply, at, flow))
        return false;
    return !action || action_of(ps, action, at, flow);
}

static bool uint_option(struct parser *ps, json_object *options, const char *key, uint32_t min,
                        uint32_t max, uint32_t fallback, uint32_t *out)
{
    json_object *v = sb_json_get(options, key);
    *out = fallback;
    if (!v)
        return true;
    int64_t n = json_object_get_int64(v);
    if (!json_object_is_type(v, json_type_int) || n < min || n > max)
        return fail(ps, key, "%s must be an integer from %u to %u", key, min, max);
    *out = (uint32_t)n;
    return true;
}

static bool parse(struct parser *ps, json_object *options, struct cl_options *out)
{
    static const char *const known[] = {"flows",         "fallback",           "endpoint_timeout_ms",
                                        "endpoint_attempts", "endpoint_backoff_s", "transcript_max",
                                        NULL};
    if (options && !json_object_is_type(options, json_type_object))
        return fail(ps, "", "options must be a group");
    if (options && !only_known(ps, options, "", known))
        return false;
    if (!uint_option(ps, options, "endpoint_timeout_ms", 100, 60000, 5000,
                     &out->endpoint_timeout_ms)
        || !uint_option(ps, options, "endpoint_attempts", 1, 8, 3, &out->endpoint_attempts)
        || !uint_option(ps, options, "endpoint_backoff_s", 1, 600, 2, &out->endpoint_backoff_s)
        || !uint_option(ps, options, "transcript_max", 2, 500, 50, &out->transcript_max))
        return false;
    json_object *flows = sb_json_get(options, "flows");
    if (flows) {
        size_t n = json_object_is_type(flows, json_type_array) ? json_object_array_length(flows)
                                                               : 0;
        if (!json_object_is_type(flows, json_type_array) || n > FLOWS_MAX)
            return fail(ps, "flows", "flows must be a list of at most %d flows", FLOWS_MAX);
        out->flows = pk_xcalloc(n ? n : 1, sizeof *out->flows);
        for (size_t i = 0; i < n; i++) {
            char where[64];
            path_of(where, sizeof where, "flows[%zu]", i);
            out->n_flows++;
            if (!flow_of(ps, json_object_array_get_idx(flows, i), where, false, i, &out->flows[i]))
                return false;
        }
    }
    json_object *fallback = sb_json_get(options, "fallback");
    if (fallback) {
        out->has_fallback = true;
        if (!flow_of(ps, fallback, "fallback", true, 0, &out->fallback))
            return false;
    }
    return true;
}

bool cl_options_parse(json_object *options, struct cl_options *out, char *err, size_t errlen,
                      char *where, size_t wherelen)
{
    struct parser ps = {err, errlen, where, wherelen};
    memset(out, 0, sizeof *out);
    if (errlen)
        err[0] = '\0';
    if (wherelen)
        where[0] = '\0';
    if (parse(&ps, options, out))
        return true;
    cl_options_clear(out);
    return false;
}

static void flow_clear(struct cl_flow *flow)
{
    for (size_t i = 0; i < flow->n_intents; i++) {
        struct cl_intent *in = &flow->intents[i];
        for (size_t k = 0; k < in->n_keywords; k++)
            free(in->keywords[k]);
        free(in->keywords);
        if (in->has_regex)
            regfree(&in->regex);
    }
    free(flow->intents);
    for (size_t i = 0; i < flow->n_replies; i++)
        free(flow->replies[i]);
    free(flow->replies);
    free(flow->reason);
    free(flow->name);
    memset(flow, 0, sizeof *flow);
}

void cl_options_clear(struct cl_options *options)
{
    for (size_t i = 0; i < options->n_flows; i++)
        flow_clear(&options->flows[i]);
    free(options->flows);
    flow_clear(&options->fallback);
    memset(options, 0, sizeof *options);
}

/* @p keyword (lower-case) in @p text, case-insensitively, not inside a longer word. */
static bool keyword_in(const char *text, const char *keyword)
{
    size_t n = strlen(keyword);
    for (const char *p = text; *p; p++) {
        if (strncasecmp(p, keyword, n) != 0)
            continue;
        bool starts = p == text || !isalnum((unsigned char)p[-1]);
        bool ends = !isalnum((unsigned char)p[n]);
        if (starts && ends)
            return true;
    }
    return false;
}

static bool intent_matches(const struct cl_intent *in, const char *text)
{
    if (in->has_regex)
        return regexec(&in->regex, text, 0, NULL, 0) == 0;
    for (size_t i = 0; i < in->n_keywords; i++)
        if (keyword_in(text, in->keywords[i]))
            return true;
    return false;
}

const struct cl_flow *cl_flows_match(const struct cl_options *options, const char *text)
{
    for (size_t i = 0; i < options->n_flows; i++)
        for (size_t k = 0; k < options->flows[i].n_intents; k++)
            if (intent_matches(&options->flows[i].intents[k], text))
                return &options->flows[i];
    return options->has_fallback ? &options->fallback : NULL;
}

const char *cl_action_name(enum cl_action_type action)
{
    switch (action) {
    case CL_ACTION_HANDOVER: return "handover";
    case CL_ACTION_CLOSE: return "close";
    case CL_ACTION_NONE: break;
    }
    return "none";
}

bool cl_action_from_name(const char *name, enum cl_action_type *out)
{
    static const enum cl_action_type all[] = {CL_ACTION_NONE, CL_ACTION_HANDOVER, CL_ACTION_CLOSE};
    for (size_t i = 0; i < PK_ARRAY_LEN(all); i++)
        if (name && strcmp(name, cl_action_name(all[i])) == 0) {
            *out = all[i];
            return true;
        }
    return false;
}
