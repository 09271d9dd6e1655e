/* Rule validation: every problem reported with its position, all in one
 * pass, and valid rules loaded with the right numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "rules.h"

struct loaded {
        struct rule_set set;
        struct diags diags;
        int r;
};

static void load(struct loaded *l, const char *file, const char *text) {
        l->r = rules_load_text(&l->set, file, text, strlen(text), &l->diags);
}

static void unload(struct loaded *l) {
        rule_set_free(&l->set);
        diags_free(&l->diags);
}

/* Asserts that some diagnostic sits at line:col and contains `needle`. */
static void expect_diag(const struct loaded *l, int line, int col, const char *needle) {
        for (size_t i = 0; i < l->diags.n; i++)
                if (l->diags.items[i].line == line && l->diags.items[i].col == col &&
                    strstr(l->diags.items[i].msg, needle))
                        return;
        diags_print(&l->diags, stderr);
        fail_msg("no diagnostic at %d:%d containing '%s'", line, col, needle);
}

static void valid_rule(void **state) {
        struct loaded l = {};
        load(&l, "ok.yaml",
             "defaults:\n"
             "  interval: 500ms\n"
             "  window: 20\n"
             "rules:\n"
             "  - name: rss-leak\n"
             "    target: {comm: myapp, cmdline: 'java .*-jar billing', user: root}\n"
             "    metric: rss\n"
             "    when: {above: 1.5GiB, spike: 25%, min: 200MiB, for: 30s}\n"
             "    actions:\n"
             "      - core\n"
             "      - stacks\n"
             "      - exec: {argv: [/usr/bin/true, '{rule}', '{pid}'], timeout: 30s}\n"
             "      - signal: SIGQUIT\n"
             "    cooldown: 10m\n"
             "    max: 0\n");
        assert_int_equal(l.r, 0);
        assert_int_equal(l.diags.n, 0);
        assert_int_equal(l.set.n, 1);
        const struct rule *r = &l.set.rules[0];
        assert_string_equal(r->name, "rss-leak");
        assert_int_equal(r->metric, METRIC_RSS);
        assert_int_equal(r->interval, 500 * USEC_PER_MSEC);
        assert_int_equal(r->window, 20);
        assert_true(r->cond.above == 1.5 * 1073741824.0);
        assert_false(r->cond.above_is_pct);
        assert_true(r->cond.spike_pct == 25);
        assert_true(r->cond.min == 200 * 1048576.0);
        assert_int_equal(r->cond.for_duration, 30 * USEC_PER_SEC);
        assert_int_equal(r->cond.cooldown, 600 * USEC_PER_SEC);
        assert_int_equal(r->cond.max, 0);
        assert_false(r->target.any);
        assert_string_equal(r->target.comm, "myapp");
        assert_true(r->target.has_user);
        assert_int_equal(r->target.uid, 0);
        assert_int_equal(r->n_actions, 4);
        assert_int_equal(r->actions[2].kind, ACTION_EXEC);
        assert_string_equal(r->actions[2].argv[1], "{rule}");
        assert_null(r->actions[2].argv[3]);
        assert_int_equal(r->actions[3].signo, 3);
        unload(&l);
}

static void defaults_apply(void **state) {
        struct loaded l = {};
        load(&l, "d.yaml",
             "rules:\n"
             "  - name: t\n"
             "    metric: threads\n"
             "    when: {spike: 50%, for: 3}\n"
             "    actions: [stacks]\n");
        assert_int_equal(l.r, 0);
        const struct rule *r = &l.set.rules[0];
        assert_int_equal(r->interval, USEC_PER_SEC);
        assert_int_equal(r->window, 10);
        assert_int_equal(r->cond.cooldown, 300 * USEC_PER_SEC);
        assert_int_equal(r->cond.max, 3);
        assert_int_equal(r->cond.for_samples, 3);
        assert_true(r->target.any);
        unload(&l);
}

