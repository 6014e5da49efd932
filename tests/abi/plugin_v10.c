/*
 * plugin_v10 - a plugin built against the frozen ABI 1.0 header
 * (tests/abi/switchboard-1.0), as a plugin compiled before 1.1 and never
 * rebuilt would be. It must load and run on the current host: its arrays
 * are walked with 1.0 strides, the structs it allocates are read and
 * written only as far as 1.0 had them, and respond() takes its body.
 * tests/integration/test_abi.py drives it; under the sanitizers any read or
 * write past a 1.0 struct, a leak or a double free fails the run.
 */
#include <stdlib.h>
#include <string.h>
#include <switchboard/switchboard.h>

#if SB_ABI_MINOR != 0
#error "plugin_v10 must be built against the frozen 1.0 header"
#endif

struct state {
    sb_plugin *self;
    const sb_host *host;
};

static const char *const modes[] = {"calm", "busy", NULL};

static const sb_setting settings[] = {
    {.name = "loud", .type = SB_SETTING_BOOL, .default_value = "true", .description = "a bool"},
    {.name = "tick_every_s", .type = SB_SETTING_INT, .default_value = "3600", .min = 1,
     .max = 86400, .description = "interval of the tick schedule"},
    {.name = "greeting", .type = SB_SETTING_STRING, .default_value = "hello"},
    {.name = "mode", .type = SB_SETTING_ENUM, .default_value = "calm", .allowed = modes},
    {.name = "channels", .type = SB_SETTING_STRING_LIST, .default_value = "email,chat"},
    {.name = "api_token", .type = SB_SETTING_STRING, .flags = SB_SETTING_SENSITIVE,
     .description = "never shown"},
    {.name = NULL},
};

static const sb_schedule schedules[] = {
    {.name = "tick", .interval_s = 3600, .interval_setting = "tick_every_s", .setting_unit_s = 1},
    {.name = NULL},
};

/* Bytes that must survive installation_get: the host may write only a 1.0 sb_installation. */
#define CANARY_BYTE 0xA5
#define CANARY_LEN 64

static int canary_intact(const unsigned char *canary)
{
    for (size_t i = 0; i < CANARY_LEN; i++)
        if (canary[i] != CANARY_BYTE)
            return 0;
    return 1;
}

static sb_status fail(sb_result *result, int http_status, const char *message)
{
    result->http_status = http_status;
    return sb_result_set(result, SB_FAIL, "%s", message);
}

/* ---- routes ---- */

static sb_status route_hello(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    (void)result;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "hello", json_object_new_string("from ABI 1.0"));
    s->host->respond(s->self, req->reply, 200, o); /* 1.0: respond takes the reference */
    return SB_OK;
}

static sb_status route_installation(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    if (!req->installation)
        return fail(result, 400, "give ?workspace_id=");
    struct {
        sb_installation inst;
        unsigned char canary[CANARY_LEN];
    } out;
    memset(&out.inst, 0, sizeof out.inst);
    memset(out.canary, CANARY_BYTE, sizeof out.canary);
    if (s->host->installation_get(s->self, req->installation, &out.inst) != 0)
        return fail(result, 500, "installation_get failed");
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(out.inst.id));
    json_object_object_add(o, "workspace_id", json_object_new_string(out.inst.workspace_id));
    json_object_object_add(o, "region", json_object_new_string(out.inst.region));
    json_object_object_add(o, "state", json_object_new_int(out.inst.state));
    json_object_object_add(o, "canary_intact", json_object_new_boolean(canary_intact(out.canary)));
    s->host->respond(s->self, req->reply, 200, o);
    return SB_OK;
}

static sb_status route_settings(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    (void)result;
    s->host->respond(s->self, req->reply, 200, s->host->settings_get(s->self, req->installation));
    return SB_OK;
}

struct call {
    struct state *s;
    sb_reply_token reply;
};

static void me_done(void *arg, const sb_intercom_response *res)
{
    struct call *c = arg;
    json_object *o = json_object_new_object(), *type = NULL;
    json_object_object_add(o, "status", json_object_new_int(res->status));
    if (res->body && json_object_object_get_ex(res->body, "type", &type))
        json_object_object_add(o, "type", json_object_get(type));
    c->s->host->respond(c->s->self, c->reply, 200, o);
    free(c);
}

