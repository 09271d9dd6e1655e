#include "consumer.h"

#include <errno.h>

int consumers_add(struct consumers *c, consumer_fn fn, void *userdata) {
        if (c->n == CONSUMERS_MAX)
                return -ENOSPC;
        c->items[c->n].fn = fn;
        c->items[c->n].userdata = userdata;
        c->n++;
        return 0;
}

void consumers_feed(const struct consumers *c, const struct sample_event *ev) {
        for (size_t i = 0; i < c->n; i++)
                c->items[i].fn(ev, c->items[i].userdata);
}
