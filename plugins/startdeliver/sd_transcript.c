/* sd_transcript.c - a ticket's messages, stored one document each (see sd_transcript.h). */
#include "sd_transcript.h"

#include "sd_model.h"
#include "sd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest message body kept, in bytes (cut on a character boundary, marked "truncated"). */
#define BODY_MAX 65536
/* Ordinals are written with this many digits, so keys sort in the order messages were stored. */
#define ORDINAL_FMT "%s|%010lld"
/* Where GET /conversations/{id} lists the parts: handed over one by one as they arrive. */
#define SD_PARTS_PATH "conversation_parts.conversation_parts"

/* How far the stored messages of one conversation reach ("transcripts" document). */
struct mark {
    int64_t stored;      /* messages stored: the next ordinal */
    int64_t last_at;     /* created_at of the newest part looked at */
    char *last_part;     /* its id; NULL before any part */
    int64_t updated_at;  /* the conversation's updated_at when last stored */
    int64_t omitted;     /* parts Intercom no longer lists that were never stored */
    bool exists;
};

static void mark_read(struct sd_plugin *sd, sb_installation_id inst, const char *id,
                      struct mark *m)
{
    memset(m, 0, sizeof *m);
    json_object *doc = sd_get(sd, inst, SD_TRANSCRIPTS, id);
    if (!doc)
        return;
    m->exists = true;
    m->stored = sb_json_int(doc, "stored", 0);
    m->last_at = sb_json_int(doc, "last_at", 0);
    m->last_part = sd_strdup_or_null(sb_json_str(doc, "last_part"));
    m->updated_at = sb_json_int(doc, "updated_at", 0);
    m->omitted = sb_json_int(doc, "omitted", 0);
    json_object_put(doc);
}

static int mark_write(struct sd_plugin *sd, sb_installation_id inst, const char *id,
                      const struct mark *m)
{
    json_object *doc = json_object_new_object();
    sb_json_add_int(doc, "stored", m->stored);
    sb_json_add_int(doc, "last_at", m->last_at);
    sb_json_add_str(doc, "last_part", m->last_part);
    sb_json_add_int(doc, "updated_at", m->updated_at);
    sb_json_add_int(doc, "omitted", m->omitted);
    return sd_put_owned(sd, inst, SD_TRANSCRIPTS, id, doc);
}

/* Intercom's part ids are decimal numbers that grow: compare them as numbers, else as text. */
static int part_id_cmp(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb && strspn(a, "0123456789") == la && strspn(b, "0123456789") == lb)
        return la < lb ? -1 : 1;
    return strcmp(a, b);
}

/* The part came after the newest one looked at (parts arrive oldest first). */
static bool is_new(const struct mark *m, int64_t created_at, const char *part_id)
{
    if (!m->last_part)
        return true;
    if (created_at != m->last_at)
        return created_at > m->last_at;
    return part_id_cmp(part_id, m->last_part) > 0;
}

/* Attachments as links: only http(s) URLs, so a product rendering them cannot be made to run one. */
static json_object *attachments_of(json_object *list)
{
    json_object *out = json_object_new_array();
    size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *a = json_object_array_get_idx(list, i);
        const char *url = sb_json_str(a, "url");
        if (!url || (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0))
            continue;
        json_object *link = json_object_new_object();
        sb_json_add_str(link, "name", sb_json_str(a, "name"));
        sb_json_add_str(link, "url", url);
        sb_json_add_str(link, "content_type", sb_json_str(a, "content_type"));
        json_object_array_add(out, link);
    }
    return out;
}

/*
 * The message a part (or the first message, @p part_type "source") reads as,
 * or NULL when it carries nothing to read: an assignment, a close without a
 * closing message.
 */
static json_object *message_of(json_object *part, const char *id, const char *part_type,
                               int64_t created_at)
{
    char *body = pk_html_to_text(sb_json_str(part, "body"));
    json_object *attachments = attachments_of(sb_json_arr(part, "attachments"));
    if (!*body && json_object_array_length(attachments) == 0) {
        free(body);
        json_object_put(attachments);
        return NULL;
    }
    bool truncated = strlen(body) > BODY_MAX;
    sd_cut_utf8(body, BODY_MAX);
    json_object *m = json_object_new_object();
    sb_json_add_str(m, "id", id);
    sb_json_add_str(m, "part_type", part_type);
    json_object *from = sb_json_obj(part, "author");
    json_object *author = json_object_new_object();
    sb_json_add_str(author, "type", sb_json_str(from, "type"));
    sb_json_add_str(author, "id", sb_json_str(from, "id"));
    sb_json_add_str(author, "name", sb_json_str(from, "name"));
    json_object_object_add(m, "author", author);
    sb_json_add_int(m, "created_at", created_at);
    sb_json_add_str(m, "body", body);
    if (truncated)
        sb_json_add_bool(m, "truncated", true);
    json_object_object_add(m, "attachments", attachments);
    sb_json_add_bool(m, "note", strcmp(part_type, "note") == 0);
    free(body);
    return m;
}

