/* cgroups without a cgroup controller to hand: /proc/PID/cgroup as the
 * kernel writes it (v1, v2, hybrid, a deleted cgroup), the files'
 * formats, and a v2 fixture tree (tests/fixtures/cgroupfs, what a hybrid
 * host cannot produce) read through the real cgroup and PSI sources. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "cgroup_discovery.h"
#include "cgroupfs.h"
#include "source.h"
#include "target.h"

static void parses_v1_v2_and_hybrid(void **state) {
        struct cgroup_paths p;
        bool deleted;
        /* This project's CI host: v1 controllers beside v2. */
        assert_int_equal(cgroup_parse_proc("9:name=systemd:/\n8:pids:/ad\n4:memory:/process_api/x\n"
                                           "2:cpuacct:/\n1:cpu:/\n0::/\n", &p, &deleted), 0);
        assert_string_equal(p.path[CG_MEMORY], "/process_api/x");
        assert_string_equal(p.path[CG_PIDS], "/ad");
        assert_string_equal(p.path[CG_CPU], "/");
        assert_string_equal(p.path[CG_UNIFIED], "/");
        assert_false(deleted);
        assert_string_equal(cgroup_paths_name(&p), "/process_api/x");
        cgroup_paths_free(&p);

        /* Joint controllers, as most distributions mount v1. */
        assert_int_equal(cgroup_parse_proc("3:cpu,cpuacct:/system.slice/a.service\n5:memory:/system.slice/a.service\n",
                                           &p, NULL), 0);
        assert_string_equal(p.path[CG_CPU], "/system.slice/a.service");
        assert_string_equal(p.path[CG_CPUACCT], "/system.slice/a.service");
        assert_null(p.path[CG_UNIFIED]);
        assert_null(p.path[CG_PIDS]);
        cgroup_paths_free(&p);

        /* Pure v2: one line. */
        assert_int_equal(cgroup_parse_proc("0::/user.slice/user-1000.slice/session-2.scope\n", &p, NULL), 0);
        assert_string_equal(p.path[CG_UNIFIED], "/user.slice/user-1000.slice/session-2.scope");
        assert_null(p.path[CG_MEMORY]);
        cgroup_paths_free(&p);
}

static void deleted_cgroup(void **state) {
        struct cgroup_paths p;
        bool deleted;
        assert_int_equal(cgroup_parse_proc("0::/system.slice/gone.service (deleted)\n", &p, &deleted), 0);
        assert_true(deleted);
        assert_string_equal(p.path[CG_UNIFIED], "/system.slice/gone.service");
        cgroup_paths_free(&p);
        /* A path with a colon in it stays whole. */
        assert_int_equal(cgroup_parse_proc("0::/odd:name\n", &p, &deleted), 0);
        assert_string_equal(p.path[CG_UNIFIED], "/odd:name");
        assert_false(deleted);
        cgroup_paths_free(&p);
}

