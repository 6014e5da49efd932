/*
 * hello - the smallest useful Switchboard plugin.
 *
 * When a customer starts a conversation, it leaves an internal note for the
 * team greeting them by name, and counts the conversations it has seen. Its
 * Canvas Kit panel shows the count; its product API answers GET /stats.
 *
 * It shows the shape every plugin has: a const descriptor, init/shutdown,
 * webhook events delivered as durable jobs (with SB_PENDING while an
 * Intercom call is under way), documents for state, a canvas and a route.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <switchboard/helpers.h>
#include <switchboard/switchboard.h>

struct hello {
    sb_plugin *self;
    const sb_host *host;
};

static const char *const topics[] = {"conversation.user.created", NULL};

static const sb_setting settings[] = {
    {.name = "greeting", .type = SB_SETTING_STRING, .default_value = "Say hello to",
     .description = "first words of the note"},
    {.name = NULL},
};

/* ---- state: one counter document per installation ---- */

static int64_t count_get(struct hello *h, sb_installation_id inst)
{
    json_object *doc = h->host->doc_get(h->self, inst, "stats", "conversations");
    int64_t n = doc ? json_object_get_int64(doc) : 0;
    json_object_put(doc);
    return n;
}

static void count_set(struct hello *h, sb_installation_id inst, int64_t n)
{
    json_object *doc = json_object_new_int64(n);
    h->host->doc_put(h->self, inst, "stats", "conversations", doc);
    json_object_put(doc);
}

/* ---- webhook: note on each new conversation ---- */

struct note_call {
    struct hello *h;
    sb_job_id job;
    sb_installation_id inst;
    char conversation[64];
};

static void note_posted(void *arg, const sb_intercom_response *res)
{
    struct note_call *c = arg;
    sb_result result = {0};
    sb_status status = SB_OK;
    if (res->kind != SB_ERR_NONE) {
        /* The host already retried what it safely could: its classifier says whether the job
           queue should back off (RETRY), give up (FAIL), or skip a deleted conversation. */
        status = c->h->host->result_from_error(c->h->self, res, "note", &result);
    } else {
        /* Record the note before counting it, so a retried job never posts twice. */
        json_object *done = json_object_new_boolean(1);
        c->h->host->doc_put(c->h->self, c->inst, "noted", c->conversation, done);
        json_object_put(done);
        count_set(c->h, c->inst, count_get(c->h, c->inst) + 1);
        c->h->host->audit(c->h->self, c->inst, c->conversation, "noted", "greeting note posted");
    }
    c->h->host->job_complete(c->h->self, c->job, status, &result);
    free(c);
}

static sb_status on_event(void *state, const sb_event *ev, sb_result *result)
{
    struct hello *h = state;
    json_object *id, *source, *author, *name;
    if (!json_object_object_get_ex(ev->item, "id", &id))
        return sb_result_set(result, SB_FAIL, "conversation without an id");
    const char *conversation = json_object_get_string(id);
    json_object *seen = h->host->doc_get(h->self, ev->installation, "noted", conversation);
    json_object_put(seen);
    if (seen)
        return SB_OK; /* a redelivery: the note is already there */

    const char *who = "the customer";
    if (json_object_object_get_ex(ev->item, "source", &source)
        && json_object_object_get_ex(source, "author", &author)
        && json_object_object_get_ex(author, "name", &name) && json_object_get_string_len(name))
        who = json_object_get_string(name);
    sb_installation inst;
    if (h->host->installation_get(h->self, ev->installation, &inst) != 0 || !inst.admin_id)
        return sb_result_set(result, SB_FAIL, "installation has no admin to write as");

    json_object *settings = h->host->settings_get(h->self, ev->installation), *greeting;
    json_object_object_get_ex(settings, "greeting", &greeting);
    /* Both come from outside (an integrator, a customer): escape them into the HTML. */
    char greeting_html[256], who_html[256], text[600];
    sb_html_escape_into(greeting_html, sizeof greeting_html, json_object_get_string(greeting));
    sb_html_escape_into(who_html, sizeof who_html, who);
    snprintf(text, sizeof text, "<p>%s %s.</p>", greeting_html, who_html);
    json_object_put(settings);

    json_object *body = json_object_new_object();
    json_object_object_add(body, "message_type", json_object_new_string("note"));
    json_object_object_add(body, "type", json_object_new_string("admin"));
    json_object_object_add(body, "admin_id", json_object_new_string(inst.admin_id));
    json_object_object_add(body, "body", json_object_new_string(text));
    /* The id becomes one path segment: escaped, it cannot reach another path. */
    char id_segment[192], path[256];
    if (sb_url_escape_into(id_segment, sizeof id_segment, conversation) >= sizeof id_segment) {
        json_object_put(body);
        return sb_result_set(result, SB_FAIL, "conversation id too long");
    }
    snprintf(path, sizeof path, "/conversations/%s/reply", id_segment);
    sb_intercom_request req = {.method = "POST", .path = path, .body = body};

    struct note_call *c = calloc(1, sizeof *c);
    if (!c) {
        json_object_put(body);
        return sb_result_set(result, SB_RETRY, "out of memory");
    }
    c->h = h;
    c->job = ev->job;
    c->inst = ev->installation;
    snprintf(c->conversation, sizeof c->conversation, "%s", conversation);
    h->host->intercom_request(h->self, ev->installation, &req, note_posted, c);
    json_object_put(body); /* the host serialized it already */
    return SB_PENDING;
}

