/* ss_triage.c - keyword scoring and service detection (rules in ss_triage.h). */
#include "ss_triage.h"

#include "ss_util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const severity_names[] = {"low", "medium", "high", "critical"};

const char *ss_severity_name(enum ss_severity s)
{
    return (unsigned)s <= SS_SEVERITY_CRITICAL ? severity_names[s] : "unknown";
}

bool ss_severity_parse(const char *text, enum ss_severity *out)
{
    for (int i = 0; text && i <= SS_SEVERITY_CRITICAL; i++) {
        if (strcmp(text, severity_names[i]) == 0) {
            *out = (enum ss_severity)i;
            return true;
        }
    }
    return false;
}

/*
 * The built-in table. Impact and reach weigh most; error vocabulary is light
 * on purpose, so a message listing several symptoms climbs gradually rather
 * than jumping to critical; questions and requests pull the score down.
 */
static const struct {
    const char *phrase;
    int weight;
} builtin_keywords[] = {
    /* impact */
    {"outage", 10}, {"data loss", 10}, {"breach", 10}, {"hacked", 10},
    {"down", 7}, {"unusable", 6},
    {"crash", 5}, {"crashed", 5}, {"crashes", 5}, {"crashing", 5}, {"not working", 4},
    {"cannot log in", 5}, {"can t log in", 5}, {"unable to log in", 5}, {"charged twice", 5},
    /* reach */
    {"everyone", 5}, {"all users", 5}, {"all customers", 5}, {"all our", 3}, {"production", 3},
    /* urgency */
    {"emergency", 4}, {"urgent", 3}, {"critical", 3}, {"asap", 2},
    /* money */
    {"payment", 2}, {"payments", 2}, {"billing", 2},
    /* errors */
    {"error", 2}, {"errors", 2}, {"exception", 2}, {"fail", 2}, {"fails", 2}, {"failed", 2},
    {"failing", 2}, {"failure", 2}, {"broken", 3}, {"timeout", 2}, {"timeouts", 2},
    {"timed out", 2}, {"500", 2}, {"502", 2}, {"503", 2}, {"504", 2}, {"stuck", 2},
    /* degradation */
    {"slow", 3}, {"slowness", 3}, {"delay", 2}, {"delayed", 2}, {"bug", 2}, {"glitch", 2},
    {"wrong", 2},
    /* questions and requests */
    {"question", -3}, {"how do i", -4}, {"how can i", -4}, {"feature request", -5},
    {"wondering", -2}, {"suggestion", -3}, {"just curious", -3},
};

#define BUILTIN_CRITICAL 12
#define BUILTIN_HIGH 7
#define BUILTIN_MEDIUM 3

char *ss_normalize_text(const char *text)
{
    size_t n = text ? strlen(text) : 0;
    char *out = pk_xcalloc(n + 3, 1);
    size_t o = 0;
    out[o++] = ' ';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        /* Bytes of multi-byte UTF-8 characters count as letters. */
        if (isalnum(c) || c >= 0x80)
            out[o++] = (char)tolower(c);
        else if (out[o - 1] != ' ')
            out[o++] = ' ';
    }
    if (out[o - 1] != ' ')
        out[o++] = ' ';
    out[o] = '\0';
    return out;
}

/* "phrase" normalised without the surrounding spaces; NULL if nothing is left. */
static char *normalize_phrase(const char *phrase)
{
    char *spaced = ss_normalize_text(phrase);
    size_t len = strlen(spaced);
    char *out = len > 2 ? pk_xstrndup(spaced + 1, len - 2) : NULL;
    free(spaced);
    return out;
}

static struct ss_keyword *find_keyword(struct ss_rules *rules, const char *phrase)
{
    for (size_t i = 0; i < rules->n; i++)
        if (strcmp(rules->keywords[i].phrase, phrase) == 0)
            return &rules->keywords[i];
    return NULL;
}

