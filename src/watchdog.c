/* Wiring: builds the loop, sources, bindings, consumers, collections,
 * discovery and (in run mode) the command, and connects them. Each of
 * those is its own module; what is here is only who calls whom. */
#include "watchdog.h"

#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include "bindings.h"
#include "cgroup_discovery.h"
#include "collections.h"
#include "discovery.h"
#include "engine_consumer.h"
#include "log.h"
#include "loop.h"
#include "pick.h"
#include "runmode.h"
#include "sampling.h"
#include "target.h"
#include "units.h"

struct watchdog {
        const struct watchdog_options *o;
        struct proc_root proc;
        struct action on_complete;      /* the config's; argv NULL: none */
        struct loop *loop;
        struct target_table targets;
        struct binding_table bindings;
        struct sources *sources;
        struct consumers consumers;
        struct engine_consumer engine;
        struct collections *collections;
        struct discovery discovery;
        struct cgroup_mounts cgroups;   /* none mounted: all NULL */
        struct cgroup_discovery cgroup_discovery;
        struct runmode run;
        struct crash_config crash;
        struct loop_source *tick_timer, *signals[6];   /* freed with the loop */
        usec_t tick;
        usec_t next_scan;
        bool scan_needed;       /* some rule selects processes by itself */
        bool said_idle;         /* "no process matches yet" was logged */
        bool stopping;
};

/* ---- targets ---------------------------------------------------------- */

static void drop_target(struct watchdog *wd, struct target *tg, const char *why) {
        char what[128];
        log_info("stopped watching %s: %s", target_describe(tg, what, sizeof what), why);
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
        drop_target(wd, tg, "exited");
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
        char limit[32] = "none";
        if (tg->cgroup.memory_limit)
                metric_format(METRIC_CGROUP_MEMORY, tg->cgroup.memory_limit, limit, sizeof limit);
        log_info("watching cgroup %s (memory limit %s)", cgroup_paths_name(&tg->cgroup.handle.paths), limit);
        return tg;
}

static void on_cgroup_found(struct cgroup_paths *paths, uint64_t id, const struct rule **rules, size_t n,
                            void *userdata) {
        struct watchdog *wd = userdata;
        struct target *tg = cgroup_target(wd, paths, id);
        int r = tg ? bind_rules(wd, tg, rules, n) : 0;
        if (r < 0)
                drop_target(wd, tg, strerror(-r));
}

/* A process's rules whose metric is of a cgroup watch the cgroup it is in. */
static void bind_process_cgroup(struct watchdog *wd, const struct proc_facts *f, const struct rule **rules, size_t n) {
        struct cgroup_paths paths;
        uint64_t id;
        if (!cgroup_mounts_any(&wd->cgroups) || cgroup_of_process(&wd->proc, f->pid, &paths) < 0)
                return;
        if (cgroup_paths_id(&wd->cgroups, &paths, &id) == 0)
                on_cgroup_found(&paths, id, rules, n, wd);
        cgroup_paths_free(&paths);
}

static void on_found(const struct proc_facts *f, uint64_t starttime, const struct rule **rules, size_t n,
                     void *userdata) {
        struct watchdog *wd = userdata;
        struct target *tg;
        int r = target_open_process(&wd->proc, f->pid, starttime, &tg);
        if (r < 0) {
                if (r != -ESRCH)
                        log_warning("cannot watch %s[%d]: %s", f->comm, (int) f->pid, strerror(-r));
                return;
        }
        tg->proc.in_tree = f->in_tree;
        tg->watcher = wd;
        /* Rules of the process first, in place; those of its cgroup after. */
        const struct rule *cgroup_rules[n ? n : 1];
        size_t n_process = 0, n_cgroup = 0;
        for (size_t i = 0; i < n; i++) {
                if (rule_watches_cgroups(rules[i]))
                        cgroup_rules[n_cgroup++] = rules[i];
                else
                        rules[n_process++] = rules[i];
        }
        r = bind_rules(wd, tg, rules, n_process);
        if (r >= 0)
                r = loop_add_io(wd->loop, tg->proc.pidfd, EPOLLIN, on_target_exit, tg, &tg->exit_watch);
        if (r < 0) {
                log_warning("cannot watch %s[%d]: %s", f->comm, (int) f->pid, strerror(-r));
                bindings_remove_target(&wd->bindings, tg);
                target_free(tg);
                return;
        }
        target_insert(&wd->targets, tg);
        /* Enough of the command line to tell apart processes of one name
         * (postgres, nginx workers). */
        _cleanup_free_ char *cmdline = NULL;
        (void) proc_read_cmdline(&wd->proc, f->pid, &cmdline);
        log_info("watching %s[%d] with %zu rule%s: %.80s%s", tg->name, (int) tg->id.pid, n, n == 1 ? "" : "s",
                 cmdline ? cmdline : "", cmdline && strlen(cmdline) > 80 ? "…" : "");
        if (n_cgroup)
                bind_process_cgroup(wd, f, cgroup_rules, n_cgroup);
}

