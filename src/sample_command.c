/* `autodump sample`: the values rules would see, through the same sources,
 * so thresholds can be chosen from real numbers. */
#include <jansson.h>
#include <string.h>

#include "cgroup_discovery.h"
#include "cgroupfs.h"
#include "commands.h"
#include "json_text.h"
#include "discovery.h"
#include "record/recorder.h"
#include "source.h"
#include "target.h"

struct sampled {
        struct target *tg;
        struct metric_prev prev[_METRIC_MAX];
};

/* Reads every metric of `s`'s kind; false once it is gone. */
static bool read_values(struct sources *sources, struct sampled *s, double v[_METRIC_MAX], bool have[_METRIC_MAX]) {
        struct reading reading;
        if (sources_read(sources, s->tg, sources_metrics_of(sources, s->tg), &reading) < 0)
                return false;
        usec_t mono = now_usec(CLOCK_MONOTONIC);
        for (int m = 0; m < _METRIC_MAX; m++)
                have[m] = (reading.have & METRIC_BIT(m)) &&
                          metric_derive((enum metric) m, &s->prev[m], reading.raw[m], reading.aux[m], mono, &v[m]) == 0;
        return true;
}

/* A runtime's metrics (a JVM's) are columns only when some target had
 * one of them at the first reading: for other processes they would show
 * "-" in every row. */
static metric_set columns_of(struct sources *sources, const struct target *tg, metric_set found) {
        metric_set runtime = 0;
        for (int m = 0; m < _METRIC_MAX; m++)
                if (metric_info((enum metric) m)->source == METRIC_SOURCE_JVM)
                        runtime |= METRIC_BIT(m);
        return sources_metrics_of(sources, tg) & (found & runtime ? ~(metric_set) 0 : ~runtime);
}

static void print_header(struct sources *sources, const struct target *tg, metric_set found) {
        if (tg->id.kind == TARGET_CGROUP)
                printf("%-24s %-40s", "time", "cgroup");
        else
                printf("%-24s %7s %-15s", "time", "pid", "comm");
        metric_set mine = columns_of(sources, tg, found);
        for (int m = 0; m < _METRIC_MAX; m++)
                if (mine & METRIC_BIT(m))
                        printf(" %16s", metric_info((enum metric) m)->name);
        printf("\n");
}

/* `sample --record`: every value read, as a series of its own interval. */
static void record_values(struct recorder *rec, struct target *tg, usec_t interval, const double v[_METRIC_MAX],
                          const bool have[_METRIC_MAX], usec_t wall) {
        usec_t mono = now_usec(CLOCK_MONOTONIC);
        for (int m = 0; rec && m < _METRIC_MAX; m++)
                if (have[m])
                        recorder_sample(rec, tg, (enum metric) m, interval, v[m], mono, wall);
}

static void print_sample(struct sources *sources, struct sampled *s, metric_set found, usec_t wall, bool json,
                         struct recorder *rec, usec_t interval) {
        double v[_METRIC_MAX];
        bool have[_METRIC_MAX];
        char what[128];
        target_describe(s->tg, what, sizeof what);
        if (!read_values(sources, s, v, have)) {
                if (!json)
                        printf("%s %s\n", what, s->tg->id.kind == TARGET_CGROUP ? "was removed" : "exited");
                target_free(TAKE_PTR(s->tg));
                return;
        }
        record_values(rec, s->tg, interval, v, have, wall);
        const struct target *tg = s->tg;
        metric_set mine = columns_of(sources, tg, found);
        char when[40];
        format_utc(wall, false, when, sizeof when);
        if (json) {
                json_t *o = tg->id.kind == TARGET_CGROUP
                        ? json_pack("{s:s, s:o}", "time", when, "cgroup",
                                    json_text(cgroup_paths_name(&tg->cgroup.handle.paths)))
                        : json_pack("{s:s, s:i, s:o}", "time", when, "pid", (int) tg->id.pid, "comm", json_text(tg->name));
                for (int m = 0; m < _METRIC_MAX; m++)
                        if (mine & METRIC_BIT(m))
                                json_object_set_new(o, metric_info((enum metric) m)->name,
                                                    have[m] ? json_real(v[m]) : json_null());
                char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
                printf("%s\n", text);
                free(text);
                json_decref(o);
                return;
        }
        if (tg->id.kind == TARGET_CGROUP)
                printf("%-24s %-40s", when, cgroup_paths_name(&tg->cgroup.handle.paths));
        else
                printf("%-24s %7d %-15s", when, (int) tg->id.pid, tg->name);
        for (int m = 0; m < _METRIC_MAX; m++) {
                if (!(mine & METRIC_BIT(m)))
                        continue;
                enum metric_kind kind = metric_info((enum metric) m)->kind;
                if (!have[m])
                        printf(" %16s", "-");
                else if (kind == METRIC_KIND_BYTES)
                        printf(" %13.1fMiB", v[m] / 1048576.0);
                else if (kind == METRIC_KIND_CORES || kind == METRIC_KIND_PERCENT)
                        printf(" %15.1f%%", v[m]);
                else
                        printf(" %16.0f", v[m]);
        }
        printf("\n");
}

