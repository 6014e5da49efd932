/*
 * sd_phases.h - the phases of a sync (see sd_run.h). Each starts from
 * run->cursor (NULL: from its beginning), commits its steps with the
 * checkpoint, and ends with sd_run_phase_done(), sd_run_warn() +
 * sd_run_phase_done(), or sd_run_fail().
 */
#ifndef SD_PHASES_H
#define SD_PHASES_H

#include "sd_run.h"

void sd_companies_start(struct sd_run *run);
void sd_conversations_start(struct sd_run *run);
void sd_skipped_start(struct sd_run *run);
void sd_push_start(struct sd_run *run);
void sd_events_start(struct sd_run *run);

#endif
