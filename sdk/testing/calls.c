/*
 * calls.c - what the plugin sends out (Intercom and outbound calls): the
 * record of every call, the canned answers and the test's responders that
 * answer them, and the queue their completions wait in until
 * sbt_deliver_pending() - never inside the plugin's own call.
 */
#include "calls.h"

#include <stdlib.h>
#include <string.h>

static char **copy_lines(const char *const *lines)
{
    size_t n = 0;
    while (lines && lines[n])
        n++;
    char **copy = xcalloc(n + 1, sizeof *copy);
    for (size_t i = 0; i < n; i++)
        copy[i] = xstrdup(lines[i]);
    return copy;
}

struct kit_call *kit_call_new(struct sbt_kit *kit, enum call_service service,
                              sb_installation_id inst, const char *method, const char *path,
                              json_object *body)
{
    static const char *const names[] = {
        [CALL_INTERCOM] = "intercom_request", [CALL_PAGINATE] = "intercom_paginate",
        [CALL_SET_ATTRIBUTES] = "set_attributes", [CALL_REPLY] = "conversation_reply",
        [CALL_OUTBOUND] = "outbound_request", [CALL_STREAM] = "intercom_stream"};
    struct kit_call *c = xcalloc(1, sizeof *c);
    c->service = service;
    c->method = xstrdup(method ? method : "");
    c->path = xstrdup(path ? path : "");
    c->raw_body = xstrdup("");
    c->headers = copy_lines(NULL);
    json_object *copy = NULL;
    if (body)
        json_object_deep_copy(body, &copy, NULL);
    c->pub = (sbt_call){.id = ++kit->next_request_id, .service = names[service],
                        .installation = inst, .method = c->method, .path = c->path,
                        .body = copy, .raw_body = c->raw_body,
                        .headers = (const char *const *)c->headers};
    KIT_PUSH(kit, calls, c);
    return c;
}

void kit_call_set_raw(struct kit_call *c, const void *body, size_t len,
                      const char *const *headers)
{
    free(c->raw_body);
    c->raw_body = xmalloc(len + 1);
    if (len)
        memcpy(c->raw_body, body, len);
    c->raw_body[len] = '\0';
    c->pub.raw_body = c->raw_body;
    c->pub.raw_body_len = len;
    json_object_put(c->pub.body);
    c->pub.body = len ? json_tokener_parse(c->raw_body) : NULL;
    for (char **h = c->headers; *h; h++)
        free(*h);
    free(c->headers);
    c->headers = copy_lines(headers);
    c->pub.headers = (const char *const *)c->headers;
}

void kit_call_force(struct kit_call *c, int status, sb_error_kind kind, const char *code,
                    const char *message)
{
    if (c->forced)
        return; /* the first decision stands: a call completes once */
    c->forced = true;
    c->forced_status = status;
    c->forced_kind = kind;
    c->forced_code = code ? xstrdup(code) : NULL;
    c->forced_message = message ? xstrdup(message) : NULL;
}

struct kit_call *kit_call_find(struct sbt_kit *kit, sb_request_id id)
{
    for (size_t i = 0; i < kit->n_calls; i++)
        if (kit->calls[i]->pub.id == id)
            return kit->calls[i];
    return NULL;
}

void kit_pending_push(struct sbt_kit *kit, struct kit_call *call, struct kit_walk *walk_end)
{
    KIT_PUSH(kit, pending, ((struct pending){call, walk_end}));
}

/* ---- canned answers ---- */

static bool matches(const struct canned *c, const char *method, const char *target)
{
    if (c->method && strcmp(c->method, method) != 0)
        return false;
    size_t len = strlen(c->match);
    if (len && c->match[len - 1] == '*')
        return strncmp(target, c->match, len - 1) == 0;
    return strcmp(target, c->match) == 0;
}

bool kit_canned_answer(struct canned **list, size_t *n, const char *method, const char *target,
                       struct canned *out)
{
    for (int once = 1; once >= 0; once--)
        for (size_t i = 0; i < *n; i++) {
            struct canned *c = &(*list)[i];
            if (c->once != (bool)once || !matches(c, method, target))
                continue;
            *out = *c;
            if (c->once) {
                /* Used up: the caller owns its strings now. */
                memmove(c, c + 1, (*n - i - 1) * sizeof *c);
                (*n)--;
            } else {
                out->method = out->method ? xstrdup(out->method) : NULL;
                out->match = xstrdup(out->match);
                out->content_type = out->content_type ? xstrdup(out->content_type) : NULL;
                out->body = out->body ? xstrdup(out->body) : NULL;
            }
            return true;
        }
    return false;
}

