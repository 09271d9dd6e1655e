#include "commands.h"

#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "metric.h"
#include "source.h"
#include "target.h"

/* A process `sample` watches, read as the rules would: all metrics through
 * the sources, each with the reading before for rates. */
struct sampled {
        struct target *tg;
        struct metric_prev prev[_METRIC_MAX];
};

static const metric_set all_metrics = METRIC_BIT(_METRIC_MAX) - 1;

/* Reads every metric of `s`; false once the process is gone. */
static bool read_values(struct sources *sources, struct sampled *s, double v[_METRIC_MAX], bool have[_METRIC_MAX]) {
        struct reading reading;
        if (sources_read(sources, s->tg, all_metrics, &reading) < 0)
                return false;
        usec_t mono = now_usec(CLOCK_MONOTONIC);
        for (int m = 0; m < _METRIC_MAX; m++)
                have[m] = (reading.have & METRIC_BIT(m)) &&
                          metric_derive((enum metric) m, &s->prev[m], reading.raw[m], mono, &v[m]) == 0;
        return true;
}

static void print_sample(struct sources *sources, struct sampled *s, usec_t wall, bool json) {
        double v[_METRIC_MAX];
        bool have[_METRIC_MAX];
        pid_t pid = s->tg->id.pid;
        if (!read_values(sources, s, v, have)) {
                target_free(TAKE_PTR(s->tg));
                if (!json)
                        printf("%d exited\n", (int) pid);
                return;
        }
        const char *comm = s->tg->name;
        char when[40];
        format_utc(wall, false, when, sizeof when);
        if (json) {
                json_t *o = json_pack("{s:s, s:i, s:s}", "time", when, "pid", (int) pid, "comm", comm);
                for (int m = 0; m < _METRIC_MAX; m++)
                        json_object_set_new(o, metric_info((enum metric) m)->name,
                                            have[m] ? json_real(v[m]) : json_null());
                char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
                printf("%s\n", text);
                free(text);
                json_decref(o);
                return;
        }
        printf("%-24s %7d %-15s", when, (int) pid, comm);
        for (int m = 0; m < _METRIC_MAX; m++) {
                if (!have[m])
                        printf(" %12s", "-");
                else if (metric_info((enum metric) m)->kind == METRIC_KIND_BYTES)
                        printf(" %9.1fMiB", v[m] / 1048576.0);
                else if (m == METRIC_CPU)
                        printf(" %11.1f%%", v[m]);
                else
                        printf(" %12.0f", v[m]);
        }
        printf("\n");
}

int sample_processes(const pid_t *pids, size_t n, usec_t interval, unsigned count, bool json) {
        struct proc_root root;
        if (proc_root_open("/proc", &root) < 0) {
                fprintf(stderr, "autodump: cannot open /proc: %m\n");
                return 1;
        }
        struct source_env env = { .proc = &root };
        struct sources *sources = NULL;
        struct sampled *s = calloc(n, sizeof *s);
        int ret = s && sources_open(&env, &sources) == 0 ? 0 : 1;
        for (size_t i = 0; ret == 0 && i < n; i++) {
                int r = target_open_process(&root, pids[i], 0, &s[i].tg);
                if (r < 0) {
                        fprintf(stderr, "autodump: PID %d: %s\n", (int) pids[i],
                                r == -ESRCH ? "no such process" : strerror(-r));
                        ret = 1;
                        continue;
                }
                /* Prime the rates: each is a difference between readings. */
                double v[_METRIC_MAX];
                bool have[_METRIC_MAX];
                read_values(sources, &s[i], v, have);
        }
        if (ret == 0 && !json) {
                printf("%-24s %7s %-15s", "time", "pid", "comm");
                for (int m = 0; m < _METRIC_MAX; m++)
                        printf(" %12s", metric_info((enum metric) m)->name);
                printf("\n");
        }
        for (unsigned k = 0; ret == 0 && (count == 0 || k < count); k++) {
                struct timespec ts = { (time_t) (interval / USEC_PER_SEC), (long) (interval % USEC_PER_SEC) * 1000 };
                nanosleep(&ts, NULL);
                bool any = false;
                usec_t wall = now_usec(CLOCK_REALTIME);
                for (size_t i = 0; i < n; i++)
                        if (s[i].tg) {
                                print_sample(sources, &s[i], wall, json);
                                any |= s[i].tg != NULL;
                        }
                fflush(stdout);
                if (!any)
                        break;
        }
        for (size_t i = 0; s && i < n; i++)
                target_free(s[i].tg);
        free(s);
        sources_close(sources);
        proc_root_close(&root);
        return ret;
}

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
        for (int i = 0; i < n; i++) {
                char dir[4096];
                snprintf(dir, sizeof dir, "%s/%s", output, entries[i]->d_name);
                json_t *doc = load_trigger(dir);
                if (doc) {
                        json_t *t = json_object_get(doc, "target");
                        const char *time = json_string_value(json_object_get(doc, "time"));
                        const char *rule = json_string_value(json_object_get(doc, "rule"));
                        const char *comm = json_string_value(json_object_get(t, "comm"));
                        int pid = (int) json_integer_value(json_object_get(t, "pid"));
                        if (json)
                                json_array_append_new(all, json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:i, s:s}",
                                                                     "id", entries[i]->d_name, "dir", dir,
                                                                     "time", time, "rule", rule, "comm", comm,
                                                                     "pid", pid, "status", artifact_status(doc)));
                        else
                                printf("%-60s %-7s %s %s[%d]\n", entries[i]->d_name, artifact_status(doc),
                                       rule ?: "?", comm ?: "?", pid);
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