static void all_errors_in_one_pass(void **state) {
        struct loaded l = {};
        load(&l, "bad.yaml",
             "defaults:\n"
             "  intervall: 1s\n"                                       /* 2 */
             "rules:\n"
             "  - name: a\n"
             "    metric: rss\n"
             "    when: {above: 1.5GB}\n"
             "    actions: [core]\n"
             "  - name: b\n"
             "    metric: rs\n"                                        /* 9 */
             "    when: {above: 10, spkie: 10%}\n"                    /* 10 */
             "    actions: [stack]\n"                                  /* 11 */
             "  - name: c\n"
             "    metric: vsize\n"
             "    when: {above: 50%}\n"                                /* 14 */
             "    actions: [core]\n"
             "    cooldown: 10 minutes\n"                              /* 16 */
             "  - name: a\n"                                           /* 17 */
             "    metric: cpu\n"
             "    when: {above: 90, above: 80}\n"                      /* 19 */
             "    actions: [stacks]\n"
             "  - name: e\n"
             "    go: {pprof: localhost}\n"                           /* 22 */
             "    metric: {dotnet: System.Runtime}\n"                  /* 23 */
             "    when: {above: 1GiB}\n"
             "    actions: [go.heap, {go.profile: {seconds: 7200}}]\n" /* 25 */
             "  - name: f\n"
             "    metric: rss\n"
             "    when: {above: lots}\n"                               /* 28 */
             "    actions: [{exec: {argv: [notify]}}]\n"               /* 29 */
             "  - name: Bad Name\n"                                    /* 30 */
             "    metric: fds\n"
             "    when: {min: 10}\n"                                   /* 32 */
             "    actions: core\n"                                     /* 33 */
             "  - name: g\n"
             "    metric: rss\n"
             "    when: {above: 1GiB}\n"
             "    actions: [core, stacks, {core: {compress: zstd}}, {core: {via: gcore, filter: 3}}]\n" /* 37 */
             "  - name: h\n"
             "    metric: cpu\n"
             "    when: {above: 90}\n"
             "    actions: [{profile: {duration: 10ms, frequency: 99999, seconds: 3}}]\n" /* 41 */
             "  - name: i\n"
             "    metric: jvm.threads\n"
             "    when: {above: 1000}\n"
             "    actions: [jvm.jcmd, {jvm.jcmd: ''}, {jvm.heapdump: {live: no}}]\n"); /* 45 */
        assert_int_equal(l.r, -EINVAL);
        expect_diag(&l, 2, 3, "unknown key 'intervall' in defaults (did you mean 'interval'?)");
        expect_diag(&l, 10, 23, "unknown key 'spkie' in when (did you mean 'spike'?)");
        expect_diag(&l, 9, 13, "unknown metric 'rs' (did you mean 'rss'?)");
        expect_diag(&l, 11, 15, "unknown action 'stack' (did you mean 'stacks'?)");
        expect_diag(&l, 14, 19, "metric 'vsize' has none");
        expect_diag(&l, 16, 15, "is not a duration");
        expect_diag(&l, 17, 11, "duplicate rule name 'a' (first at bad.yaml:4)");
        expect_diag(&l, 19, 23, "duplicate key 'above' in when (first at line 19)");
        expect_diag(&l, 22, 17, "pprof: 'localhost' is not HOST:PORT, such as 127.0.0.1:6060");
        expect_diag(&l, 23, 22, "dotnet: 'System.Runtime' is not \"PROVIDER/NAME\"");
        expect_diag(&l, 25, 47, "seconds: 7200 is more than the 3600 this allows");
        expect_diag(&l, 28, 19, "'lots' is not a size");
        expect_diag(&l, 29, 30, "argv[0] 'notify' is neither an absolute path nor a program on PATH");
        expect_diag(&l, 30, 11, "name 'Bad Name' may use only");
        expect_diag(&l, 32, 11, "when needs 'above', 'spike' or 'growth'");
        expect_diag(&l, 33, 14, "actions must be a list, not a scalar");
        expect_diag(&l, 37, 29, "action 'core' is given twice in this rule");
        expect_diag(&l, 37, 62, "core: compress and filter need the native writer");
        expect_diag(&l, 41, 36, "duration: 10ms is outside 100ms to 1h");
        expect_diag(&l, 41, 53, "frequency: 99999 Hz is above");
        expect_diag(&l, 41, 60, "unknown key 'seconds' in profile");
        expect_diag(&l, 45, 15, "jvm.jcmd needs a command, such as 'jvm.jcmd: GC.class_histogram'");
        expect_diag(&l, 45, 36, "jvm.jcmd: a command of 1 to 1024 characters");
        expect_diag(&l, 45, 57, "unknown key 'live': jvm.heapdump takes no options");
        /* the one valid rule is kept; the others are not */
        assert_int_equal(l.set.n, 1);
        assert_string_equal(l.set.rules[0].name, "a");
        unload(&l);
}

