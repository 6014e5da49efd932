/*
 * ss_settings.h - the binding settings (one set per installation) and the
 * plugin-wide options, typed. The schema itself lives in the descriptor
 * (sigsentry.c), where the host validates every value; this file turns the
 * validated JSON into C values and checks what the host cannot (keyword
 * entries, template placeholders, options). Pure code.
 *
 * Options (the plugin's "options" group in the configuration; all optional):
 *   keywords = [ "phrase=weight", ... ];  added to / overriding the built-in table
 *   builtin_keywords = true;              false: start from an empty table
 *   critical_score = 12; high_score = 7; medium_score = 3;
 *   analysis_max_records = 200000;        records one analysis reads at most
 *   top_signatures = 10;                  signatures an analysis keeps
 *   panel_analyses = 5;                   analyses the panel lists
 */
#ifndef SS_SETTINGS_H
#define SS_SETTINGS_H

#include "ss_triage.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

enum ss_posting_mode { SS_POST_INTERNAL = 0, SS_POST_PUBLIC = 1, SS_POST_BOTH = 2 };

/** The auto-analyze threshold: a severity, or disabled. */
#define SS_THRESHOLD_DISABLED (-1)

struct ss_settings {
    enum ss_posting_mode posting_mode;
    int threshold;          /* SS_THRESHOLD_DISABLED or an enum ss_severity */
    int buffer_hours;
    char *attribute_severity; /* Intercom conversation attribute names; NULL: not mapped */
    char *attribute_affected_service;
    char *attribute_analysis_url;
    char *reply_template;
    char **keywords;          /* "phrase=weight" entries of this binding */
    size_t n_keywords;
};

const char *ss_posting_mode_name(enum ss_posting_mode mode);
/** "disabled" or a severity name. */
const char *ss_threshold_name(int threshold);
/** True when @p severity reaches @p threshold. */
bool ss_threshold_reached(int threshold, enum ss_severity severity);

/** From the host's validated settings JSON (unknown or missing values take defaults). */
void ss_settings_from_json(json_object *settings, struct ss_settings *out);
void ss_settings_clear(struct ss_settings *s);

/**
 * The rules for this binding: @p base plus the binding's keyword entries.
 * Invalid entries are skipped; @p problems (may be NULL) gets one message
 * per skipped entry, as a JSON array of strings.
 */
void ss_settings_rules(const struct ss_settings *s, const struct ss_rules *base,
                       struct ss_rules *out, json_object *problems);
/** Problems an integrator should fix, as a new JSON array of strings (empty if none). */
json_object *ss_settings_problems(const struct ss_settings *s, const struct ss_rules *base);

struct ss_options {
    struct ss_rules rules;
    int analysis_max_records;
    int top_signatures;
    int panel_analyses;
};

/**
 * Parse and check the options; false with a message naming the option in
 * @p err (unknown options are errors). @p out is usable (and must be
 * cleared) either way.
 */
bool ss_options_parse(json_object *options, struct ss_options *out, char *err, size_t errlen);
void ss_options_clear(struct ss_options *o);

#endif
