/*
 * fuzz_outbound_url - what decides whether a plugin's outbound request may
 * leave, and the Standard Webhooks secret decoder: the input's first line is
 * an outbound_hosts entry, the second a URL, the rest a whsec_ secret. Checks
 * that the parsers never read past their input, that a URL that parses has its
 * path offset inside it, and that a target is allowed only by an entry naming
 * its host.
 */
#include "outbound_hosts.h"
#include "standard_webhooks.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The next line of [*at, end) as a new string; advances *at past its newline. */
static char *next_line(const uint8_t **at, const uint8_t *end)
{
    const uint8_t *nl = memchr(*at, '\n', (size_t)(end - *at));
    size_t len = (size_t)((nl ? nl : end) - *at);
    char *line = malloc(len + 1);
    if (!line)
        abort();
    memcpy(line, *at, len);
    line[len] = '\0';
    *at = nl ? nl + 1 : end;
    return line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *at = data, *end = data + size;
    char *entry_text = next_line(&at, end);
    char *url = next_line(&at, end);
    char *secret = next_line(&at, end);
    char why[256];

    struct outbound_host entry;
    bool entry_ok = outbound_host_parse(entry_text, &entry, why, sizeof why);
    struct outbound_target target;
    if (outbound_target_parse(url, &target, why, sizeof why)) {
        if (target.path_at > strlen(url))
            abort();
        if (entry_ok && outbound_hosts_allow(&entry, 1, &target)
            && strcmp(entry.host, target.host) != 0)
            abort(); /* allowed by an entry naming another host */
    }

    unsigned char key[SW_SECRET_MAX_BYTES];
    long key_len = sw_secret_decode(secret, key);
    if (key_len > (long)SW_SECRET_MAX_BYTES)
        abort();

    free(entry_text);
    free(url);
    free(secret);
    return 0;
}
