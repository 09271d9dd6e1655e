#include "dotnet_ops.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../p99.h"

#define OPS_OPEN 4096

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
        struct p99_window durations[_DOTNET_OP_MAX];
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
                p99_free(&o->durations[i]);
        free(o);
}

static struct open_op *find(struct dotnet_ops *o, const uint8_t activity[16]) {
        for (size_t i = 0; i < OPS_OPEN; i++)
                if (o->open[i].started && memcmp(o->open[i].activity, activity, 16) == 0)
                        return &o->open[i];
        return NULL;
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
                                p99_add(&o->durations[op],
                                        (double) (ev->timestamp - slot->started) * 1000.0 / (double) ticks_per_second);
                        slot->started = 0;
                }
                return;
        }
}

bool dotnet_ops_p99(struct dotnet_ops *o, enum dotnet_op op, double *ret_ms) {
        return p99_take(&o->durations[op], ret_ms);
}