static void file_formats(void **state) {
        uint64_t v;
        assert_int_equal(cgroup_parse_keyed("anon 5\ninactive_file 42\n", "inactive_file", &v), 0);
        assert_int_equal(v, 42);
        /* A key that is a prefix of another is not that other. */
        assert_int_equal(cgroup_parse_keyed("oom_kill_disable 0\nunder_oom 0\noom_kill 7\n", "oom_kill", &v), 0);
        assert_int_equal(v, 7);
        assert_int_equal(cgroup_parse_keyed("oom 1\n", "oom_kill", &v), -ENOENT);
        assert_int_equal(cgroup_parse_limit("max\n", &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(cgroup_parse_limit("9223372036854771712\n", &v), 0);     /* v1's "unlimited" */
        assert_int_equal(v, 0);
        assert_int_equal(cgroup_parse_limit("268435456\n", &v), 0);
        assert_int_equal(v, 268435456);
        assert_int_equal(cgroup_parse_limit("lots", &v), -EINVAL);
        double d;
        const char psi[] = "some avg10=1.50 avg60=0.00 avg300=0.00 total=9\nfull avg10=0.25 avg60=0 avg300=0 total=1\n";
        assert_int_equal(cgroup_parse_psi_avg10(psi, "some", &d), 0);
        assert_float_equal(d, 1.5, 1e-9);
        assert_int_equal(cgroup_parse_psi_avg10(psi, "full", &d), 0);
        assert_float_equal(d, 0.25, 1e-9);
}

struct fixture {
        struct cgroup_mounts mounts;
        struct proc_root proc;
        struct sources *sources;
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof *f);
        assert_int_equal(cgroup_mounts_at(FIXTURES "/cgroupfs", &f->mounts), 0);
        assert_non_null(f->mounts.path[CG_UNIFIED]);
        assert_null(f->mounts.path[CG_MEMORY]);
        assert_int_equal(proc_root_open(FIXTURES "/proc", &f->proc), 0);
        struct source_env env = { .proc = &f->proc, .cgroups = &f->mounts };
        assert_int_equal(sources_open(&env, &f->sources), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        sources_close(f->sources);
        proc_root_close(&f->proc);
        cgroup_mounts_free(&f->mounts);
        free(f);
        return 0;
}

static struct target *open_cgroup(struct fixture *f, const char *path) {
        struct cgroup_paths paths;
        struct target *tg;
        assert_int_equal(cgroup_paths_same(path, &paths), 0);
        assert_int_equal(target_open_cgroup(&f->mounts, &paths, &tg), 0);
        return tg;
}

static void reads_a_v2_cgroup(void **state) {
        struct fixture *f = *state;
        struct target *tg = open_cgroup(f, "/system.slice/web.service");
        assert_int_equal(tg->id.kind, TARGET_CGROUP);
        assert_string_equal(tg->name, "web.service");
        /* Its own 512 MiB, below its slice's 1 GiB. */
        assert_float_equal(tg->cgroup.memory_limit, 536870912, 0);
        assert_float_equal(tg->cgroup.pids_limit, 100, 0);
        assert_float_equal(tg->cgroup.cpu_limit, 150, 1e-9);        /* 1.5 cores */

        struct reading r;
        assert_int_equal(sources_read(f->sources, tg, sources_metrics_of(f->sources, tg), &r), 0);
        assert_float_equal(r.raw[METRIC_CGROUP_MEMORY], 314572800, 0);
        /* Usage less inactive_file. */
        assert_float_equal(r.raw[METRIC_CGROUP_MEMORY_WS], 314572800 - 41943040, 0);
        assert_float_equal(r.raw[METRIC_CGROUP_OOM_KILLS], 2, 0);
        assert_float_equal(r.raw[METRIC_CGROUP_CPU], 7.5, 1e-9);     /* usage_usec, in seconds */
        assert_float_equal(r.raw[METRIC_CGROUP_PIDS], 17, 0);
        assert_float_equal(r.raw[METRIC_CGROUP_THROTTLED], 100, 0);
        assert_float_equal(r.aux[METRIC_CGROUP_THROTTLED], 400, 0);
        assert_float_equal(r.raw[METRIC_PSI_CPU_SOME], 12.5, 1e-9);
        assert_float_equal(r.raw[METRIC_PSI_MEMORY_FULL], 0.75, 1e-9);
        /* Never a process's metric. */
        assert_false(r.have & METRIC_BIT(METRIC_RSS));

        const char *what;
        assert_float_equal(sources_reference(f->sources, tg, METRIC_CGROUP_MEMORY, &what), 536870912, 0);
        assert_string_equal(what, "the cgroup's memory limit");
        assert_float_equal(sources_reference(f->sources, tg, METRIC_CGROUP_PIDS, &what), 100, 0);
        target_free(tg);
}

static void limit_from_an_ancestor_or_none(void **state) {
        struct fixture *f = *state;
        /* memory.max "max" itself, under a slice of 1 GiB. */
        struct target *tg = open_cgroup(f, "/system.slice/batch.service");
        assert_float_equal(tg->cgroup.memory_limit, 1073741824, 0);
        assert_float_equal(tg->cgroup.pids_limit, 0, 0);
        assert_float_equal(tg->cgroup.cpu_limit, 0, 0);
        struct reading r;
        assert_int_equal(sources_read(f->sources, tg, sources_metrics_of(f->sources, tg), &r), 0);
        assert_float_equal(r.raw[METRIC_CGROUP_MEMORY], 1048576, 0);
        /* Files it lacks leave their metrics out; they are no error. */
        assert_false(r.have & METRIC_BIT(METRIC_CGROUP_PIDS));
        assert_false(r.have & METRIC_BIT(METRIC_PSI_CPU_SOME));
        target_free(tg);
        /* The slice has no limit above it: a % is then of host RAM. */
        tg = open_cgroup(f, "/");
        const char *what;
        assert_true(sources_reference(f->sources, tg, METRIC_CGROUP_MEMORY, &what) > 0);
        assert_non_null(strstr(what, "host RAM"));
        target_free(tg);
}

static void identity_and_absence(void **state) {
        struct fixture *f = *state;
        struct cgroup_paths paths;
        struct target *tg;
        assert_int_equal(cgroup_paths_same("/system.slice/nope.service", &paths), 0);
        assert_int_equal(target_open_cgroup(&f->mounts, &paths, &tg), -ENOENT);
        /* The identity a scan computes without opening equals the target's. */
        tg = open_cgroup(f, "/system.slice/web.service");
        uint64_t id;
        assert_int_equal(cgroup_paths_id(&f->mounts, &tg->cgroup.handle.paths, &id), 0);
        assert_true(id == tg->id.cgroup_id);
        struct target *other = open_cgroup(f, "/system.slice/batch.service");
        assert_true(other->id.cgroup_id != tg->id.cgroup_id);
        target_free(other);
        target_free(tg);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(parses_v1_v2_and_hybrid),
                cmocka_unit_test(deleted_cgroup),
                cmocka_unit_test(file_formats),
                cmocka_unit_test_setup_teardown(reads_a_v2_cgroup, setup, teardown),
                cmocka_unit_test_setup_teardown(limit_from_an_ancestor_or_none, setup, teardown),
                cmocka_unit_test_setup_teardown(identity_and_absence, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
