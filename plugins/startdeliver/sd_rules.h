/*
 * sd_rules.h - the two rules a customer success team reads off the tickets:
 * the status of one ticket, and the support health of one customer.
 *
 * Ticket status (evaluated when read, so an untouched open conversation
 * still turns overdue without being synced again):
 *   - resolved: the conversation is closed in Intercom;
 *   - overdue:  it is not closed and the customer has been waiting for an
 *               answer (Intercom's waiting_since) for at least the overdue
 *               threshold;
 *   - open:     anything else (open or snoozed, answered or waiting less).
 *
 * Support health, from a customer's ticket counts:
 *   - Poor when overdue >= poor_overdue;
 *   - Fair when overdue >= fair_overdue, or when fair_unresolved > 0 and
 *     open + overdue >= fair_unresolved;
 *   - Good otherwise (also with no tickets at all).
 * Poor is tested first, so the result is defined even if an integrator sets
 * the Fair threshold above the Poor one.
 */
#ifndef SD_RULES_H
#define SD_RULES_H

#include <stddef.h>
#include <stdint.h>

struct sd_rules {
    int64_t overdue_after_s;  /* waiting this long makes an unresolved ticket overdue */
    int64_t fair_overdue;     /* overdue tickets that make health Fair */
    int64_t poor_overdue;     /* overdue tickets that make health Poor */
    int64_t fair_unresolved;  /* unresolved tickets that make health Fair; 0: unused */
};

enum sd_ticket_status { SD_TICKET_OPEN = 0, SD_TICKET_OVERDUE = 1, SD_TICKET_RESOLVED = 2 };

enum sd_health { SD_HEALTH_GOOD = 0, SD_HEALTH_FAIR = 1, SD_HEALTH_POOR = 2 };

struct sd_ticket_counts {
    int64_t open, overdue, resolved;
};

/**
 * Status of a ticket at @p now_s. @p state is Intercom's conversation state
 * ("open", "closed", "snoozed"); @p waiting_since is 0 when the customer is
 * not waiting for an answer.
 */
enum sd_ticket_status sd_ticket_status(const char *state, int64_t waiting_since, int64_t now_s,
                                       const struct sd_rules *rules);
const char *sd_ticket_status_name(enum sd_ticket_status status);
/** Parse "open" / "overdue" / "resolved"; -1 if none of them. */
int sd_ticket_status_parse(const char *name);

/** Count one ticket of the given status. */
void sd_ticket_counts_add(struct sd_ticket_counts *counts, enum sd_ticket_status status);

enum sd_health sd_support_health(const struct sd_ticket_counts *counts,
                                 const struct sd_rules *rules);
/** "Good", "Fair" or "Poor". */
const char *sd_health_name(enum sd_health health);
/** One sentence saying which threshold decided @p health, for people reading the API. */
void sd_health_reason(const struct sd_ticket_counts *counts, const struct sd_rules *rules,
                      enum sd_health health, char *out, size_t len);

#endif
