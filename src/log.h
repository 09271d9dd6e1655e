/* Logging to stderr, one line per event. Under systemd (JOURNAL_STREAM set)
 * lines carry a "<N>" priority prefix that journald understands. Helpers
 * don't log; callers log once, with context. */
#pragma once

#include <syslog.h>

void log_init(const char *progname);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
