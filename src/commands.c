#include "commands.h"

#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "metric.h"
#include "retention.h"
#include "sparkline.h"
#include "store.h"
#include "units.h"
#include "util.h"

static json_t *load_trigger(const char *dir) {
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/trigger.json", dir) < 0)
                return NULL;
        return json_load_file(path, 0, NULL);
}

/* "ok", "failed" or "partial": how the artifact's actions ended. */
static const char *artifact_status(json_t *doc) {
        size_t i, ok = 0, n = 0;
        json_t *a;
        json_array_foreach(json_object_get(doc, "actions"), i, a) {
                n++;
                ok += strcmp(json_string_value(json_object_get(a, "status")) ?: "", "ok") == 0;
        }
        return ok == n ? "ok" : ok == 0 ? "failed" : "partial";
}

bool artifact_all_ok(const char *path) {
        json_t *doc = load_trigger(path);
        bool ok = doc && strcmp(artifact_status(doc), "ok") == 0;
        json_decref(doc);
        return ok;
}

static int not_hidden(const struct dirent *de) {
        return de->d_name[0] != '.';
}

/* Whether the artifact passes the filters: its time from its name, its
 * rule and target (a comm, or a PID) from its record. */
static bool wanted(const struct list_filter *f, const char *name, json_t *doc) {
        usec_t t;
        if (f->since && (retention_time_of(name, &t) < 0 || t < f->since))
                return false;
        if (f->rule && strcmp(json_string_value(json_object_get(doc, "rule")) ?: "", f->rule) != 0)
                return false;
        if (f->target) {
                json_t *tg = json_object_get(doc, "target");
                char pid[16];
                snprintf(pid, sizeof pid, "%d", (int) json_integer_value(json_object_get(tg, "pid")));
                if (strcmp(json_string_value(json_object_get(tg, "comm")) ?: "", f->target) != 0 &&
                    strcmp(pid, f->target) != 0)
                        return false;
        }
        return true;
}

int list_artifacts(const char *output, const struct list_filter *filter, bool json) {
        struct dirent **entries;
        int n = scandir(output, &entries, not_hidden, alphasort);
        if (n < 0) {
                fprintf(stderr, "autodump: cannot read %s: %m\n", output);
                return 1;
        }
        json_t *all = json_array();
        if (!json)
                printf("%-60s %-7s %10s  %s\n", "ID", "STATUS", "SIZE", "RULE ON TARGET");
        size_t listed = 0;
        uint64_t total = 0;
        const char *oldest = NULL;
        for (int i = 0; i < n; i++) {
                char dir[4096];
                snprintf(dir, sizeof dir, "%s/%s", output, entries[i]->d_name);
                json_t *doc = load_trigger(dir);
                if (!doc || !wanted(filter, entries[i]->d_name, doc)) {
                        json_decref(doc);
                        continue;
                }
                /* On disk: a sparse core counts what it holds. */
                uint64_t bytes = 0;
                _cleanup_close_ int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dir_fd >= 0)
                        (void) dir_disk_usage(dir_fd, &bytes);
                json_t *t = json_object_get(doc, "target");
                const char *time = json_string_value(json_object_get(doc, "time"));
                const char *rule = json_string_value(json_object_get(doc, "rule"));
                const char *comm = json_string_value(json_object_get(t, "comm"));
                int pid = (int) json_integer_value(json_object_get(t, "pid"));
                if (json)
                        json_array_append_new(all, json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:i, s:s, s:I}",
                                                             "id", entries[i]->d_name, "dir", dir, "time", time,
                                                             "rule", rule, "comm", comm, "pid", pid, "status",
                                                             artifact_status(doc), "disk_bytes", (json_int_t) bytes));
                else {
                        char size[32];
                        format_size((double) bytes, size, sizeof size);
                        printf("%-60s %-7s %10s  %s on %s[%d]\n", entries[i]->d_name, artifact_status(doc), size,
                               rule ?: "?", comm ?: "?", pid);
                }
                /* Names sort by time: the first listed is the oldest. */
                if (!oldest)
                        oldest = entries[i]->d_name;
                listed++;
                total += bytes;
                json_decref(doc);
        }
        if (json) {
                char *text = json_dumps(all, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
                printf("%s\n", text);
                free(text);
        } else {
                char size[32], since[40] = "";
                usec_t t;
                format_size((double) total, size, sizeof size);
                if (oldest && retention_time_of(oldest, &t) == 0) {
                        format_utc(t, false, since, sizeof since);
                        /* to the second: "2026-11-22T02:14:05Z" */
                        memcpy(since + 19, "Z", 2);
                }
                printf("%zu artifact%s, %s on disk%s%s\n", listed, listed == 1 ? "" : "s", size,
                       *since ? ", oldest " : "", since);
        }
        json_decref(all);
        for (int i = 0; i < n; i++)
                free(entries[i]);
        free(entries);
        return 0;
}

/* The samples that led to the firing, against its threshold: as many as a
 * terminal line holds, the newest. */
