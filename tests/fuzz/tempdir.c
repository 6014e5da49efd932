/* tempdir.c - scratch folders for the fuzz targets (tempdir.h). */
#include "tempdir.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char made[8][256];
static int n_made;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_made(void)
{
    for (int i = 0; i < n_made; i++)
        nftw(made[i], remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void fuzz_temp_dir(char *out, size_t len, const char *prefix)
{
    const char *root = getenv("SWITCHBOARD_FUZZ_TMPDIR");
    if (!root || !*root)
        root = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(out, len, "%s/%s-XXXXXX", root, prefix);
    if (n_made == (int)(sizeof made / sizeof made[0]) || !mkdtemp(out)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    snprintf(made[n_made], sizeof made[n_made], "%s", out);
    if (n_made++ == 0)
        atexit(remove_made);
}
