#include "commands.h"

#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "metric.h"
#include "store.h"
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

int list_artifacts(const char *output, bool json) {
        struct dirent **entries;
        int n = scandir(output, &entries, not_hidden, alphasort);
        if (n < 0) {
                fprintf(stderr, "autodump: cannot read %s: %m\n", output);
                return 1;
        }
        json_t *all = json_array();
        if (!json)
                printf("%-60s %-7s %10s  %s\n", "ID", "STATUS", "SIZE", "RULE ON TARGET");
        for (int i = 0; i < n; i++) {
                char dir[4096];
                snprintf(dir, sizeof dir, "%s/%s", output, entries[i]->d_name);
                json_t *doc = load_trigger(dir);
                /* On disk: a sparse core counts what it holds. */
                uint64_t bytes = 0;
                _cleanup_close_ int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dir_fd >= 0)
                        (void) dir_disk_usage(dir_fd, &bytes);
                if (doc) {
                        json_t *t = json_object_get(doc, "target");
                        const char *time = json_string_value(json_object_get(doc, "time"));
                        const char *rule = json_string_value(json_object_get(doc, "rule"));
                        const char *comm = json_string_value(json_object_get(t, "comm"));
                        int pid = (int) json_integer_value(json_object_get(t, "pid"));
                        if (json)
                                json_array_append_new(all, json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:i, s:s, s:I}",
                                                                     "id", entries[i]->d_name, "dir", dir,
                                                                     "time", time, "rule", rule, "comm", comm,
                                                                     "pid", pid, "status", artifact_status(doc),
                                                                     "disk_bytes", (json_int_t) bytes));
                        else {
                                char size[32];
                                metric_format(METRIC_RSS, (double) bytes, size, sizeof size);
                                printf("%-60s %-7s %10s  %s on %s[%d]\n", entries[i]->d_name, artifact_status(doc),
                                       size, rule ?: "?", comm ?: "?", pid);
                        }
                        json_decref(doc);
                }
                free(entries[i]);
        }
        free(entries);
        if (json) {
                char *text = json_dumps(all, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
                printf("%s\n", text);
                free(text);
        }
        json_decref(all);
        return 0;
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
                printf("  metric: %s %s > %s (%s; mean %s)\n", metric, value, threshold,
                       json_string_value(json_object_get(doc, "condition")), mean);
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
        json_decref(doc);
        return 0;
}
