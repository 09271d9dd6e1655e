#include "bindings.h"

#include <string.h>

/* History kept per (rule, target) for trigger.json, beyond the window. */
#define HISTORY_MIN 20

int binding_table_init(struct binding_table *t, size_t buckets) {
        *t = (struct binding_table) { .buckets = calloc(buckets, sizeof *t->buckets), .n_buckets = buckets };
        return t->buckets ? 0 : -ENOMEM;
}

static void binding_free(struct binding *b) {
        loop_source_free(b->event);
        if (b->event_fd >= 0)
                close(b->event_fd);
        engine_state_free(&b->engine);
        free(b);
}

void binding_table_free(struct binding_table *t) {
        for (size_t i = 0; i < t->n_buckets; i++)
                for (struct binding *b = t->buckets[i], *next; b; b = next) {
                        next = b->next;
                        binding_free(b);
                }
        free(t->buckets);
        *t = (struct binding_table) {};
}

static uint64_t key_hash(const char *rule, const struct target_id *id) {
        uint64_t h = UINT64_C(14695981039346656037);    /* FNV-1a */
        for (const unsigned char *p = (const unsigned char *) rule; *p; p++)
                h = (h ^ *p) * UINT64_C(1099511628211);
        return h ^ target_id_hash(id);
}

static struct binding **bucket_of(const struct binding_table *t, const char *rule, const struct target_id *id) {
        return &t->buckets[key_hash(rule, id) % t->n_buckets];
}

struct binding *bindings_find(const struct binding_table *t, const char *rule, const struct target_id *id) {
        for (struct binding *b = *bucket_of(t, rule, id); b; b = b->next)
                if (strcmp(b->rule->name, rule) == 0 && target_id_equal(&b->target->id, id))
                        return b;
        return NULL;
}

/* Keeps chains short as targets come: twice the buckets past two bindings
 * a bucket. A failed allocation just leaves the chains longer. */
static void maybe_grow(struct binding_table *t) {
        if (t->count < 2 * t->n_buckets)
                return;
        size_t n = 2 * t->n_buckets;
        struct binding **buckets = calloc(n, sizeof *buckets);
        if (!buckets)
                return;
        struct binding_table grown = { .buckets = buckets, .n_buckets = n, .count = t->count };
        for (size_t i = 0; i < t->n_buckets; i++)
                for (struct binding *b = t->buckets[i], *next; b; b = next) {
                        next = b->next;
                        struct binding **slot = bucket_of(&grown, b->rule->name, &b->target->id);
                        b->next = *slot;
                        *slot = b;
                }
        free(t->buckets);
        *t = grown;
}

int bindings_add(struct binding_table *t, const struct rule *rule, struct target *tg, struct binding **ret) {
        if (bindings_find(t, rule->name, &tg->id))
                return -EEXIST;
        struct binding *b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        *b = (struct binding) { .rule = rule, .target = tg, .event_fd = -1 };
        size_t window = rule->window;
        int r = engine_state_init(&b->engine, window, 2 * window > HISTORY_MIN ? 2 * window : HISTORY_MIN);
        if (r >= 0 && rule->cond.has_growth && (r = engine_state_init_trend(&b->engine, rule->cond.over)) < 0)
                engine_state_free(&b->engine);
        if (r >= 0 && (r = target_add_binding(tg, b)) < 0)
                engine_state_free(&b->engine);
        if (r < 0) {
                free(b);
                return r;
        }
        maybe_grow(t);
        struct binding **slot = bucket_of(t, rule->name, &tg->id);
        b->next = *slot;
        *slot = b;
        t->count++;
        *ret = b;
        return 0;
}

void bindings_remove_target(struct binding_table *t, struct target *tg) {
        for (size_t i = 0; i < tg->n_bindings; i++) {
                struct binding *b = tg->bindings[i];
                for (struct binding **p = bucket_of(t, b->rule->name, &tg->id); *p; p = &(*p)->next)
                        if (*p == b) {
                                *p = b->next;
                                t->count--;
                                break;
                        }
                binding_free(b);
        }
        free(tg->bindings);
        tg->bindings = NULL;
        tg->n_bindings = 0;
}

size_t bindings_carry_over(struct binding_table *to, struct binding_table *from) {
        size_t moved = 0;
        for (size_t i = 0; i < to->n_buckets; i++)
                for (struct binding *b = to->buckets[i]; b; b = b->next) {
                        struct binding *old = bindings_find(from, b->rule->name, &b->target->id);
                        /* Another metric or window makes the old samples
                         * mean something else: start afresh. */
                        if (!old || old->rule->metric != b->rule->metric || old->rule->window != b->rule->window ||
                            old->rule->cond.has_growth != b->rule->cond.has_growth ||
                            old->rule->cond.over != b->rule->cond.over)
                                continue;
                        struct engine_state engine = b->engine;
                        b->engine = old->engine;
                        old->engine = engine;
                        b->prev = old->prev;
                        b->next_due = old->next_due;
                        moved++;
                }
        return moved;
}