static int open_targets(const struct proc_root *root, const struct cgroup_mounts *mounts, const pid_t *pids,
                        size_t n_pids, char *const *cgroups, size_t n_cgroups, struct sampled *s) {
        for (size_t i = 0; i < n_pids; i++) {
                int r = target_open_process(root, pids[i], 0, &s[i].tg);
                if (r < 0) {
                        fprintf(stderr, "autodump: PID %d: %s\n", (int) pids[i],
                                r == -ESRCH ? "no such process" : strerror(-r));
                        return r;
                }
        }
        for (size_t i = 0; i < n_cgroups; i++) {
                struct cgroup_paths paths;
                int r = cgroup_paths_same(cgroups[i], &paths);
                if (r >= 0)
                        r = target_open_cgroup(mounts, &paths, &s[n_pids + i].tg);
                if (r < 0) {
                        fprintf(stderr, "autodump: cgroup %s: %s\n", cgroups[i],
                                r == -ENOENT ? "no such cgroup in any mounted hierarchy" : strerror(-r));
                        return r;
                }
        }
        return 0;
}

int sample_command(const pid_t *pids, size_t n_pids, char *const *cgroups, size_t n_cgroups, usec_t interval,
                   unsigned count, bool json, const char *record) {
        struct proc_root root;
        if (proc_root_open("/proc", &root) < 0) {
                fprintf(stderr, "autodump: cannot open /proc: %m\n");
                return 1;
        }
        struct recorder *rec = NULL;
        char err[256];
        struct recorder_options ro = { .path = record, .proc = &root, .mode = "sample" };
        if (record && recorder_open(&ro, &rec, err, sizeof err) < 0) {
                fprintf(stderr, "autodump: cannot record to %s: %s\n", record, err);
                proc_root_close(&root);
                return 1;
        }
        struct cgroup_mounts mounts = {};
        if (n_cgroups && cgroup_mounts_discover(&mounts) < 0)
                fprintf(stderr, "autodump: no cgroup hierarchy is mounted\n");
        struct source_env env = { .proc = &root, .cgroups = &mounts };
        struct sources *sources = NULL;
        size_t n = n_pids + n_cgroups;
        struct sampled *s = calloc(n, sizeof *s);
        int ret = s && sources_open(&env, &sources) == 0 &&
                  open_targets(&root, &mounts, pids, n_pids, cgroups, n_cgroups, s) == 0 ? 0 : 1;
        metric_set found = 0;
        for (size_t i = 0; ret == 0 && i < n; i++) {
                /* Prime the rates: each is a difference between readings. */
                double v[_METRIC_MAX];
                bool have[_METRIC_MAX];
                read_values(sources, &s[i], v, have);
                for (int m = 0; m < _METRIC_MAX; m++)
                        found |= have[m] ? METRIC_BIT(m) : 0;
        }
        /* Processes and cgroups have different columns: with both, each
         * group of rows comes under its own header. */
        bool mixed = n_pids && n_cgroups;
        for (unsigned k = 0; ret == 0 && (count == 0 || k < count); k++) {
                struct timespec ts = { (time_t) (interval / USEC_PER_SEC), (long) (interval % USEC_PER_SEC) * 1000 };
                nanosleep(&ts, NULL);
                bool any = false;
                usec_t wall = now_usec(CLOCK_REALTIME);
                for (size_t i = 0; i < n; i++) {
                        if (!s[i].tg)
                                continue;
                        if (!json && (i == 0 || i == n_pids) && (k == 0 || mixed))
                                print_header(sources, s[i].tg, found);
                        print_sample(sources, &s[i], found, wall, json, rec, interval);
                        any |= s[i].tg != NULL;
                }
                fflush(stdout);
                if (rec)
                        recorder_commit(rec);
                if (!any)
                        break;
        }
        for (size_t i = 0; s && i < n; i++)
                target_free(s[i].tg);
        free(s);
        recorder_close(rec);
        sources_close(sources);
        cgroup_mounts_free(&mounts);
        proc_root_close(&root);
        return ret;
}

