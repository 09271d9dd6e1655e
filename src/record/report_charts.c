#include "report_charts.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

const struct rec_artifact *report_artifact_of(const struct recording *rec, size_t firing) {
        for (size_t i = 0; i < rec->n_artifacts; i++)
                if (rec->artifacts[i].firing == firing && rec->artifacts[i].path)
                        return &rec->artifacts[i];
        return NULL;
}

/* The time axis spans the samples and every firing. */
static void span(struct report_charts *rc) {
        const struct recording *rec = rc->rec;
        rc->t0 = rec->first;
        rc->t1 = rec->last;
        for (size_t i = 0; i < rec->n_firings; i++) {
                usec_t t = rec->firings[i].t;
                rc->t0 = !rc->t0 || t < rc->t0 ? t : rc->t0;
                rc->t1 = t > rc->t1 ? t : rc->t1;
        }
}

struct ranked {
        size_t target;
        bool fired;
        uint64_t samples;
};

static int by_rank(const void *a, const void *b) {
        const struct ranked *x = a, *y = b;
        if (x->fired != y->fired)
                return x->fired ? -1 : 1;
        if (x->samples != y->samples)
                return x->samples > y->samples ? -1 : 1;
        return x->target < y->target ? -1 : x->target > y->target;
}

/* Targets that fired (live or in the replay) first, then those recorded
 * longest; at most REPORT_TARGETS_MAX. */
static int choose_targets(struct report_charts *rc, const uint64_t *counts) {
        const struct recording *rec = rc->rec;
        struct ranked *rank = calloc(rec->n_targets + 1, sizeof *rank);
        if (!rank)
                return -ENOMEM;
        for (size_t t = 0; t < rec->n_targets; t++)
                rank[t].target = t;
        for (size_t s = 0; s < rec->n_series; s++)
                rank[rec->series[s].target].samples += counts[s];
        for (size_t i = 0; i < rec->n_firings; i++)
                rank[rec->series[rec->firings[i].series].target].fired = true;
        for (size_t i = 0; rc->replay && i < rc->replay->n; i++)
                rank[rec->series[rc->replay->firings[i].series].target].fired = true;
        qsort(rank, rec->n_targets, sizeof *rank, by_rank);
        rc->drawn_targets = calloc(REPORT_TARGETS_MAX, sizeof *rc->drawn_targets);
        for (size_t i = 0; rc->drawn_targets && i < rec->n_targets && rc->n_drawn < REPORT_TARGETS_MAX; i++)
                if (rank[i].samples || rank[i].fired)
                        rc->drawn_targets[rc->n_drawn++] = rank[i].target;
        free(rank);
        return rc->drawn_targets ? 0 : -ENOMEM;
}

