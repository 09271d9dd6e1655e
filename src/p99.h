/* The values of an interval (operations' durations) and their 99th
 * percentile. Bounded: at most P99_KEPT values an interval, later ones
 * dropped. Pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define P99_KEPT 65536

struct p99_window {
        double *kept;           /* allocated at the first value */
        size_t n;
};

void p99_add(struct p99_window *w, double v);
/* The nearest-rank 99th percentile of the values since the call before,
 * which it starts afresh; false when there were none. */
bool p99_take(struct p99_window *w, double *ret);
void p99_free(struct p99_window *w);
