/*
 * plugin_kit.h - the bundled plugins' own policy, compiled into each one
 * (plugins share no code at run time): allocation that aborts on exhaustion
 * (the host's policy, see the top-level README), NULL-safe string equality,
 * identifier checks, a growing string and {{placeholder}} templates
 * (pk_buf.c, pk_template.c), HTML as plain text (pk_html.c), a
 * conversation's address in Intercom's inbox, a product-API refusal in one call (the SDK's sb_result_fail leaves
 * http_status to the caller) and a list's ?limit=. Everything else they
 * share comes from the SDK, so this includes <switchboard/helpers.h> for
 * them.
 *
 * The buffer and the templates are here rather than in the SDK's helpers.h:
 * the buffer aborts on exhaustion, a policy the SDK leaves to each plugin,
 * and the template grammar is these plugins' product decision, not
 * Intercom's or the host's.
 *
 * No host calls here, so plugins' unit tests link it directly.
 */
#ifndef PLUGIN_KIT_H
#define PLUGIN_KIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <switchboard/helpers.h>
#include <switchboard/switchboard.h>

#if defined(__GNUC__) || defined(__clang__)
#define PK_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PK_PRINTF(fmt, args)
#endif

#define PK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- allocation: never NULL; exhaustion aborts ---- */

void *pk_xcalloc(size_t n, size_t size);
void *pk_xrealloc(void *p, size_t size);
char *pk_xstrdup(const char *s);
char *pk_xstrndup(const char *s, size_t n);
char *pk_xasprintf(const char *fmt, ...) PK_PRINTF(1, 2);
/** @p p, made elsewhere (the SDK helpers answer NULL when out of memory); NULL aborts. */
void *pk_xchecked(void *p);

/* ---- strings ---- */

/** Equal strings; NULL equals only NULL. */
bool pk_str_eq(const char *a, const char *b);
/**
 * @p id is 1 to @p max bytes, each an ASCII letter or digit or one of
 * @p extra ("" for none): an identifier safe in keys, paths and logs.
 */
bool pk_id_valid(const char *id, size_t max, const char *extra);

/* ---- a growing NUL-terminated string ---- */

struct pk_buf {
    char *data; /* NUL-terminated once anything was added; NULL before */
    size_t len, cap;
};

void pk_buf_put(struct pk_buf *b, const char *s, size_t n);
void pk_buf_puts(struct pk_buf *b, const char *s);
void pk_buf_printf(struct pk_buf *b, const char *fmt, ...) PK_PRINTF(2, 3);
/** Append @p s HTML-escaped (sb_html_escape_into: text and attribute values). */
void pk_buf_html(struct pk_buf *b, const char *s);
/** The contents (never NULL) handed to the caller, who frees them; @p b is reset. */
char *pk_buf_steal(struct pk_buf *b);
void pk_buf_free(struct pk_buf *b);

/* ---- text templates with {{placeholders}} ---- */
/*
 * The bundled plugins' one template grammar: a placeholder is "{{name}}",
 * spaces inside the braces allowed. The name runs to the next "}}"; it is
 * not empty and holds no "{" (in "{{{{x}}" the inner pair is the
 * placeholder) and no line break. Everything else is text. Each plugin
 * brings its own names and values and chooses the escaping.
 */

/**
 * The first placeholder at or after @p p: its whole span [*start, *end) and
 * its name without the spaces [*name, *name + *name_len). False if none.
 */
bool pk_template_next(const char *p, const char **start, const char **end, const char **name,
                      size_t *name_len);

/**
 * A plugin's variables: true and the value of the placeholder named by the
 * @p len bytes at @p name in *@p value (NULL renders as ""), or false when
 * it knows no such name (the placeholder is then kept as written).
 */
typedef bool (*pk_template_lookup)(void *ctx, const char *name, size_t len, const char **value);

enum pk_escape {
    PK_ESCAPE_NONE, /* text and values as they are */
    PK_ESCAPE_HTML, /* text and values HTML-escaped (unknown placeholders too) */
};

/** Append @p tmpl (NULL: "") to @p out with its placeholders filled in by @p lookup. */
void pk_template_render(struct pk_buf *out, const char *tmpl, pk_template_lookup lookup,
                        void *ctx, enum pk_escape escape);

/**
 * The names of @p tmpl's placeholders that are not among @p known
 * (NULL-terminated), each once in order of appearance, as "a, b" - or with
 * @p braces, "{{a}}, {{b}}" - in a new string; NULL if there are none.
 */
char *pk_template_unknown(const char *tmpl, const char *const *known, bool braces);

/* ---- HTML ---- */

/**
 * Plain text of an HTML fragment (a message body): tags and comments dropped,
 * script and style content dropped, a block element (p, br, div, li, ...)
 * ends a line, runs of whitespace become one space, named entities (amp, lt,
 * gt, quot, apos, nbsp) and numeric ones decoded (a control character or an
 * invalid code point becomes U+FFFD), other control characters dropped; an
 * unterminated tag drops the rest. NULL reads as "". Caller frees.
 */
char *pk_html_to_text(const char *html);

/* ---- Intercom ---- */

/** A conversation's page in the Intercom inbox of @p region's web app (US when unknown). */
char *pk_conversation_link(const char *region, const char *workspace_id,
                           const char *conversation_id);

/* ---- product-API errors ---- */

/**
 * A route's refusal: FAIL with @p http_status, @p code and the message, which
 * the host answers as {"error":{"status","code","message","request_id"}}.
 * Returns SB_FAIL, for `return pk_refuse(...)`.
 */
sb_status pk_refuse(sb_result *result, int http_status, const char *code, const char *fmt, ...)
    PK_PRINTF(4, 5);

/**
 * A list route's ?limit=: @p fallback when absent, else a whole number from
 * 1 to @p max written in digits only. False after refusing anything else in
 * @p result (400 invalid_limit, the range in the message).
 */
bool pk_query_limit(const sb_http_request *req, size_t fallback, size_t max, size_t *limit,
                    sb_result *result);

#endif
