/*
 * ss_template.h - the public reply template. Plain text with placeholders
 * written {{name}} (spaces inside the braces are allowed; the grammar is
 * plugin_kit's pk_template_next, on one line). Rendering for
 * Intercom escapes the text and the values for HTML and makes each non-empty
 * line a paragraph. A placeholder the caller does not know is kept as
 * written, so a typo shows up in the reply instead of vanishing, and
 * ss_template_unknown() lets the product API point it out beforehand.
 * Pure code.
 */
#ifndef SS_TEMPLATE_H
#define SS_TEMPLATE_H

#include <stddef.h>

struct ss_template_var {
    const char *name;
    const char *value; /* NULL renders as "" */
};

/** The placeholders a reply may use, NULL-terminated (see the README). */
extern const char *const ss_reply_placeholders[];

/** Render @p tmpl as HTML paragraphs. Caller frees. */
char *ss_template_render_html(const char *tmpl, const struct ss_template_var *vars, size_t n);
/** Render @p tmpl as plain text (no escaping). Caller frees. */
char *ss_template_render_text(const char *tmpl, const struct ss_template_var *vars, size_t n);
/**
 * Placeholders in @p tmpl that are not among @p known (NULL-terminated), as
 * "a, b" (pk_template_unknown without braces), or NULL if there are none.
 * Caller frees.
 */
char *ss_template_unknown(const char *tmpl, const char *const *known);

#endif
