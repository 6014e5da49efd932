/*
 * main.c - command line and configuration; start-up, the router and shutdown
 * are in startup.c.
 */
#include "config.h"
#include "host.h"
#include "keyrotate.h"
#include "log.h"
#include "plugins.h"
#include "server.h"
#include "startup.h"
#include "store/storage_url.h"
#include "util.h"

#include <curl/curl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct options {
    const char *config_path;
    const char *listen;
    bool check_config;
    bool strict_plugins;
    bool rotate_key;
};

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: switchboard [options]\n"
            "\n"
            "Hosts Intercom connector plugins: OAuth installs, signed webhooks, Canvas Kit,\n"
            "a rate-limited Intercom client, durable jobs and SQLite state.\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE     read FILE (default: the embedded etc/switchboard.conf,\n"
            "                        with relative paths resolved from ./etc)\n"
            "      --listen H:P      listen on host H, port P (0 picks a free port)\n"
            "      --check-config    validate the configuration and every plugin's settings,\n"
            "                        print problems with file and line, then exit\n"
            "      --strict-plugins  exit with an error if any plugin is refused\n"
            "      --rotate-key      generate a new sealing key, re-seal every stored token\n"
            "                        under it and replace the key file, then exit; run it\n"
            "                        with the server stopped (refused while one runs)\n"
            "  -V, --version         print the version and SDK ABI, then exit\n"
            "  -h, --help            print this help, then exit\n"
            "\n"
            "Exit status: 0 success, 1 start-up failure, 2 configuration error.\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
    enum { OPT_LISTEN = 256, OPT_CHECK, OPT_STRICT, OPT_ROTATE_KEY };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},  {"listen", required_argument, NULL, OPT_LISTEN},
        {"check-config", no_argument, NULL, OPT_CHECK},
        {"strict-plugins", no_argument, NULL, OPT_STRICT},
        {"rotate-key", no_argument, NULL, OPT_ROTATE_KEY},
        {"version", no_argument, NULL, 'V'},       {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "c:Vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config_path = optarg; break;
        case OPT_LISTEN: o->listen = optarg; break;
        case OPT_CHECK: o->check_config = true; break;
        case OPT_STRICT: o->strict_plugins = true; break;
        case OPT_ROTATE_KEY: o->rotate_key = true; break;
        case 'V':
            /* One version: Switchboard's release is its SDK's (SB_SDK_VERSION). */
            printf("switchboard %s (plugin SDK ABI %d.%d)\n", SB_SDK_VERSION, SB_ABI_MAJOR,
                   SB_ABI_MINOR);
            exit(0);
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "switchboard: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    return 0;
}

/* Where the data lives, for the operator: SQLite's file, or PostgreSQL's url without secrets. */
static char *storage_summary(const struct config *cfg)
{
    if (strcmp(cfg->storage_driver, "postgresql") != 0)
        return xasprintf("%s at %s", cfg->storage_driver, cfg->db_path);
    char *where = storage_url_display(cfg->storage_url);
    char *summary = xasprintf("%s at %s, node %s, job leases of %d s", cfg->storage_driver,
                              where, cfg->storage_node ? cfg->storage_node : "<hostname>-<port>",
                              cfg->storage_lease_s);
    free(where);
    return summary;
}

static int check_config(struct server *srv, struct config_report *report)
{
    srv->plugins = plugins_load(srv, &host_services, false, report);
    server_print_report(report);
    for (size_t i = 0; i < srv->plugins->n_refused; i++) {
        /* Located at the plugin's group, which may be in an @included file. */
        const struct plugin_config *pc = config_plugin(srv->cfg, srv->plugins->refused[i].name);
        fprintf(stderr, "%s:%d: plugin '%s' cannot be loaded: %s\n",
                pc ? pc->file : srv->cfg->path, pc ? pc->line : 0,
                srv->plugins->refused[i].name, srv->plugins->refused[i].reason);
    }
    int rc = report->n_errors || srv->plugins->n_refused ? EXIT_CONFIG : 0;
    if (!rc) {
        char *storage = storage_summary(srv->cfg);
        printf("%s: configuration OK (%zu plugins, %d warnings)\nstorage: %s\n", srv->cfg->path,
               srv->plugins->n, report->n_warnings, storage);
        free(storage);
    }
    plugins_free(srv->plugins);
    srv->plugins = NULL;
    return rc;
}

int main(int argc, char **argv)
{
    struct options opt = {0};
    if (parse_args(argc, argv, &opt) != 0)
        return EXIT_CONFIG;
    signal(SIGPIPE, SIG_IGN);

    struct config_report report;
    config_report_init(&report);
    struct server srv = {0};
    srv.started_ms = time_now_ms();
    srv.cfg = config_load(opt.config_path, &report);
    if (!srv.cfg) {
        server_print_report(&report);
        fprintf(stderr, "switchboard: configuration has %d error%s\n", report.n_errors,
                report.n_errors == 1 ? "" : "s");
        config_report_free(&report);
        return EXIT_CONFIG;
    }
    if (opt.listen) {
        char *host;
        int port;
        if (!config_parse_listen(opt.listen, &host, &port)) {
            fprintf(stderr, "switchboard: --listen must be HOST:PORT, not '%s'\n", opt.listen);
            config_free(srv.cfg);
            config_report_free(&report);
            return EXIT_CONFIG;
        }
        free(srv.cfg->listen_host);
        srv.cfg->listen_host = host;
        srv.cfg->listen_port = port;
    }
    log_set_level(srv.cfg->log_level);
    log_set_access(srv.cfg->access_log);
    curl_global_init(CURL_GLOBAL_DEFAULT); /* once, before any plugin can touch curl */

    int rc = 0;
    if (opt.check_config) {
        rc = check_config(&srv, &report);
        goto done;
    }
    if (opt.rotate_key) {
        rc = keyrotate_run(srv.cfg, stdout);
        goto done;
    }
    if (srv.cfg->embedded) {
        char *storage = storage_summary(srv.cfg);
        log_info("main", "no -c given: using the embedded default configuration (storage: %s)",
                 storage);
        free(storage);
    }

    struct server_start_options start = {.services = &host_services,
                                         .strict_plugins = opt.strict_plugins};
    rc = server_start(&srv, &report, &start);
    if (rc == 0)
        server_run(&srv);

done:
    server_stop(&srv);
    config_free(srv.cfg);
    config_report_free(&report);
    curl_global_cleanup();
    return rc;
}
