/* What the sources that ask a runtime over a connection of their own (Go's
 * pprof endpoint, .NET's diagnostics IPC) keep alike of each target: a
 * name for messages, the back-off after a failure, and whether why it
 * gives no values was said — once, until it gives values again, and only
 * at debug level when no rule asks (a `sample` of any process). The notes
 * are listed on their source, so a source that closes first can end the
 * requests its targets still have in flight. */
#pragma once

#include <stdbool.h>

#include "../source.h"

struct runtime_note {
        struct source_note note;
        struct runtime_note **list;     /* the source's list; NULL once it closed */
        struct runtime_note *prev, *next;
        char what[64];                  /* "gopprof[812]" */
        const char *metrics;            /* "go.*", for messages */
        pid_t pid;
        unsigned failures;
        usec_t not_before;              /* monotonic: asked again no sooner */
        bool said;
        bool quiet;
};

/* tg's note of `source`, made (`size` bytes, a struct that starts with a
 * runtime_note, zeroed, with `free_fn`) and listed at *list if it has none.
 * NULL when out of memory. */
struct runtime_note *runtime_note_of(struct target *tg, enum metric_source source, size_t size,
                                     void (*free_fn)(struct source_note *), struct runtime_note **list,
                                     const char *metrics);
/* Takes it off its source's list (in its free_fn). */
void runtime_note_unlist(struct runtime_note *n);
/* No values for now: says why once, and backs off 1, 2, 4 … 60 s. */
void runtime_note_failed(struct runtime_note *n, const char *why);
/* Values came: says so if it had said why not; the back-off starts over. */
void runtime_note_answered(struct runtime_note *n, const char *from);
bool runtime_note_backing_off(const struct runtime_note *n);
