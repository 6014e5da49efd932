/*
 * si_tickets.c - Intercom ticket webhooks for tickets the plugin created.
 *
 * The three topics carry the ticket in different places: ticket.state.updated
 * as data.item (a Ticket), ticket.closed nested as data.item.ticket, and
 * ticket.resolved (API 2.15+) with data.item.ticket_id at the top. The ticket
 * state is an object in 2.x ({"category","internal_label"}) and a bare
 * string in older payloads; both are read. One state change may arrive under
 * two topics (resolved and state.updated, say) and notifications may arrive
 * out of order, so the ticket's document keeps the last state reported and
 * its notification time: the same state again, or an older notification,
 * changes nothing. Tickets the plugin did not create are ignored.
 */
#include "si_tickets.h"

#include "plugin_kit.h"
#include "si_timeline.h"

#include <stdio.h>
#include <string.h>

struct ticket_change {
    const char *ticket_id;
    const char *state; /* category, e.g. "in_progress"; NULL when the payload has none */
    const char *label; /* what Intercom shows, e.g. "In progress"; may be NULL */
    bool closed;
};

static void read_state(json_object *ticket, struct ticket_change *c)
{
    json_object *state = sb_json_get(ticket, "ticket_state");
    if (json_object_is_type(state, json_type_object)) {
        c->state = sb_json_str(state, "category");
        c->label = sb_json_str(state, "internal_label");
    } else if (json_object_is_type(state, json_type_string)) {
        c->state = json_object_get_string(state);
    }
    if (json_object_is_type(sb_json_get(ticket, "open"), json_type_boolean)
        && !sb_json_bool(ticket, "open", true))
        c->closed = true;
}

/* Where each topic puts the ticket; false when the payload names none. */
static bool read_change(const sb_event *event, struct ticket_change *c)
{
    memset(c, 0, sizeof *c);
    json_object *item = event->item;
    json_object *ticket = sb_json_obj(item, "ticket");
    if (!ticket && pk_str_eq(sb_json_str(item, "type"), "ticket"))
        ticket = item;
    if (ticket) {
        c->ticket_id = sb_json_str(ticket, "id");
        read_state(ticket, c);
    }
    if (!c->ticket_id)
        c->ticket_id = sb_json_str(item, "ticket_id");
    if (strcmp(event->topic, "ticket.resolved") == 0 && !c->state)
        c->state = "resolved";
    if (strcmp(event->topic, "ticket.closed") == 0)
        c->closed = true;
    return c->ticket_id != NULL;
}

sb_status si_tickets_on_event(si_state *st, const sb_event *event, sb_result *result)
{
    struct ticket_change c;
    if (!read_change(event, &c) || !si_id_valid(c.ticket_id))
        return SB_OK; /* nothing we can tie to a ticket */
    json_object *link = si_get(st, event->installation, SI_TICKETS, c.ticket_id);
    if (!link)
        return SB_OK; /* not a ticket the plugin created */
    const char *request_id = sb_json_str(link, "request_id");
    const char *last_state = sb_json_str(link, "state");
    bool last_closed = sb_json_bool(link, "closed", false);
    int64_t last_at = sb_json_int(link, "notified_at", 0);
    if (!c.state)
        c.state = last_state ? last_state : "unknown";
    bool same = pk_str_eq(c.state, last_state) && c.closed == last_closed;
    if (same || event->created_at < last_at) {
        json_object_put(link);
        return SB_OK;
    }
    json_object *payload = json_object_new_object();
    sb_json_add_str(payload, "request_id", request_id);
    sb_json_add_str(payload, "escalation_id", sb_json_str(link, "escalation_id"));
    sb_json_add_str(payload, "ticket_id", c.ticket_id);
    sb_json_add_str(payload, "state", c.state);
    if (c.label)
        sb_json_add_str(payload, "label", c.label);
    sb_json_add_bool(payload, "closed", c.closed);
    sb_json_add_str(payload, "topic", event->topic);
    char text[256];
    snprintf(text, sizeof text, "Intercom ticket %s is now %s%s", c.ticket_id,
             c.label ? c.label : c.state, c.closed ? " (closed)" : "");
    int rc = si_timeline_add(st, event->installation, request_id, "ticket_state_changed", text,
                             payload);
    /* Without a product webhook the change is still on the timeline. */
    st->host->product_event(st->self, event->installation, "ticket.state_changed", payload);
    json_object_object_add(link, "state", json_object_new_string(c.state));
    json_object_object_add(link, "closed", json_object_new_boolean(c.closed));
    json_object_object_add(link, "notified_at", json_object_new_int64(event->created_at));
    if (rc == 0)
        rc = st->host->doc_put(st->self, event->installation, SI_TICKETS, c.ticket_id, link);
    json_object_put(payload);
    json_object_put(link);
    if (rc != 0)
        return sb_result_fail(result, SB_RETRY, "store_error", "cannot record the ticket's state");
    return SB_OK;
}
