/* ss_util.c - UTC time and random ids. */
#include "ss_util.h"

#include <errno.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>

/* ---- time ---- */

static void split_ms(int64_t ms, struct tm *tm, int *millis)
{
    int64_t secs = ms / 1000;
    int64_t rem = ms % 1000;
    if (rem < 0) {
        rem += 1000;
        secs--;
    }
    time_t t = (time_t)secs;
    gmtime_r(&t, tm);
    *millis = (int)rem;
}

void ss_time_iso(int64_t ms, char out[SS_TIME_LEN])
{
    struct tm tm;
    int millis;
    split_ms(ms, &tm, &millis);
    size_t n = strftime(out, SS_TIME_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, SS_TIME_LEN - n, ".%03uZ", (unsigned)millis % 1000u);
}

void ss_time_human(int64_t ms, char out[SS_TIME_LEN])
{
    struct tm tm;
    int millis;
    split_ms(ms, &tm, &millis);
    strftime(out, SS_TIME_LEN, "%Y-%m-%d %H:%M UTC", &tm);
}

/* ---- ids ---- */

bool ss_random_hex(char *out, size_t bytes)
{
    unsigned char raw[64];
    if (bytes == 0 || bytes > sizeof raw)
        return false;
    size_t got = 0;
    while (got < bytes) {
        ssize_t n = getrandom(raw + got, bytes - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        got += (size_t)n;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < bytes; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[2 * bytes] = '\0';
    return true;
}