static bool is_known(pid_t pid, void *userdata) {
        struct watchdog *wd = userdata;
        return target_find_pid(&wd->targets, pid) != NULL;
}

static bool is_collector(pid_t pid, void *userdata) {
        struct watchdog *wd = userdata;
        return collections_is_collector(wd->collections, pid) || pid == crash_tracer_pid(wd->run.crash);
}

static int crash_channel(void *userdata) {
        struct watchdog *wd = userdata;
        return crash_tracer_channel(wd->run.crash);
}

/* ---- sampling --------------------------------------------------------- */

struct tick {
        struct watchdog *wd;
        usec_t mono, wall;
};

static void sample_target(struct target *tg, void *userdata) {
        const struct tick *t = userdata;
        int r = sampling_sample_target(t->wd->sources, &t->wd->consumers, tg, t->wd->tick, t->mono, t->wall);
        if (r < 0)
                drop_target(t->wd, tg, r != -ESRCH ? strerror(-r) : tg->id.kind == TARGET_CGROUP ? "removed" : "exited");
}

/* A cgroup removed (or removed and made again: the kept-open directory is
 * still the old one) is gone; a new identity takes its place at the scan.
 * A polled one also notices when its reads fail; one with only PSI
 * triggers would not. */
static void drop_if_removed(struct target *tg, void *userdata) {
        if (tg->id.kind == TARGET_CGROUP && !cgroup_handle_exists(&tg->cgroup.handle))
                drop_target(userdata, tg, "removed");
}

static void on_tick(struct loop_source *s, usec_t mono, void *userdata) {
        struct watchdog *wd = userdata;
        if (wd->stopping || wd->run.exited)
                return;
        if (wd->scan_needed && mono >= wd->next_scan) {
                int r = discovery_scan(&wd->discovery);
                if (r < 0)
                        log_error("cannot list processes: %s", strerror(-r));
                /* Said once: a watchdog that watches nothing looks broken. */
                if (wd->o->mode == MODE_WATCH && wd->targets.count == 0 && !wd->said_idle) {
                        char iv[32];
                        format_duration(wd->o->config->interval, iv, sizeof iv);
                        log_info("no process matches the rules yet; looking again every %s", iv);
                        wd->said_idle = true;
                }
                target_foreach(&wd->targets, drop_if_removed, wd);
                if (cgroup_mounts_any(&wd->cgroups) && (r = cgroup_discovery_scan(&wd->cgroup_discovery)) < 0)
                        log_error("cannot look for cgroups: %s", strerror(-r));
                wd->next_scan = mono + wd->o->config->interval;
        }
        struct tick t = { wd, mono, now_usec(CLOCK_REALTIME) };
        target_foreach(&wd->targets, sample_target, &t);
}

/* ---- setup ------------------------------------------------------------ */

static void on_stop_signal(struct loop_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct watchdog *wd = userdata;
        if (!wd->stopping)
                log_info("%s: finishing %u running collection(s), then exiting", strsignal((int) si->ssi_signo),
                         collections_running(wd->collections));
        wd->stopping = true;
        collections_stop(wd->collections);
}

static void on_ignored_signal(struct loop_source *s, const struct signalfd_siginfo *si, void *userdata) {
        log_info("%s ignored", strsignal((int) si->ssi_signo));
}

