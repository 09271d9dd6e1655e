/* The cgroup source: memory, working set, OOM kills, CPU, throttling and
 * tasks of a cgroup target, each from one pread of a kept-open file (v2's,
 * or the v1 controller's where the host is hybrid or legacy). */
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "../source.h"

struct cgroup_source_state {
        double host_memory;     /* a % of memory without a limit is of it */
};

static int cgroup_open(const struct source_env *env, void **ret_state) {
        struct cgroup_source_state *st = calloc(1, sizeof *st);
        if (!st)
                return -ENOMEM;
        struct sysinfo si;
        if (sysinfo(&si) == 0)
                st->host_memory = (double) si.totalram * si.mem_unit;
        *ret_state = st;
        return 0;
}

static void cgroup_close(void *state) {
        free(state);
}

/* A removed cgroup reads as ENODEV: the target is gone. A file this cgroup
 * lacks (no such controller) leaves its metric out. */
static int gone_or_absent(int r) {
        return r == -ENODEV ? -ESRCH : r;
}

static int read_number(struct cgroup_handle *h, enum cgroup_file f, double *ret) {
        char buf[64];
        int r = cgroup_handle_read(h, f, buf, sizeof buf, NULL);
        if (r < 0)
                return gone_or_absent(r);
        char *end;
        double v = strtod(buf, &end);
        if (end == buf)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* One read of `f`, then the value of `key` (v2's or v1's name for it) and,
 * if `key2` is given, of that one too. */
static int read_keyed(struct cgroup_handle *h, enum cgroup_file f, const char *v2_key, const char *v1_key,
                      double *ret, const char *key2, double *ret2) {
        char buf[4096];
        enum cgroup_hier where;
        int r = cgroup_handle_read(h, f, buf, sizeof buf, &where);
        if (r < 0)
                return gone_or_absent(r);
        uint64_t v, v2 = 0;
        if ((r = cgroup_parse_keyed(buf, where == CG_UNIFIED ? v2_key : v1_key, &v)) < 0 ||
            (key2 && (r = cgroup_parse_keyed(buf, key2, &v2)) < 0))
                return r;
        *ret = (double) v;
        if (ret2)
                *ret2 = (double) v2;
        return 0;
}

/* CPU seconds: v1 cpuacct.usage counts ns, v2 cpu.stat usage_usec. */
static int read_cpu_seconds(struct cgroup_handle *h, double *ret) {
        char buf[1024];
        enum cgroup_hier where;
        int r = cgroup_handle_read(h, CGF_CPU_USAGE, buf, sizeof buf, &where);
        if (r < 0)
                return gone_or_absent(r);
        if (where == CG_UNIFIED) {
                uint64_t usec;
                if ((r = cgroup_parse_keyed(buf, "usage_usec", &usec)) < 0)
                        return r;
                *ret = (double) usec / 1e6;
        } else
                *ret = strtod(buf, NULL) / 1e9;
        return 0;
}

/* Stores metric m's reading, or leaves it out when absent; a removed
 * cgroup (-ESRCH) ends the read. */
static int take(struct reading *r, enum metric m, int e, double v, double aux) {
        if (e == -ESRCH)
                return e;
        if (e == 0) {
                r->raw[m] = v;
                r->aux[m] = aux;
                r->have |= METRIC_BIT(m);
        }
        return 0;
}

static int cgroup_read(void *state, struct target *tg, metric_set want, struct reading *r) {
        struct cgroup_handle *h = &tg->cgroup.handle;
        double v = 0, aux = 0;
        int e = 0;
        if (want & (METRIC_BIT(METRIC_CGROUP_MEMORY) | METRIC_BIT(METRIC_CGROUP_MEMORY_WS))) {
                e = read_number(h, CGF_MEMORY_USAGE, &v);
                if ((e = take(r, METRIC_CGROUP_MEMORY, e, v, 0)) < 0)
                        return e;
        }
        if ((want & METRIC_BIT(METRIC_CGROUP_MEMORY_WS)) && (r->have & METRIC_BIT(METRIC_CGROUP_MEMORY))) {
                /* The working set, as the kubelet computes it for evictions:
                 * usage less the file cache the kernel can drop at once. */
                e = read_keyed(h, CGF_MEMORY_STAT, "inactive_file", "total_inactive_file", &aux, NULL, NULL);
                double ws = r->raw[METRIC_CGROUP_MEMORY] - aux;
                if ((e = take(r, METRIC_CGROUP_MEMORY_WS, e, ws > 0 ? ws : 0, 0)) < 0)
                        return e;
        }
        if (want & METRIC_BIT(METRIC_CGROUP_OOM_KILLS)) {
                e = read_keyed(h, CGF_MEMORY_OOM, "oom_kill", "oom_kill", &v, NULL, NULL);
                if ((e = take(r, METRIC_CGROUP_OOM_KILLS, e, v, 0)) < 0)
                        return e;
        }
        if (want & METRIC_BIT(METRIC_CGROUP_CPU)) {
                e = read_cpu_seconds(h, &v);
                if ((e = take(r, METRIC_CGROUP_CPU, e, v, 0)) < 0)
                        return e;
        }
        if (want & METRIC_BIT(METRIC_CGROUP_PIDS)) {
                e = read_number(h, CGF_PIDS_CURRENT, &v);
                if ((e = take(r, METRIC_CGROUP_PIDS, e, v, 0)) < 0)
                        return e;
        }
        if (want & METRIC_BIT(METRIC_CGROUP_THROTTLED)) {
                e = read_keyed(h, CGF_CPU_STAT, "nr_throttled", "nr_throttled", &v, "nr_periods", &aux);
                if ((e = take(r, METRIC_CGROUP_THROTTLED, e, v, aux)) < 0)
                        return e;
        }
        return 0;
}

static double cgroup_reference(void *state, struct target *tg, enum metric m, const char **ret_what) {
        const struct cgroup_source_state *st = state;
        const struct cgroup_target *cg = &tg->cgroup;
        switch (m) {
        case METRIC_CGROUP_MEMORY:
        case METRIC_CGROUP_MEMORY_WS:
                *ret_what = cg->memory_limit ? "the cgroup's memory limit" : "host RAM (the cgroup has no memory limit)";
                return cg->memory_limit ? cg->memory_limit : st->host_memory;
        case METRIC_CGROUP_CPU:
                *ret_what = "one core";
                return 100;
        case METRIC_CGROUP_PIDS:
                *ret_what = "the cgroup's pids limit";
                return cg->pids_limit;
        default:
                return 0;
        }
}

const struct source_ops cgroup_source = {
        .open = cgroup_open,
        .close = cgroup_close,
        .read = cgroup_read,
        .reference = cgroup_reference,
};
