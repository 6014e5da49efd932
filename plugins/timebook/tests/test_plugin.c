/*
 * timebook on the SDK's testing kit, with the built timebook.so loaded as the
 * host loads it: trigger tags applied before and after enabling, repeated and
 * re-applied tags, non-trigger tags, the contact import in pages with its
 * checkpoint and a resume, webhooks racing the import, turning the sync off,
 * and the product API's answers and refusals.
 */
#include "unit.h"

#include "plugin_kit.h"

#include <switchboard/helpers.h>
#include <switchboard/testing.h>

#define T0_MS 1800000000000LL /* the kit's clock for these tests */
#define T0 (T0_MS / 1000)

static sbt_kit *kit;
static sb_installation_id inst;

static void setup(void)
{
    char err[256];
    kit = sbt_open(TIMEBOOK_SO, err, sizeof err);
    if (!kit || sbt_start(kit, "{}") != SB_OK) {
        fprintf(stderr, "timebook did not start: %s\n", kit ? sbt_result(kit)->message : err);
        exit(2);
    }
    sbt_clock_set(kit, T0_MS);
    inst = sbt_install(kit, "ws1");
}

static void settings(const char *json)
{
    if (sbt_settings_set(kit, inst, json) != 0) {
        fprintf(stderr, "settings %s: %s\n", json, sbt_result(kit)->message);
        exit(2);
    }
}

static const char *error_code(const sbt_reply *r)
{
    return sb_json_str(sb_json_obj(r->json, "error"), "code");
}

/* A conversation_part.tag.created item: conversation 123 tagged with @tag at @applied_at. */
static char *tag_item(const char *tag, long long applied_at)
{
    return pk_xasprintf(
        "{\"type\":\"conversation\",\"id\":\"123\",\"created_at\":%lld,"
        "\"conversation_parts\":{\"type\":\"conversation_part.list\",\"conversation_parts\":["
        "{\"type\":\"conversation_part\",\"id\":\"901\",\"part_type\":\"comment\","
        "\"body\":\"<p>Also CSV</p>\",\"created_at\":%lld,\"tags\":[]}],\"total_count\":1},"
        "\"tags\":{\"type\":\"tag.list\",\"tags\":[{\"type\":\"tag\",\"id\":\"%s\",\"name\":\"T\","
        "\"applied_at\":%lld,\"applied_by\":{\"type\":\"admin\",\"id\":\"1\"}}]},"
        "\"tags_added\":{\"type\":\"tag.list\",\"tags\":[{\"type\":\"tag\",\"id\":\"%s\","
        "\"name\":\"T\",\"applied_at\":%lld}]}}",
        (long long)T0 - 500, (long long)T0 - 400, tag, applied_at, tag, applied_at);
}

static const char *conversation_json =
    "{\"type\":\"conversation\",\"id\":\"123\",\"created_at\":1799999500,"
    "\"source\":{\"type\":\"conversation\",\"id\":\"900\",\"subject\":\"\","
    "\"body\":\"Export does nothing\",\"author\":{\"type\":\"user\",\"id\":\"c1\","
    "\"name\":\"Ann\",\"email\":\"ann@example.com\"}},"
    "\"contacts\":{\"type\":\"contact.list\",\"contacts\":[{\"type\":\"contact\",\"id\":\"c1\"}]},"
    "\"conversation_parts\":{\"type\":\"conversation_part.list\",\"conversation_parts\":["
    "{\"type\":\"conversation_part\",\"id\":\"901\",\"body\":\"Also CSV\",\"created_at\":1799999600,"
    "\"author\":{\"type\":\"user\",\"id\":\"c1\",\"name\":\"Ann\"}}],\"total_count\":1}}";

static sb_job_id tag_webhook(const char *tag, long long applied_at)
{
    char *item = tag_item(tag, applied_at);
    sb_job_id job = sbt_webhook(kit, inst, "conversation_part.tag.created", item);
    free(item);
    sbt_deliver_pending(kit);
    return job;
}

