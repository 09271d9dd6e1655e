#include "firing_queue.h"

#include <string.h>

#include "bindings.h"
#include "log.h"

int firing_job_new(const struct sample_event *ev, const struct decision *d, usec_t last_fire_before,
                   struct firing_job **ret) {
        struct firing_job *j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        *j = (struct firing_job) {
                .target = ev->target, .binding = ev->binding, .rule = ev->binding->rule, .decision = *d,
                .reference = ev->reference, .reference_what = ev->reference_what, .wall = ev->wall,
                .last_fire_before = last_fire_before,
        };
        int r = ring_copy(&ev->binding->engine.ring, &j->history);
        if (r < 0) {
                free(j);
                return r;
        }
        *ret = j;
        return 0;
}

void firing_job_free(struct firing_job *j) {
        if (!j)
                return;
        ring_free(&j->history);
        free(j);
}

static struct firing_job *waiting_for(const struct firing_queue *q, const struct target *tg) {
        for (struct firing_job *j = q->head; j; j = j->next)
                if (j->target == tg)
                        return j;
        return NULL;
}

int firing_queue_push(struct firing_queue *q, struct firing_job *j) {
        if (waiting_for(q, j->target))
                return -EEXIST;
        if (q->n >= q->max)
                return -ENOSPC;
        j->next = NULL;
        if (q->tail)
                q->tail->next = j;
        else
                q->head = j;
        q->tail = j;
        q->n++;
        return 0;
}

static void unlink_job(struct firing_queue *q, struct firing_job *j) {
        struct firing_job *prev = NULL;
        for (struct firing_job *k = q->head; k; prev = k, k = k->next)
                if (k == j) {
                        if (prev)
                                prev->next = j->next;
                        else
                                q->head = j->next;
                        if (q->tail == j)
                                q->tail = prev;
                        q->n--;
                        j->next = NULL;
                        return;
                }
}

struct firing_job *firing_queue_take_ready(struct firing_queue *q) {
        for (struct firing_job *j = q->head; j; j = j->next)
                if (!j->target->collection) {
                        unlink_job(q, j);
                        return j;
                }
        return NULL;
}

void firing_queue_drop(struct firing_queue *q, struct firing_job *j, const char *why, bool take_back) {
        char what[128];
        log_warning("%s: firing on %s dropped: %s", j->rule->name, target_describe(j->target, what, sizeof what), why);
        if (take_back && j->binding)
                engine_take_back_firing(&j->binding->engine, j->last_fire_before);
        if (q->on_drop)
                q->on_drop(j, why, q->on_drop_userdata);
        q->dropped++;
        firing_job_free(j);
}

void firing_queue_forget_target(struct firing_queue *q, struct target *tg) {
        struct firing_job *j = waiting_for(q, tg);
        if (j) {
                unlink_job(q, j);
                firing_queue_drop(q, j, "the target went before a collection slot was free", false);
        }
}

void firing_queue_free(struct firing_queue *q) {
        while (q->head) {
                struct firing_job *j = q->head;
                q->head = j->next;
                firing_job_free(j);
        }
        *q = (struct firing_queue) {};
}
