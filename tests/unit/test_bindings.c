/* The bindings table: keyed by (rule name, target identity), found by key
 * whatever the pointers, growing as targets come, and carrying engine state
 * across a rebuild for a reload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "bindings.h"

static void load(struct rule_set *set, const char *text) {
        struct diags diags = {};
        assert_int_equal(rules_load_text(set, "t.yaml", text, strlen(text), &diags), 0);
        diags_free(&diags);
}

static struct target process(pid_t pid, uint64_t starttime) {
        return (struct target) { .id = { .kind = TARGET_PROCESS, .pid = pid, .starttime = starttime } };
}

static const char two_rules[] =
        "rules:\n"
        "  - {name: mem, metric: rss, window: 3, when: {above: 100}, actions: [stacks]}\n"
        "  - {name: cpu, metric: cpu, when: {above: 50}, actions: [stacks]}\n";

static void insert_and_find_by_key(void **state) {
        struct rule_set set = {};
        load(&set, two_rules);
        struct binding_table t;
        assert_int_equal(binding_table_init(&t, 8), 0);
        struct target a = process(10, 1000), b = process(11, 1100);
        struct binding *x;
        assert_int_equal(bindings_add(&t, &set.rules[0], &a, &x), 0);
        assert_int_equal(bindings_add(&t, &set.rules[1], &a, &x), 0);
        assert_int_equal(bindings_add(&t, &set.rules[0], &b, &x), 0);
        assert_int_equal(bindings_add(&t, &set.rules[0], &b, &x), -EEXIST);
        assert_int_equal(t.count, 3);
        assert_int_equal(a.n_bindings, 2);
        assert_int_equal(b.n_bindings, 1);

        /* By key: another struct with the same identity finds it. */
        struct target_id key = { .kind = TARGET_PROCESS, .pid = 10, .starttime = 1000 };
        struct binding *found = bindings_find(&t, "cpu", &key);
        assert_non_null(found);
        assert_ptr_equal(found->target, &a);
        assert_string_equal(found->rule->name, "cpu");
        /* A recycled PID is another identity. */
        key.starttime = 2000;
        assert_null(bindings_find(&t, "cpu", &key));
        key = b.id;
        assert_null(bindings_find(&t, "cpu", &key));
        assert_non_null(bindings_find(&t, "mem", &key));

        bindings_remove_target(&t, &a);
        assert_int_equal(t.count, 1);
        assert_int_equal(a.n_bindings, 0);
        assert_null(bindings_find(&t, "mem", &a.id));
        assert_non_null(bindings_find(&t, "mem", &b.id));
        binding_table_free(&t);
        free(b.bindings);
        rule_set_free(&set);
}

static void grows_with_targets(void **state) {
        struct rule_set set = {};
        load(&set, two_rules);
        struct binding_table t;
        assert_int_equal(binding_table_init(&t, 2), 0);
        enum { N = 3000 };
        struct target *targets = calloc(N, sizeof *targets);
        for (int i = 0; i < N; i++) {
                targets[i] = process(1000 + i, 7);
                struct binding *b;
                assert_int_equal(bindings_add(&t, &set.rules[i % 2], &targets[i], &b), 0);
        }
        assert_true(t.n_buckets >= N / 2);
        for (int i = 0; i < N; i++) {
                struct binding *b = bindings_find(&t, set.rules[i % 2].name, &targets[i].id);
                assert_non_null(b);
                assert_ptr_equal(b->target, &targets[i]);
        }
        binding_table_free(&t);
        for (int i = 0; i < N; i++)
                free(targets[i].bindings);
        free(targets);
        rule_set_free(&set);
}

/* Feeds `n` samples of `value` to a binding, one a second. */
static void feed(struct binding *b, int n, double value) {
        for (int i = 0; i < n; i++) {
                struct decision d;
                usec_t now = (usec_t) (b->engine.ring.count + 1) * USEC_PER_SEC;
                engine_step(&b->rule->cond, &b->engine, now, now, value, 0, &d);
        }
}

static void carries_state_across_a_rebuild(void **state) {
        struct rule_set old_rules = {}, new_rules = {};
        load(&old_rules,
             "rules:\n"
             "  - {name: mem, metric: rss, window: 3, max: 5, cooldown: 0s, when: {above: 100}, actions: [stacks]}\n"
             "  - {name: cpu, metric: cpu, window: 3, when: {above: 50}, actions: [stacks]}\n"
             "  - {name: gone, metric: threads, when: {above: 50}, actions: [stacks]}\n");
        /* mem unchanged but for its actions; cpu with another window; a new
         * rule; `gone` removed. */
        load(&new_rules,
             "rules:\n"
             "  - {name: mem, metric: rss, window: 3, max: 5, cooldown: 0s, when: {above: 100}, actions: [core]}\n"
             "  - {name: cpu, metric: cpu, window: 8, when: {above: 50}, actions: [stacks]}\n"
             "  - {name: fresh, metric: fds, when: {above: 50}, actions: [stacks]}\n");
        struct binding_table from, to;
        assert_int_equal(binding_table_init(&from, 4), 0);
        assert_int_equal(binding_table_init(&to, 4), 0);
        struct target old_tg = process(42, 4200), new_tg = process(42, 4200);
        struct binding *mem, *cpu, *gone;
        assert_int_equal(bindings_add(&from, &old_rules.rules[0], &old_tg, &mem), 0);
        assert_int_equal(bindings_add(&from, &old_rules.rules[1], &old_tg, &cpu), 0);
        assert_int_equal(bindings_add(&from, &old_rules.rules[2], &old_tg, &gone), 0);
        feed(mem, 4, 500);              /* fires: above 100 */
        feed(cpu, 4, 10);
        feed(gone, 2, 1);
        mem->next_due = 77;
        assert_int_equal(mem->engine.fired, 4);

        for (size_t i = 0; i < 3; i++) {
                struct binding *b;
                assert_int_equal(bindings_add(&to, &new_rules.rules[i], &new_tg, &b), 0);
        }
        assert_int_equal(bindings_carry_over(&to, &from), 1);

        struct binding *m = bindings_find(&to, "mem", &new_tg.id);
        assert_ptr_equal(m->rule, &new_rules.rules[0]);
        assert_int_equal(m->engine.ring.count, 4);
        assert_int_equal(m->engine.fired, 4);
        assert_int_equal(m->next_due, 77);
        /* Firings go on counting towards max from where they were. */
        feed(m, 1, 500);
        assert_int_equal(m->engine.fired, 5);
        struct decision d;
        engine_step(&m->rule->cond, &m->engine, 100 * USEC_PER_SEC, 0, 500, 0, &d);
        assert_int_equal(d.verdict, VERDICT_MAXED);

        struct binding *c = bindings_find(&to, "cpu", &new_tg.id);
        assert_int_equal(c->engine.ring.count, 0);
        assert_int_equal(c->engine.ring.window, 8);
        assert_int_equal(bindings_find(&to, "fresh", &new_tg.id)->engine.ring.count, 0);

        /* Freeing the old table frees the removed rule's state and the
         * fresh state swapped in (ASan checks both). */
        binding_table_free(&from);
        binding_table_free(&to);
        free(old_tg.bindings);
        free(new_tg.bindings);
        rule_set_free(&old_rules);
        rule_set_free(&new_rules);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(insert_and_find_by_key),
                cmocka_unit_test(grows_with_targets),
                cmocka_unit_test(carries_state_across_a_rebuild),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