static void feedback_setup(void)
{
    setup();
    sbt_intercom_on(kit, "GET", "/conversations/123?display_as=plaintext", 200, conversation_json);
    settings("{\"sync_feedback\":true,\"trigger_tags\":[\"9\"],\"product\":\"roadmap\"}");
}

static void a_trigger_tag_makes_one_ticket_however_often_it_comes(void)
{
    feedback_setup();
    sb_job_id job = tag_webhook("9", T0 + 5);
    CHECK_INT(sbt_job_get(kit, job)->state, SBT_JOB_DONE);
    CHECK_INT(sbt_intercom_count(kit), 1);
    CHECK_STR(sbt_intercom_call(kit, 0)->path, "/conversations/123?display_as=plaintext");
    CHECK_INT(sbt_doc_count(kit, inst, "feedback"), 1);
    CHECK_INT(sbt_product_event_count(kit), 1);
    const sbt_product_event *ev = sbt_product_event_at(kit, 0);
    CHECK_STR(ev->type, "feedback.created");
    CHECK_STR(sb_json_str(ev->payload, "id"), "123-9");
    CHECK_STR(sb_json_str(sb_json_obj(ev->payload, "contact"), "email"), "ann@example.com");
    CHECK_STR(sb_json_str(sb_json_obj(ev->payload, "first_message"), "text"), "Export does nothing");
    CHECK_STR(sb_json_str(sb_json_obj(ev->payload, "tagged_part"), "text"), "Also CSV");
    CHECK_INT(sb_json_int(ev->payload, "tagged_at", 0), T0 + 5);
    /* The same notification again, and the tag removed and applied again later. */
    tag_webhook("9", T0 + 5);
    sbt_clock_advance(kit, 60000);
    job = tag_webhook("9", T0 + 60);
    CHECK_INT(sbt_job_get(kit, job)->state, SBT_JOB_DONE);
    CHECK_INT(sbt_doc_count(kit, inst, "feedback"), 1);
    CHECK_INT(sbt_product_event_count(kit), 1);
    CHECK_INT(sbt_intercom_count(kit), 1); /* nothing to read for a ticket that exists */
    sbt_free(kit);
}

static void tags_before_enabling_and_other_tags_make_nothing(void)
{
    feedback_setup();
    tag_webhook("9", T0 - 1);    /* applied before the tag became a trigger */
    tag_webhook("10", T0 + 5);   /* not a trigger */
    CHECK_INT(sbt_doc_count(kit, inst, "feedback"), 0);
    CHECK_INT(sbt_product_event_count(kit), 0);
    CHECK_INT(sbt_intercom_count(kit), 0);
    /* Tag 10 made a trigger later: an application before that still counts for nothing. */
    sbt_clock_advance(kit, 100000);
    settings("{\"trigger_tags\":[\"9\",\"10\"]}");
    tag_webhook("10", T0 + 50);
    CHECK_INT(sbt_doc_count(kit, inst, "feedback"), 0);
    tag_webhook("10", T0 + 100);
    CHECK_INT(sbt_doc_count(kit, inst, "feedback"), 1);
    sbt_free(kit);
}

static void disabling_and_enabling_again_moves_the_moment(void)
{
    feedback_setup();
    sbt_clock_advance(kit, 10000);
    settings("{\"sync_feedback\":false}");
    sbt_clock_advance(kit, 10000);
    settings("{\"sync_feedback\":true}"); /* tag 9 is a trigger again from T0 + 20 */
    tag_webhook("9", T0 + 15);
    CHECK_INT(sbt_doc_count(kit, inst, "feedback"), 0);
    tag_webhook("9", T0 + 20);
    CHECK_INT(sbt_doc_count(kit, inst, "feedback"), 1);
    const sbt_reply *r = sbt_api(kit, "GET", "/sync?workspace_id=ws1", NULL);
    CHECK_INT(r->status, 200);
    json_object *triggers = sb_json_arr(sb_json_obj(r->json, "feedback"), "triggers");
    CHECK_INT(json_object_array_length(triggers), 1);
    CHECK_INT(sb_json_int(json_object_array_get_idx(triggers, 0), "since", 0), T0 + 20);
    sbt_free(kit);
}

