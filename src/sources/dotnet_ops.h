/* Per-operation times from a .NET runtime's own events: an outgoing HTTP
 * request, a DNS resolution, a TLS handshake, an ASP.NET Core request each
 * log a Start and a Stop event carrying the same activity id (with the TPL
 * provider's activity flow on). Paired here, each operation's duration
 * goes into its kind's current interval; a read takes the interval's p99.
 * Bounded: at most OPS_OPEN operations in flight are remembered (the
 * oldest forgotten first), at most P99_KEPT durations an interval. Pure. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "../nettrace.h"

enum dotnet_op { DOTNET_OP_HTTP, DOTNET_OP_DNS, DOTNET_OP_TLS, DOTNET_OP_ASPNET, _DOTNET_OP_MAX };

struct dotnet_ops;

int dotnet_ops_new(struct dotnet_ops **ret);
void dotnet_ops_free(struct dotnet_ops *o);
/* Takes an event of the stream (any: those of no operation are ignored). */
void dotnet_ops_event(struct dotnet_ops *o, const struct nettrace_event *ev, uint64_t ticks_per_second);
/* The 99th percentile, in ms, of the `op`s that ended since the call
 * before, which it starts afresh; false when none ended. */
bool dotnet_ops_p99(struct dotnet_ops *o, enum dotnet_op op, double *ret_ms);