void kit_canned_free(struct canned *c)
{
    free(c->method);
    free(c->match);
    free(c->content_type);
    free(c->body);
}

int kit_canned_add(struct sbt_kit *kit, bool intercom, const char *method, const char *match,
                   bool once, int status, const char *content_type, const char *body)
{
    if (!match)
        return -1;
    if (intercom && body) {
        enum json_tokener_error jerr;
        json_object *check = json_tokener_parse_verbose(body, &jerr);
        if (!check && jerr != json_tokener_success)
            return -1;
        json_object_put(check);
    }
    struct canned c = {method ? xstrdup(method) : NULL, xstrdup(match), once, status,
                       content_type ? xstrdup(content_type) : NULL, body ? xstrdup(body) : NULL};
    if (intercom)
        KIT_PUSH(kit, intercom_canned, c);
    else
        KIT_PUSH(kit, outbound_canned, c);
    return 0;
}

/* ---- delivery ---- */

static void deliver_next(struct sbt_kit *kit)
{
    struct pending p = kit->pending[kit->pending_head++];
    if (p.walk_end)
        kit_walk_end_deliver(kit, p.walk_end);
    else if (p.call->service == CALL_OUTBOUND)
        kit_outbound_deliver(kit, p.call);
    else
        kit_intercom_deliver(kit, p.call);
}

size_t sbt_deliver_pending(sbt_kit *kit)
{
    size_t delivered = 0;
    /* Callbacks may queue more: the loop runs until the queue is empty. */
    while (kit->pending_head < kit->n_pending) {
        deliver_next(kit);
        delivered++;
    }
    kit->n_pending = kit->pending_head = 0;
    return delivered;
}

size_t sbt_pending_count(const sbt_kit *kit)
{
    return kit->n_pending - kit->pending_head;
}

static void call_free(struct kit_call *c)
{
    free(c->method);
    free(c->path);
    free(c->stream_path);
    free(c->raw_body);
    for (char **h = c->headers; *h; h++)
        free(*h);
    free(c->headers);
    free(c->forced_code);
    free(c->forced_message);
    json_object_put(c->pub.body);
    free(c);
}

void kit_calls_cancel(struct sbt_kit *kit)
{
    /* Callbacks may call again: those complete as cancelled too, in the same loop. */
    while (kit->started && sbt_pending_count(kit)) {
        for (size_t i = kit->pending_head; i < kit->n_pending; i++)
            if (kit->pending[i].call)
                kit_call_force(kit->pending[i].call, 0, SB_ERR_CANCELLED, "cancelled",
                               "shutting down");
        deliver_next(kit);
    }
    kit->n_pending = kit->pending_head = 0;
}

void kit_calls_free(struct sbt_kit *kit)
{
    for (size_t i = 0; i < kit->n_calls; i++)
        call_free(kit->calls[i]);
    free(kit->calls);
    free(kit->intercom_calls);
    free(kit->outbound_calls);
    free(kit->pending);
    kit_walks_free(kit);
    for (size_t i = 0; i < kit->n_intercom_canned; i++)
        kit_canned_free(&kit->intercom_canned[i]);
    free(kit->intercom_canned);
    for (size_t i = 0; i < kit->n_outbound_canned; i++)
        kit_canned_free(&kit->outbound_canned[i]);
    free(kit->outbound_canned);
    for (size_t i = 0; i < kit->n_allowed_hosts; i++)
        free(kit->allowed_hosts[i]);
    free(kit->allowed_hosts);
}

size_t sbt_intercom_count(const sbt_kit *kit)
{
    return kit->n_intercom_calls;
}

const sbt_call *sbt_intercom_call(const sbt_kit *kit, size_t i)
{
    return i < kit->n_intercom_calls ? &kit->intercom_calls[i]->pub : NULL;
}

size_t sbt_outbound_count(const sbt_kit *kit)
{
    return kit->n_outbound_calls;
}

const sbt_call *sbt_outbound_call(const sbt_kit *kit, size_t i)
{
    return i < kit->n_outbound_calls ? &kit->outbound_calls[i]->pub : NULL;
}

void kit_install_calls(sb_host *host)
{
    kit_install_intercom(host);
    kit_install_outbound(host);
}
