/* sd_webhook.c - conversation notifications, and the job that updates one ticket from them. */
#include "sd_webhook.h"

#include "sd_model.h"
#include "sd_records.h"
#include "sd_transcript.h"
#include "sd_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every conversation topic that can change a ticket's state, waiting time, contact or messages. */
const char *const sd_webhook_topics[] = {
    "conversation.user.created",     "conversation.admin.single.created",
    "conversation.user.replied",     "conversation.admin.replied",
    "conversation.operator.replied", "conversation.admin.noted",
    "conversation.admin.assigned",   "conversation.admin.open.assigned",
    "conversation.admin.closed",     "conversation.admin.opened",
    "conversation.admin.snoozed",    "conversation.admin.unsnoozed",
    "conversation.contact.attached", "conversation.contact.detached",
    NULL,
};

#define JOB_KEY_PREFIX "conversation:"
#define CONVERSATION_ID_MAX 32

/* Intercom's conversation ids are numbers (sent as strings); a notification is outside input. */
static bool conversation_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    return n > 0 && n <= CONVERSATION_ID_MAX && strspn(id, "0123456789") == n;
}

sb_status sd_on_event(void *state, const sb_event *event, sb_result *result)
{
    struct sd_plugin *sd = state;
    json_object *id_value = NULL;
    /* Intercom sends the id as a numeric string; accept a number too. */
    const char *id = json_object_object_get_ex(event->item, "id", &id_value)
                             && (json_object_is_type(id_value, json_type_string)
                                 || json_object_is_type(id_value, json_type_int))
                         ? json_object_get_string(id_value)
                         : NULL;
    if (!conversation_id_valid(id))
        return sb_result_set(result, SB_FAIL, "notification %s (%s) has no usable conversation id",
                             event->notification_id ? event->notification_id : "without id",
                             event->topic);
    json_object *payload = json_object_new_object();
    sb_json_add_str(payload, "conversation_id", id);
    sb_json_add_str(payload, "topic", event->topic);
    sb_json_add_str(payload, "notification_id", event->notification_id);
    char *key = pk_xasprintf(JOB_KEY_PREFIX "%s", id);
    sb_job_id job =
        sd->host->job_enqueue(sd->self, event->installation, SD_CONVERSATION_JOB, key, payload, 0);
    free(key);
    json_object_put(payload);
    if (!job)
        return sb_result_set(result, SB_RETRY, "cannot queue the update of conversation %s", id);
    return SB_OK;
}

/* ---- the job ---- */

struct update {
    struct sd_plugin *sd;
    sb_job_id job;
    sb_installation_id inst;
    char *conversation_id;
    char *workspace_id;
    char *region;
    struct sd_settings settings;
    struct sd_env env;
    struct sd_conversation conv;  /* parsed, while its contact is read */
};

static void update_free(struct update *u)
{
    sd_conversation_free(&u->conv);
    free(u->conversation_id);
    free(u->workspace_id);
    free(u->region);
    free(u);
}

static void finish(struct update *u, sb_status status, const char *fmt, ...) SB_PRINTF(3, 4);

static void finish(struct update *u, sb_status status, const char *fmt, ...)
{
    sb_result result = {0};
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(result.message, sizeof result.message, fmt, ap);
        va_end(ap);
    }
    u->sd->host->job_complete(u->sd->self, u->job, status, &result);
    update_free(u);
}

static bool cancelled(const sb_intercom_response *res)
{
    return res->error_code && strcmp(res->error_code, "cancelled") == 0;
}

/* Finish with how the host classifies a failed call (RETRY for 5xx, 429 and timeouts). */
static void finish_failed(struct update *u, const sb_intercom_response *res, const char *what)
{
    sb_result result = {0};
    sb_status status = u->sd->host->result_from_error(u->sd->self, res, what, &result);
    finish(u, status, "%s", result.message);
}

struct place_arg {
    struct update *u;
    const struct sd_contact *contact;
    enum sd_placement placed;
    char why[256];
};

static int place_tx(void *arg)
{
    struct place_arg *a = arg;
    a->placed = sd_place_ticket(&a->u->env, &a->u->conv, a->contact, a->why, sizeof a->why);
    return a->placed == SD_PLACE_FAILED ? 1 : 0;
}

static void place(struct update *u, const struct sd_contact *contact)
{
    struct place_arg a = {u, contact, SD_PLACE_FAILED, ""};
    int rc = u->sd->host->transaction(u->sd->self, place_tx, &a);
    if (rc != 0) {
        if (!u->conv.contact_id) {
            /* Nothing to key a ticket to: retrying reads the same conversation. */
            u->sd->host->log(u->sd->self, SB_LOG_INFO, "installation %lld: %s",
                             (long long)u->inst, a.why);
            finish(u, SB_OK, NULL);
            return;
        }
        finish(u, SB_RETRY, "%s", a.why[0] ? a.why : "cannot store the ticket");
        return;
    }
    u->sd->host->log(u->sd->self, SB_LOG_INFO,
                     "installation %lld: conversation %s (%s) brought up to date by a webhook",
                     (long long)u->inst, u->conv.id,
                     a.placed == SD_NOT_PLACED ? "skipped: no user matches its contact"
                                               : u->conv.state);
    finish(u, SB_OK, NULL);
}

