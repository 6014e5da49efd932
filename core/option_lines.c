/* option_lines.c - the path -> file:line table of a plugin's options (option_lines.h). */
#include "option_lines.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct option_line {
    char *path;
    size_t file; /* index into files */
    int line;
};

struct option_lines {
    struct option_line *entries;
    size_t n_entries, cap_entries;
    char **files; /* each file once: options rarely span more than a few */
    size_t n_files;
};

struct option_lines *option_lines_new(void)
{
    return xcalloc(1, sizeof(struct option_lines));
}

void option_lines_free(struct option_lines *lines)
{
    if (!lines)
        return;
    for (size_t i = 0; i < lines->n_entries; i++)
        free(lines->entries[i].path);
    free(lines->entries);
    for (size_t i = 0; i < lines->n_files; i++)
        free(lines->files[i]);
    free(lines->files);
    free(lines);
}

static size_t file_index(struct option_lines *lines, const char *file)
{
    for (size_t i = 0; i < lines->n_files; i++)
        if (strcmp(lines->files[i], file) == 0)
            return i;
    lines->files = xrealloc(lines->files, (lines->n_files + 1) * sizeof *lines->files);
    lines->files[lines->n_files] = xstrdup(file);
    return lines->n_files++;
}

void option_lines_add(struct option_lines *lines, const char *path, const char *file, int line)
{
    if (lines->n_entries == lines->cap_entries) {
        lines->cap_entries = lines->cap_entries ? 2 * lines->cap_entries : 16;
        lines->entries = xrealloc(lines->entries, lines->cap_entries * sizeof *lines->entries);
    }
    struct option_line *e = &lines->entries[lines->n_entries++];
    e->path = xstrdup(path);
    e->file = file_index(lines, file);
    e->line = line;
}

static const struct option_line *find_exact(const struct option_lines *lines, const char *path)
{
    for (size_t i = 0; i < lines->n_entries; i++)
        if (strcmp(lines->entries[i].path, path) == 0)
            return &lines->entries[i];
    return NULL;
}

/* "a.b[2]" -> "a.b" -> "a" -> "": drop the last member name or [index]. */
static void drop_last_step(char *path)
{
    size_t n = strlen(path);
    while (n > 0 && path[n - 1] != '.' && path[n - 1] != '[')
        n--;
    path[n > 0 ? n - 1 : 0] = '\0';
}

bool option_lines_find(const struct option_lines *lines, const char *path, const char **file,
                       int *line)
{
    if (!lines)
        return false;
    char prefix[OPTION_PATH_MAX];
    snprintf(prefix, sizeof prefix, "%s", path);
    for (;;) {
        const struct option_line *e = find_exact(lines, prefix);
        if (e) {
            *file = lines->files[e->file];
            *line = e->line;
            return true;
        }
        if (!prefix[0])
            return false;
        drop_last_step(prefix);
    }
}
