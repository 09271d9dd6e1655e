/* The .NET metrics that come from a program's own telemetry rather than
 * the runtime's fixed counters: the metrics rules name themselves
 * (metric.h's forms) and dotnet.aspnet.responses_5xx. For a session, what
 * to ask the runtime for — an EventSource's EventCounters, instruments of
 * System.Diagnostics.Metrics, DiagnosticListener events through the
 * Microsoft-Diagnostics-DiagnosticSource bridge — and their values from
 * the events that come. Pure. */
#pragma once

#include <stdbool.h>

#include "../dotnet_ipc.h"
#include "../metric.h"
#include "../nettrace.h"

struct dotnet_named;

/* For the metrics of `want` that are named (or responses_5xx), counters
 * every interval_s; `session_id` tells this session's Metrics events from
 * another tool's. -ENOENT when `want` has none of them. */
int dotnet_named_new(metric_set want, unsigned interval_s, unsigned session_id, struct dotnet_named **ret);
void dotnet_named_free(struct dotnet_named *n);
/* Adds the providers they need to p[*np …] (at most max in all), leaving
 * out a name already there; the strings are n's. */
void dotnet_named_providers(const struct dotnet_named *n, struct dotnet_provider *p, size_t *np, size_t max);
/* An EventCounter's value (its Mean, or its Increment) as it came. */
void dotnet_named_counter(struct dotnet_named *n, const char *provider, const char *name, double value);
/* Any other event of the session. */
void dotnet_named_event(struct dotnet_named *n, const struct nettrace_event *ev);
/* What went wrong on the program's side that leaves metrics without
 * values (another tool's Metrics session), once each time it is said;
 * NULL when nothing new. */
const char *dotnet_named_trouble(struct dotnet_named *n);
/* The value of `m` since the call before: a counter's or instrument's
 * last; how many events; the p99 of the durations. False when there is
 * none (no counter value came, no activity ended). */
bool dotnet_named_take(struct dotnet_named *n, enum metric m, double *ret);