static void contact_read(void *arg, const sb_intercom_response *res)
{
    struct update *u = arg;
    if (cancelled(res)) {
        update_free(u); /* shutting down: the job is queued again at the next start */
        return;
    }
    if (res->error_code && res->kind != SB_ERR_NOT_FOUND) {
        finish_failed(u, res, "reading a contact");
        return;
    }
    struct sd_contact contact = {0};
    if (!res->error_code && res->body && sd_contact_parse(res->body, &contact) == 0) {
        place(u, &contact);
        sd_contact_free(&contact);
        return;
    }
    /* As in a sync: a conversation whose contact is gone cannot become a ticket. */
    u->sd->host->log(u->sd->self, SB_LOG_WARN,
                     "installation %lld: contact %s of conversation %s no longer exists in "
                     "Intercom",
                     (long long)u->inst, u->conv.contact_id, u->conv.id);
    finish(u, SB_OK, NULL);
}

static bool user_exists(struct update *u, const char *id)
{
    if (!id || !sd_id_valid(id))
        return false;
    json_object *user = sd_get(u->sd, u->inst, SD_USERS, id);
    json_object_put(user);
    return user != NULL;
}

static void conversation_read(void *arg, const sb_intercom_response *res, int added)
{
    struct update *u = arg;
    if (cancelled(res)) {
        update_free(u);
        return;
    }
    if (res->error_code) {
        if (res->kind == SB_ERR_NOT_FOUND) {
            u->sd->host->log(u->sd->self, SB_LOG_INFO,
                             "installation %lld: conversation %s no longer exists in Intercom "
                             "(404); its ticket is left as it is",
                             (long long)u->inst, u->conversation_id);
            finish(u, SB_OK, NULL);
            return;
        }
        finish_failed(u, res, "reading a conversation");
        return;
    }
    if (added < 0) {
        finish(u, SB_RETRY, "cannot store the messages of conversation %s", u->conversation_id);
        return;
    }
    char err[128];
    if (sd_conversation_parse(res->body, &u->conv, err, sizeof err) != 0) {
        finish(u, SB_FAIL, "conversation %s: %s", u->conversation_id, err);
        return;
    }
    /* As a sync does: the contact is read only when the conversation's external id is no user's. */
    if (u->conv.contact_id && !user_exists(u, u->conv.contact_external_id)) {
        char *path = pk_xasprintf("/contacts/%s", u->conv.contact_id);
        sb_intercom_request req = {.method = "GET", .path = path};
        sb_request_id id = u->sd->host->intercom_request(u->sd->self, u->inst, &req, contact_read, u);
        free(path);
        if (!id)
            finish(u, SB_RETRY, "cannot read contact %s", u->conv.contact_id);
        return;
    }
    place(u, NULL);
}

sb_status sd_conversation_job(struct sd_plugin *sd, const sb_job *job, sb_result *result)
{
    const char *id = sb_json_str(job->payload, "conversation_id");
    if (!conversation_id_valid(id))
        return sb_result_set(result, SB_FAIL, "conversation job without a usable conversation id");
    sb_installation inst;
    if (sd->host->installation_get(sd->self, job->installation, &inst) != 0)
        return sb_result_set(result, SB_FAIL, "installation %lld is unknown",
                             (long long)job->installation);
    if (inst.state != SB_INSTALLATION_ACTIVE) {
        /* Intercom cannot be read now; the sync after the next install catches up. */
        sd->host->log(sd->self, SB_LOG_INFO,
                      "installation %lld is not active: conversation %s is left to the next sync",
                      (long long)job->installation, id);
        return SB_OK;
    }
    struct update *u = pk_xcalloc(1, sizeof *u);
    u->sd = sd;
    u->job = job->id;
    u->inst = job->installation;
    u->conversation_id = pk_xstrdup(id);
    u->workspace_id = pk_xstrdup(inst.workspace_id ? inst.workspace_id : "");
    u->region = pk_xstrdup(inst.region ? inst.region : "US");
    sd_settings_of(sd, u->inst, &u->settings);
    u->env = (struct sd_env){sd, u->inst, &u->settings, u->workspace_id, u->region, NULL};
    if (!sd_transcript_refresh(sd, u->inst, u->conversation_id, conversation_read, u)) {
        update_free(u);
        return sb_result_set(result, SB_RETRY, "cannot read conversation %s", id);
    }
    return SB_PENDING;
}
