/*
 * si_escalation.c - escalating a Siit request into an Intercom ticket.
 *
 * si_escalation_start checks the destination, ticket type and requester
 * against the settings and the last re-sync, stores the escalation (state
 * "queued") and queues its job, keyed by the request id so one request's
 * escalations run one at a time. The job takes four steps, each an Intercom
 * call whose completion records its result in the job's checkpoint:
 *
 *   contact  POST /contacts/search by email, else POST /contacts
 *   ticket   POST /tickets with the request's URL and a marker in its description
 *   assign   PUT /tickets/{id} with assignee_id (the team or the admin)
 *   link     the escalation is "created"; escalation.created goes to Siit
 *
 * A ticket is never created twice. Before POST /tickets is sent the
 * checkpoint says "ticket_requested"; that checkpoint commits when the
 * callback sending it returns, before the request can leave. If the job runs
 * again with ticket_requested set and no ticket id - the answer was lost, the
 * host crashed before the completion committed, or Intercom answered 5xx - it
 * first searches the requester's recent tickets (POST /tickets/search) for
 * the marker "[siit:<request id>:<escalation id>]" and takes the ticket it
 * finds; only when none carries it is the ticket created again.
 */
#include "si_escalation.h"

#include "plugin_kit.h"
#include "si_settings.h"
#include "si_timeline.h"
#include "si_workflow.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUBJECT_MAX 255
#define MESSAGE_MAX 10000
#define EMAIL_MAX 254
#define NAME_MAX_LEN 255
#define URL_MAX 2048
#define IDEMPOTENCY_KEY_MAX 200
/* The marker search looks at tickets created from this long before the first POST /tickets. */
#define MARKER_WINDOW_S 600

/* ---- checks ---- */

/* A spec member that is a non-empty string (an integer id is taken as its digits). */
static const char *spec_text(json_object *spec, const char *name, char *buf, size_t size)
{
    json_object *v = sb_json_get(spec, name);
    if (json_object_is_type(v, json_type_int)) {
        snprintf(buf, size, "%" PRId64, json_object_get_int64(v));
        return buf;
    }
    const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
    return s && *s ? s : NULL;
}

static bool is_present(json_object *spec, const char *name)
{
    return sb_json_get(spec, name) && !sb_json_is_null(spec, name);
}

static bool email_plausible(const char *email)
{
    const char *at = strchr(email, '@');
    return at && at != email && at[1] && !strchr(at + 1, '@') && strlen(email) <= EMAIL_MAX
           && !strpbrk(email, " \t\r\n<>\"");
}

static bool url_plausible(const char *url)
{
    return (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0)
           && strlen(url) <= URL_MAX && !strpbrk(url, " \t\r\n\"<>");
}

