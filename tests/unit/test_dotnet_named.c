/* A program's own telemetry as metrics: the providers a session asks for,
 * and values from events laid out as the .NET 10 runtime sends them (the
 * bridge's Event with its V2-described array of key/value pairs; the
 * Metrics events' V1 strings). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sources/dotnet_named.h"

struct blob {
        uint8_t b[2048];
        size_t len;
};

static void put_u32(struct blob *o, uint32_t v) {
        for (int i = 0; i < 4; i++)
                o->b[o->len++] = (uint8_t) (v >> 8 * i);
}

static void put_u16(struct blob *o, uint16_t v) {
        o->b[o->len++] = (uint8_t) v;
        o->b[o->len++] = (uint8_t) (v >> 8);
}

static void put_utf16(struct blob *o, const char *s) {
        do
                put_u16(o, (uint8_t) *s);
        while (*s++);
}

/* A V2 field: its size (itself included), name, type code. */
static void v2_field(struct blob *o, const char *name, uint32_t type) {
        put_u32(o, (uint32_t) (4 + 2 * (strlen(name) + 1) + 4));
        put_utf16(o, name);
        put_u32(o, type);
}

/* The bridge's Event: no V1 fields; tag 2: SourceName, EventName, and
 * Arguments, an array of {Key, Value}. */
static void bridge_meta(struct nettrace_meta *m, struct blob *d) {
        *m = (struct nettrace_meta) { .provider = "Microsoft-Diagnostics-DiagnosticSource", .name = "Event" };
        struct blob v2 = {};
        put_u32(&v2, 3);
        v2_field(&v2, "SourceName", 18);
        v2_field(&v2, "EventName", 18);
        size_t at = v2.len;
        put_u32(&v2, 0);        /* Arguments' size: below */
        put_utf16(&v2, "Arguments");
        put_u32(&v2, 19);
        put_u32(&v2, 1);
        put_u32(&v2, 2);
        v2_field(&v2, "Key", 18);
        v2_field(&v2, "Value", 18);
        uint32_t size = (uint32_t) (v2.len - at);
        memcpy(v2.b + at, &size, 4);
        put_u32(d, 0);
        put_u32(d, (uint32_t) v2.len);
        d->b[d->len++] = 2;
        memcpy(d->b + d->len, v2.b, v2.len);
        d->len += v2.len;
        m->fields = d->b;
        m->fields_len = d->len;
}

/* An Event of `listener`/`event` with the pairs of `args` (NULL-ended). */
static void bridge_event(struct dotnet_named *n, const char *listener, const char *event, const char *const *args) {
        struct nettrace_meta m;
        struct blob d = {}, p = {};
        bridge_meta(&m, &d);
        put_utf16(&p, listener);
        put_utf16(&p, event);
        uint16_t count = 0;
        while (args && args[2 * count])
                count++;
        put_u16(&p, count);
        for (uint16_t i = 0; i < count; i++) {
                put_utf16(&p, args[2 * i]);
                put_utf16(&p, args[2 * i + 1]);
        }
        struct nettrace_event ev = { .meta = &m, .payload = p.b, .len = p.len };
        dotnet_named_event(n, &ev);
}

/* A Metrics event: V1 string fields, named and valued by `fields`. */
static void metrics_event(struct dotnet_named *n, const char *name, const char *const *fields) {
        struct nettrace_meta m = { .provider = "System.Diagnostics.Metrics" };
        snprintf(m.name, sizeof m.name, "%s", name);
        struct blob d = {}, p = {};
        uint32_t count = 0;
        while (fields[2 * count])
                count++;
        put_u32(&d, count);
        for (uint32_t i = 0; i < count; i++) {
                put_u32(&d, 18);
                put_utf16(&d, fields[2 * i]);
                put_utf16(&p, fields[2 * i + 1]);
        }
        m.fields = d.b;
        m.fields_len = d.len;
        struct nettrace_event ev = { .meta = &m, .payload = p.b, .len = p.len };
        dotnet_named_event(n, &ev);
}

static enum metric named(enum metric_form form, const char *key) {
        enum metric m;
        assert_int_equal(metric_name(form, key, &m), 0);
        return m;
}

