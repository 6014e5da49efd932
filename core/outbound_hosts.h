/*
 * outbound_hosts.h - the allow-list of plugins.<name>.outbound_hosts and the
 * one URL grammar outbound HTTP accepts.
 *
 * An entry is  [http://|https://]HOST[:PORT|:*]
 *  - HOST is a DNS name, an IPv4 address in dotted-quad form or an IPv6
 *    address in brackets ("[::1]"). Names match exactly, case-insensitively:
 *    no wildcards, "vendor.com" does not allow "api.vendor.com". IPv6
 *    addresses match by value ("[::1]" = "[0:0::1]").
 *  - Without a scheme an entry allows HTTPS only; "http://" allows plain
 *    HTTP only (and "https://" is the same as no scheme). A host that takes
 *    both is listed twice.
 *  - Without a port, only the scheme's default port (443, or 80 for http://)
 *    is allowed; ":PORT" allows exactly that port; ":*" any port.
 *
 * A URL is accepted only in a strict form whose host every parser reads the
 * same way (libcurl's included): http or https, no userinfo, a host as
 * above whose last label, if it starts with a digit, is part of a dotted
 * quad (so "2130706433", "0x7f.1" or "127.1" never reach a resolver that
 * would read them as 127.0.0.1), an optional decimal port, then nothing or
 * a path and query of printable ASCII without '\' or '#'.
 */
#ifndef SB_CORE_OUTBOUND_HOSTS_H
#define SB_CORE_OUTBOUND_HOSTS_H

#include <stdbool.h>
#include <stddef.h>

#define OUTBOUND_HOST_MAX 253      /* a DNS name's length; IPv6 text is shorter */
#define OUTBOUND_URL_MAX 8192

/* One allow-list entry. */
struct outbound_host {
    bool plain_http;                 /* "http://": plain HTTP only; otherwise HTTPS only */
    char host[OUTBOUND_HOST_MAX + 1]; /* lower case; an IPv6 address canonical, without brackets */
    int port;                        /* 0: the scheme's default; -1: any (":*") */
};

/* Where a URL goes. */
struct outbound_target {
    bool https;
    char host[OUTBOUND_HOST_MAX + 1]; /* as in outbound_host */
    bool ipv6;
    int port;                        /* explicit, or the scheme's default */
    size_t path_at;                  /* offset of the path (or query) in the URL; its length if none */
};

/* Parse a configuration entry; false with the reason (never a secret: entries are not) in why. */
bool outbound_host_parse(const char *text, struct outbound_host *out, char *why, size_t why_len);

/*
 * Parse an outbound URL; false with the reason in why. The reason never
 * quotes the URL (its query may carry a key).
 */
bool outbound_target_parse(const char *url, struct outbound_target *out, char *why,
                           size_t why_len);

/* True if one of the n entries allows the target. */
bool outbound_hosts_allow(const struct outbound_host *hosts, size_t n,
                          const struct outbound_target *target);

#endif
