/*
 * startup.h - bring one server up in this process, run its loop, take it
 * down. main.c calls these after reading the command line; the fuzz targets
 * (tests/fuzz) boot the same server in-process and feed it connections.
 */
#ifndef SB_CORE_STARTUP_H
#define SB_CORE_STARTUP_H

#include "config.h"
#include "server.h"

#include <stdbool.h>
#include <switchboard/switchboard.h>

enum { EXIT_STARTUP = 1, EXIT_CONFIG = 2 };

struct server_start_options {
    const sb_host *services; /* the table plugins receive: host_services */
    bool strict_plugins; /* any refused plugin is fatal */
    bool no_listen;      /* serve only connections handed to http_server_adopt */
};

/*
 * Start everything srv->cfg describes: event loop, secrets, store, plugins,
 * HTTP server, jobs. Configuration errors found on the way go to report and
 * stderr. Returns 0, EXIT_STARTUP or EXIT_CONFIG; whatever the result, call
 * server_stop afterwards.
 */
int server_start(struct server *srv, struct config_report *report,
                 const struct server_start_options *opt);
/* Serve until SIGINT or SIGTERM. */
void server_run(struct server *srv);
/* Print a report's warnings and errors to stderr. */
void server_print_report(const struct config_report *r);
/* Free everything server_start made (not srv->cfg). */
void server_stop(struct server *srv);

#endif