static void duplicate_names_across_files(void **state) {
        struct loaded l = {};
        const char *text = "rules:\n  - name: x\n    metric: cpu\n    when: {above: 90%}\n    actions: [stacks]\n";
        load(&l, "one.yaml", text);
        assert_int_equal(l.r, 0);
        assert_true(l.set.rules[0].cond.above == 90);   /* % of one core is the number */
        load(&l, "two.yaml", text);
        assert_int_equal(l.r, -EINVAL);
        expect_diag(&l, 2, 11, "duplicate rule name 'x' (first at one.yaml:2)");
        unload(&l);
}

static void yaml_syntax_error_has_position(void **state) {
        struct loaded l = {};
        load(&l, "syntax.yaml", "rules:\n  - name: x\n    metric: [cpu\n");
        assert_int_equal(l.r, -EINVAL);
        assert_int_equal(l.diags.n, 1);
        assert_string_equal(l.diags.items[0].file, "syntax.yaml");
        assert_true(l.diags.items[0].line >= 3);
        assert_non_null(strstr(l.diags.items[0].msg, "YAML syntax"));
        unload(&l);
}

static void crash_rules_live_apart(void **state) {
        struct loaded l = {};
        load(&l, "crash.yaml",
             "rules:\n"
             "  - name: crash\n"
             "    event: crash\n"
             "    target: {comm: worker}\n"
             "    actions: [stacks, core, {exec: {argv: [/bin/true, '{pid}']}}]\n"
             "    max: 2\n"
             "  - name: rss\n"
             "    metric: rss\n"
             "    when: {above: 1GiB}\n"
             "    actions: [stacks]\n");
        diags_print(&l.diags, stderr);
        assert_int_equal(l.r, 0);
        /* Nothing that samples sees the event rule. */
        assert_int_equal(l.set.n, 1);
        assert_int_equal(l.set.n_crash, 1);
        const struct rule *c = &l.set.crash[0];
        assert_int_equal(c->event, RULE_EVENT_CRASH);
        assert_string_equal(c->target.comm, "worker");
        assert_int_equal(c->n_actions, 3);
        assert_int_equal(c->cond.max, 2);
        assert_int_equal(rule_set_tick(&l.set), USEC_PER_SEC);
        unload(&l);
}

static void crash_rule_errors(void **state) {
        struct loaded l = {};
        load(&l, "bad-crash.yaml",
             "rules:\n"
             "  - name: a\n"
             "    event: crash\n"
             "    metric: rss\n"                                      /* 4 */
             "    when: {above: 1}\n"                                 /* 5 */
             "    actions: [profile, {core: {via: gcore}}]\n"         /* 6 */
             "  - name: b\n"
             "    event: hang\n"                                      /* 8 */
             "    actions: [core]\n"
             "  - name: c\n"
             "    event: crash\n"
             "    target: {cgroup: /sys/fs/cgroup/x}\n"               /* 12 */
             "    actions: [core]\n"
             "  - name: a\n"                                          /* 14 */
             "    metric: rss\n"
             "    when: {above: 1}\n"
             "    actions: [core]\n");
        assert_int_equal(l.r, -EINVAL);
        expect_diag(&l, 4, 13, "'metric' is for sampled rules");
        expect_diag(&l, 5, 11, "'when' is for sampled rules");
        expect_diag(&l, 6, 14, "profile: a crashing process is about to die");
        expect_diag(&l, 6, 14, "gdb cannot attach to a crashing process");
        expect_diag(&l, 8, 12, "unknown event 'hang'");
        expect_diag(&l, 12, 13, "the target of an event rule selects processes");
        unload(&l);
        /* A duplicate name is found across both kinds. */
        load(&l, "dup.yaml",
             "rules:\n"
             "  - name: a\n"
             "    event: crash\n"
             "    actions: [core]\n"
             "  - name: a\n"
             "    metric: rss\n"
             "    when: {above: 1}\n"
             "    actions: [core]\n");
        expect_diag(&l, 5, 11, "duplicate rule name 'a'");
        unload(&l);
}

