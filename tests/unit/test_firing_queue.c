/* The queue of firings waiting for a slot: oldest first, one per target, a
 * bound, only targets with no collection running, and a dropped firing
 * taken back from the engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "bindings.h"
#include "firing_queue.h"

struct world {
        struct rule_set rules;
        struct binding_table table;
        struct target tg[3];
        struct binding *b[3];
};

static int setup(void **state) {
        struct world *w = calloc(1, sizeof *w);
        const char text[] = "rules:\n  - {name: r, metric: threads, when: {above: 1}, actions: [stacks], max: 2,"
                            " cooldown: 10s}\n";
        struct diags diags = {};
        assert_int_equal(rules_load_text(&w->rules, "t.yaml", text, strlen(text), &diags), 0);
        assert_int_equal(binding_table_init(&w->table, 8), 0);
        for (int i = 0; i < 3; i++) {
                w->tg[i] = (struct target) { .id = { .kind = TARGET_PROCESS, .pid = 100 + i, .starttime = 1 } };
                snprintf(w->tg[i].name, sizeof w->tg[i].name, "t%d", i);
                assert_int_equal(bindings_add(&w->table, &w->rules.rules[0], &w->tg[i], &w->b[i]), 0);
        }
        *state = w;
        return 0;
}

static int teardown(void **state) {
        struct world *w = *state;
        binding_table_free(&w->table);
        for (int i = 0; i < 3; i++)
                free(w->tg[i].bindings);
        rule_set_free(&w->rules);
        free(w);
        return 0;
}

/* A firing of target i, as the engine consumer would hand it on. */
static struct firing_job *fire(struct world *w, int i, usec_t *last_fire_before) {
        struct binding *b = w->b[i];
        struct decision d;
        usec_t now = (b->engine.ring.count + 1) * 100 * USEC_PER_SEC;
        *last_fire_before = b->engine.last_fire;
        engine_step(&b->rule->cond, &b->engine, now, now, 5, 0, &d);
        assert_int_equal(d.verdict, VERDICT_FIRE);
        struct sample_event ev = { .target = &w->tg[i], .binding = b, .metric = b->rule->metric, .value = 5,
                                   .wall = now };
        struct firing_job *j;
        assert_int_equal(firing_job_new(&ev, &d, *last_fire_before, &j), 0);
        return j;
}

static void oldest_first_one_per_target(void **state) {
        struct world *w = *state;
        struct firing_queue q = { .max = 8 };
        usec_t before;
        struct firing_job *a = fire(w, 0, &before), *b = fire(w, 1, &before), *a2 = fire(w, 0, &before);
        assert_int_equal(firing_queue_push(&q, a), 0);
        assert_int_equal(firing_queue_push(&q, b), 0);
        assert_int_equal(firing_queue_push(&q, a2), -EEXIST);
        firing_queue_drop(&q, a2, "test", true);
        assert_int_equal(q.dropped, 1);
        /* The copy of the history is the firing's own. */
        assert_int_equal(a->history.count, 1);
        /* A target whose collection runs waits; the next one goes first. */
        w->tg[0].collection = (struct collection *) 1;
        assert_ptr_equal(firing_queue_take_ready(&q), b);
        assert_null(firing_queue_take_ready(&q));
        w->tg[0].collection = NULL;
        assert_ptr_equal(firing_queue_take_ready(&q), a);
        assert_int_equal(q.n, 0);
        firing_job_free(a);
        firing_job_free(b);
        firing_queue_free(&q);
}

static void bound_and_forgotten_targets(void **state) {
        struct world *w = *state;
        struct firing_queue q = { .max = 2 };
        usec_t before;
        assert_int_equal(firing_queue_push(&q, fire(w, 0, &before)), 0);
        assert_int_equal(firing_queue_push(&q, fire(w, 1, &before)), 0);
        struct firing_job *c = fire(w, 2, &before);
        assert_int_equal(firing_queue_push(&q, c), -ENOSPC);
        firing_queue_drop(&q, c, "full", true);
        firing_queue_forget_target(&q, &w->tg[0]);
        assert_int_equal(q.n, 1);
        assert_int_equal(q.dropped, 2);
        assert_ptr_equal(q.head->target, &w->tg[1]);
        assert_ptr_equal(q.tail, q.head);
        firing_queue_free(&q);
}

static void dropped_firing_is_taken_back(void **state) {
        struct world *w = *state;
        struct firing_queue q = { .max = 0 };
        struct binding *b = w->b[0];
        usec_t before;
        struct firing_job *j = fire(w, 0, &before);
        assert_int_equal(b->engine.fired, 1);
        assert_int_equal(firing_queue_push(&q, j), -ENOSPC);
        firing_queue_drop(&q, j, "full", true);
        assert_int_equal(b->engine.fired, 0);
        assert_int_equal(b->engine.last_fire, before);
        /* No cooldown runs: a sample 1 s later (the cooldown is 10 s) fires
         * again, where it would be VERDICT_COOLDOWN had the firing counted. */
        struct decision d;
        usec_t now = 101 * USEC_PER_SEC;
        engine_step(&b->rule->cond, &b->engine, now, now, 5, 0, &d);
        assert_int_equal(d.verdict, VERDICT_FIRE);
        firing_queue_free(&q);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(oldest_first_one_per_target, setup, teardown),
                cmocka_unit_test_setup_teardown(bound_and_forgotten_targets, setup, teardown),
                cmocka_unit_test_setup_teardown(dropped_firing_is_taken_back, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
