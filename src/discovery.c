#include "discovery.h"

#include <string.h>

#include "util.h"

/* Orders struct scanned and struct seen, whose first member is the pid; a
 * bsearch key is a bare pid_t. */
static int cmp_pid(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
        return (x > y) - (x < y);
}

const struct seen *seen_cache_find(const struct seen_cache *c, const struct scanned *s) {
        if (c->n == 0)
                return NULL;
        const struct seen *old = bsearch(&s->pid, c->items, c->n, sizeof *c->items, cmp_pid);
        return old && old->starttime == s->starttime && strcmp(old->comm, s->comm) == 0 ? old : NULL;
}

/* Remembers a process no rule wanted, to be asked again after `backoff`
 * scans. */
static void remember(struct seen *slot, const struct scanned *s, unsigned short backoff) {
        *slot = (struct seen) { .pid = s->pid, .starttime = s->starttime, .wait = backoff, .backoff = backoff };
        memcpy(slot->comm, s->comm, sizeof slot->comm);
}

/* Whether any rule matches on what changes without an exec. */
static bool is_target(const struct discovery_hooks *h, pid_t pid) {
        return h->is_target && h->is_target(pid, h->userdata);
}

static bool details_can_change(const struct rule_set *rules) {
        for (size_t i = 0; i < rules->n; i++)
                if (match_needs_details(&rules->rules[i].target))
                        return true;
        return false;
}

bool process_tree_contains(const struct scanned *all, size_t n, pid_t pid, pid_t self, pid_t command,
                           const struct discovery_hooks *hooks) {
        for (int depth = 0; depth < 1024 && pid > 1; depth++) {
                if (pid == command)
                        return true;
                if (hooks->is_collector(pid, hooks->userdata))
                        return false;
                const struct scanned *s = bsearch(&pid, all, n, sizeof *all, cmp_pid);
                if (!s)
                        return false;
                if (s->ppid == self)
                        return s->pid != self;
                pid = s->ppid;
        }
        return false;
}

/* The rules that apply to a process, reading its cmdline and uid only if
 * some rule needs them. */
static size_t rules_for(const struct discovery *d, struct proc_facts *f, const struct rule **ret) {
        const struct rule_set *set = d->rules;
        _cleanup_free_ char *cmdline = NULL;
        bool details_read = false;
        size_t n = 0;
        for (size_t i = 0; i < set->n; i++) {
                const struct target_match *m = &set->rules[i].target;
                if (match_needs_details(m) && !details_read) {
                        details_read = true;
                        if (proc_read_cmdline(d->proc, f->pid, &cmdline) == 0)
                                f->cmdline = cmdline;
                        f->has_uid = proc_read_uid(d->proc, f->pid, &f->uid) == 0;
                }
                if (target_matches(m, d->mode, f))
                        ret[n++] = &set->rules[i];
        }
        f->cmdline = NULL;
        return n;
}

static int list_processes(const struct discovery *d, struct scanned **ret, size_t *ret_n) {
        _cleanup_closedir_ DIR *dir = NULL;
        int r = opendir_at(d->proc->fd, ".", &dir);
        if (r < 0)
                return r;
        size_t n = 0, cap = 256;
        _cleanup_free_ struct scanned *all = malloc(cap * sizeof *all);
        if (!all)
                return -ENOMEM;
        struct dirent *de;
        while ((de = readdir(dir))) {
                pid_t pid = (pid_t) strtol(de->d_name, NULL, 10);
                if (pid <= 0 || pid == d->self)
                        continue;
                struct proc_stat st;
                if (proc_read_stat(d->proc, pid, &st) < 0)
                        continue;
                if (n == cap) {
                        struct scanned *m = realloc(all, (cap *= 2) * sizeof *all);
                        if (!m)
                                return -ENOMEM;
                        all = m;
                }
                all[n] = (struct scanned) { .pid = pid, .ppid = st.ppid, .starttime = st.starttime,
                                            .can_be_target = proc_stat_can_be_target(&st),
                                            .traced_stop = st.state == 't' };
                memcpy(all[n].comm, st.comm, sizeof st.comm);
                n++;
        }
        qsort(all, n, sizeof *all, cmp_pid);
        *ret = TAKE_PTR(all);
        *ret_n = n;
        return 0;
}

