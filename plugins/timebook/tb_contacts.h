/*
 * tb_contacts.h - the mirror of a workspace's Intercom contacts.
 *
 * Import pages and webhooks write the same records; each write compares
 * Intercom's updated_at with what is stored, so the newest version wins
 * whichever arrives last: a page (read earlier) never overwrites a record a
 * webhook wrote with a newer or equal time, and a deletion leaves a
 * tombstone that keeps a page read before it from bringing the contact back.
 * Records are keyed by Intercom's contact id, so nothing is ever duplicated.
 */
#ifndef TB_CONTACTS_H
#define TB_CONTACTS_H

#include "tb_plugin.h"

/**
 * Who writes: an import page (read some time ago) or a webhook (news). A page
 * known to race no deletion (tb_contacts_any_gone false) skips the tombstone look-up.
 */
enum tb_contact_source { TB_FROM_PAGE, TB_FROM_PAGE_NONE_GONE, TB_FROM_WEBHOOK };

/** The record the mirror keeps of an Intercom contact (new reference), NULL without a valid id. */
json_object *tb_contact_record(json_object *contact);

/** Write @p contact if it is newer than what is stored: 1 written, 0 older (kept), -1 error. */
int tb_contact_apply(struct tb_plugin *tb, sb_installation_id inst, json_object *contact,
                     enum tb_contact_source source);
/** Remove a contact and leave its tombstone (deleted at @p deleted_at, s). 0, or -1. */
int tb_contact_remove(struct tb_plugin *tb, sb_installation_id inst, const char *id,
                      int64_t deleted_at);
/** Whether any tombstone exists (a deletion came by webhook since the mirror started). */
bool tb_contacts_any_gone(struct tb_plugin *tb, sb_installation_id inst);
/** Drop the whole mirror (records, email index, tombstones). 0, or -1. */
int tb_contacts_drop(struct tb_plugin *tb, sb_installation_id inst);
/** The email index key prefix for @p email: "<lower-case email>|". Caller frees. */
char *tb_email_prefix(const char *email);

/** on_event for contact topics. */
sb_status tb_contacts_event(struct tb_plugin *tb, const sb_event *event, sb_result *result);

#endif