static void a_failed_read_retries_and_then_makes_the_ticket_once(void)
{
    setup();
    settings("{\"sync_feedback\":true,\"trigger_tags\":[\"9\"],\"product\":\"roadmap\"}");
    sbt_intercom_once(kit, "GET", "/conversations/123?display_as=plaintext", 503,
                      "{\"type\":\"error.list\",\"errors\":[{\"code\":\"server_error\"}]}");
    sbt_intercom_on(kit, "GET", "/conversations/123?display_as=plaintext", 200, conversation_json);
    sb_job_id job = tag_webhook("9", T0 + 1);
    CHECK_INT(sbt_job_get(kit, job)->state, SBT_JOB_QUEUED);
    CHECK_INT(sbt_doc_count(kit, inst, "feedback"), 0);
    sbt_clock_advance(kit, 60000);
    sbt_run_due(kit);
    sbt_deliver_pending(kit);
    CHECK_INT(sbt_job_get(kit, job)->state, SBT_JOB_DONE);
    CHECK_INT(sbt_doc_count(kit, inst, "feedback"), 1);
    CHECK_INT(sbt_product_event_count(kit), 1);
    sbt_free(kit);
}

static void the_inbox_lists_newest_first_by_tag_and_refuses_bad_input(void)
{
    feedback_setup();
    settings("{\"trigger_tags\":[\"9\",\"10\"]}");
    tag_webhook("9", T0 + 1);
    sbt_clock_advance(kit, 1000);
    tag_webhook("10", T0 + 2);
    const sbt_reply *r = sbt_api(kit, "GET", "/products/roadmap/feedback?workspace_id=ws1&limit=1", NULL);
    CHECK_INT(r->status, 200);
    json_object *items = sb_json_arr(r->json, "feedback");
    CHECK_INT(json_object_array_length(items), 1);
    CHECK_STR(sb_json_str(json_object_array_get_idx(items, 0), "id"), "123-10");
    char *next = pk_xstrdup(sb_json_str(r->json, "next") ? sb_json_str(r->json, "next") : "");
    /* The cursor goes into a query: escaped, as a client must. */
    char *e = sb_url_escape(next);
    char *escaped = pk_xasprintf("/products/roadmap/feedback?workspace_id=ws1&limit=1&cursor=%s", e);
    free(e);
    r = sbt_api(kit, "GET", escaped, NULL);
    CHECK_INT(r->status, 200);
    items = sb_json_arr(r->json, "feedback");
    CHECK_INT(json_object_array_length(items), 1);
    CHECK_STR(sb_json_str(json_object_array_get_idx(items, 0), "id"), "123-9");
    CHECK(sb_json_is_null(r->json, "next"));
    free(escaped);
    free(next);
    r = sbt_api(kit, "GET", "/products/roadmap/feedback?workspace_id=ws1&tag=9", NULL);
    items = sb_json_arr(r->json, "feedback");
    CHECK_INT(json_object_array_length(items), 1);
    CHECK_STR(sb_json_str(json_object_array_get_idx(items, 0), "id"), "123-9");
    r = sbt_api(kit, "GET", "/products/other/feedback?workspace_id=ws1", NULL);
    CHECK_INT(json_object_array_length(sb_json_arr(r->json, "feedback")), 0);
    r = sbt_api(kit, "GET", "/feedback/123-9?workspace_id=ws1", NULL);
    CHECK_INT(r->status, 200);
    CHECK_STR(sb_json_str(r->json, "product"), "roadmap");
    r = sbt_api(kit, "GET", "/feedback/123-77?workspace_id=ws1", NULL);
    CHECK_INT(r->status, 404);
    CHECK_STR(error_code(r), "unknown_feedback");
    r = sbt_api(kit, "GET", "/feedback/..%2Fx?workspace_id=ws1", NULL);
    CHECK_INT(r->status, 404);
    r = sbt_api(kit, "GET", "/products/roadmap/feedback?workspace_id=ws1&limit=0", NULL);
    CHECK_INT(r->status, 400);
    CHECK_STR(error_code(r), "invalid_limit");
    r = sbt_api(kit, "GET", "/products/roadmap/feedback?workspace_id=ws1&cursor=zzz", NULL);
    CHECK_INT(r->status, 400);
    CHECK_STR(error_code(r), "invalid_cursor");
    r = sbt_api(kit, "GET", "/products/a%7Cb/feedback?workspace_id=ws1", NULL);
    CHECK_INT(r->status, 400);
    CHECK_STR(error_code(r), "invalid_product");
    r = sbt_api(kit, "GET", "/feedback/123-9", NULL);
    CHECK_INT(r->status, 400); /* the host: installation_required */
    sbt_free(kit);
}

