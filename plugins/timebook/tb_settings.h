/* tb_settings.h - the per-installation settings schema and its typed form. */
#ifndef TB_SETTINGS_H
#define TB_SETTINGS_H

#include <stdbool.h>
#include <switchboard/switchboard.h>

extern const sb_setting tb_settings_schema[];

struct tb_settings {
    bool sync_feedback;
    bool sync_contacts;
    json_object *trigger_tags; /* array of tag id strings; owned */
    char *product;             /* the product whose inbox gets feedback; owned, "" if unset */
};

/** Typed settings from settings_get()'s object (borrowed). Free with tb_settings_free. */
void tb_settings_parse(json_object *settings, struct tb_settings *out);
void tb_settings_free(struct tb_settings *s);
/** The tag ids that trigger feedback now: trigger_tags when sync_feedback is on, else none. */
bool tb_settings_triggers(const struct tb_settings *s, const char *tag_id);

/** [A-Za-z0-9_-]{1,64}: an Intercom id we put in document keys and paths. */
bool tb_id_valid(const char *id);
/** [0-9]{1,64}: a conversation id (an integer in Intercom's API). */
bool tb_conversation_id_valid(const char *id);
/** [A-Za-z0-9_.-]{1,64}: a product name. */
bool tb_product_valid(const char *product);

#endif
