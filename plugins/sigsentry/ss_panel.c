/*
 * ss_panel.c - the Canvas Kit panel in the Intercom inbox: the
 * conversation's triage, its recent analyses (newest first, with links) and
 * a "Run analysis" button. Submitting the button analyses the window now
 * (the logs are local, so the redrawn panel already lists the result); the
 * analysis note is posted by a durable job. Every answer is a canvas, never
 * an error: a conversation without a triage or a disconnected binding gets a
 * plain explanation. (The host already answers for revoked installations.)
 */
#include "ss_plugin.h"

#include "ss_render.h"
#include "ss_util.h"

#include <stdlib.h>
#include <string.h>

/* The conversation's start from the request, for analyses of untriaged conversations. */
static int64_t conversation_created_ms(const sb_canvas_request *req)
{
    int64_t created = sb_json_time(sb_json_obj(req->body, "conversation"), "created_at");
    return created > 0 ? created * 1000 : 0;
}

sb_status ss_canvas(void *state, const sb_canvas_request *req, sb_result *result)
{
    struct ss_plugin *ss = state;
    (void)result;
    json_object *panel;
    if (!ss_binding_active(ss, req->installation)) {
        panel = ss_render_panel_text("SigSentry is disconnected from this workspace. Connect it "
                                     "again from SigSentry to see triage results here.");
    } else if (!ss_conversation_id_valid(req->conversation_id)) {
        panel = ss_render_panel_text("Open a conversation to see its SigSentry triage.");
    } else {
        char *notice = NULL;
        if (strcmp(req->flow, "submit") == 0
            && pk_str_eq(req->component_id, SS_PANEL_RUN_ANALYSIS)) {
            struct ss_analysis_request ar;
            json_object *triage = ss_analysis_request_for(ss, req->installation,
                                                          req->conversation_id,
                                                          conversation_created_ms(req), &ar);
            ar.trigger = "panel";
            ar.requested_by = req->admin_id;
            json_object *analysis = ss_analysis_run(ss, req->installation, &ar);
            json_object_put(triage);
            if (analysis) {
                char *summary = ss_render_analysis_summary(analysis);
                notice = pk_xasprintf("Analysis complete: %s. The note follows in the "
                                      "conversation.",
                                      summary);
                free(summary);
                json_object_put(analysis);
            } else {
                notice = pk_xstrdup("The analysis could not be stored. Please try again.");
            }
        }
        json_object *triage = ss_get(ss, req->installation, SS_TRIAGE, req->conversation_id);
        json_object *analyses = ss_analyses_recent(ss, req->installation, req->conversation_id,
                                                   (size_t)ss->options.panel_analyses);
        panel = ss_render_panel(triage, analyses, notice, true);
        json_object_put(triage);
        json_object_put(analyses);
        free(notice);
    }
    ss->host->respond(ss->self, req->reply, 200, panel);
    json_object_put(panel); /* respond borrows it */
    return SB_OK;
}