/* ---- contacts ---- */

/* Deliver answers and fire due timers (the import stores a page on a timer) until all is quiet. */
static void settle(void)
{
    while (sbt_deliver_pending(kit) + sbt_clock_advance(kit, 0) > 0)
        ;
}

static char *contact_json(int n, long long updated_at)
{
    return pk_xasprintf("{\"type\":\"contact\",\"id\":\"c%04d\",\"role\":\"%s\","
                        "\"email\":\"User%d@Example.com\",\"name\":\"User %d\","
                        "\"created_at\":%lld,\"updated_at\":%lld}",
                        n, n % 2 ? "lead" : "user", n, n, updated_at, updated_at);
}

/* A page of GET /contacts: contacts [from, to), with a next cursor unless it is the last. */
static char *contacts_page(int from, int to, int total, const char *next)
{
    char *items = pk_xstrdup("");
    for (int i = from; i < to; i++) {
        char *c = contact_json(i, T0 - 1000);
        char *joined = pk_xasprintf("%s%s%s", items, i > from ? "," : "", c);
        free(items);
        free(c);
        items = joined;
    }
    char *pages = next ? pk_xasprintf("{\"type\":\"pages\",\"next\":{\"per_page\":150,"
                                      "\"starting_after\":\"%s\"}}", next)
                       : pk_xstrdup("{\"type\":\"pages\"}");
    char *page = pk_xasprintf("{\"type\":\"list\",\"data\":[%s],\"total_count\":%d,\"pages\":%s}",
                              items, total, pages);
    free(items);
    free(pages);
    return page;
}

static void queue_page(const char *path, int from, int to, int total, const char *next)
{
    char *page = contacts_page(from, to, total, next);
    sbt_intercom_once(kit, "GET", path, 200, page);
    free(page);
}

static const sbt_job *import_job(void)
{
    for (size_t i = sbt_job_count(kit); i-- > 0;)
        if (strcmp(sbt_job_at(kit, i)->type, "contacts_import") == 0)
            return sbt_job_at(kit, i);
    return NULL;
}

