/* log.c - formatted log lines, written with one write(2) so threads never interleave. */
#include "log.h"

#include "util.h"

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

/* A well-formed UTF-8 character that is not a C1 control (U+0080-U+009F): its length, else 0. */
static size_t printable_utf8(const unsigned char *p, const unsigned char *end)
{
    size_t n = utf8_char_length(p, (size_t)(end - p));
    return n == 2 && p[0] == 0xc2 && p[1] < 0xa0 ? 0 : n;
}

/*
 * Copy a message into out, escaping what could forge or hide log content:
 * every C0 control (CR and LF would split entries, ESC drives terminals), DEL,
 * C1 controls and bytes that are not valid UTF-8 become \xNN. Returns the
 * length written; stops early rather than cutting an escape in half.
 */
static size_t escape_message(char *out, size_t cap, const char *msg, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)msg, *end = p + len;
    size_t used = 0;
    while (p < end) {
        size_t n = *p >= 0x20 && *p < 0x7f ? 1 : *p >= 0x80 ? printable_utf8(p, end) : 0;
        if (n) {
            if (used + n > cap)
                break;
            memcpy(out + used, p, n);
            used += n;
            p += n;
            continue;
        }
        if (used + 4 > cap)
            break;
        out[used++] = '\\';
        out[used++] = 'x';
        out[used++] = hex[*p >> 4];
        out[used++] = hex[*p & 15];
        p++;
    }
    return used;
}

void log_vmsg(enum log_level level, const char *component, const char *fmt, va_list ap)
{
    if (level < current_level)
        return;
    char line[4096], msg[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %-5s [%s] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (int)(tv.tv_usec / 1000), level_names[level], component);
    if (n < 0 || (size_t)n >= sizeof line)
        return;
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    if (m < 0)
        return;
    size_t msg_len = (size_t)m < sizeof msg ? (size_t)m : sizeof msg - 1;
    /* A message must stay one line of text: input must never forge entries or hide bytes. */
    size_t used = (size_t)n + escape_message(line + n, sizeof line - (size_t)n - 1, msg, msg_len);
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
