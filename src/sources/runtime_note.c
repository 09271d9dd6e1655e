#include "runtime_note.h"

#include <stdlib.h>

#include "../log.h"

#define BACKOFF_MAX (60 * USEC_PER_SEC)

struct runtime_note *runtime_note_of(struct target *tg, enum metric_source source, size_t size,
                                     void (*free_fn)(struct source_note *), struct runtime_note **list,
                                     const char *metrics) {
        if (!tg->notes[source]) {
                struct runtime_note *n = calloc(1, size);
                if (!n)
                        return NULL;
                *n = (struct runtime_note) { .note.free = free_fn, .list = list, .next = *list, .pid = tg->id.pid,
                                             .metrics = metrics };
                target_describe(tg, n->what, sizeof n->what);
                if (*list)
                        (*list)->prev = n;
                *list = n;
                tg->notes[source] = &n->note;
        }
        return (struct runtime_note *) tg->notes[source];
}

void runtime_note_unlist(struct runtime_note *n) {
        if (!n->list)
                return;
        if (n->prev)
                n->prev->next = n->next;
        else
                *n->list = n->next;
        if (n->next)
                n->next->prev = n->prev;
        n->list = NULL;
}

void runtime_note_failed(struct runtime_note *n, const char *why) {
        n->failures++;
        usec_t d = USEC_PER_SEC << (n->failures < 7 ? n->failures - 1 : 6);
        n->not_before = now_usec(CLOCK_MONOTONIC) + (d < BACKOFF_MAX ? d : BACKOFF_MAX);
        if (!n->said)
                log_msg(n->quiet ? LOG_DEBUG : LOG_WARNING, "%s: no %s metrics: %s", n->what, n->metrics, why);
        n->said = true;
}

void runtime_note_answered(struct runtime_note *n, const char *from) {
        if (n->said)
                log_info("%s: %s metrics from %s again", n->what, n->metrics, from);
        n->said = false;
        n->failures = 0;
}

bool runtime_note_backing_off(const struct runtime_note *n) {
        return now_usec(CLOCK_MONOTONIC) < n->not_before;
}