static void the_import_walks_every_page_and_counts_progress(void)
{
    setup();
    queue_page("/contacts?per_page=150", 0, 3, 5, "CUR1");
    queue_page("/contacts?per_page=150&starting_after=CUR1", 3, 5, 5, NULL);
    settings("{\"sync_contacts\":true}");
    CHECK(import_job() != NULL);
    sbt_run_due(kit);
    settle();
    CHECK_INT(import_job()->state, SBT_JOB_DONE);
    CHECK_INT(sbt_doc_count(kit, inst, "contacts"), 5);
    const sbt_reply *r = sbt_api(kit, "GET", "/sync?workspace_id=ws1", NULL);
    json_object *c = sb_json_obj(r->json, "contacts");
    CHECK_STR(sb_json_str(c, "state"), "live");
    CHECK_INT(sb_json_int(c, "done", -1), 5);
    CHECK_INT(sb_json_int(c, "total", -1), 5);
    r = sbt_api(kit, "GET", "/contacts?workspace_id=ws1&email=user3%40example.COM", NULL);
    CHECK_INT(r->status, 200);
    CHECK_INT(json_object_array_length(sb_json_arr(r->json, "contacts")), 1);
    CHECK_STR(sb_json_str(json_object_array_get_idx(sb_json_arr(r->json, "contacts"), 0), "id"),
              "c0003");
    r = sbt_api(kit, "GET", "/contacts?workspace_id=ws1&limit=2", NULL);
    CHECK_INT(json_object_array_length(sb_json_arr(r->json, "contacts")), 2);
    CHECK_STR(sb_json_str(r->json, "next"), "c0001");
    r = sbt_api(kit, "GET", "/contacts?workspace_id=ws1&limit=10&cursor=c0001", NULL);
    CHECK_INT(json_object_array_length(sb_json_arr(r->json, "contacts")), 3);
    CHECK(sb_json_is_null(r->json, "next"));
    sbt_free(kit);
}

static void a_retried_import_resumes_from_its_checkpoint(void)
{
    setup();
    queue_page("/contacts?per_page=150", 0, 3, 6, "CUR1");
    sbt_intercom_once(kit, "GET", "/contacts?per_page=150&starting_after=CUR1", 500,
                      "{\"type\":\"error.list\",\"errors\":[{\"code\":\"server_error\"}]}");
    settings("{\"sync_contacts\":true}");
    sbt_run_due(kit);
    settle();
    const sbt_job *job = import_job();
    CHECK_INT(job->state, SBT_JOB_QUEUED); /* RETRY */
    CHECK_STR(sb_json_str(job->checkpoint, "cursor"), "CUR1");
    CHECK_INT(sb_json_int(job->checkpoint, "done", -1), 3);
    const sbt_reply *r = sbt_api(kit, "GET", "/sync?workspace_id=ws1", NULL);
    CHECK_CONTAINS(sb_json_str(sb_json_obj(r->json, "contacts"), "error"), "reading contacts");
    CHECK_INT(sb_json_int(sb_json_obj(r->json, "contacts"), "done", -1), 3);
    size_t calls = sbt_intercom_count(kit);
    queue_page("/contacts?per_page=150&starting_after=CUR1", 3, 6, 6, NULL);
    sbt_clock_advance(kit, 3600 * 1000);
    sbt_run_due(kit);
    settle();
    CHECK_INT(import_job()->state, SBT_JOB_DONE);
    /* The first page was not read again. */
    CHECK_STR(sbt_intercom_call(kit, calls)->path, "/contacts?per_page=150&starting_after=CUR1");
    CHECK_INT(sbt_doc_count(kit, inst, "contacts"), 6);
    r = sbt_api(kit, "GET", "/sync?workspace_id=ws1", NULL);
    CHECK(sb_json_is_null(sb_json_obj(r->json, "contacts"), "error"));
    sbt_free(kit);
}

static sb_job_id contact_webhook(const char *topic, const char *item, int64_t created_at)
{
    (void)created_at;
    sb_job_id job = sbt_webhook(kit, inst, topic, item);
    settle();
    return job;
}

