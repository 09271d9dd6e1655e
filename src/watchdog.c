/* Wiring: builds the loop, sources, bindings, consumers, collections,
 * discovery and (in run mode) the command, and connects them. Each of
 * those is its own module; what is here is only who calls whom. */
#include "watchdog_private.h"

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
#include "output_dir.h"
#include "loop.h"
#include "pick.h"
#include "record/recorder.h"
#include "runmode.h"
#include "sampling.h"
#include "target.h"
#include "units.h"


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
                watchdog_drop_target(t->wd, tg, r != -ESRCH ? strerror(-r) : tg->id.kind == TARGET_CGROUP ? "removed" : "exited");
}

/* A cgroup removed (or removed and made again: the kept-open directory is
 * still the old one) is gone; a new identity takes its place at the scan.
 * A polled one also notices when its reads fail; one with only PSI
 * triggers would not. */
static void drop_if_removed(struct target *tg, void *userdata) {
        if (tg->id.kind == TARGET_CGROUP && !cgroup_handle_exists(&tg->cgroup.handle))
                watchdog_drop_target(userdata, tg, "removed");
}

static void on_tick(struct loop_source *s, usec_t mono, void *userdata) {
        struct watchdog *wd = userdata;
        if (wd->stopping || wd->run.exited)
                return;
        if (wd->scan_needed && mono >= wd->next_interval) {
                int r = 0;
                /* /proc itself less often when the kernel tells of new
                 * processes (watch_events.c); the rest every interval. */
                if (mono >= wd->next_scan) {
                        if ((r = discovery_scan(&wd->discovery)) < 0)
                                log_error("cannot list processes: %s", strerror(-r));
                        wd->scans++;
                        wd->next_scan = mono + watchdog_scan_period(wd);
                }
                /* Said once: a watchdog that watches nothing looks broken. */
                if (wd->o->mode == MODE_WATCH && wd->targets.count == 0 && !wd->said_idle) {
                        char iv[32];
                        format_duration(wd->config->interval, iv, sizeof iv);
                        log_info("no process matches the rules yet; looking again %s%s",
                                 wd->events ? "as processes start" : "every ", wd->events ? "" : iv);
                        wd->said_idle = true;
                }
                target_foreach(&wd->targets, drop_if_removed, wd);
                if (cgroup_mounts_any(&wd->cgroups) && (r = cgroup_discovery_scan(&wd->cgroup_discovery)) < 0)
                        log_error("cannot look for cgroups: %s", strerror(-r));
                wd->next_interval = mono + wd->config->interval;
                watchdog_update_status(wd);
                watchdog_log_summary(wd, mono);
                if (!wd->ready && wd->o->mode == MODE_WATCH)
                        watchdog_notify_ready(wd);
        }
        watchdog_check_pending(wd);
        struct tick t = { wd, mono, now_usec(CLOCK_REALTIME) };
        target_foreach(&wd->targets, sample_target, &t);
        if (wd->recorder)
                recorder_commit(wd->recorder);
}

/* ---- setup ------------------------------------------------------------ */

static void on_stop_signal(struct loop_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct watchdog *wd = userdata;
        if (!wd->stopping)
                log_info("%s: finishing %u running collection(s), then exiting", strsignal((int) si->ssi_signo),
                         collections_running(wd->collections));
        wd->stopping = true;
        watchdog_notify_stopping(wd);
        collections_stop(wd->collections);
}

static void on_reload_signal(struct loop_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct watchdog *wd = userdata;
        if (!wd->stopping)
                watchdog_reload(wd);
}

static void on_ignored_signal(struct loop_source *s, const struct signalfd_siginfo *si, void *userdata) {
        log_info("%s ignored", strsignal((int) si->ssi_signo));
}

/* Watch mode: SIGTERM, SIGINT and SIGQUIT stop; SIGHUP reloads; the
 * others are logged rather than left to kill us. */
static int add_watch_signals(struct watchdog *wd) {
        static const int stop[] = { SIGTERM, SIGINT, SIGQUIT }, ignored[] = { SIGUSR1, SIGUSR2 };
        int r = loop_add_signal(wd->loop, SIGHUP, on_reload_signal, wd, &wd->signals[0]);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(stop); i++)
                r = loop_add_signal(wd->loop, stop[i], on_stop_signal, wd, &wd->signals[1 + i]);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(ignored); i++)
                r = loop_add_signal(wd->loop, ignored[i], on_ignored_signal, wd, &wd->signals[4 + i]);
        return r;
}


