/*
 * unit_store.h - the store the store's unit tests run on: a SQLite file in
 * the test's folder, or, with SWITCHBOARD_TEST_PG_URL set (a libpq
 * connection string), a PostgreSQL schema of that database named after the
 * file, emptied when the test first opens it (later opens see what was
 * written, as the file would).
 */
#ifndef SB_TESTS_UNIT_STORE_H
#define SB_TESTS_UNIT_STORE_H

#include "store/store.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline bool unit_store_on_postgresql(void)
{
    const char *url = getenv("SWITCHBOARD_TEST_PG_URL");
    return url && *url;
}

/* name's letters and digits, lowercased: a schema name that needs no quoting. */
static inline void unit_store_schema_name(const char *name, char *out, size_t outlen)
{
    size_t n = 0;
    n += (size_t)snprintf(out, outlen, "unit_");
    for (const char *p = name; *p && n + 1 < outlen; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
            out[n++] = *p;
        else if (*p >= 'A' && *p <= 'Z')
            out[n++] = (char)(*p - 'A' + 'a');
        else
            out[n++] = '_';
    out[n] = '\0';
}

static inline struct store *unit_store_open(const char *dir, const char *name)
{
    char err[512];
    if (!unit_store_on_postgresql()) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        struct store *st = store_open(path, err, sizeof err);
        if (!st)
            fprintf(stderr, "store_open: %s\n", err);
        return st;
    }
    /* The folder is this run's own: a marker file in it says the schema was emptied. */
    char schema[128], marker[640], url[1024], sql[512];
    unit_store_schema_name(name, schema, sizeof schema);
    snprintf(marker, sizeof marker, "%s/%s.pg", dir, schema);
    const char *base = getenv("SWITCHBOARD_TEST_PG_URL");
    FILE *seen = fopen(marker, "r");
    if (seen)
        fclose(seen);
    else {
        PGconn *pg = PQconnectdb(base);
        snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", schema,
                 schema);
        PGresult *res = PQstatus(pg) == CONNECTION_OK ? PQexec(pg, sql) : NULL;
        bool ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok)
            fprintf(stderr, "cannot empty schema %s: %s", schema, PQerrorMessage(pg));
        PQclear(res);
        PQfinish(pg);
        if (!ok)
            return NULL;
        FILE *m = fopen(marker, "w");
        if (m)
            fclose(m);
    }
    if (strstr(base, "://")) /* a URI: its values are percent-encoded */
        snprintf(url, sizeof url, "%s%soptions=-csearch_path%%3D%s", base,
                 strchr(base, '?') ? "&" : "?", schema);
    else
        snprintf(url, sizeof url, "%s options='-csearch_path=%s'", base, schema);
    struct store_options options = {.driver = "postgresql", .url = url};
    struct store *st = store_open_with(&options, err, sizeof err);
    if (!st)
        fprintf(stderr, "store_open_with: %s\n", err);
    return st;
}

#endif