/* Takes ownership of @p phrase (normalised). */
static void set_keyword(struct ss_rules *rules, char *phrase, int weight)
{
    struct ss_keyword *k = find_keyword(rules, phrase);
    if (k && weight == 0) {
        free(k->phrase);
        memmove(k, k + 1, (size_t)(rules->keywords + rules->n - (k + 1)) * sizeof *k);
        rules->n--;
        free(phrase);
        return;
    }
    if (k) {
        k->weight = weight;
        free(phrase);
        return;
    }
    if (weight == 0) {
        free(phrase);
        return;
    }
    if (rules->n == rules->cap) {
        rules->cap = rules->cap ? rules->cap * 2 : 64;
        rules->keywords = pk_xrealloc(rules->keywords, rules->cap * sizeof *rules->keywords);
    }
    rules->keywords[rules->n++] = (struct ss_keyword){phrase, weight};
}

void ss_rules_empty(struct ss_rules *rules)
{
    memset(rules, 0, sizeof *rules);
    rules->critical_score = BUILTIN_CRITICAL;
    rules->high_score = BUILTIN_HIGH;
    rules->medium_score = BUILTIN_MEDIUM;
}

void ss_rules_builtin(struct ss_rules *rules)
{
    ss_rules_empty(rules);
    for (size_t i = 0; i < PK_ARRAY_LEN(builtin_keywords); i++)
        set_keyword(rules, normalize_phrase(builtin_keywords[i].phrase),
                    builtin_keywords[i].weight);
}

void ss_rules_copy(struct ss_rules *dst, const struct ss_rules *src)
{
    *dst = *src;
    dst->cap = src->n;
    dst->keywords = src->n ? pk_xcalloc(src->n, sizeof *dst->keywords) : NULL;
    for (size_t i = 0; i < src->n; i++) {
        dst->keywords[i].phrase = pk_xstrdup(src->keywords[i].phrase);
        dst->keywords[i].weight = src->keywords[i].weight;
    }
}

void ss_rules_free(struct ss_rules *rules)
{
    for (size_t i = 0; i < rules->n; i++)
        free(rules->keywords[i].phrase);
    free(rules->keywords);
    memset(rules, 0, sizeof *rules);
}

bool ss_rules_apply(struct ss_rules *rules, const char *entry, char *err, size_t errlen)
{
    const char *eq = entry ? strrchr(entry, '=') : NULL;
    if (!eq) {
        snprintf(err, errlen, "\"%s\" is not phrase=weight", entry ? entry : "");
        return false;
    }
    const char *w = eq + 1;
    while (*w == ' ')
        w++;
    char *end;
    errno = 0;
    long weight = strtol(w, &end, 10);
    while (*end == ' ')
        end++;
    if (!*w || *end || errno || weight < -SS_KEYWORD_WEIGHT_MAX || weight > SS_KEYWORD_WEIGHT_MAX) {
        snprintf(err, errlen, "\"%s\": the weight must be an integer from %d to %d", entry,
                 -SS_KEYWORD_WEIGHT_MAX, SS_KEYWORD_WEIGHT_MAX);
        return false;
    }
    char *raw = pk_xstrndup(entry, (size_t)(eq - entry));
    char *phrase = normalize_phrase(raw);
    free(raw);
    if (!phrase) {
        snprintf(err, errlen, "\"%s\": the phrase has no letters or digits", entry);
        return false;
    }
    set_keyword(rules, phrase, (int)weight);
    return true;
}

bool ss_rules_thresholds_valid(const struct ss_rules *rules)
{
    return rules->critical_score > rules->high_score && rules->high_score > rules->medium_score;
}

/* ---- matching ---- */

/* Occurrences of " phrase " in the spaced text; *first gets the first position (or -1). */
static int count_phrase(const char *text, const char *phrase, long *first)
{
    size_t plen = strlen(phrase);
    char *needle = pk_xcalloc(plen + 3, 1);
    needle[0] = ' ';
    memcpy(needle + 1, phrase, plen);
    needle[plen + 1] = ' ';
    int count = 0;
    *first = -1;
    for (const char *p = strstr(text, needle); p; p = strstr(p + plen + 1, needle)) {
        if (*first < 0)
            *first = (long)(p - text);
        count++;
    }
    free(needle);
    return count;
}

