/* A text sparkline: one block character per sample, from ▁ (the lowest of
 * the samples and the threshold) to █ (the highest), so a firing's history
 * reads at a glance in `autodump show`. Pure. */
#pragma once

#include <stddef.h>

/* Writes the line for the newest `width` of `values` (n of them) into buf
 * (UTF-8, NUL-ended; fewer if buf is too small: 3 bytes a sample). A
 * threshold that is not finite is not part of the scale. */
void sparkline(const double *values, size_t n, double threshold, size_t width, char *buf, size_t size);
/* Under each of those samples, '^' where it is above the threshold, else
 * ' ' (1 byte a sample). */
void sparkline_marks(const double *values, size_t n, double threshold, size_t width, char *buf, size_t size);