static int add_pid_to(pid_t **pids, size_t *n, pid_t pid) {
        pid_t *m = realloc(*pids, (*n + 1) * sizeof *m);
        if (!m)
                return -ENOMEM;
        *pids = m;
        (*pids)[(*n)++] = pid;
        return 0;
}

int sample_select_comm(const char *comm, pid_t **pids, size_t *n) {
        struct proc_root root;
        int r = proc_root_open("/proc", &root);
        if (r < 0)
                return r;
        DIR *d;
        if ((r = opendir_at(root.fd, ".", &d)) < 0) {
                proc_root_close(&root);
                return r;
        }
        struct dirent *de;
        while (r >= 0 && (de = readdir(d))) {
                pid_t pid = (pid_t) strtol(de->d_name, NULL, 10);
                struct proc_stat st;
                if (pid > 0 && pid != getpid() && proc_read_stat(&root, pid, &st) == 0 && strcmp(st.comm, comm) == 0)
                        r = add_pid_to(pids, n, pid);
        }
        closedir(d);
        proc_root_close(&root);
        return r < 0 ? r : 0;
}

struct selection {
        pid_t **pids;
        size_t *n;
        char ***cgroups;
        size_t *n_cgroups;
        int error;
};

static bool never(pid_t pid, void *userdata) {
        return false;
}

static void found_process(const struct proc_facts *f, uint64_t starttime, const struct rule **rules, size_t n,
                          void *userdata) {
        struct selection *sel = userdata;
        if (sel->error == 0)
                sel->error = add_pid_to(sel->pids, sel->n, f->pid);
}

static void found_cgroup(struct cgroup_paths *paths, uint64_t id, const struct rule **rules, size_t n, void *userdata) {
        struct selection *sel = userdata;
        char **m = realloc(*sel->cgroups, (*sel->n_cgroups + 1) * sizeof *m);
        char *path = m ? strdup(cgroup_paths_name(paths)) : NULL;
        if (m)
                *sel->cgroups = m;
        if (!path) {
                sel->error = -ENOMEM;
                return;
        }
        (*sel->cgroups)[(*sel->n_cgroups)++] = path;
}

int sample_select_rule(const struct rule_set *rules, const char *name, pid_t **pids, size_t *n, char ***cgroups,
                       size_t *n_cgroups) {
        const struct rule *rule = NULL;
        for (size_t i = 0; i < rules->n && !rule; i++)
                if (strcmp(rules->rules[i].name, name) == 0)
                        rule = &rules->rules[i];
        if (!rule)
                return -ENOENT;
        if (rule->target.any)
                return -EINVAL;
        /* The discoveries of `watch`, over a set of this one rule. */
        struct rule_set one = { .rules = (struct rule *) rule, .n = 1 };
        struct selection sel = { .pids = pids, .n = n, .cgroups = cgroups, .n_cgroups = n_cgroups };
        struct proc_root root;
        int r = proc_root_open("/proc", &root);
        if (r < 0)
                return r;
        if (rule->target.cgroup || rule->target.unit) {
                struct cgroup_mounts mounts = {};
                if ((r = cgroup_mounts_discover(&mounts)) == 0) {
                        struct cgroup_discovery cd = { .mounts = &mounts, .rules = &one, .found = found_cgroup,
                                                       .userdata = &sel };
                        r = cgroup_discovery_scan(&cd);
                        cgroup_discovery_done(&cd);
                }
                cgroup_mounts_free(&mounts);
        } else {
                struct discovery d = {
                        .proc = &root, .mode = MODE_WATCH, .rules = &one, .self = getpid(),
                        .hooks = { .is_known = never, .is_collector = never, .found = found_process, .userdata = &sel },
                };
                r = discovery_scan(&d);
                discovery_done(&d);
        }
        proc_root_close(&root);
        return r < 0 ? r : sel.error;
}