static int make_chart(struct report_charts *rc, size_t s) {
        const struct recording *rec = rc->rec;
        const struct rec_series *se = &rec->series[s];
        struct chart *c = malloc(sizeof *c);
        if (!c)
                return -ENOMEM;
        chart_init(c, se->metric, rc->t0, rc->t1);
        rc->by_series[s] = c;
        for (size_t k = 0; k < se->n_rules; k++) {
                const struct rec_rule *rule = &rec->rules[se->rules[k]];
                int r = chart_add_rule(c, rule->name, &rule->cond, rule->window);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void add_sample(size_t series, const struct rec_sample *s, void *userdata) {
        struct report_charts *rc = userdata;
        if (rc->by_series[series])
                chart_add(rc->by_series[series], s->t, s->value, s->reference);
}

int report_charts_build(struct report_charts *rc, const struct recording *rec, const struct report_replay *replay) {
        *rc = (struct report_charts) { .rec = rec, .replay = replay };
        span(rc);
        uint64_t *counts = calloc(rec->n_series + 1, sizeof *counts);
        rc->by_series = calloc(rec->n_series + 1, sizeof *rc->by_series);
        int r = counts && rc->by_series ? recording_count_samples(rec, counts) : -ENOMEM;
        if (r == 0)
                r = choose_targets(rc, counts);
        free(counts);
        for (size_t i = 0; r == 0 && i < rc->n_drawn; i++)
                for (size_t s = 0; r == 0 && s < rec->n_series; s++)
                        if (rec->series[s].target == rc->drawn_targets[i] && rec->series[s].known_metric)
                                r = make_chart(rc, s);
        if (r == 0)
                r = recording_each_sample(rec, 0, 0, add_sample, rc);
        return r;
}

void report_charts_free(struct report_charts *rc) {
        for (size_t s = 0; rc->by_series && s < rc->rec->n_series; s++)
                if (rc->by_series[s]) {
                        chart_free(rc->by_series[s]);
                        free(rc->by_series[s]);
                }
        free(rc->by_series);
        free(rc->drawn_targets);
}

static double timeline_x(const struct report_charts *rc, usec_t t, double left, double w) {
        if (t <= rc->t0 || rc->t1 <= rc->t0)
                return left;
        return left + w * (double) (t - rc->t0) / (double) (rc->t1 - rc->t0);
}

/* One row per drawn target: a bar while it was recorded, a tick at each
 * firing, so cause and effect across targets line up. */
void report_charts_write_timeline(FILE *out, const struct report_charts *rc) {
        const struct recording *rec = rc->rec;
        const double left = 220, w = 730, row = 20;
        int height = (int) (row * (double) rc->n_drawn + 30);
        fprintf(out, "<svg class=\"timeline\" width=\"960\" height=\"%d\" viewBox=\"0 0 960 %d\" role=\"img\">\n",
                height, height);
        for (size_t i = 0; i < rc->n_drawn; i++) {
                size_t t = rc->drawn_targets[i];
                usec_t first = 0, last = 0;
                for (size_t s = 0; s < rec->n_series; s++) {
                        const struct chart *c = rc->by_series[s];
                        if (rec->series[s].target != t || !c || !c->first)
                                continue;
                        first = !first || c->first < first ? c->first : first;
                        last = c->last > last ? c->last : last;
                }
                char what[160];
                rec_target_describe(&rec->targets[t], what, sizeof what);
                double y = row * (double) i + 4;
                fprintf(out, "<a href=\"#target-%zu\"><text class=\"ax\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">",
                        t, left - 6, y + 12);
                html_escape(out, what);
                fputs("</text></a>", out);
                if (first)
                        fprintf(out, "<rect class=\"life\" x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"12\"/>",
                                timeline_x(rc, first, left, w), y + 2,
                                fmax(2, timeline_x(rc, last, left, w) - timeline_x(rc, first, left, w)));
                for (size_t k = 0; k < rec->n_firings; k++) {
                        const struct rec_firing *f = &rec->firings[k];
                        if (rec->series[f->series].target != t)
                                continue;
                        double x = timeline_x(rc, f->t, left, w);
                        fprintf(out, "<g class=\"mark\"><title>");
                        html_escape(out, rec->rules[f->rule].name);
                        fprintf(out, "</title><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.0f\" y2=\"%.0f\"/></g>", x, x, y,
                                y + 16);
                }
                for (size_t k = 0; rc->replay && k < rc->replay->n; k++) {
                        const struct replay_firing *f = &rc->replay->firings[k];
                        if (rec->series[f->series].target != t)
                                continue;
                        double x = timeline_x(rc, f->t, left, w);
                        fprintf(out, "<g class=\"mark replay\"><title>replay: ");
                        html_escape(out, f->rule->name);
                        fprintf(out, "</title><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.0f\" y2=\"%.0f\"/></g>", x, x, y,
                                y + 16);
                }
                fputc('\n', out);
        }
        char when[40];
        for (int k = 0; k <= 4; k++) {
                format_utc(rc->t0 + (usec_t) ((double) (rc->t1 - rc->t0) * k / 4), false, when, sizeof when);
                fprintf(out, "<text class=\"ax\" x=\"%.0f\" y=\"%d\" text-anchor=\"%s\">%.8s</text>\n",
                        left + w * k / 4, height - 6, k == 0 ? "start" : k == 4 ? "end" : "middle", when + 11);
        }
        fputs("</svg>\n", out);
}

/* The marks of one series: its firings, then the replay's. */
static size_t series_marks(const struct report_charts *rc, size_t s, struct chart_mark *marks, char (*titles)[256]) {
        const struct recording *rec = rc->rec;
        size_t n = 0;
        char v[32], thr[32], when[40];
        for (size_t k = 0; k < rec->n_firings; k++) {
                const struct rec_firing *f = &rec->firings[k];
                if (f->series != s)
                        continue;
                const struct rec_artifact *a = report_artifact_of(rec, k);
                metric_format(rec->series[s].metric, f->value, v, sizeof v);
                metric_format(rec->series[s].metric, f->threshold, thr, sizeof thr);
                format_utc(f->t, false, when, sizeof when);
                snprintf(titles[n], sizeof titles[n], "%s at %s: %s > %s (%s); %s%s%s", rec->rules[f->rule].name, when,
                         v, thr, f->condition ? f->condition : "?", f->status ? f->status : "?",
                         a ? ": " : f->reason ? ": " : "", a ? a->path : f->reason ? f->reason : "");
                marks[n] = (struct chart_mark) { .t = f->t, .label = rec->rules[f->rule].name, .title = titles[n],
                                                 .href = a ? a->path : NULL };
                n++;
        }
        for (size_t k = 0; rc->replay && k < rc->replay->n; k++) {
                const struct replay_firing *f = &rc->replay->firings[k];
                if (f->series != s)
                        continue;
                metric_format(rec->series[s].metric, f->decision.value, v, sizeof v);
                metric_format(rec->series[s].metric, f->decision.threshold, thr, sizeof thr);
                format_utc(f->t, false, when, sizeof when);
                snprintf(titles[n], sizeof titles[n], "replay: %s would fire at %s: %s > %s (%s)", f->rule->name,
                         when, v, thr, trigger_kind_to_string(f->decision.trigger));
                marks[n] = (struct chart_mark) { .t = f->t, .label = f->rule->name, .title = titles[n],
                                                 .replayed = true };
                n++;
        }
        return n;
}

static size_t marks_upper_bound(const struct report_charts *rc, size_t s) {
        size_t n = 0;
        for (size_t k = 0; k < rc->rec->n_firings; k++)
                n += rc->rec->firings[k].series == s;
        for (size_t k = 0; rc->replay && k < rc->replay->n; k++)
                n += rc->replay->firings[k].series == s;
        return n;
}

static void write_series(FILE *out, const struct report_charts *rc, size_t s) {
        const struct recording *rec = rc->rec;
        const struct rec_series *se = &rec->series[s];
        size_t cap = marks_upper_bound(rc, s);
        struct chart_mark *marks = calloc(cap + 1, sizeof *marks);
        char(*titles)[256] = calloc(cap + 1, sizeof *titles);
        size_t n = marks && titles ? series_marks(rc, s, marks, titles) : 0;
        char iv[32];
        format_duration(se->interval, iv, sizeof iv);
        fprintf(out, "<h4>%s <small>every %s", metric_info(se->metric)->name, iv);
        for (size_t k = 0; k < se->n_rules; k++) {
                const struct rec_rule *rule = &rec->rules[se->rules[k]];
                fputs(k ? "; " : " — ", out);
                html_escape(out, rule->name);
                fputs(": ", out);
                html_escape(out, rule->condition_text);
        }
        fputs("</small></h4>\n", out);
        chart_write_svg(out, rc->by_series[s], marks, n, 960, 170);
        free(marks);
        free(titles);
}

void report_charts_write_targets(FILE *out, const struct report_charts *rc) {
        const struct recording *rec = rc->rec;
        for (size_t i = 0; i < rc->n_drawn; i++) {
                size_t t = rc->drawn_targets[i];
                const struct rec_target *tg = &rec->targets[t];
                char what[160];
                rec_target_describe(tg, what, sizeof what);
                fprintf(out, "<section id=\"target-%zu\"><h3>", t);
                html_escape(out, what);
                fputs("</h3>\n<p class=\"cmd\">", out);
                html_escape(out, tg->is_cgroup ? "" : tg->cmdline);
                if (tg->cgroup && !tg->is_cgroup) {
                        fputs(" <small>in ", out);
                        html_escape(out, tg->cgroup);
                        fputs("</small>", out);
                }
                fputs("</p>\n", out);
                for (size_t s = 0; s < rec->n_series; s++)
                        if (rec->series[s].target == t && rc->by_series[s])
                                write_series(out, rc, s);
                fputs("</section>\n", out);
        }
}