/* ---- Canvas Kit: the inbox panel ---- */

static json_object *text_component(const char *text, const char *style)
{
    json_object *t = json_object_new_object();
    json_object_object_add(t, "type", json_object_new_string("text"));
    json_object_object_add(t, "text", json_object_new_string(text));
    json_object_object_add(t, "style", json_object_new_string(style));
    return t;
}

static sb_status canvas(void *state, const sb_canvas_request *req, sb_result *result)
{
    struct hello *h = state;
    (void)result;
    char line[128];
    snprintf(line, sizeof line, "%lld conversations greeted so far.",
             (long long)count_get(h, req->installation));
    json_object *components = json_object_new_array();
    json_object_array_add(components, text_component("Hello", "header"));
    json_object_array_add(components, text_component(line, "paragraph"));
    json_object *content = json_object_new_object();
    json_object_object_add(content, "components", components);
    json_object *canvas = json_object_new_object();
    json_object_object_add(canvas, "content", content);
    json_object *answer = json_object_new_object();
    json_object_object_add(answer, "canvas", canvas);
    h->host->respond(h->self, req->reply, 200, answer);
    json_object_put(answer); /* respond borrows the body: release our reference */
    return SB_OK;
}

/* ---- product API: GET /api/hello/stats?workspace_id=... ---- */

static sb_status route_stats(void *state, const sb_http_request *req, sb_result *result)
{
    struct hello *h = state;
    if (!req->installation) {
        result->http_status = 400;
        return sb_result_set(result, SB_FAIL, "give ?workspace_id=");
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "conversations",
                           json_object_new_int64(count_get(h, req->installation)));
    h->host->respond(h->self, req->reply, 200, o);
    json_object_put(o);
    return SB_OK;
}

static const sb_route routes[] = {
    {.method = "GET", .pattern = "/stats", .handler = route_stats},
    {.method = NULL},
};

/* ---- lifecycle ---- */

static sb_status init(sb_plugin *self, const sb_host *host, json_object *config, void **state,
                      sb_result *result)
{
    (void)config;
    struct hello *h = calloc(1, sizeof *h);
    if (!h)
        return sb_result_set(result, SB_FAIL, "out of memory");
    h->self = self;
    h->host = host;
    *state = h;
    host->log(self, SB_LOG_INFO, "hello plugin ready");
    return SB_OK;
}

static void shutdown_plugin(void *state)
{
    free(state);
}

static const sb_plugin_descriptor descriptor = {
    SB_DESCRIPTOR_HEADER,
    .name = "hello",
    .version = "1.0.0",
    .description = "Greets every new conversation with an internal note",
    .topics = topics,
    .routes = routes,
    .settings = settings,
    .init = init,
    .shutdown = shutdown_plugin,
    .on_event = on_event,
    .canvas = canvas,
};

SB_PLUGIN_ENTRY(descriptor)
