/* The watchdog and the kernel's process events (proc_events.h): in watch
 * mode a process that execs or takes a new name is asked about at once,
 * one that forks at the next tick (a forked worker sets its title just
 * after: nginx, PostgreSQL), and — when a rule matches on a title or a
 * user, which change without an exec — again 1, 2, 4 … 32 ticks later,
 * as scans ask a process no rule wanted. /proc is listed only every
 * `[watch] rescan` (every interval for the first 64 scans when titles
 * matter: the processes there before us are asked again so), and after
 * events were lost. Run mode lists its tree
 * every interval: it must know who descends from whom. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "watchdog_private.h"

#define PENDING_MAX 100000      /* a fork storm past this: a scan instead */
#define BACKOFF_MAX 32

static void add_pending(struct watchdog *wd, pid_t pid, unsigned wait) {
        if (wd->n_pending == wd->cap_pending) {
                size_t cap = wd->cap_pending ? wd->cap_pending * 2 : 64;
                struct pending_check *grown = cap <= PENDING_MAX ? realloc(wd->pending, cap * sizeof *grown) : NULL;
                if (!grown) {
                        wd->next_scan = 0;
                        return;
                }
                wd->pending = grown;
                wd->cap_pending = cap;
        }
        wd->pending[wd->n_pending++] = (struct pending_check) { .pid = pid, .due = wd->ticks + wait, .wait = wait };
}

static void on_event(enum proc_event_kind kind, pid_t pid, void *userdata) {
        struct watchdog *wd = userdata;
        if (wd->stopping)
                return;
        if (kind == PROC_EVENT_KIND_FORK) {
                add_pending(wd, pid, 1);
                return;
        }
        int r = discovery_check(&wd->discovery, pid);
        if (r == -ENOMEM)
                log_error("cannot look at process %d: out of memory", (int) pid);
        else if (r == 0 && discovery_details_can_change(&wd->discovery))
                add_pending(wd, pid, 1);
}

static void on_lost(void *userdata) {
        struct watchdog *wd = userdata;
        if (!wd->said_events_lost)
                log_info("process events were lost (a burst of forks): listing /proc again");
        wd->said_events_lost = true;
        wd->next_scan = 0;
}

void watchdog_start_events(struct watchdog *wd) {
        if (wd->o->mode != MODE_WATCH || !wd->scan_needed || !wd->config->rescan || wd->events)
                return;
        struct proc_events_hooks hooks = { .event = on_event, .lost = on_lost, .userdata = wd };
        int r = proc_events_open(wd->loop, &hooks, &wd->events);
        if (r < 0)
                log_info("the kernel's process events are not to be had (%s): listing /proc every interval",
                         r == -EOPNOTSUPP ? "in a PID namespace of its own" : strerror(-r));
}

void watchdog_check_pending(struct watchdog *wd) {
        bool again = discovery_details_can_change(&wd->discovery);
        size_t kept = 0;
        wd->ticks++;
        for (size_t i = 0; i < wd->n_pending; i++) {
                struct pending_check p = wd->pending[i];
                if (p.due > wd->ticks) {
                        wd->pending[kept++] = p;
                        continue;
                }
                int r = discovery_check(&wd->discovery, p.pid);
                if (r == 0 && again && p.wait < BACKOFF_MAX) {
                        p.wait *= 2;
                        p.due = wd->ticks + p.wait;
                        wd->pending[kept++] = p;
                }
        }
        wd->n_pending = kept;
}

usec_t watchdog_scan_period(const struct watchdog *wd) {
        const struct config *c = wd->config;
        /* The processes there before us, asked again as new ones are,
         * 1, 2, 4 … 32 scans after the first, when titles matter. */
        bool early = discovery_details_can_change(&wd->discovery) && wd->scans < 2 * BACKOFF_MAX;
        return wd->events && !early && c->rescan > c->interval ? c->rescan : c->interval;
}

void watchdog_stop_events(struct watchdog *wd) {
        proc_events_free(wd->events);
        wd->events = NULL;
        free(wd->pending);
        wd->pending = NULL;
        wd->n_pending = wd->cap_pending = 0;
}