static void webhooks_win_over_older_pages_and_deletions_stay(void)
{
    setup();
    queue_page("/contacts?per_page=150", 0, 2, 4, "CUR1");
    sbt_intercom_once(kit, "GET", "/contacts?per_page=150&starting_after=CUR1", 500,
                      "{\"type\":\"error.list\",\"errors\":[{\"code\":\"server_error\"}]}");
    settings("{\"sync_contacts\":true}");
    sbt_run_due(kit);
    settle(); /* page 1 stored; page 2 failed: read again later */
    /* During the import: contact 2 is updated (newer than page 2's copy), contact 3 deleted. */
    char *newer = pk_xasprintf("{\"type\":\"contact\",\"id\":\"c0002\",\"role\":\"user\","
                               "\"email\":\"new@example.com\",\"name\":\"Renamed\","
                               "\"created_at\":%lld,\"updated_at\":\"2027-01-15T08:00:00.500+00:00\"}",
                               (long long)T0 - 1000);
    contact_webhook("contact.user.updated", newer, T0);
    free(newer);
    contact_webhook("contact.deleted", "{\"type\":\"contact\",\"id\":\"c0003\",\"deleted\":true}", T0);
    /* A new contact appears by webhook. */
    char *fresh = contact_json(9, T0);
    contact_webhook("contact.lead.created", fresh, T0);
    free(fresh);
    /* Page 2, read now, still has the versions from before the webhooks. */
    queue_page("/contacts?per_page=150&starting_after=CUR1", 2, 4, 4, NULL);
    sbt_clock_advance(kit, 3600 * 1000);
    sbt_run_due(kit);
    settle();
    CHECK_INT(import_job()->state, SBT_JOB_DONE);
    json_object *c2 = NULL;
    const sbt_reply *r = sbt_api(kit, "GET", "/contacts?workspace_id=ws1&email=new%40example.com", NULL);
    c2 = json_object_array_get_idx(sb_json_arr(r->json, "contacts"), 0);
    CHECK_STR(sb_json_str(c2, "name"), "Renamed");
    r = sbt_api(kit, "GET", "/contacts?workspace_id=ws1&email=user2%40example.com", NULL);
    CHECK_INT(json_object_array_length(sb_json_arr(r->json, "contacts")), 0); /* old address gone */
    r = sbt_api(kit, "GET", "/contacts?workspace_id=ws1&email=user3%40example.com", NULL);
    CHECK_INT(json_object_array_length(sb_json_arr(r->json, "contacts")), 0); /* stays deleted */
    CHECK_INT(sbt_doc_count(kit, inst, "contacts"), 4); /* 0, 1, 2 and 9 */
    /* An update delivered twice changes nothing and duplicates nothing. */
    fresh = contact_json(9, T0);
    contact_webhook("contact.lead.updated", fresh, T0);
    contact_webhook("contact.lead.updated", fresh, T0);
    free(fresh);
    CHECK_INT(sbt_doc_count(kit, inst, "contacts"), 4);
    CHECK_INT(sbt_doc_count(kit, inst, "contact_emails"), 4);
    sbt_free(kit);
}