bool si_idempotency_key_valid(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    if (n == 0 || n > IDEMPOTENCY_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (key[i] < 0x21 || key[i] > 0x7e)
            return false;
    return true;
}

/* What an escalation will do, resolved from the spec, the request and the settings. */
struct plan {
    char team_buf[32], admin_buf[32], type_buf[32];
    const char *team_id, *admin_id, *ticket_type_id, *priority;
    const char *subject, *message, *email, *name;
    char *request_url; /* owned */
};

/* The destination: a selected, known and reachable team, or an admin. */
static sb_status check_destination(si_state *st, sb_installation_id inst,
                                   const struct si_settings *settings, struct plan *p,
                                   sb_result *result)
{
    if (p->team_id && p->admin_id)
        return pk_refuse(result, 400, "invalid_destination",
                         "give team_id or admin_id, not both");
    if (!p->team_id && !p->admin_id)
        return pk_refuse(result, 400, "destination_required",
                         "an escalation needs a destination: team_id or admin_id");
    if (p->admin_id)
        return si_id_valid(p->admin_id) ? SB_OK
                                        : pk_refuse(result, 400, "invalid_admin_id",
                                                    "admin_id is not an Intercom admin id");
    if (!si_id_valid(p->team_id))
        return pk_refuse(result, 400, "invalid_team_id", "team_id is not an Intercom team id");
    if (!si_team_selected(settings, p->team_id))
        return pk_refuse(result, 422, "team_not_selectable",
                         "team %s is not one of the teams selected for escalation; the "
                         "integrator selects them in the selectable_teams setting",
                         p->team_id);
    json_object *team = si_get(st, inst, SI_TEAMS, p->team_id);
    if (!team)
        return pk_refuse(result, 422, "unknown_team",
                         "team %s is not a team of this workspace as of the last re-sync; "
                         "re-sync teams (POST /api/siit/teams/sync)",
                         p->team_id);
    bool reachable = sb_json_bool(team, "reachable", false);
    json_object_put(team);
    if (!reachable)
        return pk_refuse(result, 422, "team_unreachable",
                         "the plugin's Intercom admin is not a member of team %s; update team "
                         "membership in Intercom, then re-sync teams",
                         p->team_id);
    return SB_OK;
}

/* The ticket type: given or the default, and not archived when the re-sync knows it. */
static sb_status check_ticket_type(si_state *st, sb_installation_id inst, struct plan *p,
                                   sb_result *result)
{
    if (!p->ticket_type_id)
        return pk_refuse(result, 422, "ticket_type_required",
                         "no ticket_type_id given and no default_ticket_type set "
                         "(GET /api/siit/ticket_types lists them)");
    if (!si_id_valid(p->ticket_type_id))
        return pk_refuse(result, 400, "invalid_ticket_type_id",
                         "ticket_type_id is not an Intercom ticket type id");
    json_object *type = si_get(st, inst, SI_TICKET_TYPES, p->ticket_type_id);
    bool known = type != NULL, archived = sb_json_bool(type, "archived", false);
    json_object_put(type);
    if (!known)
        return pk_refuse(result, 422, "unknown_ticket_type",
                         "ticket type %s is not a ticket type of this workspace as of the last "
                         "re-sync (GET /api/siit/ticket_types)",
                         p->ticket_type_id);
    if (archived)
        return pk_refuse(result, 422, "archived_ticket_type", "ticket type %s is archived",
                         p->ticket_type_id);
    return SB_OK;
}

/* Texts: the spec's, else what Siit reported about the request. */
static sb_status check_texts(json_object *spec, json_object *request, struct plan *p,
                             sb_result *result)
{
    static const char *const text_members[] = {"subject", "message", "priority",
                                               "request_url"};
    for (size_t i = 0; i < PK_ARRAY_LEN(text_members); i++)
        if (is_present(spec, text_members[i])
            && !json_object_is_type(sb_json_get(spec, text_members[i]), json_type_string))
            return pk_refuse(result, 400, "invalid_request", "%s must be a string",
                             text_members[i]);
    p->subject = spec_text(spec, "subject", NULL, 0);
    if (!p->subject)
        p->subject = sb_json_str(request, "subject");
    if (!p->subject || !*p->subject)
        return pk_refuse(result, 400, "subject_required", "an escalation needs a subject");
    if (strlen(p->subject) > SUBJECT_MAX)
        return pk_refuse(result, 400, "invalid_subject", "subject is longer than %d bytes",
                         SUBJECT_MAX);
    p->message = spec_text(spec, "message", NULL, 0);
    if (!p->message)
        p->message = sb_json_str(request, "description");
    if (!p->message)
        p->message = "";
    if (strlen(p->message) > MESSAGE_MAX)
        return pk_refuse(result, 400, "invalid_message", "message is longer than %d bytes",
                         MESSAGE_MAX);
    return SB_OK;
}

static sb_status check_requester(json_object *spec, json_object *request, struct plan *p,
                                 sb_result *result)
{
    json_object *requester = sb_json_get(spec, "requester");
    if (requester && !json_object_is_type(requester, json_type_object))
        return pk_refuse(result, 400, "invalid_requester",
                         "requester must be an object {email, name}");
    if (!requester)
        requester = sb_json_obj(request, "requester");
    p->email = sb_json_str(requester, "email");
    p->name = sb_json_str(requester, "name");
    if (!p->email)
        return pk_refuse(result, 400, "requester_required",
                         "an escalation needs the requester's email (requester.email)");
    if (!email_plausible(p->email))
        return pk_refuse(result, 400, "invalid_requester", "requester.email is not an email address");
    if (p->name && strlen(p->name) > NAME_MAX_LEN)
        return pk_refuse(result, 400, "invalid_requester", "requester.name is too long");
    return SB_OK;
}

static sb_status make_plan(si_state *st, sb_installation_id inst, const char *request_id,
                           json_object *spec, struct plan *p, sb_result *result)
{
    memset(p, 0, sizeof *p);
    if (spec && !json_object_is_type(spec, json_type_object))
        return pk_refuse(result, 400, "invalid_request", "the escalation must be a JSON object");
    struct si_settings settings;
    si_settings_parse(st->host->settings_get(st->self, inst), &settings);
    json_object *request = si_get(st, inst, SI_REQUESTS, request_id);
    p->team_id = spec_text(spec, "team_id", p->team_buf, sizeof p->team_buf);
    p->admin_id = spec_text(spec, "admin_id", p->admin_buf, sizeof p->admin_buf);
    p->ticket_type_id = spec_text(spec, "ticket_type_id", p->type_buf, sizeof p->type_buf);
    if (!p->ticket_type_id && *settings.default_ticket_type)
        p->ticket_type_id = settings.default_ticket_type;
    sb_status status = check_destination(st, inst, &settings, p, result);
    if (status == SB_OK)
        status = check_ticket_type(st, inst, p, result);
    if (status == SB_OK)
        status = check_texts(spec, request, p, result);
    if (status == SB_OK)
        status = check_requester(spec, request, p, result);
    if (status == SB_OK) {
        p->priority = spec_text(spec, "priority", NULL, 0);
        if (!p->priority)
            p->priority = sb_json_str(request, "priority");
        if (!p->priority)
            p->priority = settings.default_priority;
        if (!si_priority_valid(p->priority))
            status = pk_refuse(result, 400, "invalid_priority",
                               "priority must be low, medium, high or urgent");
    }
    if (status == SB_OK) {
        const char *url = spec_text(spec, "request_url", NULL, 0);
        if (!url)
            url = sb_json_str(request, "url");
        p->request_url = url ? pk_xstrdup(url) : si_request_url(&settings, request_id);
        if (!p->request_url)
            status = pk_refuse(result, 422, "request_url_unknown",
                               "no URL for request %s: pass request_url, report the request "
                               "with its url, or set the request_url_template setting",
                               request_id);
        else if (!url_plausible(p->request_url))
            status = pk_refuse(result, 400, "invalid_request_url",
                               "the request's URL must be an http(s) URL");
    }
    /* The plan's strings point into the settings and the request: copy what is kept now. */
    if (status == SB_OK) {
        p->team_id = p->team_id ? pk_xstrdup(p->team_id) : NULL;
        p->admin_id = p->admin_id ? pk_xstrdup(p->admin_id) : NULL;
        p->ticket_type_id = pk_xstrdup(p->ticket_type_id);
        p->priority = pk_xstrdup(p->priority);
        p->subject = pk_xstrdup(p->subject);
        p->message = pk_xstrdup(p->message);
        p->email = pk_xstrdup(p->email);
        p->name = p->name ? pk_xstrdup(p->name) : NULL;
    } else {
        free(p->request_url);
        memset(p, 0, sizeof *p);
    }
    json_object_put(request);
    si_settings_release(&settings);
    return status;
}

static void plan_free(struct plan *p)
{
    free((char *)p->team_id);
    free((char *)p->admin_id);
    free((char *)p->ticket_type_id);
    free((char *)p->priority);
    free((char *)p->subject);
    free((char *)p->message);
    free((char *)p->email);
    free((char *)p->name);
    free(p->request_url);
}

/* ---- starting ---- */

struct start {
    si_state *st;
    sb_installation_id inst;
    const char *request_id, *origin, *run_id, *idempotency_key;
    const struct plan *plan;
    char id[SI_ESCALATION_ID_SIZE];
};

static char *idempotency_doc_key(const char *request_id, const char *key)
{
    return pk_xasprintf("%s|%s", request_id, key);
}

static int store_escalation(void *arg)
{
    struct start *s = arg;
    si_state *st = s->st;
    int64_t n = si_counter_next(st, s->inst, "escalation");
    if (n == 0)
        return -1;
    snprintf(s->id, sizeof s->id, "esc_%" PRId64, n);
    const struct plan *p = s->plan;
    int64_t now = si_now_s(st);
    json_object *esc = json_object_new_object();
    sb_json_add_str(esc, "id", s->id);
    sb_json_add_str(esc, "request_id", s->request_id);
    sb_json_add_str(esc, "state", "queued");
    sb_json_add_str(esc, "origin", s->origin);
    sb_json_add_str(esc, "run_id", s->run_id);
    sb_json_add_str(esc, "team_id", p->team_id);
    sb_json_add_str(esc, "admin_id", p->admin_id);
    sb_json_add_str(esc, "ticket_type_id", p->ticket_type_id);
    sb_json_add_str(esc, "priority", p->priority);
    sb_json_add_str(esc, "subject", p->subject);
    sb_json_add_str(esc, "message", p->message);
    json_object *requester = json_object_new_object();
    sb_json_add_str(requester, "email", p->email);
    sb_json_add_str(requester, "name", p->name);
    json_object_object_add(esc, "requester", requester);
    sb_json_add_str(esc, "request_url", p->request_url);
    sb_json_add_int(esc, "created_at", now);
    sb_json_add_int(esc, "updated_at", now);
    if (si_put(st, s->inst, SI_ESCALATIONS, s->id, esc) != 0)
        return -1;
    char *link_key = pk_xasprintf("%s|%s", s->request_id, s->id);
    json_object *link = json_object_new_object();
    sb_json_add_str(link, "idempotency_key", s->idempotency_key);
    int rc = si_put(st, s->inst, SI_REQUEST_ESCALATIONS, link_key, link);
    free(link_key);
    if (rc != 0)
        return -1;
    if (s->idempotency_key) {
        char *key = idempotency_doc_key(s->request_id, s->idempotency_key);
        json_object *idem = json_object_new_object();
        sb_json_add_str(idem, "escalation_id", s->id);
        rc = si_put(st, s->inst, SI_IDEMPOTENCY, key, idem);
        free(key);
        if (rc != 0)
            return -1;
    }
    json_object *payload = json_object_new_object();
    sb_json_add_str(payload, "escalation_id", s->id);
    sb_job_id job = st->host->job_enqueue(st->self, s->inst, SI_JOB_ESCALATE, s->request_id,
                                          payload, 0);
    json_object_put(payload);
    if (job == 0)
        return -1;
    char text[SUBJECT_MAX + 128];
    snprintf(text, sizeof text, "escalation %s queued (%s) to %s %s", s->id, s->origin,
             p->team_id ? "team" : "admin", p->team_id ? p->team_id : p->admin_id);
    json_object *details = json_object_new_object();
    sb_json_add_str(details, "escalation_id", s->id);
    rc = si_timeline_add(st, s->inst, s->request_id, "escalation_queued", text, details);
    json_object_put(details);
    return rc;
}

sb_status si_escalation_start_keyed(si_state *st, sb_installation_id inst,
                                    const char *request_id, json_object *spec,
                                    const char *origin, const char *run_id,
                                    const char *idempotency_key, char *id_out, size_t id_size,
                                    bool *replayed, sb_result *result)
{
    if (replayed)
        *replayed = false;
    if (!si_id_valid(request_id))
        return pk_refuse(result, 400, "invalid_request_id",
                         "a request id is 1-%d characters of letters, digits, '_', '-' and '.'",
                         SI_REQUEST_ID_MAX);
    if (idempotency_key && !si_idempotency_key_valid(idempotency_key))
        return pk_refuse(result, 400, "invalid_idempotency_key",
                         "Idempotency-Key must be 1-%d visible ASCII characters",
                         IDEMPOTENCY_KEY_MAX);
    if (idempotency_key) {
        /* The same request and key: the escalation made the first time, nothing new. */
        char *key = idempotency_doc_key(request_id, idempotency_key);
        json_object *seen = si_get(st, inst, SI_IDEMPOTENCY, key);
        free(key);
        if (seen) {
            snprintf(id_out, id_size, "%s", sb_json_str(seen, "escalation_id"));
            json_object_put(seen);
            if (replayed)
                *replayed = true;
            return SB_OK;
        }
    }
    struct plan plan;
    if (make_plan(st, inst, request_id, spec, &plan, result) != SB_OK)
        return SB_FAIL;
    struct start s = {.st = st, .inst = inst, .request_id = request_id, .origin = origin,
                      .run_id = run_id, .idempotency_key = idempotency_key, .plan = &plan};
    int rc = st->host->transaction(st->self, store_escalation, &s);
    plan_free(&plan);
    if (rc != 0)
        return pk_refuse(result, 500, "store_error", "cannot store the escalation");
    snprintf(id_out, id_size, "%s", s.id);
    return SB_OK;
}

sb_status si_escalation_start(si_state *st, sb_installation_id inst, const char *request_id,
                              json_object *spec, const char *origin, const char *run_id,
                              char *id_out, size_t id_size, sb_result *result)
{
    return si_escalation_start_keyed(st, inst, request_id, spec, origin, run_id, NULL, id_out,
                                      id_size, NULL, result);
}

int si_escalation_send_link(si_state *st, sb_installation_id inst, json_object *esc,
                            bool relink)
{
    const char *request_id = sb_json_str(esc, "request_id");
    const char *ticket_id = sb_json_str(esc, "ticket_id");
    json_object *payload = json_object_new_object();
    sb_json_add_str(payload, "request_id", request_id);
    sb_json_add_str(payload, "escalation_id", sb_json_str(esc, "id"));
    sb_json_add_str(payload, "ticket_id", ticket_id);
    sb_json_add_str(payload, "ticket_url", sb_json_str(esc, "ticket_url"));
    if (relink)
        sb_json_add_bool(payload, "relinked", true);
    int rc = st->host->product_event(st->self, inst, "escalation.created", payload);
    char text[256];
    if (rc == 0)
        snprintf(text, sizeof text, "%slink to Intercom ticket %s sent to Siit (escalation.created)",
                 relink ? "re-" : "", ticket_id);
    else
        snprintf(text, sizeof text,
                 "the link to Intercom ticket %s could not be sent to Siit (no product webhook "
                 "is configured); re-link once it is",
                 ticket_id);
    si_timeline_add(st, inst, request_id, rc == 0 ? "link_sent" : "link_failed", text, payload);
    json_object_put(payload);
    return rc;
}

/* ---- the job ---- */

struct run {
    si_state *st;
    sb_job_id job;
    sb_installation_id inst;
    char id[SI_ESCALATION_ID_SIZE];
    json_object *esc;        /* the escalation document (owned) */
    json_object *checkpoint; /* contact_id, ticket_requested, requested_at, ticket_id, assigned */
    char *found_ticket;      /* the marker search's hit */
};

static void run_free(struct run *r)
{
    json_object_put(r->esc);
    json_object_put(r->checkpoint);
    free(r->found_ticket);
    free(r);
}

static const char *esc_str(struct run *r, const char *name)
{
    return sb_json_str(r->esc, name);
}

static const char *request_of(struct run *r)
{
    return esc_str(r, "request_id");
}

static void save_escalation(struct run *r)
{
    json_object_object_add(r->esc, "updated_at", json_object_new_int64(si_now_s(r->st)));
    r->st->host->doc_put(r->st->self, r->inst, SI_ESCALATIONS, r->id, r->esc);
}

static void save_checkpoint(struct run *r)
{
    r->st->host->job_checkpoint(r->st->self, r->job, r->checkpoint);
}

static void timeline(struct run *r, const char *kind, const char *text, json_object *details)
{
    si_timeline_add(r->st, r->inst, request_of(r), kind, text, details);
}

static void complete(struct run *r, sb_status status, const sb_result *result)
{
    r->st->host->job_complete(r->st->self, r->job, status, result);
    run_free(r);
}

static void workflow_done(struct run *r, bool created, const char *reason)
{
    const char *run_id = esc_str(r, "run_id");
    if (run_id)
        si_workflow_escalation_done(r->st, r->inst, run_id, r->id, created, reason);
}

/* A permanent failure: the escalation ends "failed", Siit and the workflow are told. */
static void fail_escalation(struct run *r, const sb_result *why)
{
    json_object_object_add(r->esc, "state", json_object_new_string("failed"));
    json_object_object_add(r->esc, "reason", json_object_new_string(why->message));
    json_object_object_add(r->esc, "code", json_object_new_string(why->code));
    save_escalation(r);
    json_object *details = json_object_new_object();
    sb_json_add_str(details, "request_id", request_of(r));
    sb_json_add_str(details, "escalation_id", r->id);
    sb_json_add_str(details, "reason", why->message);
    sb_json_add_str(details, "code", why->code);
    char text[sizeof why->message + 64];
    snprintf(text, sizeof text, "escalation %s failed: %s", r->id, why->message);
    timeline(r, "escalation_failed", text, details);
    r->st->host->product_event(r->st->self, r->inst, "escalation.failed", details);
    json_object_put(details);
    workflow_done(r, false, why->message);
    complete(r, SB_FAIL, why);
}

/* An Intercom call failed: retry what heals, fail the escalation on what does not. */
static void call_failed(struct run *r, const sb_intercom_response *response, const char *what)
{
    sb_result result = {0};
    sb_status status = r->st->host->result_from_error(r->st->self, response, what, &result);
    if (status == SB_RETRY) {
        /* Still queued; GET shows why it waits. The checkpoint keeps what is done. */
        json_object_object_add(r->esc, "last_error", json_object_new_string(result.message));
        save_escalation(r);
        complete(r, SB_RETRY, &result);
        return;
    }
    fail_escalation(r, &result);
}

static void next_step(struct run *r);

static void send(struct run *r, const char *method, const char *path, json_object *body,
                 unsigned flags, sb_intercom_cb cb)
{
    sb_intercom_request req = {.method = method, .path = path, .body = body, .flags = flags};
    if (!r->st->host->intercom_request(r->st->self, r->inst, &req, cb, r)) {
        sb_result result = {0};
        sb_result_set(&result, SB_RETRY, "cannot send %s %s", method, path);
        complete(r, SB_RETRY, &result);
    }
}

/* -- contact -- */

static void contact_known(struct run *r, const char *contact_id, bool created)
{
    json_object_object_add(r->checkpoint, "contact_id", json_object_new_string(contact_id));
    save_checkpoint(r);
    json_object_object_add(r->esc, "contact_id", json_object_new_string(contact_id));
    save_escalation(r);
    char text[EMAIL_MAX + 128];
    snprintf(text, sizeof text, "%s Intercom contact %s for %s", created ? "created" : "found",
             contact_id, sb_json_str(sb_json_obj(r->esc, "requester"), "email"));
    json_object *details = json_object_new_object();
    sb_json_add_str(details, "contact_id", contact_id);
    timeline(r, created ? "contact_created" : "contact_found", text, details);
    json_object_put(details);
    next_step(r);
}

static void on_contact_created(void *arg, const sb_intercom_response *response)
{
    struct run *r = arg;
    const char *id = sb_json_str(response->body, "id");
    if (response->kind != SB_ERR_NONE || !id) {
        call_failed(r, response, "creating the requester's contact (POST /contacts)");
        return;
    }
    contact_known(r, id, true);
}

static void on_contact_search(void *arg, const sb_intercom_response *response)
{
    struct run *r = arg;
    if (response->kind != SB_ERR_NONE) {
        call_failed(r, response, "searching the requester's contact (POST /contacts/search)");
        return;
    }
    json_object *data = sb_json_arr(response->body, "data");
    json_object *first = data && json_object_array_length(data) > 0
                             ? json_object_array_get_idx(data, 0)
                             : NULL;
    if (sb_json_str(first, "id")) {
        contact_known(r, sb_json_str(first, "id"), false);
        return;
    }
    json_object *requester = sb_json_obj(r->esc, "requester");
    json_object *body = json_object_new_object();
    sb_json_add_str(body, "role", "user");
    sb_json_add_str(body, "email", sb_json_str(requester, "email"));
    if (sb_json_str(requester, "name"))
        sb_json_add_str(body, "name", sb_json_str(requester, "name"));
    send(r, "POST", "/contacts", body, 0, on_contact_created);
    json_object_put(body);
}

static void find_contact(struct run *r)
{
    json_object *query = json_object_new_object();
    sb_json_add_str(query, "field", "email");
    sb_json_add_str(query, "operator", "=");
    sb_json_add_str(query, "value", sb_json_str(sb_json_obj(r->esc, "requester"), "email"));
    json_object *body = json_object_new_object();
    json_object_object_add(body, "query", query);
    send(r, "POST", "/contacts/search", body, SB_INTERCOM_RETRY_SAFE, on_contact_search);
    json_object_put(body);
}

/* -- ticket -- */

static char *marker_of(struct run *r)
{
    return pk_xasprintf("[siit:%s:%s]", request_of(r), r->id);
}

/* The ticket's description: the message, the priority, the request's link and the marker. */
static char *ticket_description(struct run *r)
{
    char *marker = marker_of(r);
    const char *message = esc_str(r, "message");
    char *text = pk_xasprintf("%s%sPriority: %s\nSiit request: %s\n\n%s",
                              message ? message : "", message && *message ? "\n\n" : "",
                              esc_str(r, "priority"), esc_str(r, "request_url"), marker);
    free(marker);
    return text;
}

static void ticket_known(struct run *r, const char *ticket_id, bool found)
{
    sb_installation inst;
    bool have_inst = r->st->host->installation_get(r->st->self, r->inst, &inst) == 0;
    /* A ticket opens in the inbox at the conversation URL of its id. */
    char *url = pk_conversation_link(have_inst ? inst.region : NULL,
                                     have_inst ? inst.workspace_id : NULL, ticket_id);
    json_object_object_add(r->checkpoint, "ticket_id", json_object_new_string(ticket_id));
    save_checkpoint(r);
    json_object_object_add(r->esc, "ticket_id", json_object_new_string(ticket_id));
    json_object_object_add(r->esc, "ticket_url", json_object_new_string(url));
    save_escalation(r);
    /* The ticket webhooks find their request through this. */
    json_object *link = json_object_new_object();
    sb_json_add_str(link, "request_id", request_of(r));
    sb_json_add_str(link, "escalation_id", r->id);
    si_put(r->st, r->inst, SI_TICKETS, ticket_id, link);
    char text[256];
    snprintf(text, sizeof text,
             found ? "Intercom ticket %s found by its marker after an interrupted creation "
                     "(not created again): %s"
                   : "created Intercom ticket %s: %s",
             ticket_id, url);
    json_object *details = json_object_new_object();
    sb_json_add_str(details, "escalation_id", r->id);
    sb_json_add_str(details, "ticket_id", ticket_id);
    sb_json_add_str(details, "ticket_url", url);
    timeline(r, "ticket_created", text, details);
    json_object_put(details);
    free(url);
    next_step(r);
}

static void on_ticket_created(void *arg, const sb_intercom_response *response)
{
    struct run *r = arg;
    const char *id = sb_json_str(response->body, "id");
    if (response->kind != SB_ERR_NONE || !id) {
        call_failed(r, response, "creating the ticket (POST /tickets)");
        return;
    }
    ticket_known(r, id, false);
}

static int64_t checkpoint_int(struct run *r, const char *name)
{
    return sb_json_int(r->checkpoint, name, 0);
}

static void create_ticket(struct run *r)
{
    /* Commits when this callback returns, before the request leaves (see the top). */
    json_object_object_add(r->checkpoint, "ticket_requested", json_object_new_boolean(1));
    json_object_object_add(r->checkpoint, "requested_at", json_object_new_int64(si_now_s(r->st)));
    save_checkpoint(r);
    json_object *body = json_object_new_object();
    sb_json_add_str(body, "ticket_type_id", esc_str(r, "ticket_type_id"));
    json_object *contact = json_object_new_object();
    sb_json_add_str(contact, "id", sb_json_str(r->checkpoint, "contact_id"));
    json_object *contacts = json_object_new_array();
    json_object_array_add(contacts, contact);
    json_object_object_add(body, "contacts", contacts);
    json_object *attributes = json_object_new_object();
    sb_json_add_str(attributes, "_default_title_", esc_str(r, "subject"));
    char *description = ticket_description(r);
    sb_json_add_str(attributes, "_default_description_", description);
    free(description);
    json_object_object_add(body, "ticket_attributes", attributes);
    send(r, "POST", "/tickets", body, 0, on_ticket_created);
    json_object_put(body);
}

static sb_status on_marker_page(void *arg, const sb_intercom_response *page, json_object *items,
                                const char *next_cursor)
{
    struct run *r = arg;
    (void)page;
    (void)next_cursor;
    char *marker = marker_of(r);
    size_t n = items ? json_object_array_length(items) : 0;
    for (size_t i = 0; i < n && !r->found_ticket; i++) {
        json_object *ticket = json_object_array_get_idx(items, i);
        const char *description =
            sb_json_str(sb_json_obj(ticket, "ticket_attributes"), "_default_description_");
        if (description && strstr(description, marker) && sb_json_str(ticket, "id"))
            r->found_ticket = pk_xstrdup(sb_json_str(ticket, "id"));
    }
    free(marker);
    return r->found_ticket ? SB_FAIL : SB_OK; /* found: stop the walk */
}

static void on_marker_search(void *arg, const sb_intercom_response *response)
{
    struct run *r = arg;
    if (r->found_ticket) {
        char *id = pk_xstrdup(r->found_ticket);
        ticket_known(r, id, true);
        free(id);
        return;
    }
    if (response->kind != SB_ERR_NONE) {
        call_failed(r, response, "looking for a ticket already created (POST /tickets/search)");
        return;
    }
    create_ticket(r); /* no ticket carries the marker: the first attempt did not create one */
}

static void find_ticket_by_marker(struct run *r)
{
    json_object *by_contact = json_object_new_object();
    sb_json_add_str(by_contact, "field", "contact_ids");
    sb_json_add_str(by_contact, "operator", "=");
    sb_json_add_str(by_contact, "value", sb_json_str(r->checkpoint, "contact_id"));
    json_object *since = json_object_new_object();
    sb_json_add_str(since, "field", "created_at");
    sb_json_add_str(since, "operator", ">");
    sb_json_add_int(since, "value", checkpoint_int(r, "requested_at") - MARKER_WINDOW_S);
    json_object *filters = json_object_new_array();
    json_object_array_add(filters, by_contact);
    json_object_array_add(filters, since);
    json_object *query = json_object_new_object();
    sb_json_add_str(query, "operator", "AND");
    json_object_object_add(query, "value", filters);
    json_object *pagination = json_object_new_object();
    sb_json_add_int(pagination, "per_page", 150);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "query", query);
    json_object_object_add(body, "pagination", pagination);
    sb_intercom_request req = {.method = "POST", .path = "/tickets/search", .body = body,
                               .flags = SB_INTERCOM_RETRY_SAFE};
    if (!r->st->host->intercom_paginate(r->st->self, r->inst, &req, NULL, on_marker_page,
                                        on_marker_search, r)) {
        sb_result result = {0};
        sb_result_set(&result, SB_RETRY, "cannot send POST /tickets/search");
        complete(r, SB_RETRY, &result);
    }
    json_object_put(body);
}

