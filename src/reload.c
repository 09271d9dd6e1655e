/* Reloading on SIGHUP (watch mode; the unit's ExecReload): the config and
 * every rules file read again. On any error nothing changes: the old
 * config and rules stay in force and every error is logged with its
 * position. Otherwise every target is found again against the new rules
 * and bound afresh, and each (rule, target) whose rule kept its name,
 * metric and window takes its ring, warm-up, cooldown and firing count
 * across (bindings_carry_over): a reload neither restarts a warm-up nor
 * resets `max`. New rules start fresh and pick up their targets at once;
 * a removed rule's state is freed, and a target no rule watches any more
 * is dropped. */
#include <string.h>

#include "log.h"
#include "record/recorder.h"
#include "watchdog_private.h"

static void forget_bindings(struct target *tg, void *userdata) {
        target_forget_bindings(tg);
}

static void drop_unbound(struct target *tg, void *userdata) {
        if (tg->n_bindings == 0)
                watchdog_drop_target(userdata, tg, "no rule watches it any more");
}

/* A firing waiting for a slot keeps the rule it fired under (its loaded
 * set is kept while any waits); the sets no firing can point into any
 * more are freed. */
static void free_unused_loaded(struct watchdog *wd) {
        if (collections_waiting(wd->collections) > 0 || !wd->loaded)
                return;
        struct loaded *l = wd->loaded->next;
        wd->loaded->next = NULL;
        while (l) {
                struct loaded *next = l->next;
                watchdog_loaded_free(l);
                l = next;
        }
}

void watchdog_loaded_free(struct loaded *l) {
        rule_set_free(&l->rules);
        config_free(&l->config);
        free(l);
}

void watchdog_reload(struct watchdog *wd) {
        struct loaded *l = calloc(1, sizeof *l);
        if (!l) {
                log_error("reload: out of memory; the config and rules in force are kept");
                return;
        }
        int r = wd->o->reload(&l->config, &l->rules, wd->o->reload_userdata);
        if (r == 0 && l->rules.n == 0) {
                log_error("reload: no rules to watch with");
                r = -EINVAL;
        }
        struct action on_complete;
        if (r == 0)
                r = watchdog_on_complete_of(&l->config, &on_complete);
        struct binding_table fresh;
        if (r == 0 && (r = binding_table_init(&fresh, 1024)) < 0)
                action_clear(&on_complete);
        if (r < 0) {
                log_error("reload failed: the config and rules in force are kept");
                watchdog_loaded_free(l);
                return;
        }
        watchdog_notify_reloading(wd);
        /* The old bindings keep pointing at the targets, which stay: the
         * new ones are made beside them, then take their state across. */
        struct binding_table old = wd->bindings;
        wd->bindings = fresh;
        target_foreach(&wd->targets, forget_bindings, NULL);
        discovery_done(&wd->discovery);
        cgroup_discovery_done(&wd->cgroup_discovery);
        l->next = wd->loaded;
        wd->loaded = l;
        wd->rules = &l->rules;
        wd->config = &l->config;
        /* Samples from now on name the new rules (the old rows stay). */
        if (wd->recorder && (r = recorder_add_rules(wd->recorder, wd->rules)) < 0)
                log_warning("reload: the recording does not list the new rules: %s", strerror(-r));
        action_clear(&wd->on_complete);
        wd->on_complete = on_complete;
        struct collections_options co;
        watchdog_collections_options(wd, &co);
        collections_reconfigure(wd->collections, &co);
        watchdog_start_discovery(wd);
        watchdog_start_events(wd);
        wd->scans = 0;          /* the new rules' own early rechecks */
        if ((r = watchdog_start_ticks(wd)) < 0)
                log_error("reload: cannot set the sampling tick: %s", strerror(-r));

        /* Every target found again, and what the new rules select anew. */
        wd->reloading = true;
        if ((r = discovery_scan(&wd->discovery)) < 0)
                log_error("cannot list processes: %s", strerror(-r));
        if (cgroup_mounts_any(&wd->cgroups) && (r = cgroup_discovery_scan(&wd->cgroup_discovery)) < 0)
                log_error("cannot look for cgroups: %s", strerror(-r));
        watchdog_add_listed_pids(wd);
        wd->reloading = false;
        wd->next_scan = now_usec(CLOCK_MONOTONIC) + wd->config->interval;

        size_t kept = bindings_carry_over(&wd->bindings, &old);
        collections_rebind(wd->collections, &wd->bindings);
        binding_table_free(&old);
        target_foreach(&wd->targets, drop_unbound, wd);
        free_unused_loaded(wd);
        log_notice("reloaded: %zu rule%s; %zu of %zu bindings kept their state", wd->rules->n,
                   wd->rules->n == 1 ? "" : "s", kept, wd->bindings.count);
        watchdog_notify_ready(wd);
}