static enum ss_severity severity_of(const struct ss_rules *rules, int score)
{
    if (score >= rules->critical_score)
        return SS_SEVERITY_CRITICAL;
    if (score >= rules->high_score)
        return SS_SEVERITY_HIGH;
    if (score >= rules->medium_score)
        return SS_SEVERITY_MEDIUM;
    return SS_SEVERITY_LOW;
}

static const char *const generic_words[] = {"api", "service", "svc", "server", "backend",
                                            "frontend", "web", "app", "worker", "db", "prod"};

static bool is_generic(const char *word, size_t n)
{
    for (size_t i = 0; i < PK_ARRAY_LEN(generic_words); i++)
        if (strlen(generic_words[i]) == n && strncmp(generic_words[i], word, n) == 0)
            return true;
    return false;
}

/* The name without generic words ("checkout api" -> "checkout"), or NULL if unchanged/empty. */
static char *without_generic(const char *phrase)
{
    struct pk_buf b = {0};
    bool dropped = false;
    const char *p = phrase;
    while (*p) {
        const char *sp = strchr(p, ' ');
        size_t n = sp ? (size_t)(sp - p) : strlen(p);
        if (is_generic(p, n)) {
            dropped = true;
        } else {
            if (b.len)
                pk_buf_puts(&b, " ");
            pk_buf_put(&b, p, n);
        }
        p += n;
        while (*p == ' ')
            p++;
    }
    if (!dropped || !b.len) {
        pk_buf_free(&b);
        return NULL;
    }
    return pk_buf_steal(&b);
}

struct service_phrases {
    char *full;    /* name read as words */
    char *derived; /* without generic words; NULL if none or ambiguous */
};

static void choose_service(const char *text, const struct ss_service_ref *services, size_t n,
                           struct ss_triage *out)
{
    struct service_phrases *ph = pk_xcalloc(n ? n : 1, sizeof *ph);
    for (size_t i = 0; i < n; i++) {
        ph[i].full = normalize_phrase(services[i].name);
        ph[i].derived = ph[i].full ? without_generic(ph[i].full) : NULL;
    }
    /* A derived phrase that two services share, or that is another's name, says nothing. */
    bool *ambiguous = pk_xcalloc(n ? n : 1, sizeof *ambiguous);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; ph[i].derived && j < n; j++) {
            if (j != i && ((ph[j].derived && strcmp(ph[i].derived, ph[j].derived) == 0)
                           || (ph[j].full && strcmp(ph[i].derived, ph[j].full) == 0)))
                ambiguous[i] = true;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (ambiguous[i]) {
            free(ph[i].derived);
            ph[i].derived = NULL;
        }
    }
    free(ambiguous);
    int best_mentions = 0;
    long best_first = -1;
    size_t best = n;
    char best_phrase[sizeof out->service_phrase] = "";
    for (size_t i = 0; i < n; i++) {
        int mentions = 0;
        long first = -1;
        const char *first_phrase = NULL;
        const char *candidates[64];
        size_t nc = 0;
        if (ph[i].full)
            candidates[nc++] = ph[i].full;
        if (ph[i].derived)
            candidates[nc++] = ph[i].derived;
        char *aliases[62];
        size_t na = 0;
        for (size_t a = 0; a < services[i].n_aliases && na < PK_ARRAY_LEN(aliases); a++) {
            char *alias = normalize_phrase(services[i].aliases[a]);
            if (alias)
                candidates[nc++] = aliases[na++] = alias;
        }
        for (size_t c = 0; c < nc; c++) {
            long pos;
            int count = count_phrase(text, candidates[c], &pos);
            mentions += count;
            if (count && (first < 0 || pos < first
                          || (pos == first && strlen(candidates[c]) > strlen(first_phrase)))) {
                first = pos;
                first_phrase = candidates[c];
            }
        }
        bool better = mentions > best_mentions
                      || (mentions > 0 && mentions == best_mentions
                          && (first < best_first
                              || (first == best_first
                                  && strcmp(services[i].name, services[best].name) < 0)));
        if (better) {
            best = i;
            best_mentions = mentions;
            best_first = first;
            snprintf(best_phrase, sizeof best_phrase, "%s", first_phrase);
        }
        for (size_t a = 0; a < na; a++)
            free(aliases[a]);
    }
    if (best < n) {
        snprintf(out->service, sizeof out->service, "%s", services[best].name);
        out->service_reason = SS_SERVICE_MENTIONED;
        out->service_mentions = best_mentions;
        snprintf(out->service_phrase, sizeof out->service_phrase, "%s", best_phrase);
    } else if (n == 1) {
        snprintf(out->service, sizeof out->service, "%s", services[0].name);
        out->service_reason = SS_SERVICE_ONLY_ONE;
    }
    for (size_t i = 0; i < n; i++) {
        free(ph[i].full);
        free(ph[i].derived);
    }
    free(ph);
}

