/* log.c - formatted log lines, written with one write(2) so threads never interleave. */
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level current_level = LOG_INFO;
static bool access_enabled = true;

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void log_set_level(enum log_level level)
{
    current_level = level;
}

enum log_level log_get_level(void)
{
    return current_level;
}

bool log_level_parse(const char *name, enum log_level *out)
{
    static const char *const lower[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, lower[i]) == 0) {
            *out = (enum log_level)i;
            return true;
        }
    }
    return false;
}

void log_set_access(bool enabled)
{
    access_enabled = enabled;
}

bool log_access_enabled(void)
{
    return access_enabled;
}

void log_vmsg(enum log_level level, const char *component, const char *fmt, va_list ap)
{
    if (level < current_level)
        return;
    char line[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %-5s [%s] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (int)(tv.tv_usec / 1000), level_names[level], component);
    if (n < 0)
        return;
    size_t used = (size_t)n;
    int m = vsnprintf(line + used, sizeof line - used - 1, fmt, ap);
    if (m > 0)
        used += (size_t)m < sizeof line - used - 1 ? (size_t)m : sizeof line - used - 2;
    /* A message must stay one line: newlines from callers would let input forge entries. */
    for (size_t i = (size_t)n; i < used; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[used++] = '\n';
    ssize_t rc = write(STDERR_FILENO, line, used);
    (void)rc;
}

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, component, fmt, ap);
    va_end(ap);
}
