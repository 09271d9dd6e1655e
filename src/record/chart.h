/* A time chart of one series, kept as pixel columns: each column holds
 * the least and greatest value that fell in it (and when), so a chart of
 * any length draws in a fixed number of points and a one-sample spike is
 * never averaged away. Beside the values, the threshold each rule compared
 * them with: a `spike` as the moving mean × its factor, a % `above` as
 * that share of the recorded reference. Pure: tested without a recording. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "engine.h"
#include "metric.h"
#include "util.h"

#define CHART_COLUMNS 720

struct chart_column {
        unsigned n;
        double min, max;
        bool max_first;                 /* the max came before the min */
        /* Thresholds at the sample of the max (the one that would cross
         * them); NAN where none. */
        double above, spike;
};

struct chart_rule {
        const struct condition *cond;
        const char *name;
        unsigned window;
        double *recent;                 /* the last `window` values, for the spike's mean */
        size_t n_recent, next;
        double sum;
        struct chart_column cols[CHART_COLUMNS];
};

struct chart {
        enum metric metric;
        usec_t t0, t1;                  /* the x axis: every chart of a report shares it */
        struct chart_column cols[CHART_COLUMNS];
        struct chart_rule *rules;
        size_t n_rules;
        usec_t first, last;             /* of the samples added; 0: none */
};

int chart_init(struct chart *c, enum metric m, usec_t t0, usec_t t1);
/* A rule that read the series: its thresholds are drawn. */
int chart_add_rule(struct chart *c, const char *name, const struct condition *cond, unsigned window);
void chart_free(struct chart *c);
/* Adds a sample (in time order); `reference` is what a % is of, 0: none. */
void chart_add(struct chart *c, usec_t t, double value, double reference);
/* The column of time t. */
size_t chart_column_of(const struct chart *c, usec_t t);

/* Marks drawn on a chart: firings, live or replayed. */
struct chart_mark {
        usec_t t;
        const char *label;              /* the rule */
        const char *title;              /* hover text */
        const char *href;               /* the artifact; NULL: none */
        bool replayed;
};

/* Writes the chart as inline SVG, `width` × `height` pixels. */
void chart_write_svg(FILE *out, const struct chart *c, const struct chart_mark *marks, size_t n_marks, int width,
                     int height);
/* Writes `s` escaped for HTML text and attributes. */
void html_escape(FILE *out, const char *s);
/* Writes href="file://PATH" for a local path, percent-encoded (a space
 * or a '#' in a directory name must not end the URL). */
void html_file_href(FILE *out, const char *path);
