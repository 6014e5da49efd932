/* audit.c - append-only timeline rows. */
#include "audit.h"

#include "store/store_audit.h"

int audit_append(struct store *st, const char *plugin, int64_t installation, const char *subject,
                 const char *action, const char *detail)
{
    if (!action || !*action)
        return -1;
    return store_audit_append(st, plugin, installation, subject, action, detail);
}

static int add_entry(void *arg, const struct store_audit_entry *entry)
{
    json_object *e = json_object_new_object();
    json_object_object_add(e, "id", json_object_new_int64(entry->id));
    json_object_object_add(e, "plugin", json_object_new_string(entry->plugin));
    json_object_object_add(e, "installation_id", json_object_new_int64(entry->installation));
    json_object_object_add(e, "subject",
                           entry->subject ? json_object_new_string(entry->subject) : NULL);
    json_object_object_add(e, "action", json_object_new_string(entry->action));
    json_object_object_add(e, "detail",
                           entry->detail ? json_object_new_string(entry->detail) : NULL);
    json_object_object_add(e, "at", json_object_new_int64(entry->at));
    json_object_array_add(arg, e);
    return 0;
}

json_object *audit_list(struct store *st, const char *plugin, int64_t installation,
                        const char *subject, int64_t before_id, size_t limit)
{
    json_object *arr = json_object_new_array();
    struct store_audit_filter filter = {plugin, installation, subject, before_id, limit};
    store_audit_each(st, &filter, add_entry, arr);
    return arr;
}
