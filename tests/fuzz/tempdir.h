/* tempdir.h - a scratch folder for one fuzz process, removed when it exits normally. */
#ifndef SB_FUZZ_TEMPDIR_H
#define SB_FUZZ_TEMPDIR_H

#include <stddef.h>

/*
 * Create <root>/<prefix>-XXXXXX and write its path to out (aborts on
 * failure). root is $SWITCHBOARD_FUZZ_TMPDIR (run.sh sets it and removes it
 * afterwards, so a crashed run leaves nothing behind), else /dev/shm (the
 * store fsyncs every commit: on tmpfs that costs nothing), else /tmp.
 */
void fuzz_temp_dir(char *out, size_t len, const char *prefix);

#endif
