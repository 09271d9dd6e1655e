#include "retention.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "metric.h"
#include "output_dir.h"
#include "store.h"
#include "units.h"

void retention_plan(const struct retained *items, size_t n, const struct retention_limits *l, usec_t now,
                    enum retention_reason *ret) {
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++)
                total += items[i].bytes;
        size_t left = n;
        for (size_t i = 0; i < n; i++) {
                ret[i] = RETAIN;
                bool newest = i + 1 == n;
                if (l->keep && now > items[i].time && now - items[i].time > l->keep)
                        ret[i] = REMOVE_AGE;
                else if (!newest && l->max_count && left > l->max_count)
                        ret[i] = REMOVE_COUNT;
                else if (!newest && l->max_total && total > l->max_total)
                        ret[i] = REMOVE_TOTAL;
                if (ret[i] != RETAIN) {
                        left--;
                        total -= items[i].bytes;
                }
        }
}

int retention_time_of(const char *name, usec_t *ret) {
        struct tm tm = {};
        int consumed = 0;
        if (sscanf(name, "%4d%2d%2dT%2d%2d%2dZ-%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                   &tm.tm_sec, &consumed) != 6 || consumed != 17 || !name[consumed])
                return -EINVAL;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        time_t t = timegm(&tm);
        if (t == (time_t) -1)
                return -EINVAL;
        *ret = (usec_t) t * USEC_PER_SEC;
        return 0;
}

static int by_time(const void *a, const void *b) {
        const struct retained *x = a, *y = b;
        if (x->time != y->time)
                return x->time < y->time ? -1 : 1;
        return strcmp(x->name, y->name);
}

/* An artifact: a real directory (no link) named as one, with its record. */
static bool is_artifact(int out_fd, const char *name, usec_t *ret_time, uint64_t *ret_bytes) {
        if (retention_time_of(name, ret_time) < 0)
                return false;
        _cleanup_close_ int fd = openat(out_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || faccessat(fd, "trigger.json", F_OK, AT_SYMLINK_NOFOLLOW) < 0)
                return false;
        *ret_bytes = 0;
        (void) dir_disk_usage(fd, ret_bytes);
        return true;
}

/* A hidden .NAME.partial directory whose last change is older than any
 * collection may run: its collector is gone. */
static bool is_abandoned_partial(int out_fd, const char *name, usec_t now, usec_t age) {
        size_t len = strlen(name);
        usec_t t;
        if (name[0] != '.' || len < 10 || strcmp(name + len - 8, ".partial") != 0 || retention_time_of(name + 1, &t) < 0)
                return false;
        struct stat st;
        if (fstatat(out_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                return false;
        usec_t changed = (usec_t) st.st_mtim.tv_sec * USEC_PER_SEC + (usec_t) st.st_mtim.tv_nsec / 1000;
        return now > changed && now - changed > age;
}

static void describe(enum retention_reason why, const struct retention_limits *l, char *buf, size_t size) {
        char v[32];
        switch (why) {
        case REMOVE_AGE:
                format_duration(l->keep, v, sizeof v);
                snprintf(buf, size, "older than keep (%s)", v);
                break;
        case REMOVE_COUNT:
                snprintf(buf, size, "more than max_count (%u) artifacts", l->max_count);
                break;
        default:
                metric_format(METRIC_RSS, (double) l->max_total, v, sizeof v);
                snprintf(buf, size, "artifacts over max_total (%s)", v);
                break;
        }
}

int retention_enforce(const char *output, const struct retention_limits *l, usec_t now,
                      void (*removed)(const char *name, const char *why, void *userdata), void *userdata) {
        _cleanup_close_ int out_fd = -1;
        char refused[256];
        int r = output_dir_open(output, false, &out_fd, refused, sizeof refused);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        DIR *d;
        r = opendir_at(out_fd, ".", &d);
        if (r < 0)
                return r;
        struct retained *items = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (is_abandoned_partial(out_fd, de->d_name, now, l->partial_age)) {
                        if (remove_tree_at(out_fd, de->d_name) == 0)
                                removed(de->d_name, "a partial artifact an interrupted capture left", userdata);
                        continue;
                }
                struct retained it;
                if (!is_artifact(out_fd, de->d_name, &it.time, &it.bytes))
                        continue;
                if (n == cap) {
                        struct retained *m = realloc(items, (cap = cap ? 2 * cap : 64) * sizeof *m);
                        if (!m) {
                                r = -ENOMEM;
                                break;
                        }
                        items = m;
                }
                if (!(it.name = strdup(de->d_name))) {
                        r = -ENOMEM;
                        break;
                }
                items[n++] = it;
        }
        closedir(d);
        _cleanup_free_ enum retention_reason *why = r == 0 ? calloc(n + 1, sizeof *why) : NULL;
        if (why) {
                if (n)
                        qsort(items, n, sizeof *items, by_time);
                retention_plan(items, n, l, now, why);
                for (size_t i = 0; i < n; i++) {
                        char text[96];
                        if (why[i] == RETAIN)
                                continue;
                        describe(why[i], l, text, sizeof text);
                        if (remove_tree_at(out_fd, items[i].name) == 0)
                                removed(items[i].name, text, userdata);
                }
        } else if (r == 0)
                r = -ENOMEM;
        for (size_t i = 0; i < n; i++)
                free((char *) items[i].name);
        free(items);
        return r;
}

static void log_removed(const char *name, const char *why, void *userdata) {
        log_notice("retention: removed %s/%s: %s", (const char *) userdata, name, why);
}

void retention_apply(const char *output, const struct retention_limits *l) {
        int r = retention_enforce(output, l, now_usec(CLOCK_REALTIME), log_removed, (void *) output);
        if (r < 0)
                log_warning("retention: cannot clean %s: %s", output, strerror(-r));
}
