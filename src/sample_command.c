/* `autodump sample`: the values rules would see, through the same sources,
 * so thresholds can be chosen from real numbers. */
#include <jansson.h>
#include <string.h>

#include "cgroup_discovery.h"
#include "cgroupfs.h"
#include "commands.h"
#include "json_text.h"
#include "loop.h"
#include "discovery.h"
#include "record/recorder.h"
#include "source.h"
#include "target.h"

struct sampled {
        struct target *tg;
        struct metric_prev prev[_METRIC_MAX];
        double v[_METRIC_MAX];          /* the last reading */
        bool have[_METRIC_MAX];
};

/* Reads every metric of `s`'s kind into s->v; false once it is gone. */
static bool read_values(struct sources *sources, struct sampled *s) {
        struct reading reading;
        if (sources_read(sources, s->tg, sources_metrics_of(sources, s->tg), &reading) < 0)
                return false;
        usec_t mono = now_usec(CLOCK_MONOTONIC);
        for (int m = 0; m < _METRIC_MAX; m++)
                s->have[m] = (reading.have & METRIC_BIT(m)) &&
                             metric_derive((enum metric) m, &s->prev[m], reading.raw[m], reading.aux[m], mono,
                                           &s->v[m]) == 0;
        return true;
}

/* A runtime's metrics (a JVM's, a Go program's, .NET's) are columns only
 * once some target had one of that runtime's metrics: for other processes
 * they would show "-" in every row. */
static metric_set columns_of(struct sources *sources, const struct target *tg, metric_set found) {
        metric_set of_runtime[_METRIC_SOURCE_MAX] = {}, hidden = 0;
        for (int m = 0; m < _METRIC_MAX; m++)
                of_runtime[metric_info((enum metric) m)->source] |= METRIC_BIT(m);
        const enum metric_source runtimes[] = { METRIC_SOURCE_JVM, METRIC_SOURCE_GO, METRIC_SOURCE_DOTNET };
        for (size_t i = 0; i < ELEMENTSOF(runtimes); i++)
                if (!(found & of_runtime[runtimes[i]]))
                        hidden |= of_runtime[runtimes[i]];
        return sources_metrics_of(sources, tg) & ~hidden;
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

static void print_sample(struct sources *sources, const struct sampled *s, metric_set found, usec_t wall,
                         bool json) {
        const double *v = s->v;
        const bool *have = s->have;
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

static void on_interval_over(struct loop_source *src, usec_t now, void *userdata) {
        *(bool *) userdata = true;
}

/* Sleeps `interval`, serving the loop meanwhile. */
static void wait_in_loop(struct loop *loop, usec_t interval) {
        bool over = false;
        struct loop_source *timer = NULL;
        if (loop_add_timer(loop, now_usec(CLOCK_MONOTONIC) + interval, 0, on_interval_over, &over, &timer) < 0)
                return;
        while (!over && loop_run_once(loop) >= 0)
                ;
        loop_source_free(timer);
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
        struct loop *loop = NULL;
        struct sources *sources = NULL;
        size_t n = n_pids + n_cgroups;
        struct sampled *s = calloc(n, sizeof *s);
        int ret = s && loop_new(&loop) == 0 ? 0 : 1;
        /* Runtime sources (a Go program's HTTP endpoint) answer through
         * the loop while `sample` waits for the next reading. */
        struct source_env env = { .proc = &root, .cgroups = &mounts, .loop = loop };
        if (ret == 0 && (sources_open(&env, &sources) < 0 ||
                         open_targets(&root, &mounts, pids, n_pids, cgroups, n_cgroups, s) < 0))
                ret = 1;
        /* Prime the rates: each is a difference between readings. */
        for (size_t i = 0; ret == 0 && i < n; i++)
                read_values(sources, &s[i]);
        metric_set found = 0;
        /* Processes and cgroups have different columns: with both, each
         * group of rows comes under its own header. */
        bool mixed = n_pids && n_cgroups;
        for (unsigned k = 0; ret == 0 && (count == 0 || k < count); k++) {
                wait_in_loop(loop, interval);
                bool any = false;
                usec_t wall = now_usec(CLOCK_REALTIME);
                for (size_t i = 0; i < n; i++) {
                        if (!s[i].tg || read_values(sources, &s[i]))
                                continue;
                        char what[128];
                        if (!json)
                                printf("%s %s\n", target_describe(s[i].tg, what, sizeof what),
                                       s[i].tg->id.kind == TARGET_CGROUP ? "was removed" : "exited");
                        target_free(TAKE_PTR(s[i].tg));
                }
                /* A runtime's first values may come a reading or two late
                 * (a .NET counter session sends its first after an
                 * interval): its columns, and a header, come with them. */
                metric_set before = found;
                for (size_t i = 0; i < n; i++)
                        for (int m = 0; s[i].tg && m < _METRIC_MAX; m++)
                                found |= s[i].have[m] ? METRIC_BIT(m) : 0;
                for (size_t i = 0; i < n; i++) {
                        if (!s[i].tg)
                                continue;
                        bool more_columns = columns_of(sources, s[i].tg, found) != columns_of(sources, s[i].tg, before);
                        if (!json && (i == 0 || i == n_pids) && (k == 0 || mixed || more_columns))
                                print_header(sources, s[i].tg, found);
                        record_values(rec, s[i].tg, interval, s[i].v, s[i].have, wall);
                        print_sample(sources, &s[i], found, wall, json);
                        any = true;
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
        loop_free(loop);
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
