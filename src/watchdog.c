#include "watchdog.h"

#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include "collector.h"
#include "log.h"
#include "sampler.h"
#include "target.h"
#include "units.h"

struct collection {
        pid_t pid;              /* the collector process (and its group) */
        struct target *target;
        struct artifact artifact;
        usec_t deadline;        /* monotonic */
        bool timed_out;
        struct collection *next;
};

/* A process seen by the last scan that no rule wanted: not looked at again
 * while it keeps its identity and name (an exec changes the name). */
struct seen {
        pid_t pid;
        uint64_t starttime;
        char comm[16];
};

struct watchdog {
        const struct watchdog_options *o;
        struct proc_root proc;
        struct target_table targets;
        int epoll_fd, timer_fd, signal_fd;
        usec_t tick;
        usec_t next_scan;
        double mem_limit;
        bool scan_needed;       /* some rule selects processes by itself */
        pid_t child;            /* run mode: the command */
        int child_status;
        bool child_exited;
        bool stopping;
        struct collection *collections;
        unsigned n_collections;
        struct seen *seen;
        size_t n_seen;
        unsigned firings;
};

/* epoll data: a target's pid, or one of these tags. */
#define TAG_SIGNAL (UINT64_C(1) << 40)
#define TAG_TIMER (UINT64_C(1) << 41)

static const int handled_signals[] = {
        SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
};

static sigset_t handled_set(void) {
        sigset_t set;
        sigemptyset(&set);
        for (size_t i = 0; i < ELEMENTSOF(handled_signals); i++)
                sigaddset(&set, handled_signals[i]);
        return set;
}

static bool is_collector(const struct watchdog *wd, pid_t pid) {
        for (const struct collection *c = wd->collections; c; c = c->next)
                if (c->pid == pid)
                        return true;
        return false;
}

/* ---- targets ---------------------------------------------------------- */

static void drop_target(struct watchdog *wd, struct target *tg, const char *why) {
        log_info("stopped watching %s[%d]: %s", tg->comm, (int) tg->pid, why);
        epoll_ctl(wd->epoll_fd, EPOLL_CTL_DEL, tg->pidfd, NULL);
        target_remove(&wd->targets, tg);
        /* A running collection still uses the target; it is freed when the
         * collection ends. */
        if (tg->collector == 0)
                target_free(tg);
        else
                tg->pid = -tg->pid;     /* marks it gone */
}

static void add_target(struct watchdog *wd, const struct proc_facts *f, uint64_t starttime,
                       const struct rule **rules, size_t n_rules) {
        struct target *tg;
        int r = target_new(&wd->proc, f->pid, starttime, rules, n_rules, &tg);
        if (r < 0) {
                if (r != -ESRCH)
                        log_warning("cannot watch %s[%d]: %s", f->comm, (int) f->pid, strerror(-r));
                return;
        }
        tg->self = f->in_tree;
        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t) tg->pid };
        if (epoll_ctl(wd->epoll_fd, EPOLL_CTL_ADD, tg->pidfd, &ev) < 0) {
                log_warning("cannot watch %s[%d]: epoll: %m", f->comm, (int) f->pid);
                target_free(tg);
                return;
        }
        target_insert(&wd->targets, tg);
        log_info("watching %s[%d] with %zu rule%s", tg->comm, (int) tg->pid, n_rules,
                 n_rules == 1 ? "" : "s");
}

/* The rules that apply to a process, reading its cmdline and uid only if
 * some rule needs them. */
static size_t rules_for(struct watchdog *wd, struct proc_facts *f, const struct rule **ret) {
        const struct rule_set *set = wd->o->rules;
        _cleanup_free_ char *cmdline = NULL;
        bool details_read = false;
        size_t n = 0;
        for (size_t i = 0; i < set->n; i++) {
                const struct target_match *m = &set->rules[i].target;
                if (match_needs_details(m) && !details_read) {
                        details_read = true;
                        if (proc_read_cmdline(&wd->proc, f->pid, &cmdline) == 0)
                                f->cmdline = cmdline;
                        f->has_uid = proc_read_uid(&wd->proc, f->pid, &f->uid) == 0;
                }
                if (target_matches(m, wd->o->mode, f))
                        ret[n++] = &set->rules[i];
        }
        f->cmdline = NULL;
        return n;
}

struct scanned {
        pid_t pid, ppid;
        uint64_t starttime;
        char comm[16];
        bool known;
};

