/*
 * storage_url.c - PostgreSQL connection strings: validity by libpq's parser,
 * and a display form without credentials (see storage_url.h).
 */
#include "store/storage_url.h"

#include "util.h"

#include <libpq-fe.h>
#include <string.h>

#define HIDDEN_NOTE "(user, password and parameters hidden)"

static const char *const uri_schemes[] = {"postgresql://", "postgres://"};

/* The text after the scheme if url is a URI libpq would read as one, else NULL. */
static const char *uri_rest(const char *url)
{
    for (size_t i = 0; i < ARRAY_LEN(uri_schemes); i++)
        if (str_starts_with(url, uri_schemes[i]))
            return url + strlen(uri_schemes[i]);
    return NULL;
}

bool storage_url_valid(const char *url)
{
    char *message = NULL;
    PQconninfoOption *options = PQconninfoParse(url, &message);
    PQfreemem(message);
    if (!options)
        return false;
    PQconninfoFree(options);
    return true;
}

/*
 * scheme://[user[:password]@]host[:port][,...][/dbname][?parameters]: the
 * authority ends at the first '/' or '?', its user info at its last '@'.
 * An '@' further on means a password with an unescaped '/' or '?' (which
 * libpq misreads too): nothing past the scheme is shown then.
 */
static char *uri_display(const char *url, const char *rest)
{
    size_t scheme_len = (size_t)(rest - url);
    size_t authority_len = strcspn(rest, "/?");
    if (strchr(rest + authority_len, '@'))
        return xasprintf("%.*s " HIDDEN_NOTE, (int)scheme_len, url);
    const char *host = rest;
    for (const char *c = rest; c < rest + authority_len; c++)
        if (*c == '@')
            host = c + 1;
    size_t shown_len = strcspn(host, "?");
    bool dropped = host != rest || host[shown_len] == '?';
    return xasprintf("%.*s%.*s%s", (int)scheme_len, url, (int)shown_len, host,
                     dropped ? " " HIDDEN_NOTE : "");
}

/* A value as key=value text writes it: quoted when it has a space, a quote or a backslash. */
static void put_pair_value(struct buf *out, const char *value)
{
    if (*value && !strpbrk(value, " '\\")) {
        buf_puts(out, value);
        return;
    }
    buf_putc(out, '\'');
    for (const char *c = value; *c; c++) {
        if (*c == '\'' || *c == '\\')
            buf_putc(out, '\\');
        buf_putc(out, *c);
    }
    buf_putc(out, '\'');
}

/* key=value text: the keys that say where, as libpq read them; the rest is dropped. */
static char *pairs_display(const char *url)
{
    static const char *const shown_keys[] = {"host", "hostaddr", "port", "dbname"};
    PQconninfoOption *options = PQconninfoParse(url, NULL);
    if (!options)
        return xstrdup("(not a valid connection string)");
    const char *shown[ARRAY_LEN(shown_keys)] = {NULL};
    bool dropped = false;
    for (const PQconninfoOption *o = options; o->keyword; o++) {
        if (!o->val)
            continue; /* not in the text (PQconninfoParse fills in no defaults) */
        size_t i = 0;
        while (i < ARRAY_LEN(shown_keys) && strcmp(o->keyword, shown_keys[i]) != 0)
            i++;
        /* A dbname that is a connection string itself (libpq may expand it) may hold a password. */
        bool nested = strcmp(o->keyword, "dbname") == 0
                      && (strchr(o->val, '=') || uri_rest(o->val));
        if (i < ARRAY_LEN(shown_keys) && !nested)
            shown[i] = o->val;
        else
            dropped = true;
    }
    struct buf out;
    buf_init(&out);
    for (size_t i = 0; i < ARRAY_LEN(shown_keys); i++) {
        if (!shown[i])
            continue;
        buf_printf(&out, "%s%s=", out.len ? " " : "", shown_keys[i]);
        put_pair_value(&out, shown[i]);
    }
    PQconninfoFree(options);
    if (!out.len)
        buf_puts(&out, dropped ? HIDDEN_NOTE : "(libpq's defaults)");
    else if (dropped)
        buf_puts(&out, " " HIDDEN_NOTE);
    return buf_steal(&out);
}

char *storage_url_display(const char *url)
{
    const char *rest = uri_rest(url);
    return rest ? uri_display(url, rest) : pairs_display(url);
}
