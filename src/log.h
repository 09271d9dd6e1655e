/* Logging to stderr, one line per event. Under systemd (JOURNAL_STREAM
 * naming stderr) lines carry a "<N>" priority prefix that journald
 * understands and no timestamp; otherwise a UTC timestamp. A firing is a
 * notice, a failed capture a warning, a config error an error. Helpers
 * don't log; callers log once, with context. */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "diag.h"

void log_init(const char *progname);
/* LOG_ERR .. LOG_DEBUG: lines above it are not written. */
void log_set_level(int level);
/* "error", "warning", "notice", "info", "debug". */
int log_level_from_name(const char *name, int *ret);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether lines of `level` are written: work done only for them can wait. */
bool log_enabled(int level);
/* Rule and config errors, as FILE:LINE:COL: message (errors for journald). */
void log_diags(const struct diags *d);

#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
