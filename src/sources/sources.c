#include "../source.h"

#include <errno.h>
#include <stdlib.h>

/* Every source of this build, indexed by the metric table's source ids. */
static const struct source_ops *const all[_METRIC_SOURCE_MAX] = {
        [METRIC_SOURCE_PROC] = &proc_source,
};

struct sources {
        void *state[_METRIC_SOURCE_MAX];
        metric_set serves[_METRIC_SOURCE_MAX];
};

int sources_open(const struct source_env *env, struct sources **ret) {
        struct sources *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        for (int m = 0; m < _METRIC_MAX; m++)
                s->serves[metric_info((enum metric) m)->source] |= METRIC_BIT(m);
        for (int i = 0; i < _METRIC_SOURCE_MAX; i++) {
                int r = all[i]->open(env, &s->state[i]);
                if (r < 0) {
                        sources_close(s);
                        return r;
                }
        }
        *ret = s;
        return 0;
}

void sources_close(struct sources *s) {
        if (!s)
                return;
        for (int i = 0; i < _METRIC_SOURCE_MAX; i++)
                if (s->state[i])
                        all[i]->close(s->state[i]);
        free(s);
}

int sources_read(struct sources *s, struct target *tg, metric_set want, struct reading *ret) {
        struct reading r = {};
        for (int i = 0; i < _METRIC_SOURCE_MAX; i++) {
                metric_set part = want & s->serves[i];
                if (!part)
                        continue;
                int e = all[i]->read(s->state[i], tg, part, &r);
                if (e < 0)
                        return e;
        }
        *ret = r;
        return 0;
}

double sources_reference(struct sources *s, const struct target *tg, enum metric m) {
        enum metric_source i = metric_info(m)->source;
        return all[i]->reference(s->state[i], tg, m);
}