/* -- assignment -- */

static void on_assigned(void *arg, const sb_intercom_response *response)
{
    struct run *r = arg;
    const char *team_id = esc_str(r, "team_id");
    const char *to = team_id ? team_id : esc_str(r, "admin_id");
    char text[320];
    if (response->kind != SB_ERR_NONE) {
        sb_result result = {0};
        if (r->st->host->result_from_error(r->st->self, response, "assigning the ticket",
                                           &result)
            == SB_RETRY) {
            call_failed(r, response, "assigning the ticket (PUT /tickets/{id})");
            return;
        }
        /* The ticket exists: it stays linked, unassigned, and the timeline says why. */
        json_object_object_add(r->esc, "assignment_error", json_object_new_string(result.message));
        snprintf(text, sizeof text, "could not assign ticket %s to %s %s: %s",
                 sb_json_str(r->checkpoint, "ticket_id"), team_id ? "team" : "admin", to,
                 result.message);
        timeline(r, "assignment_failed", text, NULL);
    } else {
        snprintf(text, sizeof text, "assigned ticket %s to %s %s",
                 sb_json_str(r->checkpoint, "ticket_id"), team_id ? "team" : "admin", to);
        json_object *details = json_object_new_object();
        sb_json_add_str(details, team_id ? "team_id" : "admin_id", to);
        timeline(r, "ticket_assigned", text, details);
        json_object_put(details);
    }
    json_object_object_add(r->checkpoint, "assigned", json_object_new_boolean(1));
    save_checkpoint(r);
    next_step(r);
}