/* ---- storing: the parts of one reading, one at a time, then its mark ---- */

/*
 * One reading of a conversation being stored. The first message comes with
 * the conversation, after its parts when they are streamed, so on a first
 * reading the parts take ordinals from 1 and the first message is written
 * last, as ordinal 0.
 */
struct transcript {
    struct sd_plugin *sd;
    sb_installation_id inst;
    char *id;
    struct mark mark; /* as stored before this reading */
    struct mark next; /* advanced part by part; written when the reading ends */
    int64_t parts;    /* parts the answer listed */
    int added;
};

static void transcript_begin(struct transcript *t, struct sd_plugin *sd, sb_installation_id inst,
                             const char *id)
{
    *t = (struct transcript){.sd = sd, .inst = inst, .id = pk_xstrdup(id)};
    mark_read(sd, inst, id, &t->mark);
    t->next = t->mark;
    t->next.last_part = sd_strdup_or_null(t->mark.last_part);
    if (!t->mark.exists)
        t->next.stored = 1; /* ordinal 0: the first message */
}

static void transcript_free(struct transcript *t)
{
    free(t->id);
    free(t->mark.last_part);
    free(t->next.last_part);
}

static int put_message(struct transcript *t, int64_t ordinal, json_object *message)
{
    char key[160];
    snprintf(key, sizeof key, ORDINAL_FMT, t->id, (long long)ordinal);
    sb_json_add_int(message, "ordinal", ordinal);
    if (sd_put_owned(t->sd, t->inst, SD_MESSAGES, key, message) != 0)
        return -1;
    t->added++;
    return 0;
}

/* One part as the answer lists it (oldest first): stored if new and with something to read. */
static int transcript_part(struct transcript *t, json_object *part)
{
    t->parts++;
    const char *part_id = sb_json_str(part, "id");
    int64_t at = sb_json_time(part, "created_at");
    if (!part_id || !is_new(&t->next, at, part_id))
        return 0;
    const char *type = sb_json_str(part, "part_type");
    json_object *message = message_of(part, part_id, type ? type : "unknown", at);
    if (message && put_message(t, t->next.stored, message) != 0)
        return -1;
    if (message)
        t->next.stored++;
    t->next.last_at = at;
    free(t->next.last_part);
    t->next.last_part = pk_xstrdup(part_id);
    return 0;
}

/*
 * The reading ended with @p conversation (its parts, if any, already given
 * to transcript_part): the first message on a first reading, then the mark.
 */
static int transcript_end(struct transcript *t, json_object *conversation)
{
    if (!t->mark.exists) {
        json_object *source = sb_json_obj(conversation, "source");
        const char *source_id = sb_json_str(source, "id");
        json_object *first =
            source ? message_of(source, source_id ? source_id : "source", "source",
                                sb_json_time(conversation, "created_at"))
                   : NULL;
        if (first && put_message(t, 0, first) != 0)
            return -1;
        /* Parts Intercom no longer lists (beyond its 500 most recent) cannot be read back. */
        json_object *list = sb_json_obj(conversation, "conversation_parts");
        int64_t total = sb_json_int(list, "total_count", t->parts);
        t->next.omitted = total > t->parts ? total - t->parts : 0;
    }
    int64_t updated = sb_json_time(conversation, "updated_at");
    if (updated > t->next.updated_at)
        t->next.updated_at = updated;
    return mark_write(t->sd, t->inst, t->id, &t->next);
}

struct ending {
    struct transcript *t;
    json_object *conversation;
};

static int end_tx(void *arg)
{
    struct ending *e = arg;
    return transcript_end(e->t, e->conversation);
}

/* A conversation read whole: its parts and the end, in one transaction. */
static int whole_tx(void *arg)
{
    struct ending *e = arg;
    json_object *list = sb_json_obj(e->conversation, "conversation_parts");
    json_object *parts = sb_json_arr(list, "conversation_parts");
    size_t n = parts ? json_object_array_length(parts) : 0;
    for (size_t i = 0; i < n; i++)
        if (transcript_part(e->t, json_object_array_get_idx(parts, i)) != 0)
            return -1;
    return transcript_end(e->t, e->conversation);
}

static int store_whole(struct transcript *t, json_object *conversation)
{
    struct ending e = {t, conversation};
    if (t->sd->host->transaction(t->sd->self, whole_tx, &e) != 0)
        return -1;
    return t->added;
}

int sd_transcript_store(struct sd_plugin *sd, sb_installation_id inst, json_object *conversation)
{
    const char *id = sb_json_str(conversation, "id");
    if (!id || !sd_id_valid(id))
        return -1;
    struct transcript t;
    transcript_begin(&t, sd, inst, id);
    int added = store_whole(&t, conversation);
    transcript_free(&t);
    return added;
}