/* Orders struct scanned and struct seen, whose first member is the pid; a
 * bsearch key is a bare pid_t. */
static int cmp_pid(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
        return (x > y) - (x < y);
}

/* Run mode: whether `pid` descends from autodump through the command (or
 * was reparented to autodump as subreaper), and not through a collector. */
static bool in_tree(const struct watchdog *wd, const struct scanned *all, size_t n, pid_t pid) {
        pid_t self = getpid();
        for (int depth = 0; depth < 1024 && pid > 1; depth++) {
                if (pid == wd->child)
                        return true;
                if (is_collector(wd, pid))
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

static bool seen_before(const struct watchdog *wd, const struct scanned *s) {
        if (wd->n_seen == 0)
                return false;
        const struct seen *old = bsearch(&s->pid, wd->seen, wd->n_seen, sizeof *wd->seen, cmp_pid);
        return old && old->starttime == s->starttime && strcmp(old->comm, s->comm) == 0;
}

static void remember_seen(struct seen *slot, const struct scanned *s) {
        *slot = (struct seen) { .pid = s->pid, .starttime = s->starttime };
        memcpy(slot->comm, s->comm, sizeof slot->comm);
}

static int list_processes(struct watchdog *wd, struct scanned **ret, size_t *ret_n) {
        DIR *d;
        int r = opendir_at(wd->proc.fd, ".", &d);
        if (r < 0)
                return r;
        size_t n = 0, cap = 256;
        struct scanned *all = malloc(cap * sizeof *all);
        struct dirent *de;
        pid_t self = getpid();
        while (all && (de = readdir(d))) {
                pid_t pid = (pid_t) strtol(de->d_name, NULL, 10);
                if (pid <= 0 || pid == self)
                        continue;
                struct proc_stat st;
                if (proc_read_stat(&wd->proc, pid, &st) < 0)
                        continue;
                if (n == cap) {
                        struct scanned *m = realloc(all, (cap *= 2) * sizeof *all);
                        if (!m)
                                break;
                        all = m;
                }
                all[n] = (struct scanned) { .pid = pid, .ppid = st.ppid, .starttime = st.starttime };
                memcpy(all[n].comm, st.comm, sizeof st.comm);
                all[n].known = target_find(&wd->targets, pid) != NULL;
                n++;
        }
        closedir(d);
        if (!all)
                return -ENOMEM;
        qsort(all, n, sizeof *all, cmp_pid);
        *ret = all;
        *ret_n = n;
        return 0;
}

static void scan(struct watchdog *wd) {
        struct scanned *all;
        size_t n;
        int r = list_processes(wd, &all, &n);
        if (r < 0) {
                log_error("cannot list processes: %s", strerror(-r));
                return;
        }
        const struct rule **rules = calloc(wd->o->rules->n + 1, sizeof *rules);
        struct seen *seen = calloc(n + 1, sizeof *seen);
        size_t n_seen = 0;
        for (size_t i = 0; rules && seen && i < n; i++) {
                const struct scanned *s = &all[i];
                if (s->known || is_collector(wd, s->pid))
                        continue;
                bool tree = wd->o->mode == MODE_RUN && in_tree(wd, all, n, s->pid);
                /* In the tree the answer can change as processes are born;
                 * elsewhere, a process no rule wanted is not asked again. */
                if (!tree && seen_before(wd, s)) {
                        remember_seen(&seen[n_seen++], s);
                        continue;
                }
                struct proc_facts f = { .pid = s->pid, .comm = s->comm, .in_tree = tree };
                size_t k = rules_for(wd, &f, rules);
                if (k > 0)
                        add_target(wd, &f, s->starttime, rules, k);
                else if (!tree)
                        remember_seen(&seen[n_seen++], s);
        }
        free(rules);
        free(all);
        free(wd->seen);
        wd->seen = seen;
        wd->n_seen = seen ? n_seen : 0;
}

/* ---- collections ------------------------------------------------------ */

static void start_collection(struct watchdog *wd, struct target *tg, struct rule_state *rs,
                             const struct decision *d, usec_t wall) {
        const struct rule *rule = rs->rule;
        if (tg->collector != 0) {
                log_warning("%s: %s[%d] has a collection running; this firing collects nothing",
                            rule->name, tg->comm, (int) tg->pid);
                return;
        }
        if (wd->n_collections >= wd->o->config->parallel) {
                log_warning("%s: %u collection(s) already running (parallel = %u); this firing collects nothing",
                            rule->name, wd->n_collections, wd->o->config->parallel);
                return;
        }
        struct proc_stat st;
        tg->stopped_at_firing = proc_handle_stat(&tg->proc, &st) == 0 && st.state == 'T';

        struct collection *c = calloc(1, sizeof *c);
        if (!c || artifact_prepare(wd->o->output, wall, rule->name, tg->comm, tg->pid, &c->artifact) < 0) {
                free(c);
                log_error("%s: out of memory", rule->name);
                return;
        }
        pid_t pid = fork();
        if (pid < 0) {
                log_error("%s: cannot fork a collector: %m", rule->name);
                artifact_done(&c->artifact);
                free(c);
                return;
        }
        if (pid == 0) {
                /* The collector: its own process group so a timeout kills
                 * every tool it started; dies with the watchdog, and then
                 * the kernel releases any thread it holds. */
                setpgid(0, 0);
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                /* Everything written, by us or by a tool such as gdb, is
                 * for root's eyes only: cores hold the process's secrets. */
                umask(0077);
                sigset_t set = handled_set();
                sigprocmask(SIG_UNBLOCK, &set, NULL);
                close(wd->epoll_fd);
                close(wd->timer_fd);
                close(wd->signal_fd);
                struct firing f = {
                        .rule = rule->name, .actions = rule->actions, .n_actions = rule->n_actions,
                        .metric = metric_info(rule->metric)->name, .decision = d,
                        .history = &rs->engine.ring, .pid = tg->pid, .starttime = tg->starttime,
                        .pidfd = tg->pidfd, .stopped_at_firing = tg->stopped_at_firing, .wall = wall,
                        .min_free_pct = wd->o->config->min_free_pct,
                };
                memcpy(f.comm, tg->comm, sizeof f.comm);
                _cleanup_free_ char *path = NULL;
                int r = collector_run(&wd->proc, &f, &c->artifact, &path);
                if (r == 0)
                        log_notice("%s: artifact written: %s", rule->name, path);
                _exit(r < 0 ? 1 : 0);
        }
        setpgid(pid, pid);      /* also here: no race with the kill on timeout */
        c->pid = pid;
        c->target = tg;
        c->deadline = now_usec(CLOCK_MONOTONIC) + wd->o->config->timeout;
        c->next = wd->collections;
        wd->collections = c;
        wd->n_collections++;
        tg->collector = pid;
}

static void finish_collection(struct watchdog *wd, struct collection *c, int status) {
        struct target *tg = c->target;
        bool gone = tg->pid < 0;
        pid_t pid = gone ? -tg->pid : tg->pid;
        if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
                char reason[128];
                if (c->timed_out) {
                        char d[32];
                        format_duration(wd->o->config->timeout, d, sizeof d);
                        snprintf(reason, sizeof reason, "collection timed out after %s and was killed", d);
                } else if (WIFSIGNALED(status))
                        snprintf(reason, sizeof reason, "collector died of signal %d (%s)",
                                 WTERMSIG(status), strsignal(WTERMSIG(status)));
                else
                        snprintf(reason, sizeof reason, "collector failed (exit status %d)",
                                 WEXITSTATUS(status));
                _cleanup_free_ char *path = NULL;
                if (artifact_abandon(&c->artifact, reason, &path) == 0)
                        log_warning("%s[%d]: %s; partial artifact: %s", tg->comm, (int) pid, reason, path);
                else
                        log_warning("%s[%d]: %s", tg->comm, (int) pid, reason);
                /* The collector may have died with the target held by a tool
                 * that stops with SIGSTOP (gdb); never leave it so. */
                if (!gone && collect_ensure_running(&wd->proc, tg->pidfd, pid, tg->stopped_at_firing))
                        log_warning("%s[%d]: was left stopped; resumed it", tg->comm, (int) pid);
        }
        for (struct collection **p = &wd->collections; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        wd->n_collections--;
        tg->collector = 0;
        if (gone)
                target_free(tg);
        artifact_done(&c->artifact);
        free(c);
}

static void enforce_deadlines(struct watchdog *wd, usec_t now) {
        for (struct collection *c = wd->collections; c; c = c->next)
                if (!c->timed_out && now >= c->deadline) {
                        c->timed_out = true;
                        kill(-c->pid, SIGKILL);
                }
}

/* ---- sampling --------------------------------------------------------- */

struct tick_ctx {
        struct watchdog *wd;
        usec_t mono, wall;
};

static void sample_target(struct target *tg, void *userdata) {
        struct tick_ctx *t = userdata;
        struct watchdog *wd = t->wd;
        /* Timer ticks jitter by a little: a rule whose time comes within
         * half a tick counts as due now rather than a whole tick late. */
        usec_t horizon = t->mono + wd->tick / 2;
        bool any_due = false, want_fds = false;
        for (size_t i = 0; i < tg->n_rules; i++)
                if (tg->rules[i].next_due <= horizon) {
                        any_due = true;
                        want_fds |= tg->rules[i].rule->metric == METRIC_FDS;
                }
        if (!any_due)
                return;
        struct raw_sample raw;
        int r = sampler_read(&tg->proc, want_fds, t->mono, &raw);
        if (r < 0) {
                drop_target(wd, tg, r == -ESRCH ? "exited" : strerror(-r));
                return;
        }
        memcpy(tg->comm, raw.stat.comm, sizeof tg->comm);      /* follows exec */
        for (size_t i = 0; i < tg->n_rules; i++) {
                struct rule_state *rs = &tg->rules[i];
                const struct rule *rule = rs->rule;
                if (rs->next_due > horizon)
                        continue;
                rs->next_due = rs->next_due + rule->interval > horizon ? rs->next_due + rule->interval
                                                                        : t->mono + rule->interval;
                double value;
                if (sampler_value(&wd->proc, &raw, rule->metric, &rs->cpu, &value) < 0)
                        continue;
                struct decision d;
                engine_step(&rule->cond, &rs->engine, t->mono, t->wall, value,
                            sampler_reference(rule->metric, tg->nofile_limit, wd->mem_limit), &d);
                if (d.verdict != VERDICT_FIRE)
                        continue;
                char v[32], thr[32], mean[32];
                metric_format(rule->metric, d.value, v, sizeof v);
                metric_format(rule->metric, d.threshold, thr, sizeof thr);
                metric_format(rule->metric, d.mean, mean, sizeof mean);
                log_notice("rule %s fired on %s[%d]: %s %s > %s (%s; mean %s)%s", rule->name, tg->comm,
                           (int) tg->pid, metric_info(rule->metric)->name, v, thr,
                           trigger_kind_to_string(d.trigger), mean,
                           wd->o->dry_run ? " [dry run: nothing collected]" : "");
                wd->firings++;
                if (!wd->o->dry_run)
                        start_collection(wd, tg, rs, &d, t->wall);
        }
}

static void on_tick(struct watchdog *wd) {
        uint64_t expirations;
        if (read(wd->timer_fd, &expirations, sizeof expirations) < 0)
                return;
        struct tick_ctx t = { wd, now_usec(CLOCK_MONOTONIC), now_usec(CLOCK_REALTIME) };
        if (wd->stopping || (wd->o->mode == MODE_RUN && wd->child_exited))
                return;
        if (wd->scan_needed && t.mono >= wd->next_scan) {
                scan(wd);
                wd->next_scan = t.mono + wd->o->config->interval;
        }
        target_foreach(&wd->targets, sample_target, &t);
}

/* ---- signals and children --------------------------------------------- */

static void reap(struct watchdog *wd) {
        for (;;) {
                int status;
                pid_t pid = waitpid(-1, &status, WNOHANG);
                if (pid <= 0)
                        return;
                if (wd->o->mode == MODE_RUN && pid == wd->child) {
                        wd->child_exited = true;
                        wd->child_status = status;
                        continue;
                }
                for (struct collection *c = wd->collections; c; c = c->next)
                        if (c->pid == pid) {
                                finish_collection(wd, c, status);
                                break;
                        }
                /* Anything else was an orphan reparented to us: reaping it
                 * is the whole of PID 1's duty to it. */
        }
}

static void on_signal(struct watchdog *wd) {
        struct signalfd_siginfo si;
        while (read(wd->signal_fd, &si, sizeof si) == sizeof si) {
                int sig = (int) si.ssi_signo;
                if (sig == SIGCHLD) {
                        reap(wd);
                        continue;
                }
                if (wd->o->mode == MODE_RUN) {
                        /* A terminal's ^C or ^\ reaches the whole foreground
                         * group, the command included: forwarding it too
                         * would deliver it twice. */
                        bool from_tty = si.ssi_code == SI_KERNEL && (sig == SIGINT || sig == SIGQUIT);
                        if (!wd->child_exited && !from_tty)
                                kill(wd->child, sig);
                        continue;
                }
                if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) {
                        if (!wd->stopping)
                                log_info("%s: finishing %u running collection(s), then exiting",
                                         strsignal(sig), wd->n_collections);
                        wd->stopping = true;
                } else
                        log_info("%s ignored", strsignal(sig));
        }
}

/* ---- setup ------------------------------------------------------------ */

/* Starts the command. A close-on-exec pipe tells whether exec worked: EOF
 * means it did; otherwise the child writes errno before exiting. */
static int start_command(struct watchdog *wd, int *ret_exit) {
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return negative_errno();
        pid_t pid = fork();
        if (pid < 0) {
                close(pipefd[0]);
                close(pipefd[1]);
                return negative_errno();
        }
        if (pid == 0) {
                close(pipefd[0]);
                sigset_t set = handled_set();
                sigprocmask(SIG_UNBLOCK, &set, NULL);
                execvp(wd->o->command[0], wd->o->command);
                int e = errno;
                (void) !write(pipefd[1], &e, sizeof e);
                _exit(e == ENOENT ? 127 : 126);
        }
        close(pipefd[1]);
        int e = 0;
        ssize_t n;
        do
                n = read(pipefd[0], &e, sizeof e);
        while (n < 0 && errno == EINTR);
        close(pipefd[0]);
        wd->child = pid;
        if (n == sizeof e) {
                waitpid(pid, NULL, 0);
                log_error("cannot execute %s: %s", wd->o->command[0], strerror(e));
                *ret_exit = e == ENOENT ? 127 : 126;
                return -e;
        }
        log_info("started %s[%d]", wd->o->command[0], (int) pid);
        return 0;
}

static void add_listed_pids(struct watchdog *wd) {
        const struct rule **rules = calloc(wd->o->rules->n + 1, sizeof *rules);
        for (size_t i = 0; rules && i < wd->o->n_pids; i++) {
                pid_t pid = wd->o->pids[i];
                struct proc_stat st;
                if (proc_read_stat(&wd->proc, pid, &st) < 0) {
                        log_error("PID %d: no such process", (int) pid);
                        continue;
                }
                struct proc_facts f = { .pid = pid, .comm = st.comm, .listed = true };
                size_t k = rules_for(wd, &f, rules);
                if (k == 0)
                        log_warning("no rule applies to %s[%d]", st.comm, (int) pid);
                else
                        add_target(wd, &f, st.starttime, rules, k);
        }
        free(rules);
}

static void warn_idle_rules(const struct watchdog_options *o) {
        for (size_t i = 0; i < o->rules->n; i++) {
                const struct rule *r = &o->rules->rules[i];
                if (o->mode == MODE_WATCH && r->target.any && o->n_pids == 0)
                        log_warning("%s:%d: rule %s has no target; in watch mode it applies only to -p PIDs",
                                    r->file, r->line, r->name);
                if (o->mode == MODE_WATCH && r->target.has_self && r->target.self)
                        log_warning("%s:%d: rule %s targets 'self', which only exists in run mode",
                                    r->file, r->line, r->name);
        }
}

/* Each target holds a few fds (pidfd, /proc dir, stat, fd dir): allow as
 * many as the hard limit permits. */
static void raise_fd_limit(void) {
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                setrlimit(RLIMIT_NOFILE, &rl);
        }
}

