/* log.h - one line per message on stderr: time, level, component, text. */
#ifndef SB_CORE_LOG_H
#define SB_CORE_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
bool log_level_parse(const char *name, enum log_level *out);
void log_set_access(bool enabled);
bool log_access_enabled(void);

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vmsg(enum log_level level, const char *component, const char *fmt, va_list ap);

#define log_debug(comp, ...) log_msg(LOG_DEBUG, comp, __VA_ARGS__)
#define log_info(comp, ...) log_msg(LOG_INFO, comp, __VA_ARGS__)
#define log_warn(comp, ...) log_msg(LOG_WARN, comp, __VA_ARGS__)
#define log_error(comp, ...) log_msg(LOG_ERROR, comp, __VA_ARGS__)

#endif
