/*
 * si_timeline.c - a request's timeline. Entries are keyed
 * "<request id>|<seq, 12 digits>" with a per-request counter, so a request's
 * entries are one key range in the order they were added, whatever the clock.
 */
#include "si_timeline.h"

#include "plugin_kit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEQ_DIGITS 12

int si_timeline_add(si_state *st, sb_installation_id inst, const char *request_id,
                    const char *kind, const char *text, json_object *details)
{
    char counter[SI_REQUEST_ID_MAX + 16];
    snprintf(counter, sizeof counter, "timeline|%s", request_id);
    int64_t seq = si_counter_next(st, inst, counter);
    if (seq == 0)
        return -1;
    char key[SI_REQUEST_ID_MAX + SEQ_DIGITS + 2];
    snprintf(key, sizeof key, "%s|%0*" PRId64, request_id, SEQ_DIGITS, seq);
    json_object *entry = json_object_new_object();
    sb_json_add_int(entry, "seq", seq);
    sb_json_add_int(entry, "at", si_now_s(st));
    sb_json_add_str(entry, "kind", kind);
    sb_json_add_str(entry, "text", text ? text : "");
    if (details)
        json_object_object_add(entry, "details", json_object_get(details));
    return si_put(st, inst, SI_TIMELINE, key, entry);
}

static int collect(void *arg, const char *key, json_object *value)
{
    (void)key;
    json_object_array_add(arg, json_object_get(value));
    return 0;
}

json_object *si_timeline_page(si_state *st, sb_installation_id inst, const char *request_id,
                              const char *after, size_t limit)
{
    /* The range of one request: "<id>|" up to "<id>}" ('}' follows '|'). */
    char *from = after ? pk_xasprintf("%s|%s!", request_id, after)
                       : pk_xasprintf("%s|", request_id);
    char *to = pk_xasprintf("%s}", request_id);
    json_object *entries = json_object_new_array();
    /* One more than asked tells whether a next page exists. */
    int n = st->host->doc_list(st->self, inst, SI_TIMELINE, from, to, limit + 1, 0, collect,
                               entries);
    free(from);
    free(to);
    if (n < 0) {
        json_object_put(entries);
        return NULL;
    }
    json_object *page = json_object_new_object();
    json_object *next = NULL;
    if ((size_t)n > limit) {
        json_object_array_del_idx(entries, limit, 1);
        json_object *last = json_object_array_get_idx(entries, limit - 1);
        char seq[SEQ_DIGITS + 1];
        snprintf(seq, sizeof seq, "%0*" PRId64, SEQ_DIGITS, sb_json_int(last, "seq", 0));
        next = json_object_new_string(seq);
    }
    json_object_object_add(page, "entries", entries);
    json_object_object_add(page, "next", next);
    return page;
}
