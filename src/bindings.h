/* Bindings: the state of one (rule, target) — its ring and engine state,
 * the reading a rate needs, and when it is next due. The table is keyed by
 * (rule name, target identity), never by pointer: a reload builds a new
 * table for the new rules and carries each state across by key (as
 * systemd-oomd carries cgroup contexts across refreshes). A table lives no
 * longer than the rule set its bindings point into.
 *
 * A target lists its own bindings, for the sampling pass: a reload clears
 * those lists before it binds the new rules, and then frees the old table
 * (which never looks at targets when freed). */
#pragma once

#include <stddef.h>

#include "engine.h"
#include "loop.h"
#include "metric.h"
#include "rules.h"
#include "target.h"

struct binding {
        const struct rule *rule;        /* its name is half the key */
        struct target *target;          /* its identity the other half */
        struct engine_state engine;
        struct metric_prev prev;        /* rates span this rule's own interval */
        usec_t next_due;                /* monotonic; 0 = at the next tick */
        /* An event rule (a PSI trigger): the fd its source pushes from, in
         * the loop; closed and unregistered with the binding. */
        int event_fd;
        struct loop_source *event;
        void *event_owner;              /* the source's state, for its handler */
        struct binding *next;           /* hash chain */
};

struct binding_table {
        struct binding **buckets;
        size_t n_buckets;
        size_t count;
};

int binding_table_init(struct binding_table *t, size_t buckets);
/* Frees every binding still in the table. */
void binding_table_free(struct binding_table *t);

/* Binds `rule` to `tg`: a fresh ring and engine state, listed in the table
 * and on the target. -EEXIST if that pair is bound already. */
int bindings_add(struct binding_table *t, const struct rule *rule, struct target *tg, struct binding **ret);
struct binding *bindings_find(const struct binding_table *t, const char *rule, const struct target_id *id);
/* Frees every binding of `tg` (the target is about to go). */
void bindings_remove_target(struct binding_table *t, struct target *tg);

/* For a reload: each binding of `to` whose key is in `from` with a rule of
 * the same metric and window takes over that binding's ring, engine state
 * (warm-up, cooldown, firings so far) and rate reading; `from` gets the
 * fresh state in exchange. The rest of `to` starts fresh; freeing `from`
 * then frees the state of rules that are gone. Returns how many moved. */
size_t bindings_carry_over(struct binding_table *to, struct binding_table *from);
