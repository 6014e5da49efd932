/*
 * ss_signature.h - the normalised signature of a log message: what stays
 * when the parts that vary between occurrences of the same error are
 * replaced by placeholders, so that occurrences group together.
 *
 * Applied in this order (first match wins for a piece of text):
 *   1. e-mail addresses                              -> <email>
 *   2. UUIDs (8-4-4-4-12 hex digits)                 -> <uuid>
 *   3. 0x-prefixed hex numbers                       -> <hex>
 *   4. then each run of letters and digits (a "word"):
 *      - all digits                                  -> <n>
 *      - digits then a short unit (ms, s, kb, ...)   -> <n> + unit ("250ms" -> "<n>ms")
 *      - 8 or more hex digits with at least one digit -> <hex>
 *      - letters and at least two digits, mixed       -> <id>   ("ord8F3K2", "a1b2")
 *      - anything else stays as it is.
 * Separators (spaces, punctuation) are kept, runs of white space become one
 * space, and the result is cut to SS_SIGNATURE_MAX bytes (on a UTF-8
 * boundary). Case is kept: "Timeout" and "timeout" are different messages.
 */
#ifndef SS_SIGNATURE_H
#define SS_SIGNATURE_H

#include <stddef.h>

#define SS_SIGNATURE_MAX 240

/** Write the signature of @p message into @p out (SS_SIGNATURE_MAX + 1 bytes). */
void ss_signature(const char *message, char out[SS_SIGNATURE_MAX + 1]);

#endif
