/*
 * outbound_hosts.c - parsing allow-list entries and outbound URLs, and
 * matching one against the other (the rules are in outbound_hosts.h).
 */
#include "outbound_hosts.h"

#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

static bool fail(char *why, size_t why_len, const char *reason)
{
    snprintf(why, why_len, "%s", reason);
    return false;
}

static int default_port(bool https)
{
    return https ? 443 : 80;
}

/* One dotted-quad octet: 1-3 digits, at most 255, no leading zero ("010" is octal to some). */
static bool octet(const char *s, size_t len)
{
    if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
        return false;
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    return v <= 255;
}

static bool dotted_quad(const char *s, size_t len)
{
    size_t start = 0;
    int parts = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        if (++parts > 4 || !octet(s + start, i - start))
            return false;
        start = i + 1;
    }
    return parts == 4;
}

/* A DNS name or an IPv4 address, copied in lower case. */
static bool parse_name(const char *s, size_t len, char *out, char *why, size_t why_len)
{
    if (len == 0)
        return fail(why, why_len, "the host is empty");
    if (len > OUTBOUND_HOST_MAX)
        return fail(why, why_len, "the host is longer than 253 characters");
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (char)tolower(c);
        if (c == '.') {
            if (i == label || s[i - 1] == '-')
                return fail(why, why_len, "the host has an empty label or one ending in '-'");
            label = i + 1;
            continue;
        }
        if (!isalnum(c) && c != '-')
            return fail(why, why_len,
                        "the host may hold only letters, digits, '-' and '.' (an IPv6 address "
                        "goes in brackets)");
        if (c == '-' && i == label)
            return fail(why, why_len, "a label of the host starts with '-'");
        if (i - label >= 63)
            return fail(why, why_len, "a label of the host is longer than 63 characters");
    }
    if (label == len || s[len - 1] == '-')
        return fail(why, why_len, "the host ends in '.' or '-'");
    out[len] = '\0';
    /* No top-level domain starts with a digit: such a host is an address, and only the
       dotted quad reads the same to every parser. */
    if (isdigit((unsigned char)s[label]) && !dotted_quad(s, len))
        return fail(why, why_len, "a numeric host must be an IPv4 address a.b.c.d (decimal, "
                                  "no leading zeros)");
    return true;
}

/* "[...]" holding an IPv6 address (no zone), stored canonical without the brackets. */
static bool parse_ipv6(const char *s, size_t len, char *out, char *why, size_t why_len)
{
    char text[INET6_ADDRSTRLEN];
    if (len < 2 || len - 2 >= sizeof text)
        return fail(why, why_len, "the IPv6 address is malformed");
    for (size_t i = 1; i + 1 < len; i++)
        if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
            return fail(why, why_len, "the IPv6 address is malformed (zones are not allowed)");
    memcpy(text, s + 1, len - 2);
    text[len - 2] = '\0';
    struct in6_addr addr;
    if (inet_pton(AF_INET6, text, &addr) != 1
        || !inet_ntop(AF_INET6, &addr, out, OUTBOUND_HOST_MAX + 1))
        return fail(why, why_len, "the IPv6 address is malformed");
    return true;
}

/* 1-65535 in decimal without leading zeros, or "*" (-1) when any_allowed. */
static bool parse_port(const char *s, size_t len, bool any_allowed, int *port, char *why,
                       size_t why_len)
{
    if (any_allowed && len == 1 && s[0] == '*') {
        *port = -1;
        return true;
    }
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return fail(why, why_len, any_allowed ? "the port must be a number or '*'"
                                                  : "the port must be a number");
        v = v * 10 + (s[i] - '0');
        if (v > 65535)
            break;
    }
    if (len == 0 || len > 5 || s[0] == '0' || v < 1 || v > 65535)
        return fail(why, why_len, "the port must be 1 to 65535");
    *port = (int)v;
    return true;
}