#define SPARK_WIDTH 72
static void print_history(json_t *doc, enum metric m, bool against_threshold) {
        json_t *h = json_object_get(doc, "history");
        size_t n = json_array_size(h);
        if (n == 0)
                return;
        _cleanup_free_ double *v = calloc(n, sizeof *v);
        if (!v)
                return;
        for (size_t i = 0; i < n; i++) {
                json_t *value = json_array_get(json_array_get(h, i), 1);
                v[i] = json_is_number(value) ? json_number_value(value) : NAN;
        }
        json_t *jt = json_object_get(doc, "threshold");
        double threshold = against_threshold && json_is_number(jt) ? json_number_value(jt) : NAN;
        char line[3 * SPARK_WIDTH + 1], marks[SPARK_WIDTH + 1], lo[32], hi[32], thr[32];
        sparkline(v, n, threshold, SPARK_WIDTH, line, sizeof line);
        sparkline_marks(v, n, threshold, SPARK_WIDTH, marks, sizeof marks);
        double min = INFINITY, max = -INFINITY;
        for (size_t i = 0; i < n; i++)
                if (isfinite(v[i])) {
                        min = fmin(min, v[i]);
                        max = fmax(max, v[i]);
                }
        metric_format(m, min, lo, sizeof lo);
        metric_format(m, max, hi, sizeof hi);
        metric_format(m, threshold, thr, sizeof thr);
        if (isfinite(threshold))
                printf("  history: %zu samples, %s to %s; ^ above the threshold %s\n    %s\n    %s\n", n, lo, hi, thr,
                       line, marks);
        else
                printf("  history: %zu samples, %s to %s\n    %s\n", n, lo, hi, line);
}

/* Every file of the artifact, with its size (and what it takes on disk,
 * where a sparse core takes less). */
static void print_files(const char *dir, const char *prefix) {
        struct dirent **entries;
        int n = scandir(dir, &entries, not_hidden, alphasort);
        for (int i = 0; i < n; i++) {
                char path[4096], size[32], disk[32];
                snprintf(path, sizeof path, "%s/%s", dir, entries[i]->d_name);
                struct stat st;
                if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
                        char sub[1024];
                        snprintf(sub, sizeof sub, "%s%s/", prefix, entries[i]->d_name);
                        print_files(path, sub);
                } else if (S_ISREG(st.st_mode)) {
                        char name[1024];
                        snprintf(name, sizeof name, "%s%s", prefix, entries[i]->d_name);
                        format_size((double) st.st_size, size, sizeof size);
                        format_size((double) st.st_blocks * 512, disk, sizeof disk);
                        bool sparse = (uint64_t) st.st_blocks * 512 < (uint64_t) st.st_size;
                        printf("    %-28s %10s%s%s%s\n", name, size, sparse ? " (" : "", sparse ? disk : "",
                               sparse ? " on disk)" : "");
                }
                free(entries[i]);
        }
        if (n >= 0)
                free(entries);
}

int show_artifact(const char *output, const char *id) {
        char dir[4096];
        struct stat st;
        if (stat(id, &st) == 0 && S_ISDIR(st.st_mode))
                snprintf(dir, sizeof dir, "%s", id);
        else
                snprintf(dir, sizeof dir, "%s/%s", output, id);
        json_t *doc = load_trigger(dir);
        if (!doc) {
                fprintf(stderr, "autodump: %s: no trigger.json there\n", dir);
                return 1;
        }
        json_t *t = json_object_get(doc, "target");
        printf("%s\n  time:   %s\n  rule:   %s\n  target: %s[%d] %s\n", dir,
               json_string_value(json_object_get(doc, "time")),
               json_string_value(json_object_get(doc, "rule")),
               json_string_value(json_object_get(t, "comm")),
               (int) json_integer_value(json_object_get(t, "pid")),
               json_string_value(json_object_get(t, "cmdline")) ?: "");
        enum metric m;
        const char *metric = json_string_value(json_object_get(doc, "metric"));
        if (metric && metric_from_name(metric, &m) == 0) {
                char value[32], threshold[32], mean[32];
                /* null (no mean in warm-up) reads as NAN, printed "-" */
                json_t *jm = json_object_get(doc, "mean");
                metric_format(m, json_number_value(json_object_get(doc, "value")), value, sizeof value);
                metric_format(m, json_number_value(json_object_get(doc, "threshold")), threshold, sizeof threshold);
                metric_format(m, json_is_number(jm) ? json_number_value(jm) : NAN, mean, sizeof mean);
                const char *condition = json_string_value(json_object_get(doc, "condition")) ?: "";
                json_t *growth = json_object_get(doc, "growth_per_second");
                bool is_growth = strcmp(condition, "growth") == 0 && json_is_number(growth);
                if (is_growth) {
                        /* A growth's threshold is a rate: per minute reads best. */
                        char rate[32];
                        metric_format(m, 60 * json_number_value(growth), rate, sizeof rate);
                        metric_format(m, 60 * json_number_value(json_object_get(doc, "threshold")), threshold,
                                      sizeof threshold);
                        printf("  metric: %s %s, growing %s/m > %s/m (growth)\n", metric, value, rate, threshold);
                } else
                        printf("  metric: %s %s > %s (%s; mean %s)\n", metric, value, threshold, condition, mean);
                print_history(doc, m, !is_growth);
        }
        json_t *crash = json_object_get(doc, "crash");
        if (crash)
                printf("  crash:  %s (%s) at %s in thread %d\n", json_string_value(json_object_get(crash, "signal")),
                       json_string_value(json_object_get(crash, "code_name")) ?: "?",
                       json_string_value(json_object_get(crash, "address")),
                       (int) json_integer_value(json_object_get(crash, "thread")));
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(doc, "actions"), i, a) {
                printf("  %-8s %-8s %8.3fs", json_string_value(json_object_get(a, "action")),
                       json_string_value(json_object_get(a, "status")),
                       json_number_value(json_object_get(a, "seconds")));
                json_t *stopped = json_object_get(a, "target_stopped_seconds");
                if (json_is_number(stopped))
                        printf(" (target stopped %.3fs)", json_number_value(stopped));
                const char *err = json_string_value(json_object_get(a, "error"));
                if (err)
                        printf(" %s", err);
                printf("\n");
        }
        printf("  files:\n");
        print_files(dir, "");
        json_decref(doc);
        return 0;
}
