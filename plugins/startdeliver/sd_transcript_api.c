/*
 * sd_transcript_api.c - GET /api/startdeliver/tickets/{id}/messages: a
 * ticket's messages in order, a page at a time (?limit=, ?after= the "next"
 * of the previous page).
 */
#include "sd_transcript.h"

#include "sd_model.h"
#include "sd_util.h"

#include <string.h>

#define DEFAULT_LIMIT 100
#define MAX_LIMIT 1000
#define ORDINAL_DIGITS 10

static bool cursor_valid(const char *after)
{
    size_t n = strlen(after);
    return n > 0 && n <= ORDINAL_DIGITS && strspn(after, "0123456789") == n;
}

sb_status sd_route_ticket_messages(void *state, const sb_http_request *req, sb_result *result)
{
    struct sd_plugin *sd = state;
    size_t limit;
    if (!pk_query_limit(req, DEFAULT_LIMIT, MAX_LIMIT, &limit, result))
        return SB_FAIL;
    const char *after = sb_json_str(req->query, "after");
    if (after && !cursor_valid(after))
        return pk_refuse(result, 400, "invalid_request",
                         "after must be the next value of the previous page (digits)");
    const char *id = sb_json_str(req->params, "id");
    json_object *ticket = sd_id_valid(id) ? sd_get(sd, req->installation, SD_TICKETS, id) : NULL;
    if (!ticket)
        return pk_refuse(result, 404, "unknown_ticket", "no ticket for that conversation");
    json_object_put(ticket);
    struct sd_settings settings;
    sd_settings_of(sd, req->installation, &settings);
    json_object *page = sd_transcript_page(sd, req->installation, id, after, limit,
                                           settings.include_notes);
    if (!page)
        return pk_refuse(result, 500, "store_error", "cannot read the ticket's messages");
    sb_json_add_str(page, "ticket_id", id);
    sd->host->respond(sd->self, req->reply, 200, page);
    json_object_put(page); /* respond borrows it */
    return SB_OK;
}
