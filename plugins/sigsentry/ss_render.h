/*
 * ss_render.h - everything sigsentry shows to people, built from its stored
 * documents: the triage note and the analysis note (HTML for Intercom), the
 * Canvas Kit panel, and the analysis page behind the analysis URL. Pure
 * code, so the exact bodies are unit-tested.
 *
 * The documents' shapes are described in ss_plugin.h.
 */
#ifndef SS_RENDER_H
#define SS_RENDER_H

#include <json-c/json.h>
#include <stdbool.h>

/** Components ids of the panel. */
#define SS_PANEL_RUN_ANALYSIS "run_analysis"

/** The internal note for one triage revision. Caller frees. */
char *ss_render_triage_note(json_object *triage);
/** The internal note for an analysis. Caller frees. */
char *ss_render_analysis_note(json_object *analysis);
/**
 * The panel: the triage (NULL: not triaged yet), the analyses (an array,
 * newest first; may be NULL), an optional notice line, and whether the
 * "Run analysis" button is offered. New reference: {"canvas":{...}}.
 */
json_object *ss_render_panel(json_object *triage, json_object *analyses, const char *notice,
                             bool offer_run);
/** A panel that only says @p text (muted). New reference. */
json_object *ss_render_panel_text(const char *text);
/** The analysis page (a whole HTML document). Caller frees. */
char *ss_render_analysis_page(json_object *analysis);
/** "3 errors in 2 signatures" / "no errors" summary of an analysis. Caller frees. */
char *ss_render_analysis_summary(json_object *analysis);

#endif
