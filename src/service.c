/* What systemd is told about the watchdog (notify.h): ready once the rules
 * are loaded and the first scan is done, reloading and stopping as they
 * happen, a status line kept current, and watchdog pings from the loop —
 * a loop that hangs stops pinging, and systemd restarts the service. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "notify.h"
#include "watchdog_private.h"

struct counts {
        size_t processes, cgroups;
};

static void count_target(struct target *tg, void *userdata) {
        struct counts *c = userdata;
        if (tg->id.kind == TARGET_CGROUP)
                c->cgroups++;
        else
                c->processes++;
}

void watchdog_update_status(struct watchdog *wd) {
        struct counts c = {};
        target_foreach(&wd->targets, count_target, &c);
        size_t rules = wd->rules->n + wd->rules->n_crash;
        unsigned firings = wd->engine.firings;
        char status[sizeof wd->status], last[200] = "";
        if (firings) {
                char when[40];
                format_utc(wd->engine.last_wall, false, when, sizeof when);
                /* "2026-11-22T02:14:05.123Z": the time of day is enough. */
                snprintf(last, sizeof last, ", last %.5s %s", when + 11, wd->engine.last);
        }
        snprintf(status, sizeof status, "watching %zu process%s and %zu cgroup%s with %zu rule%s; %u firing%s since "
                 "start%s", c.processes, c.processes == 1 ? "" : "es", c.cgroups, c.cgroups == 1 ? "" : "s", rules,
                 rules == 1 ? "" : "s", firings, firings == 1 ? "" : "s", last);
        if (strcmp(status, wd->status) == 0)
                return;
        snprintf(wd->status, sizeof wd->status, "%s", status);
        char line[sizeof status + 8];
        snprintf(line, sizeof line, "STATUS=%s", status);
        notify_send(line);
}

/* Every SUMMARY_INTERVAL, when targets came or went: what the watchdog
 * watches, in one line, where per-process lines would be thousands. */
#define SUMMARY_INTERVAL (10 * 60 * USEC_PER_SEC)

void watchdog_log_summary(struct watchdog *wd, usec_t mono) {
        if (!wd->summary.next)
                wd->summary.next = mono + SUMMARY_INTERVAL;
        if (mono < wd->summary.next)
                return;
        if (wd->summary.added || wd->summary.dropped)
                log_info("%s; in the last 10m, %u target%s came and %u went", wd->status, wd->summary.added,
                         wd->summary.added == 1 ? "" : "s", wd->summary.dropped);
        wd->summary.added = wd->summary.dropped = 0;
        wd->summary.next = mono + SUMMARY_INTERVAL;
}

void watchdog_notify_ready(struct watchdog *wd) {
        wd->ready = true;
        notify_send("READY=1");
}

void watchdog_notify_reloading(struct watchdog *wd) {
        char line[64];
        /* systemd matches the reload to the signal by this time. */
        snprintf(line, sizeof line, "RELOADING=1\nMONOTONIC_USEC=%llu",
                 (unsigned long long) now_usec(CLOCK_MONOTONIC));
        notify_send(line);
}

void watchdog_notify_stopping(struct watchdog *wd) {
        notify_send("STOPPING=1");
}

static void on_ping(struct loop_source *s, usec_t mono, void *userdata) {
        notify_send("WATCHDOG=1");
}

int watchdog_start_pings(struct watchdog *wd) {
        usec_t period = notify_watchdog_period();
        return period ? loop_add_timer(wd->loop, 0, period, on_ping, wd, &wd->pings) : 0;
}
