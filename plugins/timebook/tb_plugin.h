/*
 * tb_plugin.h - the timebook plugin's state and the document collections it
 * keeps per installation. Everything here runs on the host's loop thread.
 *
 * Collections (documents are JSON; keys sort as bytes):
 *   triggers        tag id -> {"since_ms"}: when the tag became a trigger
 *   feedback        "<conversation id>|<tag id>" -> feedback ticket (one per pair, ever)
 *   inbox           "<product>|<created ms, 13 digits>|<ticket id>" -> {"id"}: newest last
 *   inbox_tags      "<product>|<tag id>|<created ms>|<ticket id>" -> {"id"}: the inbox by tag
 *   contacts        Intercom contact id -> mirrored contact (tb_contacts.h)
 *   contact_emails  "<lower-case email>|<contact id>" -> {}: search by email
 *   contact_gone    contact id -> {"deleted_at"}: deletions an older page must not undo
 *   sync            "contacts" -> the contact sync's state and progress
 * Ids that go into keys are checked by tb_id_valid ([A-Za-z0-9_-]), product
 * names by tb_product_valid, so '|' only ever separates.
 */
#ifndef TB_PLUGIN_H
#define TB_PLUGIN_H

#include <stdbool.h>
#include <stdint.h>
#include <switchboard/switchboard.h>

#include "plugin_kit.h"

#define TB_TRIGGERS "triggers"
#define TB_FEEDBACK "feedback"
#define TB_INBOX "inbox"
#define TB_INBOX_TAGS "inbox_tags"
#define TB_CONTACTS "contacts"
#define TB_CONTACT_EMAILS "contact_emails"
#define TB_CONTACT_GONE "contact_gone"
#define TB_SYNC "sync"
#define TB_SYNC_CONTACTS "contacts"

/** Job type of the contact import. */
#define TB_IMPORT_JOB "contacts_import"

struct tb_import;

struct tb_plugin {
    sb_plugin *self;
    const sb_host *host;
    struct tb_import *imports; /* imports walking in this process, at most one per installation */
};

/* ---- documents ---- */

json_object *tb_get(struct tb_plugin *tb, sb_installation_id inst, const char *collection,
                    const char *key);
/** Store @p value, taking it over. 0, or -1. */
int tb_put_owned(struct tb_plugin *tb, sb_installation_id inst, const char *collection,
                 const char *key, json_object *value);
int tb_delete(struct tb_plugin *tb, sb_installation_id inst, const char *collection,
              const char *key);

struct tb_settings;
/** An installation's settings, typed (free with tb_settings_free). */
void tb_settings_of(struct tb_plugin *tb, sb_installation_id inst, struct tb_settings *out);

/** Time in milliseconds, from the host's clock. */
int64_t tb_now_ms(struct tb_plugin *tb);

#endif