static void turning_the_sync_off_stops_the_import_and_drops_the_mirror(void)
{
    setup();
    /* Off while the first page is being read: the walk is cancelled and its job ends. */
    settings("{\"sync_contacts\":true}");
    sbt_run_due(kit);
    settings("{\"sync_contacts\":false}");
    settle();
    CHECK_INT(import_job()->state, SBT_JOB_DONE);
    CHECK_INT(sbt_doc_count(kit, inst, "contacts"), 0);
    /* Off between pages (the job waiting to retry): the mirror goes, the job ends unrun. */
    queue_page("/contacts?per_page=150", 0, 2, 4, "CUR1");
    sbt_intercom_once(kit, "GET", "/contacts?per_page=150&starting_after=CUR1", 500,
                      "{\"type\":\"error.list\",\"errors\":[{\"code\":\"server_error\"}]}");
    settings("{\"sync_contacts\":true}");
    sbt_run_due(kit);
    settle();
    CHECK_INT(sbt_doc_count(kit, inst, "contacts"), 2);
    settings("{\"sync_contacts\":false}");
    CHECK_INT(sbt_doc_count(kit, inst, "contacts"), 0);
    size_t calls = sbt_intercom_count(kit);
    sbt_clock_advance(kit, 3600 * 1000);
    sbt_run_due(kit);
    settle();
    CHECK_INT(import_job()->state, SBT_JOB_DONE);
    CHECK_INT(sbt_intercom_count(kit), calls);
    char *fresh = contact_json(9, T0);
    contact_webhook("contact.user.created", fresh, T0);
    free(fresh);
    CHECK_INT(sbt_doc_count(kit, inst, "contacts"), 0); /* no live updates */
    const sbt_reply *r = sbt_api(kit, "GET", "/sync?workspace_id=ws1", NULL);
    CHECK_STR(sb_json_str(sb_json_obj(r->json, "contacts"), "state"), "off");
    /* On again: a new import from the first page. */
    queue_page("/contacts?per_page=150", 0, 4, 4, NULL);
    settings("{\"sync_contacts\":true}");
    sbt_run_due(kit);
    settle();
    CHECK_INT(import_job()->state, SBT_JOB_DONE);
    CHECK_INT(sbt_doc_count(kit, inst, "contacts"), 4);
    sbt_free(kit);
}

static void a_reinstall_imports_afresh(void)
{
    setup();
    queue_page("/contacts?per_page=150", 0, 3, 3, NULL);
    settings("{\"sync_contacts\":true}");
    sbt_run_due(kit);
    settle();
    CHECK_INT(sbt_doc_count(kit, inst, "contacts"), 3);
    const sbt_job *first = import_job();
    /* Uninstalled, then installed again: webhooks may have been missed meanwhile. */
    sbt_uninstall(kit, inst);
    queue_page("/contacts?per_page=150", 0, 2, 2, NULL);
    CHECK_INT(sbt_install(kit, "ws1"), inst);
    CHECK(import_job() != first);
    sbt_run_due(kit);
    settle();
    CHECK_INT(import_job()->state, SBT_JOB_DONE);
    CHECK_INT(sbt_doc_count(kit, inst, "contacts"), 2);
    const sbt_reply *r = sbt_api(kit, "GET", "/sync?workspace_id=ws1", NULL);
    CHECK_INT(sb_json_int(sb_json_obj(r->json, "contacts"), "generation", 0), 2);
    sbt_free(kit);
}

static void options_are_refused(void)
{
    char err[256];
    sbt_kit *k = sbt_open(TIMEBOOK_SO, err, sizeof err);
    CHECK_INT(sbt_start(k, "{\"colour\":1}"), SB_FAIL);
    CHECK_CONTAINS(sbt_result(k)->message, "takes no options");
    CHECK_STR(sbt_result(k)->where, "colour");
    sbt_free(k);
}

static void tags_come_from_intercom_with_their_trigger_flags(void)
{
    setup();
    settings("{\"sync_feedback\":true,\"trigger_tags\":[\"9\",\"404\"],\"product\":\"roadmap\"}");
    sbt_intercom_on(kit, "GET", "/tags", 200,
                    "{\"type\":\"list\",\"data\":[{\"type\":\"tag\",\"id\":\"9\",\"name\":\"Feedback\"},"
                    "{\"type\":\"tag\",\"id\":\"10\",\"name\":\"Bug\"}]}");
    const sbt_reply *r = sbt_api(kit, "GET", "/tags?workspace_id=ws1", NULL);
    CHECK(!r->answered);
    settle();
    CHECK_INT(r->status, 200);
    json_object *tags = sb_json_arr(r->json, "tags");
    CHECK_INT(json_object_array_length(tags), 2);
    CHECK(sb_json_bool(json_object_array_get_idx(tags, 0), "trigger", false));
    CHECK(!sb_json_bool(json_object_array_get_idx(tags, 1), "trigger", true));
    json_object *unknown = sb_json_arr(r->json, "unknown_trigger_tags");
    CHECK_INT(json_object_array_length(unknown), 1);
    CHECK_STR(json_object_get_string(json_object_array_get_idx(unknown, 0)), "404");
    sbt_free(kit);
}

