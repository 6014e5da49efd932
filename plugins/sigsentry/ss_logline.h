/*
 * ss_logline.h - one log record as the product sends it: an NDJSON line
 * {"time": ..., "service": ..., "level": ..., "message": ...}, validated and
 * normalised. Pure code: no host calls.
 *
 * Rules (each violation is a per-line error naming the field):
 *  - the line is a JSON object of at most SS_LOG_LINE_MAX bytes;
 *  - time: an RFC 3339 string with a zone ("2026-11-24T10:00:00.123Z",
 *    "+02:00" offsets) or a number of Unix seconds (fractions allowed); not
 *    more than SS_LOG_FUTURE_SLACK_MS ahead of now, not older than the
 *    project's retention;
 *  - service: 1..64 of [a-z0-9._-], starting with a letter or digit; upper
 *    case is folded to lower case ("Checkout-API" is "checkout-api");
 *  - level: one of the names below (any case), folded to five levels;
 *  - message: a non-empty string of at most SS_LOG_MESSAGE_MAX bytes.
 * Other members are allowed and ignored.
 */
#ifndef SS_LOGLINE_H
#define SS_LOGLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SS_LOG_LINE_MAX 65536
#define SS_LOG_MESSAGE_MAX 16384
#define SS_LOG_FUTURE_SLACK_MS (5 * 60 * 1000)
#define SS_SERVICE_MAX 64

/** Levels, in increasing order. */
enum ss_level {
    SS_LEVEL_DEBUG = 0,   /* trace, debug */
    SS_LEVEL_INFO = 1,    /* info, notice */
    SS_LEVEL_WARN = 2,    /* warn, warning */
    SS_LEVEL_ERROR = 3,   /* error, err */
    SS_LEVEL_CRITICAL = 4 /* critical, crit, fatal, alert, emerg, emergency, panic */
};
#define SS_LEVEL_COUNT 5

const char *ss_level_name(enum ss_level level);
/** Accepts the canonical names and the aliases above, in any case. */
bool ss_level_parse(const char *text, enum ss_level *out);

/** Fold @p in to lower case into @p out (SS_SERVICE_MAX + 1 bytes) and check it. */
bool ss_service_normalize(const char *in, char out[SS_SERVICE_MAX + 1]);

struct ss_log_record {
    int64_t time_ms;
    char service[SS_SERVICE_MAX + 1];
    enum ss_level level;
    char *message; /* owned */
};

/**
 * Parse one line (not NUL-terminated; @p len bytes). @p oldest_ms is the
 * retention limit (records older are refused). On error returns false with a
 * message in @p err and leaves @p out empty.
 */
bool ss_logline_parse(const char *line, size_t len, int64_t now_ms, int64_t oldest_ms,
                      struct ss_log_record *out, char *err, size_t errlen);
void ss_log_record_clear(struct ss_log_record *rec);

#endif
