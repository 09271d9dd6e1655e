#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

static const char *log_prog = "autodump";
static int log_max_level = LOG_INFO;
static bool log_journal;

/* systemd sets JOURNAL_STREAM to the device and inode of the stream it
 * connected; stderr is the journal only if it is still that stream (not
 * redirected by a wrapper). */
static bool stderr_is_journal(void) {
        const char *js = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;
        return js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
               (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_init(const char *progname) {
        log_prog = progname;
        log_journal = stderr_is_journal();
        const char *lvl = getenv("AUTODUMP_LOG_LEVEL");
        int level;
        if (lvl && log_level_from_name(lvl, &level) == 0)
                log_max_level = level;
}

void log_set_level(int level) {
        log_max_level = level < LOG_ERR ? LOG_ERR : level > LOG_DEBUG ? LOG_DEBUG : level;
}

int log_level_from_name(const char *name, int *ret) {
        static const char *const names[] = { [LOG_ERR] = "error", [LOG_WARNING] = "warning",
                                             [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug" };
        for (int l = LOG_ERR; l <= LOG_DEBUG; l++)
                if (strcmp(names[l], name) == 0) {
                        *ret = l;
                        return 0;
                }
        return -EINVAL;
}

/* A process names itself: a comm or command line holding a newline would
 * forge a log line of its own (and, for journald, its priority). Control
 * bytes, and bytes that are not UTF-8, are written as \xNN: one event
 * stays one line, and the log stays text. */
static void escape_controls(const char *in, char *out, size_t size) {
        size_t o = 0;
        for (const unsigned char *p = (const unsigned char *) in; *p && o + 5 < size;) {
                size_t n = utf8_sequence_length(p);
                if (n == 0 || *p < 0x20 || *p == 0x7f) {
                        o += (size_t) snprintf(out + o, size - o, "\\x%02x", *p);
                        p++;
                        continue;
                }
                for (size_t i = 0; i < n && o + 1 < size; i++)
                        out[o++] = (char) *p++;
        }
        out[o] = 0;
}

bool log_enabled(int level) {
        return level <= log_max_level;
}

void log_msg(int level, const char *fmt, ...) {
        if (level > log_max_level)
                return;
        char raw[2048], line[4 * sizeof raw];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(raw, sizeof raw, fmt, ap);
        va_end(ap);
        escape_controls(raw, line, sizeof line);
        /* One fprintf per line so lines from the watchdog and its collectors
         * never interleave mid-line. The journal has its own timestamps. */
        if (log_journal) {
                fprintf(stderr, "<%d>%s\n", level, line);
                return;
        }
        char when[40];
        format_utc(now_usec(CLOCK_REALTIME), false, when, sizeof when);
        /* "2026-11-22T02:14:05.123Z": to the second is enough here. */
        fprintf(stderr, "%.19sZ %s: %s\n", when, log_prog, line);
}

void log_diags(const struct diags *d) {
        for (size_t i = 0; i < d->n; i++)
                fprintf(stderr, "%s%s:%d:%d: %s\n", log_journal ? "<3>" : "", d->items[i].file, d->items[i].line,
                        d->items[i].col, d->items[i].msg);
}
