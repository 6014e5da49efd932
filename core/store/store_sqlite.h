/*
 * store_sqlite.h - the SQLite engine's connection, for tests that look below
 * the store's API (query plans, the statements it keeps prepared). Nothing
 * in the server includes this.
 */
#ifndef SB_CORE_STORE_SQLITE_H
#define SB_CORE_STORE_SQLITE_H

#include "store/store.h"

#include <sqlite3.h>

/* The connection of a store opened on SQLite; NULL on another engine. */
sqlite3 *store_sqlite_db(struct store *st);

#endif
