#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *log_prog = "autodump";
static int log_max_level = LOG_INFO;
static int log_journal = 0;

void log_init(const char *progname) {
        log_prog = progname;
        log_journal = getenv("JOURNAL_STREAM") != NULL;
        const char *lvl = getenv("AUTODUMP_LOG_LEVEL");
        if (lvl && strcmp(lvl, "debug") == 0)
                log_max_level = LOG_DEBUG;
}

void log_msg(int level, const char *fmt, ...) {
        if (level > log_max_level)
                return;
        char line[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        /* One fprintf per line so lines from the watchdog and its collectors
         * never interleave mid-line. */
        if (log_journal)
                fprintf(stderr, "<%d>%s\n", level, line);
        else
                fprintf(stderr, "%s: %s\n", log_prog, line);
}
