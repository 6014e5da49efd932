/*
 * migrations.h - numbered schema steps; step N brings the schema to version N
 * (SQLite's user_version, PostgreSQL's store_schema table). Both engines have
 * a step for every version.
 */
#ifndef SB_CORE_MIGRATIONS_H
#define SB_CORE_MIGRATIONS_H

#define MIGRATIONS_COUNT 9

int migrations_count(void);
const char *migrations_step(int version);    /* SQLite; 1-based; NULL if out of range */
const char *migrations_pg_step(int version); /* PostgreSQL; "" where it has nothing to do */

#endif
