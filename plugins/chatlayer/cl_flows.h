/*
 * cl_flows.h - the plugin's options: the bot flows of the configuration
 * (plugins.chatlayer.options.flows and .fallback) and the external
 * endpoint's retry policy. Pure: no host calls, so unit tests link it.
 *
 * A flow is tried in order: it matches when one of its intents does, an
 * intent being keywords (case-insensitive, whole words) or a POSIX extended
 * regular expression compiled once here (REG_ICASE with icase = true). The
 * first matching flow answers; none matching, the fallback does (without a
 * fallback the conversation is handed over, so nobody is left unanswered).
 */
#ifndef CL_FLOWS_H
#define CL_FLOWS_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/** What a turn does after its replies. */
enum cl_action_type {
    CL_ACTION_NONE = 0,
    CL_ACTION_HANDOVER = 1, /* assign to the offload team with a transcript note; silent after */
    CL_ACTION_CLOSE = 2     /* close with the reason as the message to the user */
};

struct cl_intent {
    char **keywords; /* lower-case; NULL when the intent is a regular expression */
    size_t n_keywords;
    bool has_regex;
    regex_t regex;
};

struct cl_flow {
    char *name;
    struct cl_intent *intents;
    size_t n_intents;
    char **replies; /* templates (see cl_template.h) */
    size_t n_replies;
    enum cl_action_type action;
    char *reason; /* CL_ACTION_CLOSE: a template */
};

struct cl_options {
    struct cl_flow *flows;
    size_t n_flows;
    bool has_fallback;
    struct cl_flow fallback;
    uint32_t endpoint_timeout_ms; /* one call to the external bot */
    uint32_t endpoint_attempts;   /* calls before the conversation is handed over */
    uint32_t endpoint_backoff_s;  /* wait before the 2nd call, doubling after */
    uint32_t transcript_max;      /* transcript entries kept per conversation */
};

/**
 * Parse and check "options" (NULL: defaults, no flows). On failure returns
 * false with the problem in @p err and where it is in @p where (e.g.
 * "flows[2].intents[0].match", "" for the group), and leaves @p out cleared.
 */
bool cl_options_parse(json_object *options, struct cl_options *out, char *err, size_t errlen,
                      char *where, size_t wherelen);
void cl_options_clear(struct cl_options *options);

/** The flow that answers @p text: the first that matches, else the fallback, else NULL. */
const struct cl_flow *cl_flows_match(const struct cl_options *options, const char *text);

/** "handover", "close" or "none". */
const char *cl_action_name(enum cl_action_type action);
/** The action named @p name; false if unknown. */
bool cl_action_from_name(const char *name, enum cl_action_type *out);

#endif
