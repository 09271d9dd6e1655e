/* The drawn half of the report: which series get a chart (targets that
 * fired first, then the longest recorded), one pass over the samples to
 * fill them, the timeline across targets, and a section per target. */
#pragma once

#include <stdio.h>

#include "chart.h"
#include "report.h"

/* Charts are drawn for at most this many targets; the rest are counted. */
#define REPORT_TARGETS_MAX 60

struct report_charts {
        const struct recording *rec;
        const struct report_replay *replay;
        struct chart **by_series;       /* NULL: not drawn */
        size_t *drawn_targets;          /* in the order they are shown */
        size_t n_drawn;
        usec_t t0, t1;                  /* the shared time axis */
};

int report_charts_build(struct report_charts *rc, const struct recording *rec, const struct report_replay *replay);
void report_charts_free(struct report_charts *rc);
void report_charts_write_timeline(FILE *out, const struct report_charts *rc);
void report_charts_write_targets(FILE *out, const struct report_charts *rc);
/* The first artifact of a live firing, or NULL. */
const struct rec_artifact *report_artifact_of(const struct recording *rec, size_t firing);
