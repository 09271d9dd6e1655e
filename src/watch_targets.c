/* The watchdog's targets: made when discovery finds what rules select,
 * bound to those rules, dropped when they go. */
#include <string.h>
#include <sys/epoll.h>

#include "log.h"
#include "watchdog_private.h"

/* Cgroups and named processes at info, other processes at debug. */
static int target_log_level(const struct target *tg) {
        return tg->id.kind == TARGET_CGROUP || tg->proc.named ? LOG_INFO : LOG_DEBUG;
}

void watchdog_drop_target(struct watchdog *wd, struct target *tg, const char *why) {
        char what[128];
        log_msg(target_log_level(tg), "stopped watching %s: %s", target_describe(tg, what, sizeof what), why);
        wd->summary.dropped++;
        loop_source_free(tg->exit_watch);
        tg->exit_watch = NULL;
        collections_forget_target(wd->collections, tg);
        bindings_remove_target(&wd->bindings, tg);
        target_remove(&wd->targets, tg);
        target_release(tg);
}

static void on_target_exit(struct loop_source *s, int fd, uint32_t revents, void *userdata) {
        struct target *tg = userdata;
        struct watchdog *wd = tg->watcher;
        watchdog_drop_target(wd, tg, "exited");
}

/* Why the kernel would not take a PSI trigger, in a user's words. */
static const char *arm_error(int r) {
        switch (r) {
        case -EINVAL: return "the kernel refused the trigger (EINVAL): per must be 500ms to 10s, and a multiple of 2s "
                             "without CAP_SYS_RESOURCE";
        case -ENOENT: return "this kernel has no PSI (no pressure file; boot with psi=1)";
        case -EACCES:
        case -EPERM: return "permission denied opening the pressure file for writing";
        default: return strerror(-r);
        }
}

/* Binds each of `rules` to `tg`, once; an event rule's source starts
 * pushing. Returns 0, or an error that leaves tg unusable. */
static int bind_rules(struct watchdog *wd, struct target *tg, const struct rule **rules, size_t n) {
        for (size_t i = 0; i < n; i++) {
                struct binding *b;
                int r = bindings_add(&wd->bindings, rules[i], tg, &b);
                if (r == -EEXIST)
                        continue;
                if (r < 0)
                        return r;
                if (rules[i]->cond.has_stall && (r = sources_arm(wd->sources, b)) < 0) {
                        char what[128];
                        log_warning("%s: cannot watch %s: %s", rules[i]->name, target_describe(tg, what, sizeof what),
                                    arm_error(r));
                }
        }
        return 0;
}

/* The cgroup target of `paths`, known or made now. */
static struct target *cgroup_target(struct watchdog *wd, struct cgroup_paths *paths, uint64_t id) {
        struct target *tg = target_find_cgroup(&wd->targets, id);
        if (tg)
                return tg;
        int r = target_open_cgroup(&wd->cgroups, paths, &tg);
        if (r < 0) {
                if (r != -ENOENT)
                        log_warning("cannot watch cgroup %s: %s", cgroup_paths_name(paths), strerror(-r));
                return NULL;
        }
        tg->watcher = wd;
        target_insert(&wd->targets, tg);
        wd->summary.added++;
        char limit[32] = "none";
        if (tg->cgroup.memory_limit)
                metric_format(METRIC_CGROUP_MEMORY, tg->cgroup.memory_limit, limit, sizeof limit);
        log_info("watching cgroup %s (memory limit %s)", cgroup_paths_name(&tg->cgroup.handle.paths), limit);
        return tg;
}

void watchdog_on_cgroup_found(struct cgroup_paths *paths, uint64_t id, const struct rule **rules, size_t n,
                              void *userdata) {
        struct watchdog *wd = userdata;
        struct target *tg = cgroup_target(wd, paths, id);
        int r = tg ? bind_rules(wd, tg, rules, n) : 0;
        if (r < 0)
                watchdog_drop_target(wd, tg, strerror(-r));
}

/* A process's rules whose metric is of a cgroup watch the cgroup it is in. */
static void bind_process_cgroup(struct watchdog *wd, const struct proc_facts *f, const struct rule **rules, size_t n) {
        struct cgroup_paths paths;
        uint64_t id;
        if (!cgroup_mounts_any(&wd->cgroups) || cgroup_of_process(&wd->proc, f->pid, &paths) < 0)
                return;
        if (cgroup_paths_id(&wd->cgroups, &paths, &id) == 0)
                watchdog_on_cgroup_found(&paths, id, rules, n, wd);
        cgroup_paths_free(&paths);
}

