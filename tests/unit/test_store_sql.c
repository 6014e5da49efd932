/* test_store_sql.c - the shared SQL dialect: each engine's text of a statement (store_sql_for). */
#include "store/store_engine.h"
#include "unit.h"

#include <stdlib.h>

static void check_for(const char *sql, int part, bool dollars, const char *want)
{
    char *got = store_sql_for(sql, part, dollars);
    CHECK_STR(got, want);
    free(got);
}

static void parameters_respelled_for_postgresql(void)
{
    check_for("SELECT a FROM t WHERE b = ?1 AND (?2 IS NULL OR c = ?2)", 1, true,
              "SELECT a FROM t WHERE b = $1 AND ($2 IS NULL OR c = $2)");
}

static void numbered_and_plain(void)
{
    /* A plain ? is one more than the highest number so far, as SQLite counts. */
    check_for("VALUES (?, ?, ?7, ?, ?2)", 1, true, "VALUES ($1, $2, $7, $8, $2)");
    check_for("WHERE id = ?12", 1, true, "WHERE id = $12");
    /* SQLite keeps its own spelling. */
    check_for("VALUES (?, ?3)", 0, false, "VALUES (?, ?3)");
}

static void quoted_text_left_alone(void)
{
    check_for("SELECT '?1', \"a?\" , 'it''s ?' FROM t WHERE x = ?", 1, true,
              "SELECT '?1', \"a?\" , 'it''s ?' FROM t WHERE x = $1");
}

static void dialect_fragments(void)
{
    const char *sql = "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs"
                      STORE_INDEXED_BY("jobs_finished") " WHERE type "
                      STORE_STARTS_WITH("product:") " LIMIT ?1)";
    check_for(sql, 0, false,
              "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs INDEXED BY jobs_finished WHERE "
              "type GLOB 'product:*' LIMIT ?1)");
    check_for(sql, 1, true,
              "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE type LIKE 'product:%' "
              "LIMIT $1)");
    check_for("VALUES (" STORE_NEXT_ID ", ?1)", 1, true, "VALUES (nextval('store_ids'), $1)");
    /* A fragment that is empty on one engine. */
    check_for(STORE_DIALECT("PRAGMA secure_delete = ON", ""), 1, true, "");
}

int main(void)
{
    RUN(parameters_respelled_for_postgresql);
    RUN(numbered_and_plain);
    RUN(quoted_text_left_alone);
    RUN(dialect_fragments);
    UNIT_DONE();
}
