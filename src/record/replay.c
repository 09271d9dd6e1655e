#include "replay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"

/* One (rule, recorded target): the engine state a live binding has. */
struct replay_binding {
        const struct rule *rule;
        struct engine_state engine;
        usec_t next_due;
        bool every_sample;              /* the series was taken at the rule's interval */
        struct replay_binding *next;    /* of the same series */
};

struct replay {
        const struct recording *rec;
        struct replay_binding **by_series;
        replay_fn fn;
        void *userdata;
};

/* Whether `m` would have selected the recorded target. Processes are
 * matched as live (they were watched, so they count as run's tree and as
 * watch's -p); a cgroup by its path or unit. */
static bool rule_selects(const struct rule *rule, const struct rec_target *t) {
        const struct target_match *m = &rule->target;
        if (!t->is_cgroup) {
                struct proc_facts f = { .pid = t->pid, .comm = t->comm ? t->comm : "", .in_tree = true,
                                        .listed = true, .cmdline = t->cmdline, .has_uid = t->has_uid, .uid = t->uid };
                return metric_info(rule->metric)->scope == METRIC_OF_PROCESS && target_matches(m, MODE_RUN, &f);
        }
        if (metric_info(rule->metric)->scope != METRIC_OF_CGROUP || !t->cgroup)
                return false;
        if (m->cgroup) {
                size_t n = strlen(m->cgroup);
                return strcmp(t->cgroup, m->cgroup) == 0 ||
                       (m->recursive && strncmp(t->cgroup, m->cgroup, n) == 0 && t->cgroup[n] == '/');
        }
        if (m->unit) {
                const char *slash = strrchr(t->cgroup, '/');
                return slash && strcmp(slash + 1, m->unit) == 0;
        }
        /* A rule that selects processes watches their cgroups. */
        return true;
}

/* The series a binding reads: the one taken at the rule's interval, else
 * the finest one (subsampled to the rule's interval). */
static size_t pick_series(const struct recording *rec, size_t target, const struct rule *rule) {
        size_t best = (size_t) -1;
        for (size_t i = 0; i < rec->n_series; i++) {
                const struct rec_series *s = &rec->series[i];
                if (s->target != target || !s->known_metric || s->metric != rule->metric)
                        continue;
                if (s->interval == rule->interval)
                        return i;
                if (best == (size_t) -1 || s->interval < rec->series[best].interval)
                        best = i;
        }
        return best;
}

static void list_metrics(const struct recording *rec, char *buf, size_t size) {
        metric_set seen = 0;
        size_t n = 0;
        buf[0] = 0;
        for (size_t i = 0; i < rec->n_series; i++) {
                const struct rec_series *s = &rec->series[i];
                if (!s->known_metric || (seen & METRIC_BIT(s->metric)))
                        continue;
                seen |= METRIC_BIT(s->metric);
                n += (size_t) snprintf(buf + n, n < size ? size - n : 0, "%s%s", n ? ", " : "",
                                       metric_info(s->metric)->name);
        }
        if (!seen)
                snprintf(buf, size, "none");
}

static int check_rules(const struct recording *rec, const struct rule_set *rules, char *err, size_t err_size) {
        for (size_t k = 0; k < rules->n; k++) {
                const struct rule *rule = &rules->rules[k];
                if (rule->cond.has_stall) {
                        snprintf(err, err_size, "%s:%d:%d: rule %s: a PSI stall trigger is the kernel's event, which "
                                 "a recording does not hold", rule->file, rule->line, rule->column, rule->name);
                        return -ENOTSUP;
                }
                bool recorded = false;
                for (size_t i = 0; i < rec->n_series && !recorded; i++)
                        recorded = rec->series[i].known_metric && rec->series[i].metric == rule->metric;
                if (!recorded) {
                        char metrics[512];
                        list_metrics(rec, metrics, sizeof metrics);
                        snprintf(err, err_size, "%s:%d:%d: rule %s reads %s, which was not recorded (recorded: %s)",
                                 rule->file, rule->line, rule->column, rule->name, metric_info(rule->metric)->name,
                                 metrics);
                        return -ENOENT;
                }
        }
        return 0;
}

static int bind(struct replay *rp, const struct rule_set *rules) {
        const struct recording *rec = rp->rec;
        for (size_t t = 0; t < rec->n_targets; t++)
                for (size_t k = 0; k < rules->n; k++) {
                        const struct rule *rule = &rules->rules[k];
                        size_t s = rule_selects(rule, &rec->targets[t]) ? pick_series(rec, t, rule) : (size_t) -1;
                        if (s == (size_t) -1)
                                continue;
                        struct replay_binding *b = calloc(1, sizeof *b);
                        if (!b || engine_state_init(&b->engine, rule->window, rule->window + 1) < 0 ||
                            (rule->cond.has_growth && engine_state_init_trend(&b->engine, rule->cond.over) < 0)) {
                                if (b)
                                        engine_state_free(&b->engine);
                                free(b);
                                return -ENOMEM;
                        }
                        b->rule = rule;
                        b->every_sample = rec->series[s].interval == rule->interval;
                        b->next = rp->by_series[s];
                        rp->by_series[s] = b;
                }
        return 0;
}

/* As sampling.c decides when a binding is due, with the series' interval
 * as the tick. */
static bool due(struct replay_binding *b, usec_t tick, usec_t mono) {
        if (b->every_sample)
                return true;
        usec_t horizon = mono + tick / 2;
        if (b->next_due > horizon)
                return false;
        usec_t interval = b->rule->interval;
        b->next_due = b->next_due + interval > horizon ? b->next_due + interval : mono + interval;
        return true;
}

static void on_sample(size_t series, const struct rec_sample *s, void *userdata) {
        struct replay *rp = userdata;
        for (struct replay_binding *b = rp->by_series[series]; b; b = b->next) {
                if (!due(b, rp->rec->series[series].interval, s->mono))
                        continue;
                struct replay_firing f = { .rule = b->rule, .series = series, .t = s->t };
                engine_step(&b->rule->cond, &b->engine, s->mono, s->t, s->value, s->reference, &f.decision);
                if (f.decision.verdict == VERDICT_FIRE)
                        rp->fn(&f, rp->userdata);
        }
}

int replay_run(const struct recording *rec, const struct rule_set *rules, usec_t from, usec_t to, replay_fn fn,
               void *userdata, char *err, size_t err_size) {
        int r = check_rules(rec, rules, err, err_size);
        if (r < 0)
                return r;
        struct replay rp = { .rec = rec, .fn = fn, .userdata = userdata,
                             .by_series = calloc(rec->n_series + 1, sizeof *rp.by_series) };
        if (!rp.by_series)
                r = -ENOMEM;
        if (r == 0)
                r = bind(&rp, rules);
        if (r == 0 && (r = recording_each_sample(rec, from, to, on_sample, &rp)) < 0)
                snprintf(err, err_size, "%s", sqlite3_errmsg(rec->db));
        else if (r == -ENOMEM)
                snprintf(err, err_size, "out of memory");
        for (size_t i = 0; rp.by_series && i < rec->n_series; i++)
                for (struct replay_binding *b = rp.by_series[i], *next; b; b = next) {
                        next = b->next;
                        engine_state_free(&b->engine);
                        free(b);
                }
        free(rp.by_series);
        return r;
}
