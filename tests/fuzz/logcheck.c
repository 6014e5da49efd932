/* logcheck.c - every log line checked as it is written (logcheck.h). */
#include "logcheck.h"

#include "log.h"
#include "util.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool capture;   /* -close_fd_mask has bit 2: fd 2 is ours to redirect */
static int pipe_read = -1;
static FILE *diag;
static struct buf partial; /* the start of a line not yet complete */

FILE *fuzz_diag(void)
{
    return diag ? diag : stderr;
}

void fuzz_log_init(int argc, char **argv)
{
    int fd = dup(STDERR_FILENO);
    diag = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (diag)
        setvbuf(diag, NULL, _IONBF, 0);
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "-close_fd_mask=", 15) == 0)
            capture = (atoi(argv[i] + 15) & 2) != 0;
    bool verbose = capture || getenv("SWITCHBOARD_FUZZ_LOG") != NULL;
    log_set_level(verbose ? LOG_DEBUG : LOG_ERROR);
    log_set_access(verbose);
}

/* Called on the first input: by then libFuzzer has moved its output off fd 2. */
static void start_capture(void)
{
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        perror("fuzz: pipe2");
        abort();
    }
    fcntl(fds[1], F_SETPIPE_SZ, 1 << 20); /* a lost line (pipe full) is only a missed check */
    if (dup2(fds[1], STDERR_FILENO) < 0) {
        perror("fuzz: dup2");
        abort();
    }
    close(fds[1]);
    pipe_read = fds[0];
    buf_init(&partial);
}

/* Length of the valid UTF-8 sequence at p, not a C1 control, or 0. Written apart from log.c's. */
static size_t utf8_char(const unsigned char *p, const unsigned char *end)
{
    unsigned cp;
    size_t n;
    if (p[0] >= 0xc0 && p[0] < 0xe0)
        n = 2, cp = p[0] & 0x1f;
    else if (p[0] >= 0xe0 && p[0] < 0xf0)
        n = 3, cp = p[0] & 0x0f;
    else if (p[0] >= 0xf0 && p[0] < 0xf8)
        n = 4, cp = p[0] & 0x07;
    else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    static const unsigned smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < smallest[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp < 0xa0)
        return 0;
    return n;
}

static const char *line_problem(const unsigned char *line, size_t len)
{
    /* "2026-12-06T02:20:00.000Z INFO  [component] message" */
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ ";
    if (len < sizeof shape + 8)
        return "a line too short to be a log entry";
    for (size_t i = 0; i < sizeof shape - 1; i++)
        if (shape[i] == 'd' ? !(line[i] >= '0' && line[i] <= '9')
                            : line[i] != (unsigned char)shape[i])
            return "a line that does not start with a timestamp (an entry split in two?)";
    const unsigned char *level = line + sizeof shape - 1;
    if (memcmp(level, "DEBUG [", 7) != 0 && memcmp(level, "INFO  [", 7) != 0
        && memcmp(level, "WARN  [", 7) != 0 && memcmp(level, "ERROR [", 7) != 0)
        return "a line without a level and a component";
    const unsigned char *end = line + len;
    for (const unsigned char *p = line; p < end;) {
        if (*p >= 0x20 && *p < 0x7f) {
            p++;
            continue;
        }
        size_t n = *p >= 0x80 ? utf8_char(p, end) : 0;
        if (!n)
            return *p < 0x80 ? "a control byte in a log line"
                             : "invalid UTF-8 or a C1 control in a log line";
        p += n;
    }
    return NULL;
}

void fuzz_log_check(void)
{
    if (!capture)
        return;
    if (pipe_read < 0) {
        start_capture();
        return;
    }
    char chunk[65536];
    ssize_t n;
    while ((n = read(pipe_read, chunk, sizeof chunk)) > 0)
        buf_append(&partial, chunk, (size_t)n);
    size_t start = 0;
    char *nl;
    while (partial.len > start && (nl = memchr(partial.data + start, '\n', partial.len - start))) {
        const unsigned char *line = (const unsigned char *)partial.data + start;
        size_t len = (size_t)(nl - (char *)line);
        const char *why = line_problem(line, len);
        if (why) {
            fprintf(fuzz_diag(), "fuzz: %s:\n", why);
            for (size_t i = 0; i < len; i++) {
                if (line[i] >= 0x20 && line[i] < 0x7f)
                    fputc(line[i], fuzz_diag());
                else
                    fprintf(fuzz_diag(), "<%02x>", line[i]);
            }
            fputc('\n', fuzz_diag());
            abort();
        }
        start += len + 1;
    }
    if (start > 0) {
        memmove(partial.data, partial.data + start, partial.len - start);
        partial.len -= start;
    }
}
