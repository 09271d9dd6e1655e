#include "chart.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void columns_reset(struct chart_column *cols) {
        for (size_t i = 0; i < CHART_COLUMNS; i++)
                cols[i] = (struct chart_column) { .above = NAN, .spike = NAN };
}

int chart_init(struct chart *c, enum metric m, usec_t t0, usec_t t1) {
        *c = (struct chart) { .metric = m, .t0 = t0, .t1 = t1 > t0 ? t1 : t0 + 1 };
        columns_reset(c->cols);
        return 0;
}

int chart_add_rule(struct chart *c, const char *name, const struct condition *cond, unsigned window) {
        struct chart_rule *grown = realloc(c->rules, (c->n_rules + 1) * sizeof *grown);
        if (!grown)
                return -ENOMEM;
        c->rules = grown;
        struct chart_rule *r = &grown[c->n_rules];
        *r = (struct chart_rule) { .cond = cond, .name = name, .window = window ? window : 1 };
        if (!(r->recent = calloc(r->window, sizeof *r->recent)))
                return -ENOMEM;
        columns_reset(r->cols);
        c->n_rules++;
        return 0;
}

void chart_free(struct chart *c) {
        for (size_t i = 0; i < c->n_rules; i++)
                free(c->rules[i].recent);
        free(c->rules);
        c->rules = NULL;
        c->n_rules = 0;
}

size_t chart_column_of(const struct chart *c, usec_t t) {
        if (t <= c->t0)
                return 0;
        double x = (double) (t - c->t0) / (double) (c->t1 - c->t0) * CHART_COLUMNS;
        return x >= CHART_COLUMNS ? CHART_COLUMNS - 1 : (size_t) x;
}

/* Keeps the min and max of a column, and which came first, so the line
 * drawn through them keeps the order the values had. */
static bool column_add(struct chart_column *col, double v) {
        bool new_max = col->n == 0 || v > col->max;
        if (col->n == 0) {
                col->min = col->max = v;
                col->max_first = false;
        } else if (v > col->max) {
                col->max = v;
                col->max_first = false;
        } else if (v < col->min) {
                col->min = v;
                col->max_first = true;
        }
        col->n++;
        return new_max;
}

/* The thresholds the live engine compared `value` with: the spike's mean
 * is of the `window` values before it, as in engine.c. */
static void rule_add(struct chart_rule *r, struct chart_column *col, bool at_max, double value, double reference) {
        const struct condition *c = r->cond;
        double above = NAN, spike = NAN;
        if (c->has_above)
                above = !c->above_is_pct ? c->above : reference > 0 ? c->above * reference / 100 : NAN;
        if (c->has_spike && r->n_recent == r->window)
                spike = r->sum / (double) r->window * (1 + c->spike_pct / 100);
        if (at_max) {
                col->above = above;
                col->spike = spike;
        }
        if (r->n_recent == r->window)
                r->sum -= r->recent[r->next];
        else
                r->n_recent++;
        r->recent[r->next] = value;
        r->sum += value;
        r->next = (r->next + 1) % r->window;
}

void chart_add(struct chart *c, usec_t t, double value, double reference) {
        if (!isfinite(value))
                return;
        size_t i = chart_column_of(c, t);
        bool at_max = column_add(&c->cols[i], value);
        for (size_t k = 0; k < c->n_rules; k++)
                rule_add(&c->rules[k], &c->rules[k].cols[i], at_max, value, reference);
        if (!c->first)
                c->first = t;
        c->last = t;
}

void html_escape(FILE *out, const char *s) {
        for (; s && *s; s++) {
                unsigned char ch = (unsigned char) *s;
                switch (ch) {
                case '&': fputs("&amp;", out); break;
                case '<': fputs("&lt;", out); break;
                case '>': fputs("&gt;", out); break;
                case '"': fputs("&quot;", out); break;
                case '\'': fputs("&#39;", out); break;
                default:
                        /* Control characters as their pictures (U+2400…). */
                        if (ch < 0x20 || ch == 0x7f)
                                fprintf(out, "&#x%x;", ch == 0x7f ? 0x2421 : 0x2400 + ch);
                        else
                                fputc(ch, out);
                }
        }
}

void html_file_href(FILE *out, const char *path) {
        fputs("href=\"file://", out);
        for (const unsigned char *p = (const unsigned char *) path; *p; p++)
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                    strchr("/-._~", *p))
                        fputc(*p, out);
                else
                        fprintf(out, "%%%02X", *p);
        fputc('"', out);
}

struct frame {
        double left, top, plot_w, plot_h, ymax;
};

static double x_of(const struct frame *f, size_t col) {
        return f->left + ((double) col + 0.5) * f->plot_w / CHART_COLUMNS;
}

static double y_of(const struct frame *f, double v) {
        return f->top + f->plot_h - (v / f->ymax) * f->plot_h;
}

static double chart_ymax(const struct chart *c) {
        double m = 0;
        for (size_t i = 0; i < CHART_COLUMNS; i++) {
                if (c->cols[i].n && c->cols[i].max > m)
                        m = c->cols[i].max;
                for (size_t k = 0; k < c->n_rules; k++) {
                        const struct chart_column *rc = &c->rules[k].cols[i];
                        if (isfinite(rc->above) && rc->above > m)
                                m = rc->above;
                        if (isfinite(rc->spike) && rc->spike > m)
                                m = rc->spike;
                }
        }
        return m > 0 ? m * 1.08 : 1;
}