/* HOST[:PORT] of len bytes; *port is 0 when absent. */
static bool parse_authority(const char *s, size_t len, bool any_port, char *host, bool *ipv6,
                            int *port, char *why, size_t why_len)
{
    size_t host_len;
    *port = 0;
    *ipv6 = len > 0 && s[0] == '[';
    if (*ipv6) {
        const char *close = memchr(s, ']', len);
        if (!close)
            return fail(why, why_len, "the IPv6 address lacks its ']'");
        host_len = (size_t)(close - s) + 1;
        if (!parse_ipv6(s, host_len, host, why, why_len))
            return false;
        if (host_len < len && s[host_len] != ':')
            return fail(why, why_len, "only a port may follow the IPv6 address");
    } else {
        const char *colon = memchr(s, ':', len);
        host_len = colon ? (size_t)(colon - s) : len;
        if (colon && memchr(colon + 1, ':', len - host_len - 1))
            return fail(why, why_len, "an IPv6 address must be written in brackets");
        if (!parse_name(s, host_len, host, why, why_len))
            return false;
    }
    if (host_len == len)
        return true;
    return parse_port(s + host_len + 1, len - host_len - 1, any_port, port, why, why_len);
}

/* Length of a leading "http://" or "https://" (any case), 0 if neither; *https says which. */
static size_t scheme_length(const char *s, bool *https)
{
    *https = strncasecmp(s, "https://", 8) == 0;
    if (*https)
        return 8;
    return strncasecmp(s, "http://", 7) == 0 ? 7 : 0;
}

bool outbound_host_parse(const char *text, struct outbound_host *out, char *why, size_t why_len)
{
    memset(out, 0, sizeof *out);
    bool https;
    size_t skip = scheme_length(text, &https);
    if (!skip && strstr(text, "://"))
        return fail(why, why_len, "only http:// or https:// may precede the host");
    out->plain_http = skip && !https;
    const char *authority = text + skip;
    if (strpbrk(authority, "/?#@"))
        return fail(why, why_len, "an entry is a host with an optional port, without a path "
                                  "or user");
    bool ipv6;
    return parse_authority(authority, strlen(authority), true, out->host, &ipv6, &out->port, why,
                           why_len);
}

static bool hex(char c)
{
    return isxdigit((unsigned char)c) != 0;
}

bool outbound_target_parse(const char *url, struct outbound_target *out, char *why,
                           size_t why_len)
{
    memset(out, 0, sizeof *out);
    size_t len = strlen(url);
    if (len > OUTBOUND_URL_MAX)
        return fail(why, why_len, "the URL is longer than 8192 bytes");
    size_t skip = scheme_length(url, &out->https);
    if (!skip)
        return fail(why, why_len, strstr(url, "://") ? "only http and https URLs are allowed"
                                                     : "the URL is not an absolute http(s) URL");
    const char *authority = url + skip;
    size_t authority_len = strcspn(authority, "/?#");
    if (memchr(authority, '@', authority_len))
        return fail(why, why_len, "a user or password in the URL is not allowed");
    if (!parse_authority(authority, authority_len, false, out->host, &out->ipv6, &out->port, why,
                         why_len))
        return false;
    if (!out->port)
        out->port = default_port(out->https);
    out->path_at = skip + authority_len;
    for (const char *p = url + out->path_at; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '#')
            return fail(why, why_len, "a fragment ('#') is never sent; leave it out");
        if (c <= 0x20 || c >= 0x7f || c == '\\')
            return fail(why, why_len, "the path and query may hold only printable ASCII "
                                      "without spaces or '\\' (percent-encode the rest)");
        if (c == '%' && !(hex(p[1]) && hex(p[2])))
            return fail(why, why_len, "a '%' in the URL is not followed by two hex digits");
    }
    return true;
}

bool outbound_hosts_allow(const struct outbound_host *hosts, size_t n,
                          const struct outbound_target *target)
{
    for (size_t i = 0; i < n; i++) {
        const struct outbound_host *h = &hosts[i];
        if (h->plain_http == target->https || strcmp(h->host, target->host) != 0)
            continue;
        if (h->port == -1 || (h->port ? h->port : default_port(target->https)) == target->port)
            return true;
    }
    return false;
}