static bool uses_metric(const struct rule_set *set, enum metric m) {
        for (size_t i = 0; i < set->n; i++)
                if (set->rules[i].metric == m)
                        return true;
        return false;
}

static void builtin_default_rules_are_valid(void **state) {
        struct loaded l = {};
        l.r = rules_load_default(&l.set, &l.diags);
        diags_print(&l.diags, stderr);
        assert_int_equal(l.r, 0);
        assert_true(l.set.n >= 10);
        assert_true(uses_metric(&l.set, METRIC_RSS));
        assert_true(uses_metric(&l.set, METRIC_CPU));
        assert_true(uses_metric(&l.set, METRIC_THREADS));
        assert_true(uses_metric(&l.set, METRIC_FDS));
        assert_int_equal(rule_set_tick(&l.set), USEC_PER_SEC);
        /* `autodump run` with no rule file captures crashes. */
        assert_int_equal(l.set.n_crash, 1);
        unload(&l);
}

static void cgroup_and_psi_rules(void **state) {
        struct loaded l = {};
        load(&l, "ok.yaml",
             "rules:\n"
             "  - {name: a, target: {cgroup: /system.slice/web.service, recursive: true}, metric: cgroup.memory_ws,\n"
             "     when: {above: 90%}, actions: [core], pick: all, pick_max: 2}\n"
             "  - {name: b, target: {unit: nginx.service}, metric: psi.memory.some, when: {stall: 150ms, per: 2s},\n"
             "     actions: [stacks]}\n"
             "  - {name: c, metric: cgroup.oom_kills, when: {above: 0}, actions: [stacks]}\n");
        diags_print(&l.diags, stderr);
        assert_int_equal(l.r, 0);
        const struct rule *a = &l.set.rules[0], *b = &l.set.rules[1], *c = &l.set.rules[2];
        assert_string_equal(a->target.cgroup, "/system.slice/web.service");
        assert_true(a->target.recursive && a->pick_all);
        assert_int_equal(a->pick_max, 2);
        assert_true(a->cond.above_is_pct);
        assert_string_equal(b->target.unit, "nginx.service");
        assert_true(b->cond.has_stall);
        assert_int_equal(b->cond.stall, 150 * USEC_PER_MSEC);
        assert_int_equal(b->cond.stall_window, 2 * USEC_PER_SEC);
        assert_int_equal(b->pick_max, 4);
        /* A cgroup metric on a rule that selects processes: their cgroup. */
        assert_true(rule_watches_cgroups(c));
        assert_false(c->target.cgroup || c->target.unit);
        unload(&l);

        load(&l, "bad.yaml",
             "rules:\n"
             "  - {name: a, target: {cgroup: system.slice}, metric: cgroup.pids, when: {above: 9}, actions: [stacks]}\n"
             "  - {name: b, target: {unit: nginx.service, comm: nginx}, metric: cgroup.cpu, when: {above: 9},"
             " actions: [stacks]}\n"
             "  - {name: c, target: {cgroup: /x}, metric: rss, when: {above: 9}, actions: [stacks]}\n"
             "  - {name: d, metric: psi.cpu.some, when: {stall: 100ms, per: 1s}, actions: [stacks]}\n"
             "  - {name: e, metric: cpu, when: {stall: 100ms, per: 2s}, actions: [stacks]}\n"
             "  - {name: f, metric: psi.io.full, when: {stall: 3s, per: 2s, above: 5}, actions: [stacks]}\n"
             "  - {name: g, metric: rss, when: {above: 9}, actions: [stacks], pick: all}\n"
             "  - {name: h, target: {recursive: true, comm: x}, metric: cgroup.cpu, when: {above: 9},"
             " actions: [stacks]}\n"
             "  - {name: i, metric: psi.cpu.some, when: {stall: 100ms}, actions: [stacks]}\n");
        assert_int_equal(l.r, -EINVAL);
        expect_diag(&l, 2, 32, "must be a path from the hierarchy's root");
        expect_diag(&l, 3, 23, "cannot also select processes");
        expect_diag(&l, 4, 45, "metric 'rss' is of a process");
        expect_diag(&l, 5, 63, "per: 1s must be a multiple of 2s here: without CAP_SYS_RESOURCE");
        expect_diag(&l, 6, 42, "triggers exist for psi.* metrics only, not 'cpu'");
        expect_diag(&l, 7, 42, "do not go with it");
        expect_diag(&l, 7, 50, "stall: 3s must be above 0 and at most per (2s)");
        expect_diag(&l, 8, 71, "metric 'rss' is of one process; pick is for cgroup rules");
        expect_diag(&l, 9, 35, "recursive goes with a cgroup or unit target");
        expect_diag(&l, 10, 43, "stall and per go together");
        unload(&l);
}

