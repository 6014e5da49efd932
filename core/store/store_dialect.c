/*
 * store_dialect.c - an engine's own text of a statement written in the
 * store's shared dialect (store_sql.h): STORE_DIALECT fragments resolved, and
 * parameters respelled for PostgreSQL.
 */
#include "store/store_engine.h"

#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

enum { DIALECT_BEGIN = 1, DIALECT_NEXT = 2, DIALECT_END = 3 };

char *store_sql_for(const char *sql, int part, bool numbered_parameters)
{
    /* A ? becomes $ and at most 10 digits: never more than 10 bytes per input byte. */
    size_t len = strlen(sql);
    char *out = xmalloc(len * 11 + 1);
    size_t n = 0;
    int fragment_part = -1; /* outside a STORE_DIALECT fragment */
    int highest = 0;        /* the highest parameter number so far (a plain ? is the next) */
    char quote = 0;         /* inside '...' or "..." */
    for (const char *p = sql; *p; p++) {
        if (*p == DIALECT_BEGIN) {
            fragment_part = 0;
            continue;
        }
        if (*p == DIALECT_NEXT) {
            fragment_part++;
            continue;
        }
        if (*p == DIALECT_END) {
            fragment_part = -1;
            continue;
        }
        if (fragment_part >= 0 && fragment_part != part)
            continue;
        if (quote) {
            if (*p == quote)
                quote = 0; /* a doubled quote closes and reopens: the same text */
            out[n++] = *p;
            continue;
        }
        if (*p == '\'' || *p == '"') {
            quote = *p;
            out[n++] = *p;
            continue;
        }
        if (*p != '?' || !numbered_parameters) {
            out[n++] = *p;
            continue;
        }
        int number = 0;
        while (isdigit((unsigned char)p[1]))
            number = number * 10 + (*++p - '0');
        if (number == 0)
            number = highest + 1;
        if (number > highest)
            highest = number;
        n += (size_t)sprintf(out + n, "$%d", number);
    }
    out[n] = '\0';
    return out;
}
