#include "ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int ring_init(struct ring *r, size_t capacity, size_t window) {
        if (window == 0 || capacity < window)
                return -EINVAL;
        struct sample *slots = calloc(capacity, sizeof *slots);
        if (!slots)
                return -ENOMEM;
        *r = (struct ring) { .slots = slots, .capacity = capacity, .window = window };
        return 0;
}

void ring_free(struct ring *r) {
        free(r->slots);
        *r = (struct ring) {};
}

int ring_copy(const struct ring *src, struct ring *ret) {
        struct sample *slots = malloc(src->capacity * sizeof *slots);
        if (!slots)
                return -ENOMEM;
        memcpy(slots, src->slots, src->capacity * sizeof *slots);
        *ret = *src;
        ret->slots = slots;
        return 0;
}

const struct sample *ring_at(const struct ring *r, size_t i) {
        size_t oldest = (r->head + r->capacity - r->count) % r->capacity;
        return &r->slots[(oldest + i) % r->capacity];
}

static size_t window_len(const struct ring *r) {
        return r->count < r->window ? r->count : r->window;
}

void ring_push(struct ring *r, usec_t time, double value) {
        if (r->count >= r->window)
                r->sum -= ring_at(r, r->count - r->window)->value;
        r->slots[r->head] = (struct sample) { time, value };
        r->head = (r->head + 1) % r->capacity;
        if (r->count < r->capacity)
                r->count++;
        r->sum += value;
        /* A running sum drifts with floating-point error over millions of
         * samples; recompute it exactly once per `capacity` pushes, which
         * keeps the cost amortised O(1). */
        if (++r->pushes_since_resum >= r->capacity) {
                double s = 0;
                for (size_t i = r->count - window_len(r); i < r->count; i++)
                        s += ring_at(r, i)->value;
                r->sum = s;
                r->pushes_since_resum = 0;
        }
}

double ring_mean(const struct ring *r) {
        size_t n = window_len(r);
        return n ? r->sum / (double) n : 0;
}
