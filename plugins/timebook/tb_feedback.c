/* tb_feedback.c - trigger tags in notifications become feedback tickets (see tb_feedback.h). */
#include "tb_feedback.h"

#include "tb_settings.h"
#include "tb_ticket.h"
#include "tb_triggers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FEEDBACK_EVENT "feedback.created"

/* One notification's work while the conversation is fetched. */
struct work {
    struct tb_plugin *tb;
    sb_installation_id inst;
    sb_job_id job;
    char *conversation_id;
    json_object *applications; /* the applications that counted when the notification came */
};

static void work_free(struct work *w)
{
    free(w->conversation_id);
    json_object_put(w->applications);
    free(w);
}

char *tb_inbox_key(const char *product, int64_t created_ms, const char *ticket_id)
{
    return pk_xasprintf("%s|%013lld|%s", product, (long long)created_ms, ticket_id);
}

char *tb_inbox_tag_key(const char *product, const char *tag_id, int64_t created_ms,
                       const char *ticket_id)
{
    return pk_xasprintf("%s|%s|%013lld|%s", product, tag_id, (long long)created_ms, ticket_id);
}

static char *pair_key(const char *conversation_id, const char *tag_id)
{
    return pk_xasprintf("%s|%s", conversation_id, tag_id);
}

static bool ticket_exists(struct tb_plugin *tb, sb_installation_id inst, const char *conv,
                          const char *tag)
{
    char *key = pair_key(conv, tag);
    json_object *doc = tb_get(tb, inst, TB_FEEDBACK, key);
    free(key);
    json_object_put(doc);
    return doc != NULL;
}

/* The applications that make a new ticket now: trigger tags, applied late enough, no ticket yet. */
static json_object *counting(struct tb_plugin *tb, sb_installation_id inst, const char *conv,
                             json_object *applications)
{
    json_object *out = pk_xchecked(json_object_new_array());
    for (size_t i = 0; i < json_object_array_length(applications); i++) {
        json_object *a = json_object_array_get_idx(applications, i);
        const char *tag = sb_json_str(a, "tag_id");
        if (!tb_trigger_counts(tb_trigger_since_ms(tb, inst, tag),
                               sb_json_int(a, "applied_at", -1))
            || ticket_exists(tb, inst, conv, tag))
            continue;
        json_object_array_add(out, json_object_get(a));
    }
    return out;
}

/* The ticket, its inbox entries and its product event: written together, once. */
static int create_ticket(struct tb_plugin *tb, sb_installation_id inst, const char *product,
                         json_object *conversation, json_object *application,
                         const sb_installation *installation)
{
    const char *conv = sb_json_str(conversation, "id");
    const char *tag = sb_json_str(application, "tag_id");
    char *link = pk_conversation_link(installation->region, installation->workspace_id, conv);
    struct tb_ticket_facts facts = {
        .product = product,
        .tag_id = tag,
        .tag_name = sb_json_str(application, "tag_name"),
        .applied_at = sb_json_int(application, "applied_at", 0),
        .part_id = sb_json_str(application, "part_id"),
        .link = link,
        .created_ms = tb_now_ms(tb),
    };
    json_object *ticket = tb_ticket_build(conversation, &facts);
    free(link);
    const char *id = sb_json_str(ticket, "id");
    char *key = pair_key(conv, tag);
    char *inbox = tb_inbox_key(product, facts.created_ms, id);
    char *by_tag = tb_inbox_tag_key(product, tag, facts.created_ms, id);
    json_object *entry = pk_xchecked(json_object_new_object());
    sb_json_add_str(entry, "key", key);
    int rc = 0;
    if (tb->host->doc_put(tb->self, inst, TB_FEEDBACK, key, ticket) != 0
        || tb->host->doc_put(tb->self, inst, TB_INBOX, inbox, entry) != 0
        || tb->host->doc_put(tb->self, inst, TB_INBOX_TAGS, by_tag, entry) != 0)
        rc = -1;
    /* Without a product webhook the ticket still lands in the inbox the product API shows. */
    if (rc == 0 && tb->host->product_event(tb->self, inst, FEEDBACK_EVENT, ticket) != 0)
        tb->host->log(tb->self, SB_LOG_WARN,
                      "installation %lld: ticket %s stored, but no feedback.created event was "
                      "queued (is product.webhook_url configured?)",
                      (long long)inst, id);
    if (rc == 0) {
        char detail[256];
        snprintf(detail, sizeof detail, "ticket %s in product %s (tag %s)", id, product, tag);
        tb->host->audit(tb->self, inst, "feedback", "created", detail);
    }
    json_object_put(entry);
    json_object_put(ticket);
    free(key);
    free(inbox);
    free(by_tag);
    return rc;
}

