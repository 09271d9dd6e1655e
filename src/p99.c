#include "p99.h"

#include <stdlib.h>

void p99_add(struct p99_window *w, double v) {
        if (w->n == P99_KEPT || (!w->kept && !(w->kept = malloc(P99_KEPT * sizeof *w->kept))))
                return;
        w->kept[w->n++] = v;
}

static int by_value(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

bool p99_take(struct p99_window *w, double *ret) {
        if (!w->n)
                return false;
        qsort(w->kept, w->n, sizeof *w->kept, by_value);
        /* The smallest value at or above 99% of them. */
        size_t rank = (99 * w->n + 99) / 100;
        *ret = w->kept[rank - 1];
        w->n = 0;
        return true;
}

void p99_free(struct p99_window *w) {
        free(w->kept);
        *w = (struct p99_window) {};
}
