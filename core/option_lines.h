/*
 * option_lines.h - where each element of a plugin's "options" group was
 * written, by its path below the group ("flows[2].intents[0].match"; "" is
 * the group itself), so that check_config's sb_result.where is reported at
 * that element's file and line.
 */
#ifndef SB_CORE_OPTION_LINES_H
#define SB_CORE_OPTION_LINES_H

#include <stdbool.h>

/* The longest path kept, NUL included: sb_result.where's size (checked in plugins.c). */
#define OPTION_PATH_MAX 128

struct option_lines;

struct option_lines *option_lines_new(void);
void option_lines_free(struct option_lines *lines);

/* Record that the element at @p path was written at @p file:@p line (both copied). */
void option_lines_add(struct option_lines *lines, const char *path, const char *file, int line);

/*
 * Where the element at @p path was written: that element, else the nearest
 * one recorded on its way from the group ("flows[2].intents" for
 * "flows[2].intents[9].match"), else the group. False when none of them is
 * recorded (@p lines may be NULL), leaving *file and *line as they were;
 * *file stays valid while @p lines lives.
 */
bool option_lines_find(const struct option_lines *lines, const char *path, const char **file,
                       int *line);

#endif
