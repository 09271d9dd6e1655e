#include "../source.h"

#include <errno.h>
#include <stdlib.h>

#include "../bindings.h"

/* Every source of this build, indexed by the metric table's source ids. */
static const struct source_ops *const all[_METRIC_SOURCE_MAX] = {
        [METRIC_SOURCE_PROC] = &proc_source,
        [METRIC_SOURCE_CGROUP] = &cgroup_source,
        [METRIC_SOURCE_PSI] = &psi_source,
        [METRIC_SOURCE_JVM] = &jvm_source,
        [METRIC_SOURCE_GO] = &go_source,
        [METRIC_SOURCE_DOTNET] = &dotnet_source,
};

struct sources {
        void *state[_METRIC_SOURCE_MAX];
        metric_set serves[_METRIC_SOURCE_MAX];
        metric_set of_kind[2];          /* the metrics a process or a cgroup target has */
        metric_set named;               /* those only a rule names */
};

int sources_open(const struct source_env *env, struct sources **ret) {
        struct sources *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        for (int m = 0; m < METRIC_NAMED_FIRST; m++) {
                const struct metric_info *mi = metric_info((enum metric) m);
                s->serves[mi->source] |= METRIC_BIT(m);
                s->of_kind[mi->scope == METRIC_OF_CGROUP ? TARGET_CGROUP : TARGET_PROCESS] |= METRIC_BIT(m);
        }
        /* The slots of the metrics rules name, named or not yet (a reload
         * may name one): every form is the .NET source's, of a process
         * (metric.h). */
        for (int m = METRIC_NAMED_FIRST; m <= METRIC_NAMED_LAST; m++) {
                s->serves[METRIC_SOURCE_DOTNET] |= METRIC_BIT(m);
                s->of_kind[TARGET_PROCESS] |= METRIC_BIT(m);
                s->named |= METRIC_BIT(m);
        }
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

metric_set sources_metrics_of(const struct sources *s, const struct target *tg) {
        return s->of_kind[tg->id.kind] & ~s->named;
}

int sources_read(struct sources *s, struct target *tg, metric_set want, struct reading *ret) {
        struct reading r = {};
        /* A source reads only the kind of target its metrics are of. */
        want &= s->of_kind[tg->id.kind];
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

double sources_reference(struct sources *s, struct target *tg, enum metric m, const char **ret_what) {
        enum metric_source i = metric_info(m)->source;
        *ret_what = NULL;
        return all[i]->reference(s->state[i], tg, m, ret_what);
}

int sources_arm(struct sources *s, struct binding *b) {
        enum metric_source i = metric_info(b->rule->metric)->source;
        return all[i]->arm ? all[i]->arm(s->state[i], b) : -EOPNOTSUPP;
}
