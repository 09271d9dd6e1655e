#include "sparkline.h"

#include <math.h>
#include <string.h>

static const char *const blocks[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };

/* The first sample shown: the newest `width`, as many as fit in `size`
 * bytes of `per` each. */
static size_t first_shown(size_t n, size_t width, size_t per, size_t size) {
        size_t fit = size > 0 ? (size - 1) / per : 0;
        if (width < fit)
                fit = width;
        return n > fit ? n - fit : 0;
}

void sparkline(const double *values, size_t n, double threshold, size_t width, char *buf, size_t size) {
        size_t from = first_shown(n, width, strlen(blocks[0]), size);
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = from; i < n; i++)
                if (isfinite(values[i])) {
                        lo = fmin(lo, values[i]);
                        hi = fmax(hi, values[i]);
                }
        if (isfinite(threshold)) {
                lo = fmin(lo, threshold);
                hi = fmax(hi, threshold);
        }
        size_t len = 0;
        for (size_t i = from; i < n; i++) {
                const char *b = " ";
                if (isfinite(values[i])) {
                        int level = hi > lo ? (int) lround((values[i] - lo) / (hi - lo) * 7) : 0;
                        b = blocks[level];
                }
                size_t l = strlen(b);
                memcpy(buf + len, b, l);
                len += l;
        }
        if (size)
                buf[len] = 0;
}

void sparkline_marks(const double *values, size_t n, double threshold, size_t width, char *buf, size_t size) {
        size_t from = first_shown(n, width, 1, size), len = 0;
        for (size_t i = from; i < n && len + 1 < size; i++)
                buf[len++] = isfinite(threshold) && values[i] > threshold ? '^' : ' ';
        while (len > 0 && buf[len - 1] == ' ')
                len--;
        if (size)
                buf[len] = 0;
}
