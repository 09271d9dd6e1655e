/* What the watchdog's files share: the watchdog itself (watchdog.c: the
 * loop, sampling, signals, start and end), its targets (watch_targets.c:
 * found, bound to rules, dropped) and reloading (reload.c). */
#pragma once

#include "watchdog.h"

#include "bindings.h"
#include "cgroup_discovery.h"
#include "collections.h"
#include "discovery.h"
#include "proc_events.h"
#include "engine_consumer.h"
#include "loop.h"
#include "runmode.h"
#include "sampling.h"
#include "target.h"

/* A config and rules a reload loaded. */
struct loaded {
        struct config config;
        struct rule_set rules;
        struct loaded *next;
};

struct watchdog {
        const struct watchdog_options *o;
        /* The rules and config in force: the options' until a reload. */
        const struct rule_set *rules;
        const struct config *config;
        struct loaded *loaded;          /* what reloads loaded, newest first */
        struct proc_root proc;
        struct action on_complete;      /* the config's; argv NULL: none */
        struct loop *loop;
        struct target_table targets;
        struct binding_table bindings;
        struct sources *sources;
        struct consumers consumers;
        struct engine_consumer engine;
        struct collections *collections;
        struct recorder *recorder;      /* NULL: not recording */
        struct discovery discovery;
        struct cgroup_mounts cgroups;   /* none mounted: all NULL */
        struct cgroup_discovery cgroup_discovery;
        struct runmode run;
        struct crash_config crash;
        struct loop_source *tick_timer, *signals[6];   /* freed with the loop */
        usec_t tick;
        usec_t next_scan;       /* of /proc */
        usec_t next_interval;   /* of the rest: cgroups, status, summary */
        bool scan_needed;       /* some rule selects processes by itself */
        struct proc_events *events;     /* NULL: /proc is listed every interval */
        struct pending_check {
                pid_t pid;
                unsigned long due;      /* the tick it is asked about at */
                unsigned wait;          /* ticks until then, doubling */
        } *pending;                     /* new processes, asked about again */
        size_t n_pending, cap_pending;
        unsigned long ticks, scans;
        bool said_events_lost;
        bool said_idle;         /* "no process matches yet" was logged */
        bool stopping;
        bool reloading;         /* known targets are found again, to bind the new rules */
        bool ready;             /* READY=1 was sent */
        char status[256];       /* the STATUS= last sent */
        struct {
                unsigned added, dropped;        /* targets, since the last summary */
                usec_t next;                    /* monotonic: when the next one is due */
        } summary;
        struct loop_source *pings;      /* WATCHDOG=1, when the unit asks */
};

/* watch_targets.c */
void watchdog_drop_target(struct watchdog *wd, struct target *tg, const char *why);
/* Discovery's hooks (userdata: the watchdog). */
bool watchdog_is_known(pid_t pid, void *userdata);
bool watchdog_is_target(pid_t pid, void *userdata);
bool watchdog_is_collector(pid_t pid, void *userdata);
void watchdog_on_found(const struct proc_facts *f, uint64_t starttime, const struct rule **rules, size_t n,
                       void *userdata);
void watchdog_on_cgroup_found(struct cgroup_paths *paths, uint64_t id, const struct rule **rules, size_t n,
                              void *userdata);
void watchdog_add_listed_pids(struct watchdog *wd);

/* watchdog.c, for a reload too */
int watchdog_on_complete_of(const struct config *c, struct action *ret);
void watchdog_collections_options(struct watchdog *wd, struct collections_options *ret);
/* Discovery (and the tick it scans at) for the rules in force. */
void watchdog_start_discovery(struct watchdog *wd);
/* watch_events.c: new processes as the kernel tells of them. */
void watchdog_start_events(struct watchdog *wd);
void watchdog_check_pending(struct watchdog *wd);
/* How often /proc is listed. */
usec_t watchdog_scan_period(const struct watchdog *wd);
void watchdog_stop_events(struct watchdog *wd);
int watchdog_start_ticks(struct watchdog *wd);

/* reload.c: SIGHUP in watch mode. */
void watchdog_reload(struct watchdog *wd);
void watchdog_loaded_free(struct loaded *l);

/* service.c: what systemd is told (notify.h). */
void watchdog_update_status(struct watchdog *wd);
/* Logs the status line every 10 minutes when targets came or went. */
void watchdog_log_summary(struct watchdog *wd, usec_t mono);
void watchdog_notify_ready(struct watchdog *wd);
void watchdog_notify_reloading(struct watchdog *wd);
void watchdog_notify_stopping(struct watchdog *wd);
int watchdog_start_pings(struct watchdog *wd);
