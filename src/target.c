#include "target.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "util.h"

bool target_id_equal(const struct target_id *a, const struct target_id *b) {
        return a->kind == b->kind && a->pid == b->pid && a->starttime == b->starttime &&
               a->cgroup_id == b->cgroup_id;
}

/* A process hashes by its pid alone, so that target_find_pid can look in
 * the same bucket as target_find. */
uint64_t target_id_hash(const struct target_id *id) {
        uint64_t key = id->kind == TARGET_CGROUP ? id->cgroup_id : (uint64_t) id->pid;
        return key * UINT64_C(0x9E3779B97F4A7C15) ^ id->kind;
}

int target_open_process(const struct proc_root *root, pid_t pid, uint64_t starttime, struct target **ret) {
        struct target *tg = calloc(1, sizeof *tg);
        if (!tg)
                return -ENOMEM;
        tg->proc.handle.dir_fd = tg->proc.handle.stat_fd = tg->proc.handle.fd_dir_fd = -1;
        /* The pidfd first, then the /proc handle checked against the start
         * time: if the PID was recycled after the pidfd was taken, the start
         * time no longer matches and the target is refused. */
        tg->proc.pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        int r = tg->proc.pidfd < 0 ? (errno == ESRCH ? -ESRCH : negative_errno())
                                   : proc_handle_open(root, pid, starttime, &tg->proc.handle);
        struct proc_stat st;
        if (r >= 0)
                r = proc_handle_stat(&tg->proc.handle, &st);
        if (r < 0) {
                target_free(tg);
                return r;
        }
        tg->id = (struct target_id) { .kind = TARGET_PROCESS, .pid = pid,
                                      .starttime = tg->proc.handle.starttime };
        memcpy(tg->name, st.comm, sizeof tg->name);
        struct rlimit rl;
        if (prlimit(pid, RLIMIT_NOFILE, NULL, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
                tg->proc.nofile_limit = (double) rl.rlim_cur;
        *ret = tg;
        return 0;
}

/* cpu.max "QUOTA PERIOD" (v2), or cfs_quota_us and cfs_period_us (v1): 100
 * per core of quota, 0 without one. */
static double cpu_quota(const struct cgroup_handle *h) {
        char a[64], b[64];
        long long quota = -1, period = 0;
        if (h->dir[CG_UNIFIED] >= 0 && cgroup_read_at(h->dir[CG_UNIFIED], "cpu.max", a, sizeof a) == 0)
                sscanf(a, "%lld %lld", &quota, &period);        /* "max" leaves quota at -1 */
        else if (h->dir[CG_CPU] >= 0 && cgroup_read_at(h->dir[CG_CPU], "cpu.cfs_quota_us", a, sizeof a) == 0 &&
                 cgroup_read_at(h->dir[CG_CPU], "cpu.cfs_period_us", b, sizeof b) == 0) {
                quota = atoll(a);
                period = atoll(b);
        }
        return quota > 0 && period > 0 ? 100.0 * (double) quota / (double) period : 0;
}

int target_open_cgroup(const struct cgroup_mounts *m, struct cgroup_paths *paths, struct target **ret) {
        struct target *tg = calloc(1, sizeof *tg);
        if (!tg) {
                cgroup_paths_free(paths);
                return -ENOMEM;
        }
        tg->proc.pidfd = -1;
        tg->proc.handle.dir_fd = tg->proc.handle.stat_fd = tg->proc.handle.fd_dir_fd = -1;
        int r = cgroup_handle_open(m, paths, &tg->cgroup.handle);
        if (r < 0) {
                free(tg);
                return r;
        }
        struct cgroup_handle *h = &tg->cgroup.handle;
        tg->id = (struct target_id) { .kind = TARGET_CGROUP, .cgroup_id = h->id };
        const char *name = cgroup_paths_name(&h->paths), *last = strrchr(name, '/');
        snprintf(tg->name, sizeof tg->name, "%s", last && last[1] ? last + 1 : "root");
        uint64_t limit;
        if (cgroup_memory_limit(m, &h->paths, &limit) == 0)
                tg->cgroup.memory_limit = (double) limit;
        char buf[64];
        for (int i = 0; i < _CG_HIER_MAX && !tg->cgroup.pids_limit; i++)
                if ((i == CG_UNIFIED || i == CG_PIDS) && h->dir[i] >= 0 &&
                    cgroup_read_at(h->dir[i], "pids.max", buf, sizeof buf) == 0 && cgroup_parse_limit(buf, &limit) == 0)
                        tg->cgroup.pids_limit = (double) limit;
        tg->cgroup.cpu_limit = cpu_quota(h);
        *ret = tg;
        return 0;
}

void target_free(struct target *tg) {
        if (!tg)
                return;
        free(tg->bindings);
        free(tg->recording);
        for (int i = 0; i < _METRIC_SOURCE_MAX; i++)
                if (tg->notes[i])
                        tg->notes[i]->free(tg->notes[i]);
        if (tg->id.kind == TARGET_CGROUP) {
                cgroup_handle_close(&tg->cgroup.handle);
                free(tg->cgroup.cpu.now);
                free(tg->cgroup.cpu.before);
        }
        proc_handle_close(&tg->proc.handle);
        if (tg->proc.pidfd >= 0)
                close(tg->proc.pidfd);
        free(tg);
}

const char *target_describe(const struct target *tg, char *buf, size_t size) {
        if (tg->id.kind == TARGET_CGROUP)
                snprintf(buf, size, "cgroup %s", cgroup_paths_name(&tg->cgroup.handle.paths));
        else
                snprintf(buf, size, "%s[%d]", tg->name, (int) tg->id.pid);
        return buf;
}

void target_release(struct target *tg) {
        if (tg->collection)
                tg->gone = true;
        else
                target_free(tg);
}

void target_forget_bindings(struct target *tg) {
        free(tg->bindings);
        tg->bindings = NULL;
        tg->n_bindings = 0;
}

int target_add_binding(struct target *tg, struct binding *b) {
        struct binding **m = realloc(tg->bindings, (tg->n_bindings + 1) * sizeof *m);
        if (!m)
                return -ENOMEM;
        tg->bindings = m;
        tg->bindings[tg->n_bindings++] = b;
        return 0;
}

int target_table_init(struct target_table *t, size_t buckets) {
        *t = (struct target_table) { .buckets = calloc(buckets, sizeof *t->buckets), .n_buckets = buckets };
        return t->buckets ? 0 : -ENOMEM;
}

void target_table_free(struct target_table *t) {
        for (size_t i = 0; i < t->n_buckets; i++)
                for (struct target *tg = t->buckets[i], *next; tg; tg = next) {
                        next = tg->next;
                        target_free(tg);
                }
        free(t->buckets);
        *t = (struct target_table) {};
}

static struct target **bucket_of(const struct target_table *t, const struct target_id *id) {
        return &t->buckets[target_id_hash(id) % t->n_buckets];
}

struct target *target_find(const struct target_table *t, const struct target_id *id) {
        for (struct target *tg = *bucket_of(t, id); tg; tg = tg->next)
                if (target_id_equal(&tg->id, id))
                        return tg;
        return NULL;
}

struct target *target_find_pid(const struct target_table *t, pid_t pid) {
        struct target_id key = { .kind = TARGET_PROCESS, .pid = pid };
        for (struct target *tg = *bucket_of(t, &key); tg; tg = tg->next)
                if (tg->id.kind == TARGET_PROCESS && tg->id.pid == pid)
                        return tg;
        return NULL;
}

struct target *target_find_cgroup(const struct target_table *t, uint64_t cgroup_id) {
        struct target_id key = { .kind = TARGET_CGROUP, .cgroup_id = cgroup_id };
        return target_find(t, &key);
}

void target_insert(struct target_table *t, struct target *tg) {
        struct target **b = bucket_of(t, &tg->id);
        tg->next = *b;
        *b = tg;
        t->count++;
}

void target_remove(struct target_table *t, struct target *tg) {
        for (struct target **p = bucket_of(t, &tg->id); *p; p = &(*p)->next)
                if (*p == tg) {
                        *p = tg->next;
                        t->count--;
                        return;
                }
}

void target_foreach(struct target_table *t, void (*fn)(struct target *, void *), void *userdata) {
        for (size_t i = 0; i < t->n_buckets; i++)
                for (struct target *tg = t->buckets[i], *next; tg; tg = next) {
                        next = tg->next;
                        fn(tg, userdata);
                }
}