static void values_are_bounded(void **state) {
        struct loaded l = {};
        load(&l, "big.yaml",
             "defaults: {window: 1000000000}\n"                       /* 1 */
             "rules:\n"
             "  - {name: a, metric: rss, when: {above: 1, for: 999999999}, actions: [stacks], max: 1000001}\n"
             "  - {name: b, metric: rss, when: {above: 1, for: 2d}, actions: [stacks], cooldown: 90d,"
             " interval: 2d}\n");
        assert_int_equal(l.r, -EINVAL);
        expect_diag(&l, 1, 20, "window: 1000000000 samples is more than the 3600 a window may hold");
        expect_diag(&l, 3, 50, "for: 999999999 samples is more than the 100000 maximum");
        expect_diag(&l, 3, 86, "max: 1000001 is more than 100000 firings");
        expect_diag(&l, 4, 50, "for: 2d is more than the 1d maximum");
        expect_diag(&l, 4, 84, "cooldown: 90d is more than the 30d maximum");
        expect_diag(&l, 4, 99, "interval: 2d is more than the 1d maximum");
        unload(&l);
}

/* Seconds to load n generated rules. */
static double load_seconds(int n) {
        size_t cap = (size_t) n * 80 + 64, len = 0;
        char *text = malloc(cap);
        len += (size_t) snprintf(text + len, cap - len, "rules:\n");
        for (int i = 0; i < n; i++)
                len += (size_t) snprintf(text + len, cap - len,
                                         "  - {name: r%d, metric: rss, when: {above: 1GiB}, actions: [stacks]}\n", i);
        struct loaded l = {};
        usec_t start = now_usec(CLOCK_MONOTONIC);
        l.r = rules_load_text(&l.set, "many.yaml", text, len, &l.diags);
        double seconds = (double) (now_usec(CLOCK_MONOTONIC) - start) / USEC_PER_SEC;
        assert_int_equal(l.r, 0);
        assert_int_equal(l.set.n, n);
        unload(&l);
        free(text);
        return seconds;
}

/* Loading is linear in the number of rules (it once was quadratic: 200 000
 * rules took minutes). Four times the rules take about four times as long,
 * whatever the machine or a sanitizer costs; quadratic would be sixteen. */
static void many_rules_load_in_linear_time(void **state) {
        /* The best of three each: other tests run beside this one. */
        double small = 1e9, large = 1e9;
        for (int i = 0; i < 3; i++) {
                small = fmin(small, load_seconds(8000));
                large = fmin(large, load_seconds(32000));
        }
#ifndef __SANITIZE_ADDRESS__
        /* ASan's allocator makes any large load superlinear (its
         * quarantine: 0.4 s -> 4 s here); there the load still runs, for
         * its memory checks. */
        assert_true(large < 8 * small + 0.05);
#else
        (void) small;
        (void) large;
#endif
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(valid_rule),
                cmocka_unit_test(defaults_apply),
                cmocka_unit_test(all_errors_in_one_pass),
                cmocka_unit_test(duplicate_names_across_files),
                cmocka_unit_test(yaml_syntax_error_has_position),
                cmocka_unit_test(builtin_default_rules_are_valid),
                cmocka_unit_test(crash_rules_live_apart),
                cmocka_unit_test(crash_rule_errors),
                cmocka_unit_test(cgroup_and_psi_rules),
                cmocka_unit_test(values_are_bounded),
                cmocka_unit_test(many_rules_load_in_linear_time),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
