/* log.c - the log service: every line kept for the test to assert on. */
#include "kit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void kit_log_v(struct sbt_kit *kit, sb_log_level level, const char *fmt, va_list ap)
{
    if ((unsigned)level > SB_LOG_ERROR)
        level = SB_LOG_ERROR;
    char *text = xvasprintf(fmt, ap);
    struct kit_log_line line = {.pub = {level, text}, .text = text};
    KIT_PUSH(kit, log, line);
    if (kit->log_echo)
        fprintf(stderr, "[%s] %s\n", level_names[level], text);
}

void kit_log(struct sbt_kit *kit, sb_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kit_log_v(kit, level, fmt, ap);
    va_end(ap);
}

static void h_log(sb_plugin *self, sb_log_level level, const char *fmt, ...)
{
    struct sbt_kit *kit = kit_of(self, "log");
    if (!kit || !fmt)
        return;
    va_list ap;
    va_start(ap, fmt);
    kit_log_v(kit, level, fmt, ap);
    va_end(ap);
}

void kit_install_log(sb_host *host)
{
    host->log = h_log;
}

void kit_log_free(struct sbt_kit *kit)
{
    for (size_t i = 0; i < kit->n_log; i++)
        free(kit->log[i].text);
    free(kit->log);
}

size_t sbt_log_count(const sbt_kit *kit)
{
    return kit->n_log;
}

const sbt_log_line *sbt_log_at(const sbt_kit *kit, size_t i)
{
    return i < kit->n_log ? &kit->log[i].pub : NULL;
}

size_t sbt_log_find(const sbt_kit *kit, sb_log_level level, const char *needle)
{
    size_t n = 0;
    for (size_t i = 0; i < kit->n_log; i++)
        n += kit->log[i].pub.level >= level && strstr(kit->log[i].text, needle ? needle : "");
    return n;
}

void sbt_log_echo(sbt_kit *kit, bool echo)
{
    kit->log_echo = echo;
}
