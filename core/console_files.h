/*
 * console_files.h - the web console's files (core/console/...), compiled in
 * at build time by cmake/embed_console.c into the build's console_files.c.
 */
#ifndef SB_CORE_CONSOLE_FILES_H
#define SB_CORE_CONSOLE_FILES_H

#include <stddef.h>

struct console_file {
    const char *path;         /* under core/console/, e.g. "index.html", "js/app.js" */
    const char *content_type;
    const char *etag;         /* strong, quoted: a hash of the bytes */
    const unsigned char *data;
    size_t size;
};

extern const struct console_file console_files[];
extern const size_t console_files_count;

#endif
