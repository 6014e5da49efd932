/*
 * outbound.c - outbound_request() checked against the test's allow-list with
 * the host's own checks, URL grammar and matcher (core/outbound_checks.c and
 * core/outbound_hosts.c, compiled in): a refused call completes with
 * SB_ERR_NOT_ALLOWED and is not recorded as sent. Allowed calls are
 * recorded and answered like Intercom's.
 */
#include "calls.h"

#include "outbound_checks.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The response and the header lines its header() accessor reads. */
struct outbound_answer {
    sb_outbound_response response;
    const char *const *headers;
};

static const char *response_header(const sb_outbound_response *response, const char *name)
{
    if (!response || !name)
        return NULL;
    const struct outbound_answer *a = (const struct outbound_answer *)(const void *)response;
    size_t n = strlen(name);
    for (size_t i = 0; a->headers && a->headers[i]; i++) {
        const char *line = a->headers[i];
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *value = line + n + 1;
            while (*value == ' ' || *value == '\t')
                value++;
            return value;
        }
    }
    return NULL;
}

/* The host's checks before anything may leave (core/outbound_checks.c); NULL if the call may go. */
static const char *refusal(struct sbt_kit *kit, const sb_outbound_request *req, char *why,
                           size_t why_len)
{
    struct outbound_host *hosts = xcalloc(kit->n_allowed_hosts + 1, sizeof *hosts);
    size_t n = 0;
    for (size_t i = 0; i < kit->n_allowed_hosts; i++)
        if (outbound_host_parse(kit->allowed_hosts[i], &hosts[n], why, why_len))
            n++;
        else
            kit_log(kit, SB_LOG_ERROR, "sbt_outbound_allow(\"%s\"): %s", kit->allowed_hosts[i], why);
    struct outbound_checked checked;
    const char *problem = outbound_request_problem(req, hosts, n, kit->desc.name, &checked, why,
                                                   why_len);
    free(hosts);
    return problem;
}

static sb_request_id h_outbound_request(sb_plugin *self, const sb_outbound_request *req,
                                        sb_outbound_cb cb, void *arg)
{
    struct sbt_kit *kit = kit_of(self, "outbound_request");
    if (!kit)
        return 0;
    if (!req || !cb || !req->method || !req->url || (req->body_len && !req->body)) {
        kit_log(kit, SB_LOG_WARN, "outbound_request without a request, method, URL, body or callback");
        return 0;
    }
    struct kit_call *c = kit_call_new(kit, CALL_OUTBOUND, 0, req->method, req->url, NULL);
    kit_call_set_raw(c, req->body, req->body_len, req->headers);
    c->outbound_cb = cb;
    c->arg = arg;
    char why[OUTBOUND_HOST_MAX + 256];
    const char *problem = refusal(kit, req, why, sizeof why);
    if (problem) {
        kit_log(kit, SB_LOG_WARN, "outbound %s refused: %s", req->method, problem);
        kit_call_force(c, 0, SB_ERR_NOT_ALLOWED, NULL, problem);
    } else {
        KIT_PUSH(kit, outbound_calls, c);
    }
    kit_pending_push(kit, c, NULL);
    return c->pub.id;
}

static void h_outbound_cancel(sb_plugin *self, sb_request_id id)
{
    struct sbt_kit *kit = kit_of(self, "outbound_cancel");
    struct kit_call *c = kit ? kit_call_find(kit, id) : NULL;
    if (c && c->service == CALL_OUTBOUND && !c->delivered) {
        c->pub.cancelled = true;
        kit_call_force(c, 0, SB_ERR_CANCELLED, NULL, "cancelled");
    }
}

void kit_outbound_deliver(struct sbt_kit *kit, struct kit_call *c)
{
    if (c->delivered)
        return;
    c->delivered = true;
    sbt_answer given = {0};
    struct canned canned;
    bool have_canned = false;
    static const char *const no_headers[] = {NULL};
    char content_type_line[256];
    const char *canned_headers[2] = {NULL, NULL};
    if (c->forced) {
        given.status = c->forced_status;
    } else if (kit->outbound_responder
               && kit->outbound_responder(kit->outbound_responder_arg, &c->pub, &given)) {
        /* the test's answer */
    } else if (kit_canned_answer(&kit->outbound_canned, &kit->n_outbound_canned, c->method,
                                 c->path, &canned)) {
        have_canned = true;
        given.status = canned.status;
        given.body = canned.body;
        if (canned.content_type) {
            snprintf(content_type_line, sizeof content_type_line, "Content-Type: %s",
                     canned.content_type);
            canned_headers[0] = content_type_line;
            given.headers = canned_headers;
        }
    } else {
        kit_log(kit, SB_LOG_INFO, "sbt: no answer for outbound %s; answering 404", c->method);
        given.status = 404;
    }
    struct outbound_answer a = {.headers = given.headers ? given.headers : no_headers};
    const char *body = given.body ? given.body : "";
    sb_error_kind kind = c->forced ? c->forced_kind : outbound_kind_for_status(given.status);
    char message[64];
    snprintf(message, sizeof message, "HTTP %d", given.status);
    a.response = (sb_outbound_response){
        .request = c->pub.id,
        .status = given.status,
        .kind = kind,
        .error_message = kind == SB_ERR_NONE ? NULL
                         : c->forced && c->forced_message ? c->forced_message
                                                          : message,
        .body = body,
        .body_len = strlen(body),
        .header = response_header,
    };
    a.response.content_type = response_header(&a.response, "Content-Type");
    if (kind == SB_ERR_RATE_LIMITED || kind == SB_ERR_SERVER_ERROR) {
        const char *retry = response_header(&a.response, "Retry-After");
        a.response.retry_after_s = given.retry_after_s ? given.retry_after_s
                                   : retry ? (uint32_t)strtoul(retry, NULL, 10) : 0;
    }
    const char *ct = a.response.content_type;
    if (*body && outbound_is_json_type(ct))
        a.response.json = json_tokener_parse(body);
    c->outbound_cb(c->arg, &a.response);
    json_object_put(a.response.json);
    if (have_canned)
        kit_canned_free(&canned);
}

void kit_install_outbound(sb_host *host)
{
    host->outbound_request = h_outbound_request;
    host->outbound_cancel = h_outbound_cancel;
}

void sbt_outbound_allow(sbt_kit *kit, const char *host)
{
    if (host)
        KIT_PUSH(kit, allowed_hosts, xstrdup(host));
}

int sbt_outbound_on(sbt_kit *kit, const char *method, const char *url, int status,
                    const char *content_type, const char *body)
{
    return kit_canned_add(kit, false, method, url, false, status, content_type, body);
}

int sbt_outbound_once(sbt_kit *kit, const char *method, const char *url, int status,
                      const char *content_type, const char *body)
{
    return kit_canned_add(kit, false, method, url, true, status, content_type, body);
}

void sbt_outbound_responder(sbt_kit *kit, sbt_responder fn, void *arg)
{
    kit->outbound_responder = fn;
    kit->outbound_responder_arg = arg;
}
