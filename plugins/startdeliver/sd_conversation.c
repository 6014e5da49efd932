/* sd_conversation.c - the ticket facts of a conversation. */
#include "sd_conversation.h"

#include "sd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *sd_plain_text(const char *html, size_t max)
{
    char *out = pk_html_to_text(html);
    for (char *p = out; *p; p++)
        if (*p == '\n')
            *p = ' '; /* one line: "<p>a</p><p>b</p>" reads "a b" */
    sd_cut_utf8(out, max);
    return out;
}

/* A title is plain text already; subjects and bodies are HTML. */
static char *title_of(json_object *conv)
{
    const char *title = sb_json_str(conv, "title");
    if (title) {
        char *text = pk_xstrdup(title);
        sd_cut_utf8(text, SD_TITLE_MAX);
        return text;
    }
    json_object *source = sb_json_obj(conv, "source");
    const char *candidates[] = {sb_json_str(source, "subject"), sb_json_str(source, "body")};
    for (size_t i = 0; i < PK_ARRAY_LEN(candidates); i++) {
        if (!candidates[i])
            continue;
        char *text = sd_plain_text(candidates[i], SD_TITLE_MAX);
        if (*text)
            return text;
        free(text);
    }
    return pk_xstrdup("");
}

static const char *state_of(json_object *conv)
{
    const char *state = sb_json_str(conv, "state");
    if (state)
        return state;
    /* Older payloads only carry "open". */
    return sb_json_bool(conv, "open", true) ? "open" : "closed";
}

int sd_conversation_parse(json_object *conv, struct sd_conversation *out, char *err,
                          size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *id = sb_json_str(conv, "id");
    if (!id) {
        snprintf(err, errlen, "conversation without an id");
        return -1;
    }
    out->id = pk_xstrdup(id);
    out->state = pk_xstrdup(state_of(conv));
    out->title = title_of(conv);
    int64_t created = sb_json_time(conv, "created_at");
    int64_t updated = sb_json_time(conv, "updated_at");
    int64_t waiting = sb_json_time(conv, "waiting_since");
    out->created_at = created > 0 ? created : 0;
    out->updated_at = updated >= 0 ? updated : out->created_at;
    out->waiting_since = waiting > 0 ? waiting : 0;
    json_object *list = sb_json_arr(sb_json_obj(conv, "contacts"), "contacts");
    json_object *first = list && json_object_array_length(list)
                             ? json_object_array_get_idx(list, 0)
                             : NULL;
    out->contact_id = sd_strdup_or_null(sb_json_str(first, "id"));
    out->contact_external_id = sd_strdup_or_null(sb_json_str(first, "external_id"));
    return 0;
}

void sd_conversation_free(struct sd_conversation *c)
{
    free(c->id);
    free(c->state);
    free(c->title);
    free(c->contact_id);
    free(c->contact_external_id);
    memset(c, 0, sizeof *c);
}

json_object *sd_conversation_facts(const struct sd_conversation *c)
{
    json_object *o = json_object_new_object();
    sb_json_add_str(o, "id", c->id);
    sb_json_add_str(o, "state", c->state);
    sb_json_add_str(o, "title", c->title);
    sb_json_add_int(o, "created_at", c->created_at);
    sb_json_add_int(o, "updated_at", c->updated_at);
    sd_add_time(o, "waiting_since", c->waiting_since);
    json_object *contacts = json_object_new_object();
    json_object *list = json_object_new_array();
    if (c->contact_id) {
        json_object *first = json_object_new_object();
        sb_json_add_str(first, "id", c->contact_id);
        sb_json_add_str(first, "external_id", c->contact_external_id);
        json_object_array_add(list, first);
    }
    json_object_object_add(contacts, "contacts", list);
    json_object_object_add(o, "contacts", contacts);
    return o;
}

int sd_contact_parse(json_object *contact, struct sd_contact *out)
{
    memset(out, 0, sizeof *out);
    const char *id = sb_json_str(contact, "id");
    if (!id)
        return -1;
    out->id = pk_xstrdup(id);
    out->email = sd_strdup_or_null(sb_json_str(contact, "email"));
    out->external_id = sd_strdup_or_null(sb_json_str(contact, "external_id"));
    out->name = sd_strdup_or_null(sb_json_str(contact, "name"));
    json_object *companies = sb_json_arr(sb_json_obj(contact, "companies"), "data");
    if (companies && json_object_array_length(companies))
        out->company_id =
            sd_strdup_or_null(sb_json_str(json_object_array_get_idx(companies, 0), "id"));
    return 0;
}

void sd_contact_free(struct sd_contact *c)
{
    free(c->id);
    free(c->email);
    free(c->external_id);
    free(c->name);
    free(c->company_id);
    memset(c, 0, sizeof *c);
}

json_object *sd_contact_facts(const struct sd_contact *c)
{
    json_object *o = json_object_new_object();
    sb_json_add_str(o, "id", c->id);
    sb_json_add_str(o, "email", c->email);
    sb_json_add_str(o, "external_id", c->external_id);
    sb_json_add_str(o, "name", c->name);
    json_object *companies = json_object_new_object();
    json_object *data = json_object_new_array();
    if (c->company_id) {
        json_object *first = json_object_new_object();
        sb_json_add_str(first, "id", c->company_id);
        json_object_array_add(data, first);
    }
    json_object_object_add(companies, "data", data);
    json_object_object_add(o, "companies", companies);
    return o;
}
