#include "pick.h"

#include <stdlib.h>
#include <string.h>

#include "bindings.h"
#include "util.h"

static int by_score(const void *a, const void *b) {
        const struct pick *x = a, *y = b;
        if (x->score != y->score)
                return x->score < y->score ? 1 : -1;
        return (x->pid > y->pid) - (x->pid < y->pid);
}

size_t pick_rank(struct pick *p, size_t n, size_t max) {
        qsort(p, n, sizeof *p, by_score);
        return n < max ? n : max;
}

/* The pids in the cgroup, from its cgroup.procs (of the hierarchy the
 * memory controller is in, else v2's), kept open: this runs at every
 * sample of a CPU-led cgroup. */
static int list_pids(struct target *tg, pid_t **ret, size_t *ret_n) {
        size_t size = 64 << 10;
        _cleanup_free_ char *text = malloc(size);
        if (!text)
                return -ENOMEM;
        int r;
        /* A cgroup of more processes than fit is read again, bigger. */
        while ((r = cgroup_handle_read(&tg->cgroup.handle, CGF_PROCS, text, size, NULL)) == 0 &&
               strlen(text) >= size - 16 && size < (16 << 20)) {
                char *m = realloc(text, size *= 4);
                if (!m)
                        return -ENOMEM;
                text = m;
        }
        if (r < 0)
                return r;
        size_t n = 0, cap = 64;
        pid_t *pids = malloc(cap * sizeof *pids);
        for (char *p = text, *end; pids && *p; p = end) {
                long pid = strtol(p, &end, 10);
                if (end == p)
                        break;
                if (pid <= 0)
                        continue;
                if (n == cap) {
                        pid_t *m = realloc(pids, (cap *= 2) * sizeof *pids);
                        if (!m)
                                break;
                        pids = m;
                }
                pids[n++] = (pid_t) pid;
        }
        if (!pids)
                return -ENOMEM;
        *ret = pids;
        *ret_n = n;
        return 0;
}

static int cmp_ticks(const void *a, const void *b) {
        pid_t x = ((const struct cpu_ticks *) a)->pid, y = ((const struct cpu_ticks *) b)->pid;
        return (x > y) - (x < y);
}

void pick_note_cpu(const struct sample_event *ev, void *userdata) {
        const struct proc_root *proc = userdata;
        struct target *tg = ev->target;
        struct cpu_snapshot *s = &tg->cgroup.cpu;
        /* Once a sample of the cgroup, however many CPU-led rules it has. */
        if (tg->id.kind != TARGET_CGROUP || metric_info(ev->metric)->lead != LEAD_CPU || s->noted_at == ev->mono)
                return;
        s->noted_at = ev->mono;
        _cleanup_free_ pid_t *pids = NULL;
        size_t n;
        if (list_pids(tg, &pids, &n) < 0)
                return;
        struct cpu_ticks *now = calloc(n ? n : 1, sizeof *now);
        if (!now)
                return;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                struct proc_stat st;
                if (proc_read_stat(proc, pids[i], &st) == 0)
                        now[k++] = (struct cpu_ticks) { pids[i], st.utime + st.stime };
        }
        qsort(now, k, sizeof *now, cmp_ticks);
        free(s->before);
        s->before = s->now;
        s->n_before = s->n_now;
        s->now = now;
        s->n_now = k;
}

/* CPU ticks of `pid` between the last two snapshots; a process new since
 * the one before counts from 0. */
static double cpu_since_last_sample(const struct cpu_snapshot *s, pid_t pid, uint64_t ticks_now) {
        struct cpu_ticks key = { .pid = pid };
        const struct cpu_ticks *now = s->now ? bsearch(&key, s->now, s->n_now, sizeof key, cmp_ticks) : NULL;
        const struct cpu_ticks *before = s->before ? bsearch(&key, s->before, s->n_before, sizeof key, cmp_ticks) : NULL;
        uint64_t end = now ? now->ticks : ticks_now;
        uint64_t start = before ? before->ticks : 0;
        return end > start ? (double) (end - start) : 0;
}

int pick_processes(const struct proc_root *proc, struct target *tg, enum metric_lead lead, size_t max,
                   bool (*allowed)(pid_t pid, void *userdata), void *userdata, struct pick **ret, size_t *ret_n) {
        _cleanup_free_ pid_t *pids = NULL;
        size_t n;
        int r = list_pids(tg, &pids, &n);
        if (r < 0)
                return r;
        struct pick *picks = calloc(n ? n : 1, sizeof *picks);
        if (!picks)
                return -ENOMEM;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                struct proc_stat st;
                if ((allowed && !allowed(pids[i], userdata)) || proc_read_stat(proc, pids[i], &st) < 0 ||
                    st.state == 'Z')
                        continue;
                struct pick *p = &picks[k++];
                *p = (struct pick) { .pid = pids[i], .starttime = st.starttime };
                memcpy(p->comm, st.comm, sizeof p->comm);
                switch (lead) {
                case LEAD_RSS: p->score = (double) st.rss_pages * (double) proc->page_size; break;
                case LEAD_CPU:
                        p->score = cpu_since_last_sample(&tg->cgroup.cpu, p->pid, st.utime + st.stime) /
                                   (double) proc->clk_tck;
                        break;
                case LEAD_THREADS: p->score = (double) st.num_threads; break;
                }
        }
        *ret = picks;
        *ret_n = pick_rank(picks, k, max);
        return 0;
}

const char *pick_reason(enum metric_lead lead) {
        switch (lead) {
        case LEAD_RSS: return "largest RSS in the cgroup";
        case LEAD_CPU: return "most CPU in the cgroup since the last sample";
        case LEAD_THREADS: return "most threads in the cgroup";
        }
        return "";
}