static void assign(struct run *r)
{
    const char *team_id = esc_str(r, "team_id");
    json_object *body = json_object_new_object();
    sb_json_add_str(body, "assignee_id", team_id ? team_id : esc_str(r, "admin_id"));
    /* The admin the change is attributed to: the installing admin (an integer in the API). */
    sb_installation inst;
    if (r->st->host->installation_get(r->st->self, r->inst, &inst) == 0 && inst.admin_id) {
        char *end = NULL;
        long long admin = strtoll(inst.admin_id, &end, 10);
        if (*inst.admin_id && !*end)
            sb_json_add_int(body, "admin_id", admin);
    }
    char *path = pk_xasprintf("/tickets/%s", sb_json_str(r->checkpoint, "ticket_id"));
    send(r, "PUT", path, body, SB_INTERCOM_RETRY_SAFE, on_assigned);
    free(path);
    json_object_put(body);
}

/* -- done -- */

static void finish_created(struct run *r)
{
    json_object_object_add(r->esc, "state", json_object_new_string("created"));
    json_object_object_del(r->esc, "last_error");
    save_escalation(r);
    si_escalation_send_link(r->st, r->inst, r->esc, false);
    workflow_done(r, true, NULL);
    sb_result result = {0};
    complete(r, SB_OK, &result);
}

