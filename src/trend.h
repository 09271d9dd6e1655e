/* Growth over a time window, for `when: {growth: 50MiB/m, over: 10m}`:
 * slow leaks that a spike never sees. Samples fold into TREND_BUCKETS time
 * buckets across `over` (constant memory, whatever the window), and the
 * growth is the least-squares slope of the buckets' means. It counts only
 * when steady: the whole window observed, the value rising from one
 * bucket to the next in at least half the steps, what it lost in falls at
 * most a quarter of what it gained, and its net change across the window
 * at least half what the slope says — so a one-off jump (a cache loaded at
 * once) or a sawtooth (a garbage-collected heap) is not growth, a leak is.
 * Pure: times are passed in. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define TREND_BUCKETS 30

struct trend {
        usec_t width;                   /* of a bucket: over / TREND_BUCKETS */
        int64_t first, newest;          /* bucket numbers (mono / width); newest < 0: empty */
        struct trend_bucket {
                int64_t number;
                double t_sum, v_sum;    /* t in seconds */
                unsigned n;
        } b[TREND_BUCKETS];
};

void trend_init(struct trend *t, usec_t over);
void trend_add(struct trend *t, usec_t mono, double value);

/* The steady growth per second over the window. -EAGAIN until all of it
 * has been observed; -ERANGE when the value does not rise
 * steadily (then *ret_per_sec is still the slope). */
int trend_growth(const struct trend *t, double *ret_per_sec);
