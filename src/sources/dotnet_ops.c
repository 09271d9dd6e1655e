#include "dotnet_ops.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define OPS_OPEN 4096
#define OPS_KEPT 65536

static const struct {
        const char *provider, *start, *stop;
} kinds[_DOTNET_OP_MAX] = {
        [DOTNET_OP_HTTP] = { "System.Net.Http", "RequestStart", "RequestStop" },
        [DOTNET_OP_DNS] = { "System.Net.NameResolution", "ResolutionStart", "ResolutionStop" },
        [DOTNET_OP_TLS] = { "System.Net.Security", "HandshakeStart", "HandshakeStop" },
        [DOTNET_OP_ASPNET] = { "Microsoft.AspNetCore.Hosting", "RequestStart", "RequestStop" },
};

struct open_op {
        uint8_t activity[16];
        uint64_t started;       /* 0: a free slot */
};

struct dotnet_ops {
        struct open_op open[OPS_OPEN];
        size_t next_slot;       /* where the next start goes when no slot is free: the oldest */
        double *kept[_DOTNET_OP_MAX];
        size_t n_kept[_DOTNET_OP_MAX];
};

int dotnet_ops_new(struct dotnet_ops **ret) {
        struct dotnet_ops *o = calloc(1, sizeof *o);
        if (!o)
                return -ENOMEM;
        *ret = o;
        return 0;
}

void dotnet_ops_free(struct dotnet_ops *o) {
        if (!o)
                return;
        for (int i = 0; i < _DOTNET_OP_MAX; i++)
                free(o->kept[i]);
        free(o);
}

static struct open_op *find(struct dotnet_ops *o, const uint8_t activity[16]) {
        for (size_t i = 0; i < OPS_OPEN; i++)
                if (o->open[i].started && memcmp(o->open[i].activity, activity, 16) == 0)
                        return &o->open[i];
        return NULL;
}

static void keep(struct dotnet_ops *o, enum dotnet_op op, double ms) {
        if (o->n_kept[op] == OPS_KEPT)
                return;
        if (!o->kept[op] && !(o->kept[op] = malloc(OPS_KEPT * sizeof *o->kept[op])))
                return;
        o->kept[op][o->n_kept[op]++] = ms;
}

void dotnet_ops_event(struct dotnet_ops *o, const struct nettrace_event *ev, uint64_t ticks_per_second) {
        static const uint8_t none[16];
        /* Without an activity id a start cannot be paired with its stop. */
        if (!ticks_per_second || memcmp(ev->activity, none, 16) == 0)
                return;
        for (int op = 0; op < _DOTNET_OP_MAX; op++) {
                if (strcmp(ev->meta->provider, kinds[op].provider) != 0)
                        continue;
                if (strcmp(ev->meta->name, kinds[op].start) == 0) {
                        struct open_op *slot = find(o, (const uint8_t[16]) {});
                        if (!slot) {
                                slot = &o->open[o->next_slot];
                                o->next_slot = (o->next_slot + 1) % OPS_OPEN;
                        }
                        memcpy(slot->activity, ev->activity, 16);
                        slot->started = ev->timestamp ? ev->timestamp : 1;
                } else if (strcmp(ev->meta->name, kinds[op].stop) == 0) {
                        struct open_op *slot = find(o, ev->activity);
                        if (!slot)
                                return;
                        if (ev->timestamp >= slot->started)
                                keep(o, (enum dotnet_op) op,
                                     (double) (ev->timestamp - slot->started) * 1000.0 / (double) ticks_per_second);
                        slot->started = 0;
                }
                return;
        }
}

static int by_value(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

bool dotnet_ops_p99(struct dotnet_ops *o, enum dotnet_op op, double *ret_ms) {
        size_t n = o->n_kept[op];
        if (!n)
                return false;
        qsort(o->kept[op], n, sizeof *o->kept[op], by_value);
        /* The smallest value at or above 99% of them (nearest rank). */
        size_t rank = (99 * n + 99) / 100;
        *ret_ms = o->kept[op][rank - 1];
        o->n_kept[op] = 0;
        return true;
}