static sb_status route_intercom(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    if (!req->installation)
        return fail(result, 400, "give ?workspace_id=");
    /* Exactly a 1.0 request on the heap: a host reading further trips the sanitizer. */
    sb_intercom_request *call = malloc(sizeof *call);
    struct call *c = malloc(sizeof *c);
    if (!call || !c) {
        free(call);
        free(c);
        return fail(result, 500, "out of memory");
    }
    *call = (sb_intercom_request){.method = "GET", .path = "/me"};
    c->s = s;
    c->reply = req->reply;
    sb_request_id id = s->host->intercom_request(s->self, req->installation, call, me_done, c);
    free(call);
    if (!id) {
        free(c);
        return fail(result, 500, "intercom_request refused the call");
    }
    return SB_PENDING;
}

static sb_status route_job(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    if (!req->installation)
        return fail(result, 400, "give ?workspace_id=");
    sb_job_id id = s->host->job_enqueue(s->self, req->installation, "finish_later", NULL, NULL, 0);
    if (!id)
        return fail(result, 500, "job_enqueue failed");
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64((int64_t)id));
    s->host->respond(s->self, req->reply, 201, o);
    return SB_OK;
}

static sb_status route_ticks(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    (void)result;
    json_object *ticks = s->host->doc_get(s->self, req->installation, "state", "ticks");
    json_object *o = json_object_new_object();
    json_object_object_add(o, "ticks", ticks ? ticks : json_object_new_int(0));
    s->host->respond(s->self, req->reply, 200, o);
    return SB_OK;
}

static const sb_route routes[] = {
    {"GET", "/hello", route_hello, SB_ROUTE_PUBLIC},
    {"GET", "/installation", route_installation, 0},
    {"GET", "/settings", route_settings, 0},
    {"POST", "/intercom", route_intercom, 0},
    {"POST", "/jobs", route_job, 0},
    {"GET", "/ticks", route_ticks, 0},
    {NULL, NULL, NULL, 0},
};

/* ---- jobs ---- */

struct completion {
    struct state *s;
    sb_job_id job;
};

static void complete_later(void *arg)
{
    struct completion *done = arg;
    /* Exactly a 1.0 result on the heap: the host must not read a 1.1 member beyond it. */
    sb_result *result = calloc(1, sizeof *result);
    if (result) {
        result->http_status = 404;
        sb_result_set(result, SB_FAIL, "v10 job: the conversation is gone");
        done->s->host->job_complete(done->s->self, done->job, SB_FAIL, result);
        free(result);
    }
    free(done);
}

static sb_status on_job(void *state, const sb_job *job, sb_result *result)
{
    struct state *s = state;
    if (strcmp(job->type, "tick") == 0) {
        json_object *ticks = s->host->doc_get(s->self, job->installation, "state", "ticks");
        json_object *next = json_object_new_int64((ticks ? json_object_get_int64(ticks) : 0) + 1);
        json_object_put(ticks);
        int rc = s->host->doc_put(s->self, job->installation, "state", "ticks", next);
        json_object_put(next);
        return rc == 0 ? SB_OK : sb_result_set(result, SB_RETRY, "doc_put failed");
    }
    if (strcmp(job->type, "finish_later") == 0) {
        struct completion *done = malloc(sizeof *done);
        if (!done)
            return sb_result_set(result, SB_RETRY, "out of memory");
        done->s = s;
        done->job = job->id;
        if (!s->host->timer_add(s->self, 10, complete_later, done)) {
            free(done);
            return sb_result_set(result, SB_RETRY, "timer_add failed");
        }
        return SB_PENDING;
    }
    return sb_result_set(result, SB_FAIL, "unknown job type %s", job->type);
}

/* ---- lifecycle ---- */

static sb_status init(sb_plugin *self, const sb_host *host, json_object *config, void **state,
                      sb_result *result)
{
    (void)config;
    struct state *s = calloc(1, sizeof *s);
    if (!s)
        return sb_result_set(result, SB_FAIL, "out of memory");
    s->self = self;
    s->host = host;
    *state = s;
    return SB_OK;
}

static void shutdown_plugin(void *state)
{
    free(state);
}

static const sb_plugin_descriptor descriptor = {
    SB_DESCRIPTOR_HEADER,
    .name = "plugin_v10",
    .version = "1.0.7",
    .description = "Built against the frozen ABI 1.0 header",
    .routes = routes,
    .settings = settings,
    .schedules = schedules,
    .init = init,
    .shutdown = shutdown_plugin,
    .on_job = on_job,
};

SB_PLUGIN_ENTRY(descriptor)