static void next_step(struct run *r)
{
    if (!sb_json_str(r->checkpoint, "contact_id"))
        find_contact(r);
    else if (!sb_json_str(r->checkpoint, "ticket_id")) {
        if (sb_json_bool(r->checkpoint, "ticket_requested", false))
            find_ticket_by_marker(r);
        else
            create_ticket(r);
    } else if (!sb_json_bool(r->checkpoint, "assigned", false))
        assign(r);
    else
        finish_created(r);
}

sb_status si_escalation_on_job(si_state *st, const sb_job *job, sb_result *result)
{
    const char *id = sb_json_str(job->payload, "escalation_id");
    json_object *esc = id ? si_get(st, job->installation, SI_ESCALATIONS, id) : NULL;
    if (!esc) {
        result->http_status = 404;
        return sb_result_set(result, SB_FAIL, "escalation %s is gone", id ? id : "(none)");
    }
    if (!pk_str_eq(sb_json_str(esc, "state"), "queued")) {
        json_object_put(esc); /* already created or failed: a replayed job has nothing to do */
        return SB_OK;
    }
    struct run *r = pk_xcalloc(1, sizeof *r);
    r->st = st;
    r->job = job->id;
    r->inst = job->installation;
    snprintf(r->id, sizeof r->id, "%s", id);
    r->esc = esc;
    r->checkpoint = json_object_is_type(job->checkpoint, json_type_object)
                        ? json_tokener_parse(json_object_to_json_string(job->checkpoint))
                        : NULL;
    if (!r->checkpoint)
        r->checkpoint = json_object_new_object();
    next_step(r);
    return SB_PENDING;
}
