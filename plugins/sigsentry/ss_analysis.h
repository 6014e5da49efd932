/*
 * ss_analysis.h - the arithmetic of an analysis: feed it the log records of
 * a time window, it counts them by level and groups the error and critical
 * ones by signature (ss_signature.h) with a count, the first and last time
 * seen, the highest level and one sample message. Pure code: the plugin
 * reads the records from its documents and stores the JSON this produces.
 */
#ifndef SS_ANALYSIS_H
#define SS_ANALYSIS_H

#include "ss_logline.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ss_signature_stat {
    char *signature;
    char *sample;        /* the first message seen with this signature */
    char *service;       /* the service of that first message */
    int64_t count;
    int64_t first_ms, last_ms;
    enum ss_level level; /* highest level seen */
};

struct ss_analysis {
    int64_t records;                  /* every record read */
    int64_t by_level[SS_LEVEL_COUNT];
    int64_t errors;                   /* error + critical */
    int64_t ungrouped;                /* errors past max_signatures distinct signatures */
    struct ss_signature_stat *stats;
    size_t n_stats, cap_stats, max_signatures;
    size_t *slots;                    /* open-addressing index into stats (+1; 0 = empty) */
    size_t n_slots;
};

void ss_analysis_init(struct ss_analysis *a, size_t max_signatures);
void ss_analysis_add(struct ss_analysis *a, const char *service, int64_t time_ms,
                     enum ss_level level, const char *message);
/**
 * Order the signatures: most frequent first, then the one seen first, then
 * by signature text (so equal inputs give equal output). The index is
 * dropped: call it once, after the last add.
 */
void ss_analysis_sort(struct ss_analysis *a);
/**
 * {"records", "by_level":{...}, "errors", "distinct_signatures", "ungrouped",
 *  "top":[{"signature","count","first_seen","last_seen","level","service","sample"}]}
 * with at most @p top entries (times in ms). New reference. Sort first.
 */
json_object *ss_analysis_json(const struct ss_analysis *a, size_t top);
void ss_analysis_free(struct ss_analysis *a);

#endif
