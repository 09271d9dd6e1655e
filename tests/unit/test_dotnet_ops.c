#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "sources/dotnet_ops.h"

#define TICKS 1000000   /* a µs a tick */

static void event(struct dotnet_ops *o, const char *provider, const char *name, uint8_t activity, uint64_t us) {
        struct nettrace_meta m = {};
        snprintf(m.provider, sizeof m.provider, "%s", provider);
        snprintf(m.name, sizeof m.name, "%s", name);
        struct nettrace_event ev = { .meta = &m, .timestamp = us };
        ev.activity[15] = activity;
        dotnet_ops_event(o, &ev, TICKS);
}

static void paired_by_activity_and_the_p99_taken(void **state) {
        struct dotnet_ops *o;
        assert_int_equal(dotnet_ops_new(&o), 0);
        double ms;
        assert_false(dotnet_ops_p99(o, DOTNET_OP_HTTP, &ms));
        /* 100 requests overlapping, started in order, stopped in reverse:
         * request i takes i + 1 ms. */
        for (int i = 0; i < 100; i++)
                event(o, "System.Net.Http", "RequestStart", (uint8_t) (i + 1), 1000);
        for (int i = 99; i >= 0; i--)
                event(o, "System.Net.Http", "RequestStop", (uint8_t) (i + 1), 1000 + (uint64_t) (i + 1) * 1000);
        /* The same names from ASP.NET Core are another kind. */
        event(o, "Microsoft.AspNetCore.Hosting", "RequestStart", 200, 1000);
        event(o, "Microsoft.AspNetCore.Hosting", "RequestStop", 200, 8000);
        assert_true(dotnet_ops_p99(o, DOTNET_OP_HTTP, &ms));
        assert_true(ms == 99);
        assert_true(dotnet_ops_p99(o, DOTNET_OP_ASPNET, &ms));
        assert_true(ms == 7);
        /* Taken: the next interval starts empty. */
        assert_false(dotnet_ops_p99(o, DOTNET_OP_HTTP, &ms));
        dotnet_ops_free(o);
}

static void unpaired_and_unmarked_events_are_no_durations(void **state) {
        struct dotnet_ops *o;
        assert_int_equal(dotnet_ops_new(&o), 0);
        double ms;
        event(o, "System.Net.Http", "RequestStop", 9, 5000);          /* no start seen */
        event(o, "System.Net.Http", "RequestStart", 0, 1000);         /* no activity id */
        event(o, "System.Net.Http", "RequestStop", 0, 5000);
        event(o, "System.Net.Http", "RequestStart", 3, 5000);         /* a stop before its start */
        event(o, "System.Net.Http", "RequestStop", 3, 1000);
        assert_false(dotnet_ops_p99(o, DOTNET_OP_HTTP, &ms));
        /* More starts in flight than are remembered: the oldest forgotten,
         * the newest still paired. */
        for (int i = 0; i < 5000; i++) {
                struct nettrace_meta m = { .provider = "System.Net.NameResolution", .name = "ResolutionStart" };
                struct nettrace_event ev = { .meta = &m, .timestamp = 1 };
                memcpy(ev.activity, &i, sizeof i);
                ev.activity[15] = 1;
                dotnet_ops_event(o, &ev, TICKS);
        }
        struct nettrace_meta stop = { .provider = "System.Net.NameResolution", .name = "ResolutionStop" };
        struct nettrace_event ev = { .meta = &stop, .timestamp = 2001 };
        int last = 4999;
        memcpy(ev.activity, &last, sizeof last);
        ev.activity[15] = 1;
        dotnet_ops_event(o, &ev, TICKS);
        assert_true(dotnet_ops_p99(o, DOTNET_OP_DNS, &ms));
        assert_true(ms == 2);
        dotnet_ops_free(o);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(paired_by_activity_and_the_p99_taken),
                cmocka_unit_test(unpaired_and_unmarked_events_are_no_durations),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
