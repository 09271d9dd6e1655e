/* A fixed-capacity ring of (time, value) samples. It keeps more history than
 * the rule's mean needs (for trigger.json), and a running sum over the last
 * `window` samples so the mean costs O(1) per sample. */
#pragma once

#include <stddef.h>

#include "util.h"

struct sample {
        usec_t time;    /* CLOCK_REALTIME, for the history in trigger.json */
        double value;
};

struct ring {
        struct sample *slots;
        size_t capacity;
        size_t window;  /* samples the mean spans, 1 ≤ window ≤ capacity */
        size_t count;   /* how many slots hold a sample, ≤ capacity */
        size_t head;    /* where the next sample goes */
        double sum;     /* sum of the last min(count, window) values */
        size_t pushes_since_resum;
};

int ring_init(struct ring *r, size_t capacity, size_t window);
void ring_free(struct ring *r);
/* A copy of `src`, samples and all. */
int ring_copy(const struct ring *src, struct ring *ret);
void ring_push(struct ring *r, usec_t time, double value);
/* Whether `window` samples are held: the warm-up is over. */
static inline int ring_warm(const struct ring *r) { return r->count >= r->window; }
/* Mean of the last min(count, window) samples; 0 when empty. */
double ring_mean(const struct ring *r);
/* The i-th oldest sample held, 0 ≤ i < count. */
const struct sample *ring_at(const struct ring *r, size_t i);
