/* ss_settings.c - typed binding settings and plugin options. */
#include "ss_settings.h"

#include "ss_template.h"
#include "ss_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const posting_names[] = {"internal", "public", "both"};

const char *ss_posting_mode_name(enum ss_posting_mode mode)
{
    return (unsigned)mode <= SS_POST_BOTH ? posting_names[mode] : "internal";
}

const char *ss_threshold_name(int threshold)
{
    return threshold == SS_THRESHOLD_DISABLED ? "disabled"
                                              : ss_severity_name((enum ss_severity)threshold);
}

bool ss_threshold_reached(int threshold, enum ss_severity severity)
{
    return threshold != SS_THRESHOLD_DISABLED && (int)severity >= threshold;
}

/* A mapped attribute name, or NULL when the setting is empty. */
static char *attribute_name(json_object *settings, const char *key)
{
    const char *v = sb_json_str(settings, key);
    return v ? pk_xstrdup(v) : NULL;
}

void ss_settings_from_json(json_object *settings, struct ss_settings *out)
{
    memset(out, 0, sizeof *out);
    const char *mode = sb_json_str(settings, "posting_mode");
    for (int i = 0; mode && i <= SS_POST_BOTH; i++)
        if (strcmp(mode, posting_names[i]) == 0)
            out->posting_mode = (enum ss_posting_mode)i;
    const char *threshold = sb_json_str(settings, "auto_analyze_threshold");
    enum ss_severity sev;
    out->threshold = threshold && ss_severity_parse(threshold, &sev) ? (int)sev
                                                                     : SS_THRESHOLD_DISABLED;
    out->buffer_hours = (int)sb_json_int(settings, "time_buffer_hours", 2);
    out->attribute_severity = attribute_name(settings, "attribute_severity");
    out->attribute_affected_service = attribute_name(settings, "attribute_affected_service");
    out->attribute_analysis_url = attribute_name(settings, "attribute_analysis_url");
    const char *tmpl = sb_json_str(settings, "public_reply_template");
    out->reply_template = pk_xstrdup(tmpl ? tmpl : "");
    json_object *keywords = sb_json_arr(settings, "triage_keywords");
    size_t n = keywords ? json_object_array_length(keywords) : 0;
    out->keywords = pk_xcalloc(n ? n : 1, sizeof *out->keywords);
    for (size_t i = 0; i < n; i++) {
        const char *entry = json_object_get_string(json_object_array_get_idx(keywords, i));
        out->keywords[out->n_keywords++] = pk_xstrdup(entry ? entry : "");
    }
}

void ss_settings_clear(struct ss_settings *s)
{
    free(s->attribute_severity);
    free(s->attribute_affected_service);
    free(s->attribute_analysis_url);
    free(s->reply_template);
    for (size_t i = 0; i < s->n_keywords; i++)
        free(s->keywords[i]);
    free(s->keywords);
    memset(s, 0, sizeof *s);
}

void ss_settings_rules(const struct ss_settings *s, const struct ss_rules *base,
                       struct ss_rules *out, json_object *problems)
{
    ss_rules_copy(out, base);
    for (size_t i = 0; i < s->n_keywords; i++) {
        char err[256];
        if (!ss_rules_apply(out, s->keywords[i], err, sizeof err) && problems)
            json_object_array_add(problems,
                                  json_object_new_string_len(err, (int)strlen(err)));
    }
}

json_object *ss_settings_problems(const struct ss_settings *s, const struct ss_rules *base)
{
    json_object *problems = json_object_new_array();
    struct ss_rules rules;
    ss_settings_rules(s, base, &rules, problems);
    ss_rules_free(&rules);
    /* Prefix keyword problems with the setting they come from. */
    size_t n = json_object_array_length(problems);
    for (size_t i = 0; i < n; i++) {
        char *msg = pk_xasprintf("triage_keywords: %s",
                                 json_object_get_string(json_object_array_get_idx(problems, i)));
        json_object_array_put_idx(problems, i, json_object_new_string(msg));
        free(msg);
    }
    char *unknown = ss_template_unknown(s->reply_template, ss_reply_placeholders);
    if (unknown) {
        char *msg = pk_xasprintf("public_reply_template: unknown placeholder(s) %s; they are "
                                 "sent as written",
                                 unknown);
        json_object_array_add(problems, json_object_new_string(msg));
        free(msg);
        free(unknown);
    }
    return problems;
}