int sd_transcript_from_listed(struct sd_plugin *sd, sb_installation_id inst,
                              json_object *conversation)
{
    const char *id = sb_json_str(conversation, "id");
    if (!id || !sd_id_valid(id))
        return 0; /* no ticket can be keyed by it either */
    struct transcript t;
    transcript_begin(&t, sd, inst, id);
    int rc;
    json_object *stats = sb_json_obj(conversation, "statistics");
    if (t.mark.exists && t.mark.updated_at >= sb_json_time(conversation, "updated_at"))
        rc = 0; /* nothing happened since the messages were stored */
    else if (!stats || sb_json_int(stats, "count_conversation_parts", 1) != 0)
        rc = 1; /* a list item has no parts; its statistics say whether there are any */
    else
        rc = store_whole(&t, conversation) < 0 ? -1 : 0;
    transcript_free(&t);
    return rc;
}

/* ---- one conversation, streamed and stored ---- */

struct refresh {
    struct sd_plugin *sd;
    sb_installation_id inst;
    char *conversation_id;
    struct transcript t; /* begun when the answer starts to arrive */
    bool begun, store_failed;
    sd_transcript_cb done;
    void *arg;
};

static void refresh_begin(struct refresh *r)
{
    if (!r->begun)
        transcript_begin(&r->t, r->sd, r->inst, r->conversation_id);
    r->begun = true;
}

static sb_status part_arrived(void *arg, json_object *part, size_t index)
{
    struct refresh *r = arg;
    (void)index; /* parts come in order; the mark says which are new */
    refresh_begin(r);
    if (transcript_part(&r->t, part) == 0)
        return SB_OK;
    r->store_failed = true;
    return SB_FAIL; /* stops the reading; refreshed() reports it */
}

static void refreshed(void *arg, const sb_intercom_response *res)
{
    struct refresh *r = arg;
    sb_intercom_response answer = *res;
    int added = -1;
    if (r->store_failed) {
        /* Intercom answered; storing what it said failed (that is why the reading stopped). */
        answer.error_code = answer.error_message = NULL;
        answer.kind = SB_ERR_NONE;
        answer.body = NULL;
    } else if (!res->error_code && res->body) {
        refresh_begin(r);
        struct ending e = {&r->t, res->body};
        if (r->sd->host->transaction(r->sd->self, end_tx, &e) == 0)
            added = r->t.added;
    }
    sd_transcript_cb done = r->done;
    void *done_arg = r->arg;
    if (r->begun)
        transcript_free(&r->t);
    free(r->conversation_id);
    free(r);
    done(done_arg, &answer, added);
}

sb_request_id sd_transcript_refresh(struct sd_plugin *sd, sb_installation_id inst,
                                    const char *conversation_id, sd_transcript_cb done, void *arg)
{
    if (!conversation_id || !sd_id_valid(conversation_id) || !done)
        return 0;
    char *path = pk_xasprintf("/conversations/%s", conversation_id);
    sb_intercom_request req = {.method = "GET", .path = path};
    struct refresh *r = pk_xcalloc(1, sizeof *r);
    *r = (struct refresh){.sd = sd, .inst = inst, .conversation_id = pk_xstrdup(conversation_id),
                          .done = done, .arg = arg};
    sb_request_id id = sd->host->intercom_stream(sd->self, inst, &req, SD_PARTS_PATH, part_arrived,
                                                 refreshed, r);
    free(path);
    if (!id) {
        free(r->conversation_id);
        free(r);
    }
    return id;
}

/* ---- reading ---- */

struct reader {
    json_object *data;
    size_t limit;
    bool include_notes;
    bool more;
    char *next;
};

static int read_one(void *arg, const char *key, json_object *value)
{
    (void)key; /* the message carries its ordinal */
    struct reader *r = arg;
    if (!r->include_notes && sb_json_bool(value, "note", false))
        return 0;
    if (json_object_array_length(r->data) == r->limit) {
        r->more = true;
        return 1;
    }
    json_object_array_add(r->data, json_object_get(value));
    free(r->next);
    r->next = pk_xasprintf("%lld", (long long)sb_json_int(value, "ordinal", 0)); /* the cursor */
    return 0;
}

json_object *sd_transcript_page(struct sd_plugin *sd, sb_installation_id inst,
                                const char *conversation_id, const char *after, size_t limit,
                                bool include_notes)
{
    char *from = after ? pk_xasprintf(ORDINAL_FMT, conversation_id, strtoll(after, NULL, 10) + 1)
                       : pk_xasprintf("%s|", conversation_id);
    char *to = pk_xasprintf("%s}", conversation_id); /* '}' sorts after every digit and '|' */
    struct reader r = {json_object_new_array(), limit, include_notes, false, NULL};
    int visited = sd->host->doc_list(sd->self, inst, SD_MESSAGES, from, to, 0, 0, read_one, &r);
    free(from);
    free(to);
    if (visited < 0) {
        json_object_put(r.data);
        free(r.next);
        return NULL;
    }
    struct mark m;
    mark_read(sd, inst, conversation_id, &m);
    free(m.last_part);
    json_object *page = json_object_new_object();
    json_object_object_add(page, "data", r.data);
    sb_json_add_str(page, "next", r.more ? r.next : NULL);
    sb_json_add_int(page, "omitted", m.omitted);
    free(r.next);
    return page;
}