/* A new process target, bound to its own rules and watched for its exit;
 * NULL if it could not be. */
static struct target *open_process_target(struct watchdog *wd, const struct proc_facts *f, uint64_t starttime,
                                          const struct rule **rules, size_t n_process, size_t n) {
        struct target *tg;
        int r = target_open_process(&wd->proc, f->pid, starttime, &tg);
        if (r < 0) {
                if (r != -ESRCH)
                        log_warning("cannot watch %s[%d]: %s", f->comm, (int) f->pid, strerror(-r));
                return NULL;
        }
        tg->proc.in_tree = f->in_tree;
        tg->proc.named = f->listed || (wd->o->mode == MODE_RUN && f->pid == wd->run.command);
        tg->watcher = wd;
        r = bind_rules(wd, tg, rules, n_process);
        if (r >= 0)
                r = loop_add_io(wd->loop, tg->proc.pidfd, EPOLLIN, on_target_exit, tg, &tg->exit_watch);
        if (r < 0) {
                log_warning("cannot watch %s[%d]: %s", f->comm, (int) f->pid, strerror(-r));
                bindings_remove_target(&wd->bindings, tg);
                target_free(tg);
                return NULL;
        }
        target_insert(&wd->targets, tg);
        wd->summary.added++;
        int level = target_log_level(tg);
        if (!log_enabled(level))
                return tg;
        /* Enough of the command line to tell apart processes of one name
         * (postgres, nginx workers). */
        _cleanup_free_ char *cmdline = NULL;
        (void) proc_read_cmdline(&wd->proc, f->pid, &cmdline);
        log_msg(level, "watching %s[%d] with %zu rule%s: %.80s%s", tg->name, (int) tg->id.pid, n, n == 1 ? "" : "s",
                cmdline ? cmdline : "", cmdline && strlen(cmdline) > 80 ? "…" : "");
        return tg;
}

void watchdog_on_found(const struct proc_facts *f, uint64_t starttime, const struct rule **rules, size_t n,
                       void *userdata) {
        struct watchdog *wd = userdata;
        /* Rules of the process first, in place; those of its cgroup after. */
        const struct rule *cgroup_rules[n ? n : 1];
        size_t n_process = 0, n_cgroup = 0;
        for (size_t i = 0; i < n; i++) {
                if (rule_watches_cgroups(rules[i]))
                        cgroup_rules[n_cgroup++] = rules[i];
                else
                        rules[n_process++] = rules[i];
        }
        struct target *tg = wd->reloading ? target_find_pid(&wd->targets, f->pid) : NULL;
        if (tg && tg->id.starttime == starttime) {
                /* A reload: the target stays, bound to the new rules. */
                int r = bind_rules(wd, tg, rules, n_process);
                if (r < 0)
                        log_warning("cannot watch %s[%d]: %s", f->comm, (int) f->pid, strerror(-r));
        } else if (!open_process_target(wd, f, starttime, rules, n_process, n))
                return;
        if (n_cgroup)
                bind_process_cgroup(wd, f, cgroup_rules, n_cgroup);
}

bool watchdog_is_known(pid_t pid, void *userdata) {
        struct watchdog *wd = userdata;
        /* A reload asks the new rules about every process. */
        return !wd->reloading && target_find_pid(&wd->targets, pid) != NULL;
}

bool watchdog_is_target(pid_t pid, void *userdata) {
        struct watchdog *wd = userdata;
        return target_find_pid(&wd->targets, pid) != NULL;
}

bool watchdog_is_collector(pid_t pid, void *userdata) {
        struct watchdog *wd = userdata;
        return collections_is_collector(wd->collections, pid) || pid == crash_tracer_pid(wd->run.crash);
}


void watchdog_add_listed_pids(struct watchdog *wd) {
        for (size_t i = 0; i < wd->o->n_pids; i++) {
                pid_t pid = wd->o->pids[i];
                int r = discovery_add_listed(&wd->discovery, pid);
                if (r == -ESRCH)
                        log_error("PID %d: no such process", (int) pid);
                else if (r == -EPERM)
                        log_error("PID %d is a kernel thread: nothing there to sample or dump", (int) pid);
                else if (r == -ENOENT)
                        log_warning("no rule applies to PID %d", (int) pid);
                else if (r < 0)
                        log_error("PID %d: %s", (int) pid, strerror(-r));
        }
}