/* ---- options ---- */

static bool int_option(json_object *v, const char *name, int min, int max, int *out, char *err,
                       size_t errlen)
{
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < min
        || json_object_get_int64(v) > max) {
        snprintf(err, errlen, "options.%s must be an integer from %d to %d", name, min, max);
        return false;
    }
    *out = (int)json_object_get_int64(v);
    return true;
}

bool ss_options_parse(json_object *options, struct ss_options *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->analysis_max_records = 200000;
    out->top_signatures = 10;
    out->panel_analyses = 5;
    json_object *v;
    bool builtin = true;
    if (options && json_object_object_get_ex(options, "builtin_keywords", &v)) {
        if (!json_object_is_type(v, json_type_boolean)) {
            ss_rules_builtin(&out->rules);
            snprintf(err, errlen, "options.builtin_keywords must be true or false");
            return false;
        }
        builtin = json_object_get_boolean(v);
    }
    if (builtin)
        ss_rules_builtin(&out->rules);
    else
        ss_rules_empty(&out->rules);
    if (!options)
        return true;
    if (!json_object_is_type(options, json_type_object)) {
        snprintf(err, errlen, "options must be a group");
        return false;
    }
    json_object_object_foreach(options, key, value) {
        bool ok = true;
        if (strcmp(key, "builtin_keywords") == 0) {
            continue;
        } else if (strcmp(key, "keywords") == 0) {
            if (!json_object_is_type(value, json_type_array)) {
                snprintf(err, errlen,
                         "options.keywords must be a list of \"phrase=weight\" strings");
                return false;
            }
            size_t n = json_object_array_length(value);
            for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(value, i);
                char why[256];
                if (!json_object_is_type(e, json_type_string)) {
                    snprintf(err, errlen, "options.keywords[%zu] must be a string", i);
                    return false;
                }
                if (!ss_rules_apply(&out->rules, json_object_get_string(e), why, sizeof why)) {
                    snprintf(err, errlen, "options.keywords[%zu]: %s", i, why);
                    return false;
                }
            }
        } else if (strcmp(key, "critical_score") == 0) {
            ok = int_option(value, key, -1000, 1000, &out->rules.critical_score, err, errlen);
        } else if (strcmp(key, "high_score") == 0) {
            ok = int_option(value, key, -1000, 1000, &out->rules.high_score, err, errlen);
        } else if (strcmp(key, "medium_score") == 0) {
            ok = int_option(value, key, -1000, 1000, &out->rules.medium_score, err, errlen);
        } else if (strcmp(key, "analysis_max_records") == 0) {
            ok = int_option(value, key, 1000, 10000000, &out->analysis_max_records, err, errlen);
        } else if (strcmp(key, "top_signatures") == 0) {
            ok = int_option(value, key, 1, 50, &out->top_signatures, err, errlen);
        } else if (strcmp(key, "panel_analyses") == 0) {
            ok = int_option(value, key, 1, 20, &out->panel_analyses, err, errlen);
        } else {
            snprintf(err, errlen, "unknown option \"%s\"", key);
            return false;
        }
        if (!ok)
            return false;
    }
    if (!ss_rules_thresholds_valid(&out->rules)) {
        snprintf(err, errlen, "options: critical_score (%d) > high_score (%d) > medium_score (%d) "
                              "must hold",
                 out->rules.critical_score, out->rules.high_score, out->rules.medium_score);
        return false;
    }
    return true;
}

void ss_options_clear(struct ss_options *o)
{
    ss_rules_free(&o->rules);
    memset(o, 0, sizeof *o);
}