int discovery_scan(struct discovery *d) {
        _cleanup_free_ struct scanned *all = NULL;
        size_t n;
        int r = list_processes(d, &all, &n);
        if (r < 0)
                return r;
        _cleanup_free_ const struct rule **rules = calloc(d->rules->n + 1, sizeof *rules);
        struct seen *seen = calloc(n + 1, sizeof *seen);
        if (!rules || !seen) {
                free(seen);
                return -ENOMEM;
        }
        const struct discovery_hooks *h = &d->hooks;
        bool recheck = details_can_change(d->rules);
        size_t n_seen = 0;
        for (size_t i = 0; i < n; i++) {
                const struct scanned *s = &all[i];
                /* A zombie or kernel thread would match by name and fire,
                 * and then no capture could work. */
                if (!s->can_be_target || (s->traced_stop && !is_target(h, s->pid)) ||
                    h->is_known(s->pid, h->userdata) || h->is_collector(s->pid, h->userdata))
                        continue;
                bool tree = d->mode == MODE_RUN && process_tree_contains(all, n, s->pid, d->self, d->command, h);
                /* In the tree the answer can change as processes are born;
                 * elsewhere, a process no rule wanted is asked again only
                 * when its title or user may have changed, less and less
                 * often. */
                const struct seen *old = tree ? NULL : seen_cache_find(&d->seen, s);
                if (old && (!recheck || old->wait > 0)) {
                        seen[n_seen] = *old;
                        seen[n_seen++].wait = old->wait ? old->wait - 1 : 0;
                        continue;
                }
                struct proc_facts f = { .pid = s->pid, .comm = s->comm, .in_tree = tree };
                size_t k = rules_for(d, &f, rules);
                if (k > 0)
                        h->found(&f, s->starttime, rules, k, h->userdata);
                else if (!tree) {
                        unsigned short backoff = old ? old->backoff * 2 : 1;
                        remember(&seen[n_seen++], s, backoff < SEEN_WAIT_MAX ? backoff : SEEN_WAIT_MAX);
                }
        }
        free(d->seen.items);
        d->seen = (struct seen_cache) { .items = seen, .n = n_seen };
        return 0;
}

/* One process, as a scan asks about it, or as -p lists it (then even one
 * known or stopped). */
static int check_one(struct discovery *d, pid_t pid, bool listed) {
        const struct discovery_hooks *h = &d->hooks;
        struct proc_stat st;
        if (pid == d->self || proc_read_stat(d->proc, pid, &st) < 0)
                return -ESRCH;
        if (proc_stat_is_kernel_thread(&st))
                return -EPERM;
        if (!proc_stat_can_be_target(&st))
                return -ESRCH;
        if (!listed && ((st.state == 't' && !is_target(h, pid)) || h->is_known(pid, h->userdata) ||
                        h->is_collector(pid, h->userdata)))
                return 0;
        _cleanup_free_ const struct rule **rules = calloc(d->rules->n + 1, sizeof *rules);
        if (!rules)
                return -ENOMEM;
        struct proc_facts f = { .pid = pid, .comm = st.comm, .listed = listed };
        size_t k = rules_for(d, &f, rules);
        if (k == 0)
                return -ENOENT;
        h->found(&f, st.starttime, rules, k, h->userdata);
        return 0;
}

int discovery_add_listed(struct discovery *d, pid_t pid) {
        return check_one(d, pid, true);
}

int discovery_check(struct discovery *d, pid_t pid) {
        int r = check_one(d, pid, false);
        return r == 0 ? 1 : r == -ENOENT ? 0 : r;
}

bool discovery_details_can_change(const struct discovery *d) {
        return details_can_change(d->rules);
}

void discovery_done(struct discovery *d) {
        free(d->seen.items);
        d->seen = (struct seen_cache) {};
}