static int setup(struct watchdog *wd) {
        sigset_t set = handled_set();
        if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
                return negative_errno();
        wd->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        wd->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        wd->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (wd->signal_fd < 0 || wd->timer_fd < 0 || wd->epoll_fd < 0)
                return negative_errno();
        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_SIGNAL };
        if (epoll_ctl(wd->epoll_fd, EPOLL_CTL_ADD, wd->signal_fd, &ev) < 0)
                return negative_errno();
        ev.data.u64 = TAG_TIMER;
        if (epoll_ctl(wd->epoll_fd, EPOLL_CTL_ADD, wd->timer_fd, &ev) < 0)
                return negative_errno();
        struct itimerspec its = {
                .it_value = { 0, 1 },   /* the first tick at once */
                .it_interval = { (time_t) (wd->tick / USEC_PER_SEC), (long) (wd->tick % USEC_PER_SEC) * 1000 },
        };
        if (timerfd_settime(wd->timer_fd, 0, &its, NULL) < 0)
                return negative_errno();
        return 0;
}

static bool finished(struct watchdog *wd) {
        if (wd->n_collections > 0)
                return false;
        if (wd->o->mode == MODE_RUN)
                return wd->child_exited;
        if (wd->stopping)
                return true;
        /* Watching only -p PIDs: done when they have all gone. */
        return !wd->scan_needed && wd->targets.count == 0;
}