static void warn_idle_rules(const struct watchdog *wd) {
        const struct watchdog_options *o = wd->o;
        for (size_t i = 0; i < wd->rules->n_crash; i++) {
                const struct rule *r = &wd->rules->crash[i];
                if (o->mode == MODE_WATCH)
                        log_warning("%s:%d: rule %s: crashes are seen only by `autodump run`, which traces the "
                                    "command's tree", r->file, r->line, r->name);
                else if (o->dry_run)
                        log_info("%s:%d: rule %s: a dry run does not trace crashes", r->file, r->line, r->name);
        }
        for (size_t i = 0; i < wd->rules->n; i++) {
                const struct rule *r = &wd->rules->rules[i];
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

/* An output directory others could plant links in is refused at start,
 * with why: `watch` does not start; `run` starts the command all the same
 * (a watchdog must not keep the service down), and its captures fail. */
static bool output_usable(const struct watchdog_options *o) {
        char why[256] = "";
        int fd;
        int r = output_dir_open(o->output, !o->dry_run, &fd, why, sizeof why);
        if (r == -EPERM) {
                log_error("refusing output directory %s: %s", o->output, why);
                return false;
        }
        const struct hook_user *u = &o->config->hook_user;
        if (r == 0) {
                int shared = u->name ? output_dir_share(fd, u->gid) : 0;
                if (shared < 0)
                        log_warning("output directory %s: cannot let hook_user %s through: %s", o->output, u->name,
                                    strerror(-shared));
                close(fd);
        } else if (r != -ENOENT)
                log_warning("output directory %s: %s", o->output, strerror(-r));
        return true;
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

int watchdog_on_complete_of(const struct config *c, struct action *ret) {
        *ret = (struct action) {};
        return c->on_complete ? action_from_command_line(c->on_complete, c->on_complete_timeout, ret) : 0;
}

void watchdog_collections_options(struct watchdog *wd, struct collections_options *ret) {
        const struct config *c = wd->config;
        *ret = (struct collections_options) {
                .proc = &wd->proc, .output = wd->o->output, .timeout = c->timeout, .parallel = c->parallel,
                .queue = c->queue, .min_free_pct = c->min_free_pct, .is_watched = watchdog_is_known,
                .crash_channel = crash_channel, .userdata = wd,
                .on_complete = wd->on_complete.argv ? &wd->on_complete : NULL, .retention = config_retention(c),
                .hook_user = c->hook_user.name ? &c->hook_user : NULL,
                .finished = wd->recorder ? recorder_finished : NULL, .finished_userdata = wd->recorder,
        };
}

void watchdog_start_discovery(struct watchdog *wd) {
        wd->cgroup_discovery = (struct cgroup_discovery) {
                .mounts = &wd->cgroups, .rules = wd->rules, .found = watchdog_on_cgroup_found, .userdata = wd,
        };
        wd->discovery = (struct discovery) {
                .proc = &wd->proc, .mode = wd->o->mode, .rules = wd->rules, .self = getpid(),
                .command = wd->run.command,
                .hooks = { .is_known = watchdog_is_known, .is_target = watchdog_is_target,
                           .is_collector = watchdog_is_collector,
                           .found = watchdog_on_found, .userdata = wd },
        };
        wd->tick = rule_set_tick(wd->rules);
        wd->scan_needed = false;
        for (size_t i = 0; i < wd->rules->n; i++)
                wd->scan_needed |= !wd->rules->rules[i].target.any || wd->o->mode == MODE_RUN;
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
        if ((r = watchdog_on_complete_of(wd->config, &wd->on_complete)) < 0)
                return r;
        struct collections_options co;
        watchdog_collections_options(wd, &co);
        if ((r = collections_new(wd->loop, &co, &wd->collections)) < 0)
                return r;
        wd->engine = (struct engine_consumer) { .collections = wd->collections, .dry_run = o->dry_run };
        if (wd->recorder) {
                wd->engine.fired = recorder_fired;
                wd->engine.fired_userdata = wd->recorder;
        }
        /* Who leads a cgroup's CPU must be known before the engine fires;
         * a sample is recorded before the firing it causes. */
        if ((r = consumers_add(&wd->consumers, pick_note_cpu, &wd->proc)) < 0 ||
            (wd->recorder && (r = consumers_add(&wd->consumers, recorder_consume, wd->recorder)) < 0) ||
            (r = consumers_add(&wd->consumers, engine_consume, &wd->engine)) < 0)
                return r;
        watchdog_start_discovery(wd);
        watchdog_start_events(wd);
        if (o->mode == MODE_WATCH && ((r = add_watch_signals(wd)) < 0 || (r = watchdog_start_pings(wd)) < 0))
                return r;
        return watchdog_start_ticks(wd);
}

int watchdog_start_ticks(struct watchdog *wd) {
        loop_source_free(wd->tick_timer);
        wd->tick_timer = NULL;
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

static void log_firings(const struct watchdog *wd) {
        /* Firings dropped were never collected and are counted apart. */
        unsigned dropped = collections_dropped(wd->collections),
                 firings = wd->engine.firings - dropped + crash_tracer_firings(wd->run.crash) +
                           dotnet_dumps_firings(wd->run.dotnet);
        char apart[48] = "";
        if (dropped)
                snprintf(apart, sizeof apart, " (%u more dropped)", dropped);
        bool artifacts = firings && !wd->o->dry_run;
        log_info("%u firing%s%s%s%s", firings, firings == 1 ? "" : "s", apart,
                 artifacts ? "; artifacts in " : "", artifacts ? wd->o->output : "");
}

/* The recording, when asked for: watch does not start without it; run
 * starts the command all the same (a watchdog must not keep the service
 * down) and says why nothing is recorded. */
static bool open_recording(struct watchdog *wd) {
        const struct watchdog_options *o = wd->o;
        struct recorder_options ro = {
                .path = o->record, .max_size = (uint64_t) o->config->record_max_size, .proc = &wd->proc,
                .mode = o->mode == MODE_RUN ? "run" : "watch", .command = o->mode == MODE_RUN ? o->command : NULL,
                .output = o->dry_run ? NULL : o->output,
        };
        char err[256];
        int r = recorder_open(&ro, &wd->recorder, err, sizeof err);
        if (r == 0)
                r = recorder_add_rules(wd->recorder, o->rules);
        if (r == 0) {
                log_info("recording to %s", o->record);
                return true;
        }
        log_error("cannot record to %s: %s", o->record, wd->recorder ? "cannot write the rules" : err);
        recorder_close(wd->recorder);
        wd->recorder = NULL;
        return o->mode == MODE_RUN;
}

int watchdog_run(const struct watchdog_options *o) {
        struct retention_limits retention = config_retention(o->config);
        struct watchdog wd = { .o = o, .rules = o->rules, .config = o->config, .proc.fd = -1 };
        int r, exit_code = 1;
        runmode_save_inherited(&wd.run.inherited);
        raise_fd_limit();
        if ((r = proc_root_open(o->proc_root, &wd.proc)) < 0) {
                log_error("cannot open %s: %s", o->proc_root, strerror(-r));
                return 1;
        }
        if (o->record && !open_recording(&wd))
                return 1;
        if ((r = setup(&wd)) < 0) {
                log_error("cannot set up the event loop: %s", strerror(-r));
                goto out;
        }
        warn_idle_rules(&wd);
        if (!output_usable(o) && o->mode == MODE_WATCH)
                goto out;
        /* What an earlier run left beyond the limits, and partial
         * artifacts an interrupted one left, go before anything new. */
        retention_apply(o->output, &retention);

        if (o->mode == MODE_RUN) {
                struct runmode_options ro = o->run;
                wd.crash = (struct crash_config) {
                        .proc = &wd.proc, .rules = o->rules->crash, .n_rules = o->rules->n_crash, .output = o->output,
                        .timeout = o->config->timeout, .min_free_pct = o->config->min_free_pct,
                        .on_complete = wd.on_complete.argv ? &wd.on_complete : NULL,
                        .retention = config_retention(o->config),
                        .hook_user = o->config->hook_user.name ? &o->config->hook_user : NULL,
                };
                if (o->rules->n_crash && !o->dry_run)
                        ro.crash = &wd.crash;
                if (runmode_start(&wd.run, wd.loop, &ro, o->command, &exit_code) < 0)
                        goto out;
                wd.discovery.command = wd.run.command;
        } else {
                watchdog_add_listed_pids(&wd);
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
        log_firings(&wd);
out:
        runmode_done(&wd.run);
        watchdog_stop_events(&wd);
        discovery_done(&wd.discovery);
        cgroup_discovery_done(&wd.cgroup_discovery);
        binding_table_free(&wd.bindings);
        target_table_free(&wd.targets);
        collections_free(wd.collections);
        sources_close(wd.sources);
        recorder_close(wd.recorder);
        loop_free(wd.loop);
        proc_root_close(&wd.proc);
        cgroup_mounts_free(&wd.cgroups);
        action_clear(&wd.on_complete);
        while (wd.loaded) {
                struct loaded *next = wd.loaded->next;
                watchdog_loaded_free(wd.loaded);
                wd.loaded = next;
        }
        return exit_code;
}
