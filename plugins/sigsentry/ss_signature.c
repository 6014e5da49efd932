/* ss_signature.c - strip what varies from a log message (see ss_signature.h). */
#include "ss_signature.h"

#include "ss_util.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

static bool is_alnum(char c)
{
    return isalnum((unsigned char)c) != 0;
}

static bool is_hex(char c)
{
    return isxdigit((unsigned char)c) != 0;
}

static bool is_email_local(char c)
{
    return is_alnum(c) || (c && strchr("._%+-", c) != NULL); /* strchr finds the NUL too */
}

/* Length of an e-mail address starting at s, or 0. */
static size_t email_at(const char *s)
{
    size_t i = 0;
    while (is_email_local(s[i]))
        i++;
    if (i == 0 || s[i] != '@')
        return 0;
    size_t at = ++i, last_dot = 0;
    while (is_alnum(s[i]) || s[i] == '-' || s[i] == '.') {
        if (s[i] == '.')
            last_dot = i;
        i++;
    }
    while (i > at && s[i - 1] == '.') /* a sentence's full stop is not part of the domain */
        i--;
    if (last_dot <= at || last_dot >= i - 1)
        return 0;
    for (size_t k = last_dot + 1; k < i; k++)
        if (!isalpha((unsigned char)s[k]))
            return 0;
    return i - last_dot - 1 >= 2 ? i : 0;
}

/* Length of a UUID starting at s, or 0. */
static size_t uuid_at(const char *s)
{
    static const int groups[] = {8, 4, 4, 4, 12};
    size_t i = 0;
    for (size_t g = 0; g < PK_ARRAY_LEN(groups); g++) {
        if (g > 0 && s[i++] != '-')
            return 0;
        for (int k = 0; k < groups[g]; k++, i++)
            if (!is_hex(s[i]))
                return 0;
    }
    return is_alnum(s[i]) ? 0 : i;
}

/* Length of "0x" + hex digits at s (a whole word), or 0. */
static size_t hex_literal_at(const char *s)
{
    if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || !is_hex(s[2]))
        return 0;
    size_t i = 2;
    while (is_hex(s[i]))
        i++;
    return is_alnum(s[i]) ? 0 : i;
}

static bool is_unit(const char *s, size_t n)
{
    static const char *const units[] = {"ms", "us", "ns", "s", "m", "h", "d",
                                        "b", "k", "kb", "mb", "gb", "tb"};
    for (size_t i = 0; i < PK_ARRAY_LEN(units); i++)
        if (strlen(units[i]) == n && strncasecmp(units[i], s, n) == 0)
            return true;
    return false;
}

/* Append the placeholder (or the word itself) for one run of letters and digits. */
static void put_word(struct pk_buf *out, const char *w, size_t n)
{
    size_t ndigits = 0, lead = 0;
    bool all_hex = true;
    for (size_t i = 0; i < n; i++) {
        if (isdigit((unsigned char)w[i]))
            ndigits++;
        if (!is_hex(w[i]))
            all_hex = false;
    }
    while (lead < n && isdigit((unsigned char)w[lead]))
        lead++;
    if (ndigits == n) {
        pk_buf_puts(out, "<n>");
    } else if (lead > 0 && lead == ndigits && is_unit(w + lead, n - lead)) {
        pk_buf_puts(out, "<n>");
        pk_buf_put(out, w + lead, n - lead);
    } else if (n >= 8 && all_hex && ndigits > 0) {
        pk_buf_puts(out, "<hex>");
    } else if (ndigits >= 2) {
        pk_buf_puts(out, "<id>");
    } else {
        pk_buf_put(out, w, n);
    }
}

void ss_signature(const char *message, char out[SS_SIGNATURE_MAX + 1])
{
    struct pk_buf b = {0};
    const char *s = message ? message : "";
    size_t i = 0;
    /* Stop early: only the first SS_SIGNATURE_MAX bytes are kept. */
    while (s[i] && b.len <= SS_SIGNATURE_MAX) {
        bool word_start = i == 0 || !is_alnum(s[i - 1]);
        size_t n;
        if (isspace((unsigned char)s[i])) {
            while (isspace((unsigned char)s[i]))
                i++;
            if (b.len > 0)
                pk_buf_puts(&b, " ");
        } else if (word_start && (i == 0 || !is_email_local(s[i - 1])) && (n = email_at(s + i))) {
            pk_buf_puts(&b, "<email>");
            i += n;
        } else if (word_start && (n = uuid_at(s + i))) {
            pk_buf_puts(&b, "<uuid>");
            i += n;
        } else if (word_start && (n = hex_literal_at(s + i))) {
            pk_buf_puts(&b, "<hex>");
            i += n;
        } else if (is_alnum(s[i])) {
            size_t start = i;
            while (is_alnum(s[i]))
                i++;
            put_word(&b, s + start, i - start);
        } else {
            pk_buf_put(&b, s + i, 1);
            i++;
        }
    }
    size_t len = b.len;
    if (len > SS_SIGNATURE_MAX) {
        len = SS_SIGNATURE_MAX;
        /* Do not cut a UTF-8 sequence: drop continuation bytes and their lead byte. */
        if (((unsigned char)b.data[len] & 0xC0) == 0x80) {
            while (len > 0 && ((unsigned char)b.data[len] & 0xC0) == 0x80)
                len--;
        }
    }
    while (len > 0 && b.data[len - 1] == ' ')
        len--;
    if (len)
        memcpy(out, b.data, len);
    out[len] = '\0';
    pk_buf_free(&b);
}