struct create_args {
    struct work *w;
    const char *product;
    json_object *conversation;
    json_object *applications;
    const sb_installation *installation;
};

static int create_all(void *arg)
{
    struct create_args *a = arg;
    for (size_t i = 0; i < json_object_array_length(a->applications); i++)
        if (create_ticket(a->w->tb, a->w->inst, a->product, a->conversation,
                          json_object_array_get_idx(a->applications, i), a->installation)
            != 0)
            return -1;
    return 0;
}

static void complete(struct work *w, sb_status status, const sb_result *result)
{
    w->tb->host->job_complete(w->tb->self, w->job, status, result);
    work_free(w);
}

static void on_conversation(void *arg, const sb_intercom_response *res)
{
    struct work *w = arg;
    struct tb_plugin *tb = w->tb;
    sb_result result = {0};
    if (res->kind != SB_ERR_NONE) {
        sb_status st = tb->host->result_from_error(tb->self, res, "reading the conversation",
                                                   &result);
        complete(w, st, &result);
        return;
    }
    sb_installation inst;
    struct tb_settings s;
    tb_settings_of(tb, w->inst, &s);
    /* Settings may have changed while the conversation was read: decide again. */
    json_object *now_counting = counting(tb, w->inst, w->conversation_id, w->applications);
    sb_status st = SB_OK;
    if (json_object_array_length(now_counting) > 0) {
        if (!tb_product_valid(s.product)) {
            st = sb_result_fail(&result, SB_FAIL, "no_product",
                                "feedback needs the product setting ([A-Za-z0-9_.-], 1-64 bytes)");
        } else if (!pk_str_eq(sb_json_str(res->body, "id"), w->conversation_id)) {
            st = sb_result_fail(&result, SB_RETRY, "bad_answer",
                                "Intercom answered another conversation than %s",
                                w->conversation_id);
        } else if (tb->host->installation_get(tb->self, w->inst, &inst) != 0) {
            st = sb_result_fail(&result, SB_RETRY, "store_error", "cannot read the installation");
        } else {
            struct create_args args = {w, s.product, res->body, now_counting, &inst};
            if (tb->host->transaction(tb->self, create_all, &args) != 0)
                st = sb_result_fail(&result, SB_RETRY, "store_error",
                                    "cannot store the feedback of conversation %s",
                                    w->conversation_id);
        }
    }
    json_object_put(now_counting);
    tb_settings_free(&s);
    complete(w, st, &result);
}

sb_status tb_feedback_event(struct tb_plugin *tb, const sb_event *event, sb_result *result)
{
    json_object *item = event->item;
    if (!pk_str_eq(sb_json_str(item, "type"), "conversation"))
        return SB_OK; /* not a conversation: nothing tagged */
    const char *conv = sb_json_str(item, "id");
    if (!tb_conversation_id_valid(conv))
        return sb_result_fail(result, SB_FAIL, "bad_notification",
                              "the notification's conversation id is missing or malformed");
    struct tb_settings s;
    tb_settings_of(tb, event->installation, &s);
    bool product_ok = tb_product_valid(s.product);
    tb_settings_free(&s);
    json_object *applications = tb_tag_applications(item, event->topic, event->created_at);
    json_object *now_counting = counting(tb, event->installation, conv, applications);
    json_object_put(applications);
    if (json_object_array_length(now_counting) == 0) {
        json_object_put(now_counting);
        return SB_OK;
    }
    if (!product_ok) {
        json_object_put(now_counting);
        tb->host->audit(tb->self, event->installation, "feedback", "no_product",
                        "a trigger tag was applied but the product setting is empty or invalid");
        return sb_result_fail(result, SB_FAIL, "no_product",
                              "feedback needs the product setting ([A-Za-z0-9_.-], 1-64 bytes)");
    }
    struct work *w = pk_xcalloc(1, sizeof *w);
    w->tb = tb;
    w->inst = event->installation;
    w->job = event->job;
    w->conversation_id = pk_xstrdup(conv);
    w->applications = now_counting;
    char *path = pk_xasprintf("/conversations/%s?display_as=plaintext", conv);
    sb_intercom_request req = {.method = "GET", .path = path};
    sb_request_id id = tb->host->intercom_request(tb->self, event->installation, &req,
                                                  on_conversation, w);
    free(path);
    if (!id) {
        work_free(w);
        return sb_result_fail(result, SB_RETRY, "host_refused", "cannot read the conversation");
    }
    return SB_PENDING;
}
