/*
 * ss_triage.h - the triage rules: from a conversation's text and the
 * project's known services, a severity, an affected service and a
 * suggested log window. Deterministic and explainable: the result lists
 * every keyword that counted and why the service was chosen. Pure code.
 *
 * Severity. The text is normalised (lower case; every character that is not
 * a letter or digit becomes a space; "can't" reads "can t"). Each keyword of
 * the table is a word or phrase normalised the same way; it matches when it
 * occurs as whole words. Every distinct keyword that matches adds its weight
 * once (negative weights mark questions and requests); overlapping keywords
 * ("cannot log in" and "cannot") both count. The score maps to a severity:
 *   score >= critical_score -> critical, >= high_score -> high,
 *   >= medium_score -> medium, else low.
 * The built-in table and thresholds (ss_rules_builtin) can be extended or
 * overridden with "phrase=weight" entries (weight 0 removes a keyword).
 *
 * Affected service. Each known service answers to these phrases:
 *   - its name with separators read as spaces ("checkout-api" -> "checkout api");
 *   - its name without generic words (api, service, svc, server, backend,
 *     frontend, web, app, worker, db, prod), when that leaves something
 *     ("checkout") and no other service leaves the same thing;
 *   - its aliases, set through the product API ("payments").
 * The service whose phrases occur most often wins; a tie goes to the one
 * mentioned first in the text, then to the name that sorts first. When no
 * service is mentioned and the project knows exactly one, that one is chosen;
 * otherwise the service is unknown and an analysis covers every service.
 *
 * Window. From the conversation's creation minus the time buffer to the
 * moment of triage.
 */
#ifndef SS_TRIAGE_H
#define SS_TRIAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ss_logline.h"

enum ss_severity {
    SS_SEVERITY_LOW = 0,
    SS_SEVERITY_MEDIUM = 1,
    SS_SEVERITY_HIGH = 2,
    SS_SEVERITY_CRITICAL = 3
};

const char *ss_severity_name(enum ss_severity s);
bool ss_severity_parse(const char *text, enum ss_severity *out);

#define SS_KEYWORD_WEIGHT_MAX 100

struct ss_keyword {
    char *phrase; /* normalised, owned */
    int weight;
};

struct ss_rules {
    struct ss_keyword *keywords;
    size_t n, cap;
    int critical_score, high_score, medium_score;
};

/** The built-in table and thresholds (documented in the README). */
void ss_rules_builtin(struct ss_rules *rules);
/** An empty table with the built-in thresholds. */
void ss_rules_empty(struct ss_rules *rules);
void ss_rules_copy(struct ss_rules *dst, const struct ss_rules *src);
void ss_rules_free(struct ss_rules *rules);
/**
 * Apply one "phrase=weight" entry: add the keyword, replace its weight, or
 * remove it (weight 0). The weight is an integer in -100..100. Returns false
 * with a message in @p err for a malformed entry.
 */
bool ss_rules_apply(struct ss_rules *rules, const char *entry, char *err, size_t errlen);
/** Thresholds must decrease strictly: critical > high > medium. */
bool ss_rules_thresholds_valid(const struct ss_rules *rules);

/** Lower case, non-alphanumerics as single spaces, with one space at each end. Caller frees. */
char *ss_normalize_text(const char *text);

struct ss_service_ref {
    const char *name;              /* normalised service name */
    const char *const *aliases;    /* may be NULL */
    size_t n_aliases;
};

#define SS_TRIAGE_MAX_MATCHES 32

struct ss_keyword_match {
    const char *phrase; /* borrowed from the rules */
    int weight;
};

enum ss_service_reason {
    SS_SERVICE_NONE = 0,      /* not identified */
    SS_SERVICE_MENTIONED = 1, /* one of its phrases occurs in the text */
    SS_SERVICE_ONLY_ONE = 2   /* nothing mentioned, and the project knows one service */
};

struct ss_triage {
    enum ss_severity severity;
    int score;
    struct ss_keyword_match matches[SS_TRIAGE_MAX_MATCHES]; /* in table order */
    size_t n_matches;
    char service[SS_SERVICE_MAX + 1];    /* "" when unknown */
    enum ss_service_reason service_reason;
    char service_phrase[128];            /* the phrase that matched first, normalised */
    int service_mentions;
};

/** Decide severity and service for @p text. */
void ss_triage_text(const struct ss_rules *rules, const char *text,
                    const struct ss_service_ref *services, size_t n_services,
                    struct ss_triage *out);

/** One line for people: "down +7, everyone +5 (score 12; critical from 12)". Caller frees. */
char *ss_triage_explain_score(const struct ss_rules *rules, const struct ss_triage *t);
/**
 * Why the service was chosen: "named in the conversation (\"checkout\", 1
 * mention)", "the project's only service", or that none is named. Caller frees.
 */
char *ss_triage_explain_service(const struct ss_triage *t);

/** The suggested window: [created - buffer_hours, now]. */
void ss_triage_window(int64_t conversation_created_ms, int buffer_hours, int64_t now_ms,
                      int64_t *start_ms, int64_t *end_ms);

#endif
