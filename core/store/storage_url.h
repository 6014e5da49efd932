/*
 * storage_url.h - PostgreSQL connection strings (storage.url): checked with
 * libpq's own parser, and shown without what may be secret in them.
 */
#ifndef SB_CORE_STORAGE_URL_H
#define SB_CORE_STORAGE_URL_H

#include <stdbool.h>

/*
 * Whether libpq reads url as a connection string: a postgresql:// or
 * postgres:// URI, or key=value pairs. Parsing only, no connection. libpq's
 * own message is not passed on: it may quote the text, password included.
 */
bool storage_url_valid(const char *url);

/*
 * url as it may be shown (a log line, --check-config): a URI keeps its scheme,
 * hosts, ports and database, key=value text its host, hostaddr, port and
 * dbname; the user, the password and every other parameter are dropped, and
 * a note says so. A URI whose credentials cannot be told apart safely (an '@'
 * after the host part) shows only its scheme. Never NULL; the caller frees it.
 */
char *storage_url_display(const char *url);

#endif
