#include "trend.h"

#include <errno.h>

void trend_init(struct trend *t, usec_t over) {
        *t = (struct trend) { .width = over / TREND_BUCKETS ? over / TREND_BUCKETS : 1, .first = -1, .newest = -1 };
}

void trend_add(struct trend *t, usec_t mono, double value) {
        int64_t number = (int64_t) (mono / t->width);
        if (t->newest < 0)
                t->first = number;
        if (number > t->newest)
                t->newest = number;
        struct trend_bucket *b = &t->b[number % TREND_BUCKETS];
        /* A slot holding an older bucket starts afresh: the window moved. */
        if (b->number != number || b->n == 0)
                *b = (struct trend_bucket) { .number = number };
        b->t_sum += (double) mono / USEC_PER_SEC;
        b->v_sum += value;
        b->n++;
}

int trend_growth(const struct trend *t, double *ret_per_sec) {
        /* The whole window seen: less, and the first tooth of a sawtooth
         * looks like a leak. */
        if (t->newest < 0 || t->newest - t->first + 1 < TREND_BUCKETS)
                return -EAGAIN;
        /* The buckets in the window, oldest first; times relative to the
         * newest so that the sums keep their precision. */
        double ts[TREND_BUCKETS], vs[TREND_BUCKETS], t_mean = 0, v_mean = 0;
        int n = 0;
        double origin = (double) t->newest * (double) t->width / USEC_PER_SEC;
        for (int64_t k = t->newest - TREND_BUCKETS + 1; k <= t->newest; k++) {
                const struct trend_bucket *b = &t->b[(k % TREND_BUCKETS + TREND_BUCKETS) % TREND_BUCKETS];
                if (k < 0 || b->number != k || b->n == 0)
                        continue;
                ts[n] = b->t_sum / b->n - origin;
                vs[n] = b->v_sum / b->n;
                t_mean += ts[n];
                v_mean += vs[n];
                n++;
        }
        if (n < 3)
                return -EAGAIN;
        t_mean /= n;
        v_mean /= n;
        double sxy = 0, sxx = 0, rises = 0, falls = 0;
        int rising = 0;
        for (int i = 0; i < n; i++) {
                sxy += (ts[i] - t_mean) * (vs[i] - v_mean);
                sxx += (ts[i] - t_mean) * (ts[i] - t_mean);
                if (i > 0 && vs[i] > vs[i - 1]) {
                        rising++;
                        rises += vs[i] - vs[i - 1];
                } else if (i > 0)
                        falls += vs[i - 1] - vs[i];
        }
        if (sxx <= 0)
                return -EAGAIN;
        *ret_per_sec = sxy / sxx;
        /* A one-off jump rises in few steps. A sawtooth rises in most and
         * gives it back in one big fall: what it loses is what it gained.
         * A leak rises in most steps, loses little, and ends higher by at
         * least half of what its slope says. */
        double net = vs[n - 1] - vs[0], expected = *ret_per_sec * (ts[n - 1] - ts[0]);
        bool steady = 2 * rising >= n - 1 && 4 * falls <= rises && 2 * net >= expected;
        return steady ? 0 : -ERANGE;
}
