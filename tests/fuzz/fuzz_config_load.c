/*
 * fuzz_config_load - the configuration loader: the input is written to a
 * file and loaded with config_load; the report (errors and warnings with
 * file:line) and any configuration are freed. The folder also holds an
 * includable plugin file and a secret file, so @include and *_file reach
 * real files. A configuration comes back exactly when there is no error.
 */
#include "config.h"
#include "logcheck.h"
#include "tempdir.h"
#include "util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[128];
static char conf_path[256];

static void write_file(const char *name, const void *data, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len)) {
        perror(path);
        abort();
    }
    close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_log_init(*argc, *argv);
    fuzz_temp_dir(dir, sizeof dir, "switchboard-fuzz-config");
    static const char plugin[] = "client_id = \"id\";\nclient_secret_file = \"secret.txt\";\n"
                                 "settings: { label = \"x\"; };\n";
    write_file("plugin.conf", plugin, sizeof plugin - 1);
    write_file("secret.txt", "s3cret\n", 7);
    snprintf(conf_path, sizeof conf_path, "%s/switchboard.conf", dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_file("switchboard.conf", data, size);
    struct config_report report;
    config_report_init(&report);
    struct config *cfg = config_load(conf_path, &report);
    if ((cfg != NULL) != (report.n_errors == 0)) {
        fprintf(fuzz_diag(), "fuzz: config_load returned %s with %d errors\n", cfg ? "a config" : "NULL",
                report.n_errors);
        abort();
    }
    if (report.errors.len && report.errors.data[report.errors.len] != '\0')
        abort(); /* the report is a C string */
    config_free(cfg);
    config_report_free(&report);
    fuzz_log_check();
    return 0;
}
