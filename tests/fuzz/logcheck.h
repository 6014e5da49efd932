/*
 * logcheck.h - the server's log as an oracle. Run with -close_fd_mask=2
 * (run.sh does), libFuzzer keeps its own output and the sanitizer reports
 * on a copy of stderr and sends fd 2 to /dev/null; the targets then point
 * fd 2 at a pipe, log everything (debug level, access lines) and check each
 * line: a timestamp, a level, a component, then printable ASCII or valid
 * UTF-8 without control characters. A request's bytes that reach the log
 * unescaped, or split an entry in two, fail the input.
 *
 * Without -close_fd_mask=2 nothing is captured and only errors are logged
 * (set SWITCHBOARD_FUZZ_LOG=1 to see everything on stderr).
 */
#ifndef SB_FUZZ_LOGCHECK_H
#define SB_FUZZ_LOGCHECK_H

#include <stdio.h>

/* From LLVMFuzzerInitialize, before anything logs: reads the flags, sets the log level. */
void fuzz_log_init(int argc, char **argv);
/* After each input: check what the server logged meanwhile (aborts on a bad line). */
void fuzz_log_check(void);
/* Where the targets' own diagnostics go: the stderr the process started with. */
FILE *fuzz_diag(void);

#endif
