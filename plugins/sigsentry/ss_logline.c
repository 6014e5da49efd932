/* ss_logline.c - validate and normalise one NDJSON log record. */
#include "ss_logline.h"

#include "ss_util.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const level_names[SS_LEVEL_COUNT] = {"debug", "info", "warn", "error",
                                                        "critical"};

static const struct {
    const char *alias;
    enum ss_level level;
} level_aliases[] = {
    {"trace", SS_LEVEL_DEBUG},     {"debug", SS_LEVEL_DEBUG},       {"info", SS_LEVEL_INFO},
    {"notice", SS_LEVEL_INFO},     {"warn", SS_LEVEL_WARN},         {"warning", SS_LEVEL_WARN},
    {"error", SS_LEVEL_ERROR},     {"err", SS_LEVEL_ERROR},         {"critical", SS_LEVEL_CRITICAL},
    {"crit", SS_LEVEL_CRITICAL},   {"fatal", SS_LEVEL_CRITICAL},    {"alert", SS_LEVEL_CRITICAL},
    {"emerg", SS_LEVEL_CRITICAL},  {"emergency", SS_LEVEL_CRITICAL}, {"panic", SS_LEVEL_CRITICAL},
};

const char *ss_level_name(enum ss_level level)
{
    return (unsigned)level < SS_LEVEL_COUNT ? level_names[level] : "unknown";
}

bool ss_level_parse(const char *text, enum ss_level *out)
{
    for (size_t i = 0; text && i < PK_ARRAY_LEN(level_aliases); i++) {
        if (strcasecmp(text, level_aliases[i].alias) == 0) {
            *out = level_aliases[i].level;
            return true;
        }
    }
    return false;
}

bool ss_service_normalize(const char *in, char out[SS_SERVICE_MAX + 1])
{
    size_t n = in ? strlen(in) : 0;
    if (n == 0 || n > SS_SERVICE_MAX || !isalnum((unsigned char)in[0]))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)tolower((unsigned char)in[i]);
        if (!(isalnum(c) || c == '.' || c == '_' || c == '-') || c >= 0x80)
            return false;
        out[i] = (char)c;
    }
    out[n] = '\0';
    return true;
}

static bool fail(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return false;
}

static bool parse_time(json_object *v, int64_t *ms, const char **why)
{
    switch (json_object_get_type(v)) {
    case json_type_string:
        if (!sb_time_parse_rfc3339(json_object_get_string(v), ms)) {
            *why = "\"time\" is not an RFC 3339 time with a zone (e.g. 2026-11-24T10:00:00Z)";
            return false;
        }
        if (*ms < 0) {
            *why = "\"time\" is out of range";
            return false;
        }
        return true;
    case json_type_int:
    case json_type_double: {
        double secs = json_object_get_double(v);
        if (isfinite(secs) && secs >= 0 && secs < 253402300800.0) { /* before year 10000 */
            *ms = (int64_t)llround(secs * 1000.0);
            return true;
        }
        *why = "\"time\" is out of range";
        return false;
    }
    default:
        *why = "\"time\" must be an RFC 3339 string or Unix seconds";
        return false;
    }
}

bool ss_logline_parse(const char *line, size_t len, int64_t now_ms, int64_t oldest_ms,
                      struct ss_log_record *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (len > SS_LOG_LINE_MAX) {
        snprintf(err, errlen, "line is longer than %d bytes", SS_LOG_LINE_MAX);
        return false;
    }
    json_tokener *tok = json_tokener_new();
    json_object *root = json_tokener_parse_ex(tok, line, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    /* Trailing bytes after the object (other than spaces) make the line invalid. */
    size_t used = (size_t)json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    while (root && used < len && isspace((unsigned char)line[used]))
        used++;
    if (!root || jerr != json_tokener_success) {
        json_object_put(root);
        snprintf(err, errlen, "not valid JSON: %s",
                 jerr == json_tokener_continue ? "the line ends inside a value"
                                               : json_tokener_error_desc(jerr));
        return false;
    }
    if (used != len) {
        json_object_put(root);
        return fail(err, errlen, "not valid JSON: extra bytes after the value");
    }
    bool ok = false;
    json_object *v;
    const char *why = NULL;
    if (!json_object_is_type(root, json_type_object)) {
        fail(err, errlen, "a log record must be a JSON object");
        goto done;
    }
    if (!json_object_object_get_ex(root, "time", &v)) {
        fail(err, errlen, "\"time\" is missing");
        goto done;
    }
    if (!parse_time(v, &out->time_ms, &why)) {
        fail(err, errlen, why);
        goto done;
    }
    if (out->time_ms > now_ms + SS_LOG_FUTURE_SLACK_MS) {
        fail(err, errlen, "\"time\" is in the future");
        goto done;
    }
    if (out->time_ms < oldest_ms) {
        fail(err, errlen, "\"time\" is older than the project's retention period");
        goto done;
    }
    if (!json_object_object_get_ex(root, "service", &v)
        || !json_object_is_type(v, json_type_string)) {
        fail(err, errlen, "\"service\" must be a string");
        goto done;
    }
    if (!ss_service_normalize(json_object_get_string(v), out->service)) {
        fail(err, errlen, "\"service\" must be 1-64 characters of a-z, 0-9, '.', '_' or '-', "
                          "starting with a letter or digit");
        goto done;
    }
    if (!json_object_object_get_ex(root, "level", &v) || !json_object_is_type(v, json_type_string)
        || !ss_level_parse(json_object_get_string(v), &out->level)) {
        fail(err, errlen, "\"level\" must be one of trace, debug, info, notice, warn, warning, "
                          "error, err, critical, crit, fatal, alert, emerg, emergency, panic");
        goto done;
    }
    if (!json_object_object_get_ex(root, "message", &v) || !json_object_is_type(v, json_type_string)
        || json_object_get_string_len(v) == 0) {
        fail(err, errlen, "\"message\" must be a non-empty string");
        goto done;
    }
    if (json_object_get_string_len(v) > SS_LOG_MESSAGE_MAX) {
        snprintf(err, errlen, "\"message\" is longer than %d bytes", SS_LOG_MESSAGE_MAX);
        goto done;
    }
    out->message = pk_xstrdup(json_object_get_string(v));
    ok = true;
done:
    json_object_put(root);
    if (!ok)
        ss_log_record_clear(out);
    return ok;
}

void ss_log_record_clear(struct ss_log_record *rec)
{
    free(rec->message);
    memset(rec, 0, sizeof *rec);
}
