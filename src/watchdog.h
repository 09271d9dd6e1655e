/* The event loop: one thread, one epoll set — a timerfd for sampling ticks,
 * a signalfd, a pidfd per target, and collector children. Only this module
 * knows every stage: sampler → rings/engine → collectors → store. */
#pragma once

#include "config.h"
#include "match.h"
#include "rules.h"
#include "runmode.h"

struct watchdog_options {
        enum watch_mode mode;
        const struct rule_set *rules;
        const struct config *config;
        const char *output;
        bool dry_run;
        const char *proc_root;          /* "/proc" unless testing */
        char *const *command;           /* run mode */
        struct runmode_options run;     /* run mode: -g, -e */
        /* Watch mode, on SIGHUP: loads the config and rules again, as they
         * were loaded at start. Prints every problem; -EINVAL if any. */
        int (*reload)(struct config *ret_config, struct rule_set *ret_rules, void *userdata);
        void *reload_userdata;
        const char *record;             /* the recording (--record, else [record] path); NULL: none */
        const pid_t *pids;              /* watch mode: -p */
        size_t n_pids;
};

/* Runs until done. Run mode: returns the command's exit code (128+N for a
 * signal, 127/126 when it could not be executed). Watch mode: 0 after
 * SIGTERM/SIGINT, or when every -p process has exited; non-zero if it
 * could not start. */
int watchdog_run(const struct watchdog_options *opts);