static void write_values_path(FILE *out, const struct chart *c, const struct frame *f) {
        fputs("<path class=\"v\" d=\"", out);
        char op = 'M';
        for (size_t i = 0; i < CHART_COLUMNS; i++) {
                const struct chart_column *col = &c->cols[i];
                if (!col->n)
                        continue;
                double a = col->max_first ? col->max : col->min, b = col->max_first ? col->min : col->max;
                fprintf(out, "%c%.1f %.1f", op, x_of(f, i), y_of(f, a));
                if (b != a)
                        fprintf(out, "L%.1f %.1f", x_of(f, i), y_of(f, b));
                op = 'L';
        }
        fputs("\"/>\n", out);
}

/* A threshold line, broken where it is not defined (warm-up, no
 * reference); columns without samples are passed over. */
static void write_threshold_path(FILE *out, const struct chart *c, const struct chart_rule *r, bool spike,
                                 const struct frame *f) {
        const char *cls = spike ? "spike" : "above";
        bool started = false, drawing = false;
        for (size_t i = 0; i < CHART_COLUMNS; i++) {
                if (!c->cols[i].n)
                        continue;
                double v = spike ? r->cols[i].spike : r->cols[i].above;
                if (!isfinite(v)) {
                        drawing = false;
                        continue;
                }
                if (!started)
                        fprintf(out, "<path class=\"%s\" d=\"", cls);
                fprintf(out, "%c%.1f %.1f", drawing ? 'L' : 'M', x_of(f, i), y_of(f, v));
                started = drawing = true;
        }
        if (!started)
                return;
        fputs("\"><title>", out);
        html_escape(out, r->name);
        fprintf(out, ": %s threshold</title></path>\n", cls);
}

static void write_axes(FILE *out, const struct chart *c, const struct frame *f) {
        char v[32], when[40];
        for (int k = 0; k <= 2; k++) {
                double val = f->ymax / 1.08 * k / 2;
                metric_format(c->metric, val, v, sizeof v);
                fprintf(out, "<text class=\"ax\" x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%s</text>"
                             "<line class=\"grid\" x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\"/>\n",
                        f->left - 4, y_of(f, val) + 4, v, f->left, f->left + f->plot_w, y_of(f, val), y_of(f, val));
        }
        for (int k = 0; k <= 4; k++) {
                usec_t t = c->t0 + (usec_t) ((double) (c->t1 - c->t0) * k / 4);
                format_utc(t, false, when, sizeof when);
                /* "2026-11-23T02:13:05.123Z": the time of day is enough on an
                 * axis; the summary says the date. */
                fprintf(out, "<text class=\"ax\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"%s\">%.8s</text>\n",
                        f->left + f->plot_w * k / 4, f->top + f->plot_h + 14, k == 0 ? "start" : k == 4 ? "end" : "middle",
                        when + 11);
        }
}

static void write_marks(FILE *out, const struct chart *c, const struct chart_mark *marks, size_t n,
                        const struct frame *f) {
        for (size_t i = 0; i < n; i++) {
                const struct chart_mark *m = &marks[i];
                double x = x_of(f, chart_column_of(c, m->t));
                if (m->href) {
                        fputs("<a ", out);
                        html_file_href(out, m->href);
                        fputs(">", out);
                }
                fprintf(out, "<g class=\"%s\"><title>", m->replayed ? "mark replay" : "mark");
                html_escape(out, m->title);
                fprintf(out, "</title><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.0f\" y2=\"%.0f\"/>"
                             "<text x=\"%.1f\" y=\"%.0f\">",
                        x, x, f->top, f->top + f->plot_h, x + 3, f->top + (m->replayed ? 20 : 8));
                html_escape(out, m->label);
                fputs("</text></g>", out);
                fputs(m->href ? "</a>\n" : "\n", out);
        }
}

/* The columns for the hover script: "column,min,max;…". */
static void write_hover_data(FILE *out, const struct chart *c) {
        fputs(" data-cols=\"", out);
        for (size_t i = 0; i < CHART_COLUMNS; i++)
                if (c->cols[i].n)
                        fprintf(out, "%zu,%.6g,%.6g;", i, c->cols[i].min, c->cols[i].max);
        fputc('"', out);
}

void chart_write_svg(FILE *out, const struct chart *c, const struct chart_mark *marks, size_t n_marks, int width,
                     int height) {
        struct frame f = { .left = 72, .top = 12, .plot_w = width - 82, .plot_h = height - 34, .ymax = chart_ymax(c) };
        static const char *const kinds[] = { [METRIC_KIND_CORES] = "cores", [METRIC_KIND_BYTES] = "bytes",
                                             [METRIC_KIND_COUNT] = "count", [METRIC_KIND_PERCENT] = "percent" };
        fprintf(out, "<svg class=\"chart\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
                     "data-t0=\"%llu\" data-t1=\"%llu\" data-left=\"%.0f\" data-w=\"%.0f\" data-n=\"%d\" "
                     "data-kind=\"%s\"",
                width, height, width, height, (unsigned long long) c->t0, (unsigned long long) c->t1, f.left, f.plot_w,
                CHART_COLUMNS, kinds[metric_info(c->metric)->kind]);
        write_hover_data(out, c);
        fputs(">\n", out);
        write_axes(out, c, &f);
        for (size_t k = 0; k < c->n_rules; k++) {
                write_threshold_path(out, c, &c->rules[k], false, &f);
                write_threshold_path(out, c, &c->rules[k], true, &f);
        }
        write_values_path(out, c, &f);
        write_marks(out, c, marks, n_marks, &f);
        fputs("</svg>\n", out);
}
