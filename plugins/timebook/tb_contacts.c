/* tb_contacts.c - the contact mirror: newest version wins (see tb_contacts.h). */
#include "tb_contacts.h"

#include "tb_import.h"
#include "tb_settings.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *const record_strings[] = {"role", "email", "name", "external_id", "phone"};

json_object *tb_contact_record(json_object *contact)
{
    const char *id = sb_json_str(contact, "id");
    if (!tb_id_valid(id))
        return NULL;
    json_object *r = pk_xchecked(json_object_new_object());
    sb_json_add_str(r, "id", id);
    for (size_t i = 0; i < PK_ARRAY_LEN(record_strings); i++)
        sb_json_add_str(r, record_strings[i], sb_json_str(contact, record_strings[i]));
    sb_json_add_int(r, "created_at", sb_json_time(contact, "created_at"));
    sb_json_add_int(r, "updated_at", sb_json_time(contact, "updated_at"));
    return r;
}

char *tb_email_prefix(const char *email)
{
    char *out = pk_xasprintf("%s|", email);
    for (char *p = out; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return out;
}

static char *email_key(const char *email, const char *id)
{
    char *prefix = tb_email_prefix(email);
    char *key = pk_xasprintf("%s%s", prefix, id);
    free(prefix);
    return key;
}

static int unindex_email(struct tb_plugin *tb, sb_installation_id inst, json_object *record)
{
    const char *email = sb_json_str(record, "email");
    if (!email)
        return 0;
    char *key = email_key(email, sb_json_str(record, "id"));
    int rc = tb_delete(tb, inst, TB_CONTACT_EMAILS, key);
    free(key);
    return rc;
}

int tb_contact_apply(struct tb_plugin *tb, sb_installation_id inst, json_object *contact,
                     enum tb_contact_source source)
{
    json_object *record = tb_contact_record(contact);
    if (!record)
        return 0; /* no id we can key: nothing to mirror */
    const char *id = sb_json_str(record, "id");
    int64_t updated = sb_json_int(record, "updated_at", -1);
    json_object *gone =
        source == TB_FROM_PAGE_NONE_GONE ? NULL : tb_get(tb, inst, TB_CONTACT_GONE, id);
    json_object *old = tb_get(tb, inst, TB_CONTACTS, id);
    int rc = 1;
    if (gone && updated <= sb_json_int(gone, "deleted_at", 0)) {
        rc = 0; /* deleted after this version was read */
    } else if (old) {
        int64_t stored = sb_json_int(old, "updated_at", -1);
        /* Equal times: a webhook is news, a page was read before it. */
        if (source == TB_FROM_WEBHOOK ? updated < stored : updated <= stored)
            rc = 0;
    }
    if (rc == 1 && gone && tb_delete(tb, inst, TB_CONTACT_GONE, id) != 0)
        rc = -1;
    if (rc == 1 && old && !pk_str_eq(sb_json_str(old, "email"), sb_json_str(record, "email"))
        && unindex_email(tb, inst, old) != 0)
        rc = -1;
    if (rc == 1 && sb_json_str(record, "email")) {
        char *key = email_key(sb_json_str(record, "email"), id);
        if (tb_put_owned(tb, inst, TB_CONTACT_EMAILS, key, pk_xchecked(json_object_new_object()))
            != 0)
            rc = -1;
        free(key);
    }
    if (rc == 1 && tb->host->doc_put(tb->self, inst, TB_CONTACTS, id, record) != 0)
        rc = -1;
    json_object_put(gone);
    json_object_put(old);
    json_object_put(record);
    return rc;
}

int tb_contact_remove(struct tb_plugin *tb, sb_installation_id inst, const char *id,
                      int64_t deleted_at)
{
    if (!tb_id_valid(id))
        return 0;
    json_object *old = tb_get(tb, inst, TB_CONTACTS, id);
    int rc = 0;
    if (old && (unindex_email(tb, inst, old) != 0 || tb_delete(tb, inst, TB_CONTACTS, id) != 0))
        rc = -1;
    json_object_put(old);
    json_object *gone = tb_get(tb, inst, TB_CONTACT_GONE, id);
    if (rc == 0 && (!gone || sb_json_int(gone, "deleted_at", 0) < deleted_at)) {
        json_object *doc = pk_xchecked(json_object_new_object());
        sb_json_add_int(doc, "deleted_at", deleted_at);
        rc = tb_put_owned(tb, inst, TB_CONTACT_GONE, id, doc);
    }
    json_object_put(gone);
    return rc;
}

static int found(void *arg, const char *key, json_object *value)
{
    (void)key;
    (void)value;
    *(bool *)arg = true;
    return 1;
}

bool tb_contacts_any_gone(struct tb_plugin *tb, sb_installation_id inst)
{
    bool any = false;
    if (tb->host->doc_list(tb->self, inst, TB_CONTACT_GONE, NULL, NULL, 1, 0, found, &any) < 0)
        return true; /* unknown: look each one up */
    return any;
}

int tb_contacts_drop(struct tb_plugin *tb, sb_installation_id inst)
{
    static const char *const collections[] = {TB_CONTACTS, TB_CONTACT_EMAILS, TB_CONTACT_GONE};
    for (size_t i = 0; i < PK_ARRAY_LEN(collections); i++)
        if (tb->host->doc_delete_range(tb->self, inst, collections[i], NULL, NULL) < 0)
            return -1;
    return 0;
}

/* Topics whose item is the contact as it now is. */
static const char *const upsert_topics[] = {
    "contact.user.created", "contact.lead.created",      "contact.user.updated",
    "contact.lead.updated", "contact.lead.signed_up",    "contact.lead.added_email",
    "contact.email.updated", "contact.unarchive",       "contact.merged",
};
/* Topics after which the contact is no longer among GET /contacts' answers. */
static const char *const remove_topics[] = {"contact.deleted", "contact.archived"};

static bool topic_in(const char *topic, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (pk_str_eq(topic, list[i]))
            return true;
    return false;
}

static int apply_event(struct tb_plugin *tb, const sb_event *event)
{
    json_object *item = event->item;
    if (topic_in(event->topic, remove_topics, PK_ARRAY_LEN(remove_topics)))
        return tb_contact_remove(tb, event->installation, sb_json_str(item, "id"),
                                 event->created_at);
    if (pk_str_eq(event->topic, "contact.merged")) {
        /* The merged-away contact is gone; the item is the one that stays. */
        const char *from = sb_json_str(sb_json_obj(item, "merged_from"), "id");
        if (from && tb_contact_remove(tb, event->installation, from, event->created_at) != 0)
            return -1;
    }
    return tb_contact_apply(tb, event->installation, item, TB_FROM_WEBHOOK) < 0 ? -1 : 0;
}

struct apply_args {
    struct tb_plugin *tb;
    const sb_event *event;
};

static int apply_tx(void *arg)
{
    struct apply_args *a = arg;
    return apply_event(a->tb, a->event) == 0 ? 0 : -1;
}

sb_status tb_contacts_event(struct tb_plugin *tb, const sb_event *event, sb_result *result)
{
    if (!topic_in(event->topic, upsert_topics, PK_ARRAY_LEN(upsert_topics))
        && !topic_in(event->topic, remove_topics, PK_ARRAY_LEN(remove_topics)))
        return SB_OK;
    if (!tb_contacts_mirrored(tb, event->installation))
        return SB_OK; /* sync_contacts is off: no mirror to keep */
    struct apply_args args = {tb, event};
    if (tb->host->transaction(tb->self, apply_tx, &args) != 0)
        return sb_result_fail(result, SB_RETRY, "store_error", "cannot update the contact mirror");
    return SB_OK;
}
