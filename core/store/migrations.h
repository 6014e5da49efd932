/* migrations.h - numbered schema steps; step N brings the schema to user_version N. */
#ifndef SB_CORE_MIGRATIONS_H
#define SB_CORE_MIGRATIONS_H

int migrations_count(void);
const char *migrations_step(int version); /* 1-based; NULL if out of range */

#endif