static void the_product_saves_settings_checked_against_intercoms_tags(void)
{
    setup();
    sbt_intercom_on(kit, "GET", "/tags", 200,
                    "{\"type\":\"list\",\"data\":[{\"type\":\"tag\",\"id\":\"9\",\"name\":\"Feedback\"}]}");
    const sbt_reply *r = sbt_api(kit, "PUT", "/settings?workspace_id=ws1",
                                 "{\"sync_feedback\":true,\"trigger_tags\":[\"9\",\"77\"],"
                                 "\"product\":\"roadmap\"}");
    sbt_deliver_pending(kit);
    CHECK_INT(r->status, 422);
    CHECK_STR(error_code(r), "unknown_tag");
    CHECK_CONTAINS(sb_json_str(sb_json_obj(r->json, "error"), "message"), "'77'");
    CHECK_INT(sbt_doc_count(kit, inst, "triggers"), 0); /* nothing saved */
    r = sbt_api(kit, "PUT", "/settings?workspace_id=ws1",
                "{\"sync_feedback\":true,\"trigger_tags\":[\"9\"],\"product\":\"roadmap\"}");
    sbt_deliver_pending(kit);
    CHECK_INT(r->status, 200);
    CHECK(sb_json_bool(sb_json_obj(r->json, "settings"), "sync_feedback", false));
    CHECK_INT(sbt_doc_count(kit, inst, "triggers"), 1); /* the settings change took effect */
    r = sbt_api(kit, "PUT", "/settings?workspace_id=ws1", "{\"product\":\"\"}");
    CHECK_INT(r->status, 200); /* cleared */
    r = sbt_api(kit, "PUT", "/settings?workspace_id=ws1", "{\"product\":\"a|b\"}");
    CHECK_INT(r->status, 422);
    CHECK_STR(error_code(r), "invalid_product");
    r = sbt_api(kit, "PUT", "/settings?workspace_id=ws1", "{\"colour\":\"red\"}");
    CHECK_INT(r->status, 422);
    CHECK_STR(error_code(r), "unknown_setting");
    r = sbt_api(kit, "PUT", "/settings?workspace_id=ws1", "{\"sync_contacts\":\"yes\"}");
    CHECK_INT(r->status, 422);
    CHECK_STR(error_code(r), "invalid_settings");
    r = sbt_api(kit, "PUT", "/settings?workspace_id=ws1", "[1]");
    CHECK_INT(r->status, 400);
    r = sbt_api(kit, "PUT", "/settings?workspace_id=ws1", "{\"trigger_tags\":[9]}");
    CHECK_INT(r->status, 422);
    CHECK_STR(error_code(r), "unknown_tag");
    sbt_free(kit);
}

int main(void)
{
    RUN(a_trigger_tag_makes_one_ticket_however_often_it_comes);
    RUN(tags_before_enabling_and_other_tags_make_nothing);
    RUN(disabling_and_enabling_again_moves_the_moment);
    RUN(a_failed_read_retries_and_then_makes_the_ticket_once);
    RUN(the_inbox_lists_newest_first_by_tag_and_refuses_bad_input);
    RUN(the_import_walks_every_page_and_counts_progress);
    RUN(a_retried_import_resumes_from_its_checkpoint);
    RUN(webhooks_win_over_older_pages_and_deletions_stay);
    RUN(turning_the_sync_off_stops_the_import_and_drops_the_mirror);
    RUN(a_reinstall_imports_afresh);
    RUN(options_are_refused);
    RUN(tags_come_from_intercom_with_their_trigger_flags);
    RUN(the_product_saves_settings_checked_against_intercoms_tags);
    UNIT_DONE();
}