static void the_providers_a_session_asks_for(void **state) {
        enum metric counter = named(METRIC_FORM_DOTNET, "Autodump-Orders/orders-queued");
        enum metric events = named(METRIC_FORM_DOTNET_EVENTS, "Autodump.Orders/OrderFailed");
        enum metric activity = named(METRIC_FORM_DOTNET_ACTIVITY_MS_P99, "Autodump.Orders/Checkout");
        struct dotnet_named *n;
        assert_int_equal(dotnet_named_new(METRIC_BIT(METRIC_RSS), 2, 7, &n), -ENOENT);
        assert_int_equal(dotnet_named_new(METRIC_BIT(counter) | METRIC_BIT(events) | METRIC_BIT(activity) |
                                          METRIC_BIT(METRIC_DOTNET_ASPNET_RESPONSES_5XX), 2, 7, &n), 0);
        /* An EventSource already asked for is not asked for twice. */
        struct dotnet_provider p[8] = { { "System.Runtime", 0, 4, "EventCounterIntervalSec=2" } };
        size_t np = 1;
        dotnet_named_providers(n, p, &np, 8);
        dotnet_named_providers(n, p, &np, 8);
        assert_int_equal(np, 4);
        assert_string_equal(p[1].name, "Autodump-Orders");
        assert_string_equal(p[1].filter, "EventCounterIntervalSec=2");
        assert_string_equal(p[2].name, "System.Diagnostics.Metrics");
        assert_string_equal(p[2].filter, "SessionId=autodump-7;Metrics=Autodump-Orders\\orders-queued;"
                                         "RefreshInterval=2;MaxTimeSeries=1000;MaxHistograms=20");
        assert_string_equal(p[3].name, "Microsoft-Diagnostics-DiagnosticSource");
        assert_int_equal(p[3].keywords, 0x2);
        assert_string_equal(p[3].filter,
                            "FilterAndPayloadSpecs=\"Microsoft.AspNetCore/Microsoft.AspNetCore.Hosting.EndRequest:-"
                            "StatusCode=httpContext.Response.StatusCode\n"
                            "Autodump.Orders/OrderFailed:-\n"
                            "Autodump.Orders/Checkout:-\n"
                            "Autodump.Orders/Checkout.Stop:-DurationMs=*Activity.Duration.TotalMilliseconds\n\"");
        dotnet_named_free(n);
}

static void bridge_events_counted_timed_and_5xx(void **state) {
        enum metric events = named(METRIC_FORM_DOTNET_EVENTS, "Autodump.Orders/OrderFailed");
        enum metric activity = named(METRIC_FORM_DOTNET_ACTIVITY_MS_P99, "Autodump.Orders/Checkout");
        struct dotnet_named *n;
        double v;
        assert_int_equal(dotnet_named_new(METRIC_BIT(events) | METRIC_BIT(activity) |
                                          METRIC_BIT(METRIC_DOTNET_ASPNET_RESPONSES_5XX), 1, 1, &n), 0);
        for (int i = 0; i < 3; i++)
                bridge_event(n, "Autodump.Orders", "OrderFailed", NULL);
        bridge_event(n, "Other.Listener", "OrderFailed", NULL);
        bridge_event(n, "Autodump.Orders", "OrderPlaced", NULL);
        /* A duration in a culture that writes a decimal comma. */
        bridge_event(n, "Autodump.Orders", "Checkout.Stop", (const char *[]) { "DurationMs", "30,5", NULL });
        bridge_event(n, "Autodump.Orders", "Checkout.Stop", (const char *[]) { "DurationMs", "10.25", NULL });
        bridge_event(n, "Autodump.Orders", "Checkout", (const char *[]) { "DurationMs", "99", NULL });
        const char *end = "Microsoft.AspNetCore.Hosting.EndRequest";
        bridge_event(n, "Microsoft.AspNetCore", end, (const char *[]) { "StatusCode", "500", NULL });
        bridge_event(n, "Microsoft.AspNetCore", end, (const char *[]) { "StatusCode", "200", NULL });
        bridge_event(n, "Microsoft.AspNetCore", end, (const char *[]) { "Other", "1", "StatusCode", "503", NULL });
        assert_true(dotnet_named_take(n, events, &v));
        assert_float_equal(v, 3, 0);
        assert_true(dotnet_named_take(n, events, &v));
        assert_float_equal(v, 0, 0);            /* none since */
        assert_true(dotnet_named_take(n, activity, &v));
        assert_float_equal(v, 30.5, 1e-9);
        assert_false(dotnet_named_take(n, activity, &v));       /* no activity ended since */
        assert_true(dotnet_named_take(n, METRIC_DOTNET_ASPNET_RESPONSES_5XX, &v));
        assert_float_equal(v, 2, 0);
        dotnet_named_free(n);
}

