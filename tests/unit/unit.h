/* unit.h - a minimal test harness: CHECK macros, RUN(test), one exit status. */
#ifndef SB_TESTS_UNIT_H
#define SB_TESTS_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_failures;
static int unit_checks;

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        unit_checks++;                                                                         \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);            \
            unit_failures++;                                                                   \
        }                                                                                      \
    } while (0)

#define CHECK_INT(a, b)                                                                        \
    do {                                                                                       \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                  \
        unit_checks++;                                                                         \
        if (va_ != vb_) {                                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", __FILE__,        \
                    __LINE__, #a, #b, va_, vb_);                                               \
            unit_failures++;                                                                   \
        }                                                                                      \
    } while (0)

#define CHECK_STR(a, b)                                                                        \
    do {                                                                                       \
        const char *sa_ = (a), *sb_ = (b);                                                     \
        unit_checks++;                                                                         \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n", __FILE__,    \
                    __LINE__, #a, #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");             \
            unit_failures++;                                                                   \
        }                                                                                      \
    } while (0)

#define CHECK_CONTAINS(haystack, needle)                                                       \
    do {                                                                                       \
        const char *h_ = (haystack), *n_ = (needle);                                           \
        unit_checks++;                                                                         \
        if (!h_ || !strstr(h_, n_)) {                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: \"%s\" contains \"%s\"\n", __FILE__,         \
                    __LINE__, h_ ? h_ : "(null)", n_);                                         \
            unit_failures++;                                                                   \
        }                                                                                      \
    } while (0)

#define RUN(test)                                                                              \
    do {                                                                                       \
        int before_ = unit_failures;                                                           \
        test();                                                                                \
        printf("%s %s\n", unit_failures == before_ ? "ok  " : "FAIL", #test);                  \
    } while (0)

#define UNIT_DONE()                                                                            \
    do {                                                                                       \
        printf("%d checks, %d failures\n", unit_checks, unit_failures);                        \
        return unit_failures ? 1 : 0;                                                          \
    } while (0)

/* A fresh temporary folder for a test; the caller frees the string. */
static inline char *unit_tempdir(void)
{
    char tmpl[] = "/tmp/switchboard-unit-XXXXXX";
    char *dir = mkdtemp(tmpl);
    return dir ? strdup(dir) : NULL;
}

static inline void unit_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

#endif