void ss_triage_text(const struct ss_rules *rules, const char *text,
                    const struct ss_service_ref *services, size_t n_services,
                    struct ss_triage *out)
{
    memset(out, 0, sizeof *out);
    char *norm = ss_normalize_text(text);
    for (size_t i = 0; i < rules->n; i++) {
        long pos;
        if (!count_phrase(norm, rules->keywords[i].phrase, &pos))
            continue;
        out->score += rules->keywords[i].weight;
        if (out->n_matches < SS_TRIAGE_MAX_MATCHES)
            out->matches[out->n_matches++] =
                (struct ss_keyword_match){rules->keywords[i].phrase, rules->keywords[i].weight};
    }
    out->severity = severity_of(rules, out->score);
    choose_service(norm, services, n_services, out);
    free(norm);
}

char *ss_triage_explain_score(const struct ss_rules *rules, const struct ss_triage *t)
{
    struct pk_buf b = {0};
    if (!t->n_matches)
        pk_buf_puts(&b, "no keyword matched");
    for (size_t i = 0; i < t->n_matches; i++)
        pk_buf_printf(&b, "%s\"%s\" %+d", i ? ", " : "", t->matches[i].phrase,
                      t->matches[i].weight);
    int from = t->severity == SS_SEVERITY_CRITICAL ? rules->critical_score
               : t->severity == SS_SEVERITY_HIGH   ? rules->high_score
               : t->severity == SS_SEVERITY_MEDIUM ? rules->medium_score
                                                   : 0;
    if (t->severity == SS_SEVERITY_LOW)
        pk_buf_printf(&b, " (score %d; medium from %d)", t->score, rules->medium_score);
    else
        pk_buf_printf(&b, " (score %d; %s from %d)", t->score, ss_severity_name(t->severity), from);
    return pk_buf_steal(&b);
}

char *ss_triage_explain_service(const struct ss_triage *t)
{
    switch (t->service_reason) {
    case SS_SERVICE_MENTIONED:
        return pk_xasprintf("named in the conversation (\"%s\", %d mention%s)", t->service_phrase,
                            t->service_mentions, t->service_mentions == 1 ? "" : "s");
    case SS_SERVICE_ONLY_ONE:
        return pk_xstrdup("the project's only service");
    case SS_SERVICE_NONE:
    default:
        return pk_xstrdup("no known service is named in the conversation");
    }
}

void ss_triage_window(int64_t conversation_created_ms, int buffer_hours, int64_t now_ms,
                      int64_t *start_ms, int64_t *end_ms)
{
    *start_ms = conversation_created_ms - (int64_t)buffer_hours * 3600 * 1000;
    *end_ms = now_ms > conversation_created_ms ? now_ms : conversation_created_ms;
}