static void counters_and_instruments(void **state) {
        enum metric counter = named(METRIC_FORM_DOTNET, "Autodump.Orders/orders.failed");
        enum metric histogram = named(METRIC_FORM_DOTNET, "Autodump.Orders/checkout.ms");
        struct dotnet_named *n;
        double v;
        assert_int_equal(dotnet_named_new(METRIC_BIT(counter) | METRIC_BIT(histogram), 1, 3, &n), 0);
        assert_false(dotnet_named_take(n, counter, &v));
        /* An EventSource of the same name: its counter's value as it came. */
        dotnet_named_counter(n, "Autodump.Orders", "orders.failed", 4);
        assert_true(dotnet_named_take(n, counter, &v));
        assert_float_equal(v, 4, 0);
        assert_false(dotnet_named_take(n, counter, &v));
        /* A collection: the series of one instrument summed, only this
         * session's, handed out at its end. */
        const char *session = "autodump-3";
        metrics_event(n, "CollectionStart", (const char *[]) { "sessionId", session, NULL });
        const char *const series[][2] = { { "5", "a=1" }, { "7", "a=2" } };
        for (int i = 0; i < 2; i++)
                metrics_event(n, "CounterRateValuePublished",
                              (const char *[]) { "sessionId", session, "meterName", "Autodump.Orders", "instrumentName",
                                                 "orders.failed", "tags", series[i][1], "rate", series[i][0], "value",
                                                 "1000", NULL });
        metrics_event(n, "CounterRateValuePublished",
                      (const char *[]) { "sessionId", "dotnet-counters", "meterName", "Autodump.Orders",
                                         "instrumentName", "orders.failed", "rate", "100", NULL });
        metrics_event(n, "HistogramValuePublished",
                      (const char *[]) { "sessionId", session, "meterName", "Autodump.Orders", "instrumentName",
                                         "checkout.ms", "quantiles", "0.5=1;0.95=2;0.99=9.5", NULL });
        assert_false(dotnet_named_take(n, counter, &v));        /* the collection has not ended */
        metrics_event(n, "CollectionStop", (const char *[]) { "sessionId", session, NULL });
        assert_true(dotnet_named_take(n, counter, &v));
        assert_float_equal(v, 12, 0);
        assert_true(dotnet_named_take(n, histogram, &v));
        assert_float_equal(v, 9.5, 0);
        /* Another tool's session: said once. */
        assert_null(dotnet_named_trouble(n));
        metrics_event(n, "MultipleSessionsNotSupportedError", (const char *[]) { "runningSessionId", "x", NULL });
        assert_non_null(strstr(dotnet_named_trouble(n), "another tool reads its System.Diagnostics.Metrics"));
        assert_null(dotnet_named_trouble(n));
        metrics_event(n, "Error", (const char *[]) { "sessionId", "other", "errorMessage", "not ours", NULL });
        assert_null(dotnet_named_trouble(n));
        dotnet_named_free(n);
}

static void a_payload_that_does_not_fit_its_description(void **state) {
        enum metric events = named(METRIC_FORM_DOTNET_EVENTS, "Autodump.Orders/OrderFailed");
        struct dotnet_named *n;
        double v;
        assert_int_equal(dotnet_named_new(METRIC_BIT(events), 1, 1, &n), 0);
        struct nettrace_meta m;
        struct blob d = {}, p = {};
        bridge_meta(&m, &d);
        put_utf16(&p, "Autodump.Orders");
        put_utf16(&p, "OrderFailed");
        put_u16(&p, 1000);      /* pairs that are not there */
        struct nettrace_event ev = { .meta = &m, .payload = p.b, .len = p.len };
        dotnet_named_event(n, &ev);
        /* Every cut of the description. */
        for (size_t cut = 0; cut < d.len; cut++) {
                m.fields_len = cut;
                dotnet_named_event(n, &ev);
        }
        assert_true(dotnet_named_take(n, events, &v));
        assert_float_equal(v, 0, 0);
        dotnet_named_free(n);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(the_providers_a_session_asks_for),
                cmocka_unit_test(bridge_events_counted_timed_and_5xx),
                cmocka_unit_test(counters_and_instruments),
                cmocka_unit_test(a_payload_that_does_not_fit_its_description),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
