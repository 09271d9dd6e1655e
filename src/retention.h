/* Retention: the output directory never grows without bound. After every
 * finished artifact and at start, the oldest complete artifacts are removed
 * until at most `max_count` are left, they take at most `max_total` bytes
 * on disk, and none is older than `keep`. Only autodump's own artifact
 * directories are ever touched (named <UTC>-<rule>-<comm>-<pid>, holding a
 * trigger.json), never one being written (those are hidden until
 * complete); hidden partial artifacts older than a collection may run are
 * what an interrupted autodump left, and go too. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct retention_limits {
        uint64_t max_total;     /* bytes on disk; 0: no limit */
        unsigned max_count;     /* 0: no limit */
        usec_t keep;            /* 0: forever */
        usec_t partial_age;     /* a hidden partial older than this is abandoned */
};

struct retained {
        const char *name;
        usec_t time;            /* wall, from its name */
        uint64_t bytes;
};

enum retention_reason { RETAIN, REMOVE_COUNT, REMOVE_TOTAL, REMOVE_AGE };

/* Pure: for `items` sorted oldest first, why each is removed (or kept).
 * The newest is never removed for size or count: the evidence just taken
 * is what the limits are for. */
void retention_plan(const struct retained *items, size_t n, const struct retention_limits *l, usec_t now,
                    enum retention_reason *ret);

/* The time an artifact directory's name says it was taken; -EINVAL if the
 * name is not an artifact's. */
int retention_time_of(const char *name, usec_t *ret);

/* Applies the limits to `output`; `removed` is called for each directory
 * removed, with why in words. */
int retention_enforce(const char *output, const struct retention_limits *l, usec_t now,
                      void (*removed)(const char *name, const char *why, void *userdata), void *userdata);

/* retention_enforce now, logging each removal (and a failure). */
void retention_apply(const char *output, const struct retention_limits *l);
