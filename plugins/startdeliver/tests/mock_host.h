/*
 * mock_host.h - a fake sb_host for unit tests of the plugin's document code:
 * an in-memory document store with the host's semantics (values stored as
 * JSON text, byte-ordered keys, half-open ranges, transactions that roll
 * back), a settable clock and settings. Everything else is absent.
 */
#ifndef SD_MOCK_HOST_H
#define SD_MOCK_HOST_H

#include <switchboard/switchboard.h>

/** The host table and a plugin handle; reset between tests with mock_host_reset(). */
const sb_host *mock_host(void);
sb_plugin *mock_plugin(void);
void mock_host_reset(void);
void mock_host_set_now_ms(int64_t now_ms);
/** Settings returned by settings_get (borrowed; NULL: none). */
void mock_host_set_settings(json_object *settings);
/** Number of documents in a collection of an installation. */
int mock_host_count(sb_installation_id inst, const char *collection);

#endif
