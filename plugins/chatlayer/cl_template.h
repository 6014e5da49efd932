/*
 * cl_template.h - reply templates: text with {{variables}}. The variables
 * are the bot platform's: intercom.conversationId, contact.name and
 * contact.email. Templates are plain text: the rendered text is HTML-escaped
 * as a whole into the reply's body, so nothing a user or a template writes
 * becomes markup. Pure.
 */
#ifndef CL_TEMPLATE_H
#define CL_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

struct cl_vars {
    const char *conversation_id;
    const char *contact_name;  /* NULL or "": rendered as "" */
    const char *contact_email;
};

/** True if every {{...}} of @p tmpl names a known variable; else the reason in @p err. */
bool cl_template_check(const char *tmpl, char *err, size_t errlen);
/** @p tmpl with its variables filled in (unknown ones left as written). New string. */
char *cl_template_render(const char *tmpl, const struct cl_vars *vars);
/** Plain @p text as a reply body: HTML-escaped, in <p>, line breaks as <br>. New string. */
char *cl_text_html(const char *text);

#endif
