#include "target.h"

#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>

/* History kept per (rule, target) for trigger.json, beyond the window. */
#define HISTORY_MIN 20

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

static size_t bucket_of(const struct target_table *t, pid_t pid) {
        return (size_t) pid % t->n_buckets;
}

struct target *target_find(const struct target_table *t, pid_t pid) {
        for (struct target *tg = t->buckets[bucket_of(t, pid)]; tg; tg = tg->next)
                if (tg->pid == pid)
                        return tg;
        return NULL;
}

void target_insert(struct target_table *t, struct target *tg) {
        size_t b = bucket_of(t, tg->pid);
        tg->next = t->buckets[b];
        t->buckets[b] = tg;
        t->count++;
}

void target_remove(struct target_table *t, struct target *tg) {
        for (struct target **p = &t->buckets[bucket_of(t, tg->pid)]; *p; p = &(*p)->next)
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

int target_new(const struct proc_root *root, pid_t pid, uint64_t starttime,
               const struct rule **rules, size_t n_rules, struct target **ret) {
        struct target *tg = calloc(1, sizeof *tg);
        if (!tg)
                return -ENOMEM;
        tg->pid = pid;
        tg->proc.dir_fd = tg->proc.stat_fd = tg->proc.fd_dir_fd = -1;
        /* The pidfd first, then the /proc handle checked against the start
         * time: if the PID was recycled after the pidfd was taken, the start
         * time no longer matches and the target is refused. */
        tg->pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        int r = tg->pidfd < 0 ? (errno == ESRCH ? -ESRCH : negative_errno())
                              : proc_handle_open(root, pid, starttime, &tg->proc);
        if (r < 0)
                goto fail;
        tg->starttime = tg->proc.starttime;
        struct proc_stat st;
        if ((r = proc_handle_stat(&tg->proc, &st)) < 0)
                goto fail;
        memcpy(tg->comm, st.comm, sizeof tg->comm);
        struct rlimit rl;
        if (prlimit(pid, RLIMIT_NOFILE, NULL, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
                tg->nofile_limit = (double) rl.rlim_cur;

        tg->rules = calloc(n_rules ? n_rules : 1, sizeof *tg->rules);
        if (!tg->rules) {
                r = -ENOMEM;
                goto fail;
        }
        for (size_t i = 0; i < n_rules; i++) {
                tg->rules[i].rule = rules[i];
                size_t window = rules[i]->window;
                r = engine_state_init(&tg->rules[i].engine, window,
                                      2 * window > HISTORY_MIN ? 2 * window : HISTORY_MIN);
                if (r < 0)
                        goto fail;
                tg->n_rules++;
        }
        *ret = tg;
        return 0;
fail:
        target_free(tg);
        return r;
}

void target_free(struct target *tg) {
        if (!tg)
                return;
        for (size_t i = 0; i < tg->n_rules; i++)
                engine_state_free(&tg->rules[i].engine);
        free(tg->rules);
        proc_handle_close(&tg->proc);
        if (tg->pidfd >= 0)
                close(tg->pidfd);
        free(tg);
}
