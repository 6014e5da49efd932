/* store_settings.c - the settings table's queries (store_settings.h). */
#include "store/store_settings.h"

#include "store/store_sql.h"
#include "util.h"

int store_settings_get(struct store *st, const char *plugin, int64_t installation,
                       json_object **body)
{
    *body = NULL;
    struct store_query *q =
        store_query(st, "SELECT body FROM settings WHERE plugin = ? AND installation_id = ?");
    if (!q)
        return -1;
    store_bind_text_ref(q, 1, plugin, -1);
    store_bind_int64(q, 2, installation);
    int found = store_step_row(st, q);
    if (found == 1)
        *body = json_tokener_parse(store_col_text(q, 0));
    store_reset(q);
    return found;
}

int store_settings_put(struct store *st, const char *plugin, int64_t installation,
                       json_object *body)
{
    struct store_query *q = store_query(
        st, "INSERT INTO settings (plugin, installation_id, body, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (plugin, installation_id) "
            "DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at");
    if (!q)
        return -1;
    store_bind_text_ref(q, 1, plugin, -1);
    store_bind_int64(q, 2, installation);
    const char *text = json_object_to_json_string_ext(
        body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    store_bind_text(q, 3, text);
    store_bind_int64(q, 4, time_now_ms() / 1000);
    return store_step_done(st, q);
}
