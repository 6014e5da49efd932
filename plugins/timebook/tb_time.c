/* tb_time.c - Intercom times, integer or ISO 8601, as Unix seconds. */
#include "tb_time.h"

#include <ctype.h>
#include <stdbool.h>
#include <switchboard/helpers.h>

/* Reads exactly @p n digits at *p, advancing it; false if they are not there. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool expect(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

/* Days from 1970-01-01 to the civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int64_t tb_time_parse_iso(const char *text)
{
    const char *p = text;
    int year, month, day, hour, minute, second;
    if (!p || !digits(&p, 4, &year) || !expect(&p, '-') || !digits(&p, 2, &month)
        || !expect(&p, '-') || !digits(&p, 2, &day) || !(expect(&p, 'T') || expect(&p, ' '))
        || !digits(&p, 2, &hour) || !expect(&p, ':') || !digits(&p, 2, &minute)
        || !expect(&p, ':') || !digits(&p, 2, &second))
        return -1;
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
        return -1;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    int64_t offset_s = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (!digits(&p, 2, &oh))
            return -1;
        expect(&p, ':'); /* +HH:MM and +HHMM both occur */
        if (!digits(&p, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset_s = sign * (oh * 3600 + om * 60);
    } else {
        return -1;
    }
    if (*p)
        return -1;
    return days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
           - offset_s;
}

int64_t tb_time_member(json_object *o, const char *key)
{
    json_object *v = sb_json_get(o, key);
    if (json_object_is_type(v, json_type_string)) {
        int64_t iso = tb_time_parse_iso(json_object_get_string(v));
        if (iso >= 0)
            return iso;
    }
    if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        return d >= 0 && d < 9.0e15 ? (int64_t)d : -1;
    }
    int64_t n = sb_json_int(o, key, -1);
    return n >= 0 ? n : -1;
}