/* Watch mode: SIGTERM, SIGINT and SIGQUIT stop; the others are logged
 * rather than left to kill us. */
static int add_watch_signals(struct watchdog *wd) {
        static const int stop[] = { SIGTERM, SIGINT, SIGQUIT }, ignored[] = { SIGHUP, SIGUSR1, SIGUSR2 };
        int r = 0;
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(stop); i++)
                r = loop_add_signal(wd->loop, stop[i], on_stop_signal, wd, &wd->signals[i]);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(ignored); i++)
                r = loop_add_signal(wd->loop, ignored[i], on_ignored_signal, wd, &wd->signals[3 + i]);
        return r;
}

static void add_listed_pids(struct watchdog *wd) {
        for (size_t i = 0; i < wd->o->n_pids; i++) {
                pid_t pid = wd->o->pids[i];
                int r = discovery_add_listed(&wd->discovery, pid);
                if (r == -ESRCH)
                        log_error("PID %d: no such process", (int) pid);
                else if (r == -ENOENT)
                        log_warning("no rule applies to PID %d", (int) pid);
                else if (r < 0)
                        log_error("PID %d: %s", (int) pid, strerror(-r));
        }
}

static void warn_idle_rules(const struct watchdog *wd) {
        const struct watchdog_options *o = wd->o;
        for (size_t i = 0; i < o->rules->n_crash; i++) {
                const struct rule *r = &o->rules->crash[i];
                if (o->mode == MODE_WATCH)
                        log_warning("%s:%d: rule %s: crashes are seen only by `autodump run`, which traces the "
                                    "command's tree", r->file, r->line, r->name);
                else if (o->dry_run)
                        log_info("%s:%d: rule %s: a dry run does not trace crashes", r->file, r->line, r->name);
        }
        for (size_t i = 0; i < o->rules->n; i++) {
                const struct rule *r = &o->rules->rules[i];
                if (rule_watches_cgroups(r) && !cgroup_mounts_any(&wd->cgroups))
                        log_error("%s:%d: rule %s watches cgroups, and no cgroup hierarchy is mounted", r->file,
                                  r->line, r->name);
                if (metric_info(r->metric)->source == METRIC_SOURCE_PSI && access("/proc/pressure/cpu", F_OK) < 0)
                        log_error("%s:%d: rule %s: this kernel has no PSI (no /proc/pressure; boot with psi=1)",
                                  r->file, r->line, r->name);
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
        const struct watchdog_options *o = wd->o;
        int r;
        if ((r = target_table_init(&wd->targets, 1024)) < 0 || (r = binding_table_init(&wd->bindings, 1024)) < 0 ||
            (r = loop_new(&wd->loop)) < 0)
                return r;
        /* No cgroup hierarchy mounted is no error: cgroup rules then wait. */
        (void) cgroup_mounts_discover(&wd->cgroups);
        struct source_env env = { .proc = &wd->proc, .cgroups = &wd->cgroups, .loop = wd->loop,
                                  .consumers = &wd->consumers };
        if ((r = sources_open(&env, &wd->sources)) < 0)
                return r;
        /* The config's value was checked when it loaded. */
        if (o->config->on_complete &&
            (r = action_from_command_line(o->config->on_complete, o->config->on_complete_timeout, &wd->on_complete)) < 0)
                return r;
        struct collections_options co = {
                .proc = &wd->proc, .output = o->output, .timeout = o->config->timeout,
                .parallel = o->config->parallel, .queue = o->config->queue, .min_free_pct = o->config->min_free_pct,
                .is_watched = is_known, .crash_channel = crash_channel, .userdata = wd, .on_complete = wd->on_complete.argv ? &wd->on_complete : NULL,
        };
        if ((r = collections_new(wd->loop, &co, &wd->collections)) < 0)
                return r;
        wd->engine = (struct engine_consumer) { .collections = wd->collections, .dry_run = o->dry_run };
        /* Who leads a cgroup's CPU must be known before the engine fires. */
        if ((r = consumers_add(&wd->consumers, pick_note_cpu, &wd->proc)) < 0 ||
            (r = consumers_add(&wd->consumers, engine_consume, &wd->engine)) < 0)
                return r;
        wd->cgroup_discovery = (struct cgroup_discovery) {
                .mounts = &wd->cgroups, .rules = o->rules, .found = on_cgroup_found, .userdata = wd,
        };
        wd->discovery = (struct discovery) {
                .proc = &wd->proc, .mode = o->mode, .rules = o->rules, .self = getpid(),
                .hooks = { .is_known = is_known, .is_collector = is_collector, .found = on_found, .userdata = wd },
        };
        if (o->mode == MODE_WATCH && (r = add_watch_signals(wd)) < 0)
                return r;
        /* The first tick at once. */
        return loop_add_timer(wd->loop, 0, wd->tick, on_tick, wd, &wd->tick_timer);
}

static bool finished(struct watchdog *wd) {
        if (collections_running(wd->collections) > 0)
                return false;
        if (wd->o->mode == MODE_RUN)
                return wd->run.exited;
        if (wd->stopping)
                return true;
        /* Watching only -p PIDs: done when they have all gone. */
        return !wd->scan_needed && wd->targets.count == 0;
}

int watchdog_run(const struct watchdog_options *o) {
        struct watchdog wd = { .o = o, .proc.fd = -1 };
        int r, exit_code = 1;
        runmode_save_inherited(&wd.run.inherited);
        raise_fd_limit();
        if ((r = proc_root_open(o->proc_root, &wd.proc)) < 0) {
                log_error("cannot open %s: %s", o->proc_root, strerror(-r));
                return 1;
        }
        wd.tick = rule_set_tick(o->rules);
        for (size_t i = 0; i < o->rules->n; i++)
                wd.scan_needed |= !o->rules->rules[i].target.any || o->mode == MODE_RUN;
        if ((r = setup(&wd)) < 0) {
                log_error("cannot set up the event loop: %s", strerror(-r));
                goto out;
        }
        warn_idle_rules(&wd);

        if (o->mode == MODE_RUN) {
                struct runmode_options ro = o->run;
                wd.crash = (struct crash_config) {
                        .proc = &wd.proc, .rules = o->rules->crash, .n_rules = o->rules->n_crash, .output = o->output,
                        .timeout = o->config->timeout, .min_free_pct = o->config->min_free_pct,
                        .on_complete = wd.on_complete.argv ? &wd.on_complete : NULL,
                };
                if (o->rules->n_crash && !o->dry_run)
                        ro.crash = &wd.crash;
                if (runmode_start(&wd.run, wd.loop, &ro, o->command, &exit_code) < 0)
                        goto out;
                wd.discovery.command = wd.run.command;
        } else {
                add_listed_pids(&wd);
                if (!wd.scan_needed && wd.targets.count == 0) {
                        log_error("nothing to watch: no -p process could be watched and no rule selects processes");
                        goto out;
                }
        }

        while (!finished(&wd))
                if ((r = loop_run_once(wd.loop)) < 0) {
                        log_error("epoll_wait: %s", strerror(-r));
                        break;
                }
        exit_code = o->mode == MODE_RUN ? runmode_exit_code(&wd.run) : 0;
        /* Firings dropped were never collected and are counted apart. */
        unsigned dropped = collections_dropped(wd.collections),
                 firings = wd.engine.firings - dropped + crash_tracer_firings(wd.run.crash);
        char apart[48] = "";
        if (dropped)
                snprintf(apart, sizeof apart, " (%u more dropped)", dropped);
        log_info("%u firing%s%s%s%s", firings, firings == 1 ? "" : "s", apart,
                 firings && !o->dry_run ? "; artifacts in " : "", firings && !o->dry_run ? o->output : "");
out:
        runmode_done(&wd.run);
        discovery_done(&wd.discovery);
        cgroup_discovery_done(&wd.cgroup_discovery);
        binding_table_free(&wd.bindings);
        target_table_free(&wd.targets);
        collections_free(wd.collections);
        sources_close(wd.sources);
        loop_free(wd.loop);
        proc_root_close(&wd.proc);
        cgroup_mounts_free(&wd.cgroups);
        action_clear(&wd.on_complete);
        return exit_code;
}
