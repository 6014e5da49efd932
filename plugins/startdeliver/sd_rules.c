/* sd_rules.c - ticket status and support health (see sd_rules.h for the rules). */
#include "sd_rules.h"

#include <stdio.h>
#include <string.h>

static const char *const status_names[] = {"open", "overdue", "resolved"};
static const char *const health_names[] = {"Good", "Fair", "Poor"};

enum sd_ticket_status sd_ticket_status(const char *state, int64_t waiting_since, int64_t now_s,
                                       const struct sd_rules *rules)
{
    if (state && strcmp(state, "closed") == 0)
        return SD_TICKET_RESOLVED;
    if (waiting_since > 0 && now_s - waiting_since >= rules->overdue_after_s)
        return SD_TICKET_OVERDUE;
    return SD_TICKET_OPEN;
}

const char *sd_ticket_status_name(enum sd_ticket_status status)
{
    return (unsigned)status < 3 ? status_names[status] : "open";
}

int sd_ticket_status_parse(const char *name)
{
    for (int i = 0; name && i < 3; i++)
        if (strcmp(name, status_names[i]) == 0)
            return i;
    return -1;
}

void sd_ticket_counts_add(struct sd_ticket_counts *counts, enum sd_ticket_status status)
{
    switch (status) {
    case SD_TICKET_OPEN:
        counts->open++;
        break;
    case SD_TICKET_OVERDUE:
        counts->overdue++;
        break;
    case SD_TICKET_RESOLVED:
        counts->resolved++;
        break;
    }
}

static int unresolved_reaches_fair(const struct sd_ticket_counts *c, const struct sd_rules *r)
{
    return r->fair_unresolved > 0 && c->open + c->overdue >= r->fair_unresolved;
}

enum sd_health sd_support_health(const struct sd_ticket_counts *counts,
                                 const struct sd_rules *rules)
{
    if (counts->overdue >= rules->poor_overdue)
        return SD_HEALTH_POOR;
    if (counts->overdue >= rules->fair_overdue || unresolved_reaches_fair(counts, rules))
        return SD_HEALTH_FAIR;
    return SD_HEALTH_GOOD;
}

const char *sd_health_name(enum sd_health health)
{
    return (unsigned)health < 3 ? health_names[health] : "Good";
}

void sd_health_reason(const struct sd_ticket_counts *c, const struct sd_rules *r,
                      enum sd_health health, char *out, size_t len)
{
    switch (health) {
    case SD_HEALTH_POOR:
        snprintf(out, len, "%lld overdue tickets reach the Poor threshold of %lld",
                 (long long)c->overdue, (long long)r->poor_overdue);
        break;
    case SD_HEALTH_FAIR:
        if (c->overdue >= r->fair_overdue)
            snprintf(out, len, "%lld overdue tickets reach the Fair threshold of %lld",
                     (long long)c->overdue, (long long)r->fair_overdue);
        else
            snprintf(out, len, "%lld unresolved tickets reach the Fair threshold of %lld",
                     (long long)(c->open + c->overdue), (long long)r->fair_unresolved);
        break;
    case SD_HEALTH_GOOD:
    default:
        snprintf(out, len, "%lld overdue and %lld unresolved tickets are below every threshold",
                 (long long)c->overdue, (long long)(c->open + c->overdue));
        break;
    }
}