static int exit_code_of(int status) {
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int watchdog_run(const struct watchdog_options *o) {
        struct watchdog wd = { .o = o, .epoll_fd = -1, .timer_fd = -1, .signal_fd = -1,
                               .proc.fd = -1 };
        int r, exit_code = 1;
        raise_fd_limit();
        if ((r = proc_root_open(o->proc_root, &wd.proc)) < 0) {
                log_error("cannot open %s: %s", o->proc_root, strerror(-r));
                return 1;
        }
        wd.tick = rule_set_tick(o->rules);
        wd.mem_limit = host_memory_limit();
        for (size_t i = 0; i < o->rules->n; i++) {
                const struct target_match *m = &o->rules->rules[i].target;
                wd.scan_needed |= !m->any || o->mode == MODE_RUN;
        }
        if ((r = target_table_init(&wd.targets, 1024)) < 0 || (r = setup(&wd)) < 0) {
                log_error("cannot set up the event loop: %s", strerror(-r));
                goto out;
        }
        warn_idle_rules(o);

        if (o->mode == MODE_RUN) {
                /* Orphaned descendants are reparented to us, so the tree
                 * stays visible and every zombie gets reaped. */
                prctl(PR_SET_CHILD_SUBREAPER, 1);
                if ((r = start_command(&wd, &exit_code)) < 0)
                        goto out;
        } else {
                add_listed_pids(&wd);
                if (!wd.scan_needed && wd.targets.count == 0) {
                        log_error("nothing to watch: no -p process could be watched and no rule selects processes");
                        goto out;
                }
        }

        while (!finished(&wd)) {
                int timeout = -1;
                usec_t now = now_usec(CLOCK_MONOTONIC);
                enforce_deadlines(&wd, now);
                for (struct collection *c = wd.collections; c; c = c->next)
                        if (!c->timed_out) {
                                int ms = (int) ((c->deadline - now) / 1000 + 1);
                                timeout = timeout < 0 || ms < timeout ? ms : timeout;
                        }
                struct epoll_event events[64];
                int n = epoll_wait(wd.epoll_fd, events, ELEMENTSOF(events), timeout);
                if (n < 0 && errno != EINTR) {
                        log_error("epoll_wait: %m");
                        break;
                }
                for (int i = 0; i < n; i++) {
                        uint64_t tag = events[i].data.u64;
                        if (tag == TAG_SIGNAL)
                                on_signal(&wd);
                        else if (tag == TAG_TIMER)
                                on_tick(&wd);
                        else {
                                /* A pidfd: the target exited. An earlier event of
                                 * this batch may have dropped it already, and a
                                 * new process may hold the PID: check the pidfd. */
                                struct target *tg = target_find(&wd.targets, (pid_t) tag);
                                struct pollfd pfd = { .fd = tg ? tg->pidfd : -1, .events = POLLIN };
                                if (tg && poll(&pfd, 1, 0) == 1)
                                        drop_target(&wd, tg, "exited");
                        }
                }
        }
        if (o->mode == MODE_RUN)
                exit_code = exit_code_of(wd.child_status);
        else
                exit_code = 0;
        log_info("%u firing%s%s%s", wd.firings, wd.firings == 1 ? "" : "s",
                 wd.firings && !o->dry_run ? "; artifacts in " : "",
                 wd.firings && !o->dry_run ? o->output : "");
out:
        target_table_free(&wd.targets);
        free(wd.seen);
        proc_root_close(&wd.proc);
        if (wd.epoll_fd >= 0)
                close(wd.epoll_fd);
        if (wd.timer_fd >= 0)
                close(wd.timer_fd);
        if (wd.signal_fd >= 0)
                close(wd.signal_fd);
        return exit_code;
}
