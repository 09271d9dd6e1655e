#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report_charts.h"
#include "units.h"
#include "version.h"

static const char style[] =
        "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:980px;color:#222}"
        "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}"
        "h3{font-size:1.05em;margin:1.4em 0 .2em}h4{margin:.8em 0 0;font-size:.95em}"
        "small{color:#666;font-weight:normal}table{border-collapse:collapse;margin:.4em 0}"
        "td,th{border:1px solid #ddd;padding:2px 8px;text-align:left;vertical-align:top}"
        "td.n{text-align:right}.cmd{font-family:monospace;font-size:.85em;color:#444;word-break:break-all;margin:0}"
        ".bad{color:#b00}.ax{font-size:10px;fill:#666}.grid{stroke:#eee}"
        "path.v{fill:none;stroke:#1f5fbf;stroke-width:1.2}path.above{fill:none;stroke:#c00;stroke-dasharray:6 3}"
        "path.spike{fill:none;stroke:#d80;stroke-dasharray:3 3}.mark line{stroke:#c00;stroke-width:1.5}"
        ".mark text{font-size:10px;fill:#c00}.replay line{stroke:#7a3fbf;stroke-dasharray:4 2}"
        ".replay text{fill:#7a3fbf}.life{fill:#cfe0f7}#tip{position:fixed;display:none;background:#fff;"
        "border:1px solid #999;padding:2px 6px;font-size:12px;pointer-events:none}";

/* The value under the pointer. The page reads the same without it. */
static const char script[] =
        "(function(){var tip=document.getElementById('tip');"
        "function fmt(k,v){if(k==='bytes'){var u=['B','KiB','MiB','GiB','TiB'],i=0;"
        "while(Math.abs(v)>=1024&&i<4){v/=1024;i++}return v.toFixed(1)+u[i]}"
        "if(k==='cores'||k==='percent')return v.toFixed(1)+'%';return String(Math.round(v*100)/100)}"
        "document.querySelectorAll('svg.chart').forEach(function(svg){"
        "var cols=[];(svg.dataset.cols||'').split(';').forEach(function(c){if(c){var p=c.split(',');"
        "cols.push([+p[0],+p[1],+p[2]])}});var t0=+svg.dataset.t0,t1=+svg.dataset.t1,"
        "left=+svg.dataset.left,w=+svg.dataset.w,n=+svg.dataset.n;"
        "svg.addEventListener('mousemove',function(e){var r=svg.getBoundingClientRect();"
        "var col=Math.floor((e.clientX-r.left-left)/w*n),best=null;"
        "cols.forEach(function(c){if(!best||Math.abs(c[0]-col)<Math.abs(best[0]-col))best=c});"
        "if(!best||Math.abs(best[0]-col)>n/50){tip.style.display='none';return}"
        "var t=new Date((t0+(t1-t0)*(best[0]+0.5)/n)/1000).toISOString().replace('T',' ').slice(0,19);"
        "var k=svg.dataset.kind;tip.textContent=t+'  '+(best[1]===best[2]?fmt(k,best[1]):"
        "fmt(k,best[1])+' \\u2026 '+fmt(k,best[2]));tip.style.left=(e.clientX+12)+'px';"
        "tip.style.top=(e.clientY+12)+'px';tip.style.display='block'});"
        "svg.addEventListener('mouseleave',function(){tip.style.display='none'})})})();";

static void write_time(FILE *out, usec_t t) {
        char when[40];
        format_utc(t, false, when, sizeof when);
        fputs(when, out);
}

static void write_head(FILE *out, const struct recording *rec) {
        fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
              "<meta name=\"viewport\" content=\"width=device-width\">"
              "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
              "style-src 'unsafe-inline'; script-src 'unsafe-inline'\"><title>autodump report",
              out);
        for (size_t i = 0; i < rec->n_runs && i < 1; i++) {
                fputs(": ", out);
                html_escape(out, rec->runs[i].host);
        }
        fprintf(out, "</title>\n<style>%s</style></head><body>\n<div id=\"tip\"></div>\n", style);
}

/* "7h 12m", "3m 05s", "8s": a span as people say it. */
static void format_span(usec_t d, char *buf, size_t size) {
        unsigned long long s = d / USEC_PER_SEC;
        if (s >= 86400)
                snprintf(buf, size, "%llud %lluh", s / 86400, s % 86400 / 3600);
        else if (s >= 3600)
                snprintf(buf, size, "%lluh %02llum", s / 3600, s % 3600 / 60);
        else if (s >= 60)
                snprintf(buf, size, "%llum %02llus", s / 60, s % 60);
        else
                snprintf(buf, size, "%llus", s);
}

static void write_runs(FILE *out, const struct recording *rec) {
        char d[32];
        format_span(rec->last > rec->first ? rec->last - rec->first : 0, d, sizeof d);
        fputs("<table>\n<tr><th>span</th><td>", out);
        if (rec->first) {
                write_time(out, rec->first);
                fputs(" to ", out);
                write_time(out, rec->last);
                fprintf(out, " (%s)", d);
        } else
                fputs("no samples", out);
        fprintf(out, "</td></tr>\n<tr><th>targets</th><td>%zu, %" PRIu64 " samples</td></tr>\n", rec->n_targets,
                rec->n_samples);
        for (size_t i = 0; i < rec->n_runs; i++) {
                const struct rec_run *r = &rec->runs[i];
                fputs("<tr><th>run</th><td>", out);
                html_escape(out, r->mode);
                fputs(" on ", out);
                html_escape(out, r->host);
                fputs(", started ", out);
                write_time(out, r->started);
                if (r->command) {
                        fputs(": <span class=\"cmd\">", out);
                        html_escape(out, r->command);
                        fputs("</span>", out);
                }
                if (r->output) {
                        fputs("; artifacts in <a ", out);
                        html_file_href(out, r->output);
                        fputs(">", out);
                        html_escape(out, r->output);
                        fputs("</a>", out);
                }
                fputs("</td></tr>\n", out);
        }
        fputs("</table>\n", out);
}

/* Firings by rule: how many, and how each ended. */
static void write_rules(FILE *out, const struct recording *rec) {
        static const char *const ends[] = { "collected", "dropped", "failed", "dry-run", "collecting" };
        fputs("<h2>Firings by rule</h2>\n<table><tr><th>rule</th><th>metric</th><th>when</th><th>firings</th>", out);
        for (size_t e = 0; e < ELEMENTSOF(ends); e++)
                fprintf(out, "<th>%s</th>", ends[e]);
        fputs("</tr>\n", out);
        for (size_t k = 0; k < rec->n_rules; k++) {
                const struct rec_rule *rule = &rec->rules[k];
                unsigned n = 0, by_end[ELEMENTSOF(ends)] = {};
                for (size_t i = 0; i < rec->n_firings; i++) {
                        const struct rec_firing *f = &rec->firings[i];
                        /* A reload records the rules again: one row per name. */
                        if (strcmp(rec->rules[f->rule].name, rule->name) != 0)
                                continue;
                        n++;
                        for (size_t e = 0; e < ELEMENTSOF(ends); e++)
                                by_end[e] += f->status && strcmp(f->status, ends[e]) == 0;
                }
                bool seen = false;
                for (size_t j = 0; j < k && !seen; j++)
                        seen = strcmp(rec->rules[j].name, rule->name) == 0;
                if (seen)
                        continue;
                fputs("<tr><td>", out);
                html_escape(out, rule->name);
                fprintf(out, "</td><td>%s</td><td>", rule->known_metric ? metric_info(rule->metric)->name : "?");
                html_escape(out, rule->condition_text);
                fprintf(out, "</td><td class=\"n\">%u</td>", n);
                for (size_t e = 0; e < ELEMENTSOF(ends); e++)
                        fprintf(out, "<td class=\"n\">%u</td>", by_end[e]);
                fputs("</tr>\n", out);
        }
        fputs("</table>\n", out);
}

static void write_target_cell(FILE *out, const struct recording *rec, size_t series) {
        char what[160];
        rec_target_describe(&rec->targets[rec->series[series].target], what, sizeof what);
        fprintf(out, "<td><a href=\"#target-%zu\">", rec->series[series].target);
        html_escape(out, what);
        fputs("</a></td>", out);
}

static void write_artifacts(FILE *out, const struct recording *rec) {
        fputs("<h2>Artifacts</h2>\n", out);
        if (!rec->n_artifacts) {
                fputs("<p>None.</p>\n", out);
                return;
        }
        fputs("<table><tr><th>fired</th><th>rule</th><th>target</th><th>artifact</th><th>size</th><th>actions</th>"
              "</tr>\n",
              out);
        for (size_t i = 0; i < rec->n_artifacts; i++) {
                const struct rec_artifact *a = &rec->artifacts[i];
                const struct rec_firing *f = &rec->firings[a->firing];
                fputs("<tr><td>", out);
                write_time(out, f->t);
                fputs("</td><td>", out);
                html_escape(out, rec->rules[f->rule].name);
                fputs("</td>", out);
                write_target_cell(out, rec, f->series);
                fputs("<td>", out);
                if (a->path) {
                        fputs("<a ", out);
                        html_file_href(out, a->path);
                        fputs(">", out);
                        html_escape(out, strrchr(a->path, '/') ? strrchr(a->path, '/') + 1 : a->path);
                        fputs("</a>", out);
                }
                char size[32] = "?";
                if (a->bytes >= 0)
                        format_size((double) a->bytes, size, sizeof size);
                fprintf(out, "%s</td><td class=\"n\">%s</td><td>", a->complete ? "" : " <span class=\"bad\">(incomplete)</span>",
                        size);
                for (size_t k = 0; k < rec->n_actions; k++) {
                        const struct rec_action *x = &rec->actions[k];
                        if (x->artifact != i)
                                continue;
                        bool ok = x->status && strcmp(x->status, "ok") == 0;
                        fprintf(out, "<span%s>", ok ? "" : " class=\"bad\"");
                        html_escape(out, x->action);
                        fputs(": ", out);
                        html_escape(out, x->status);
                        fputs("</span> ", out);
                }
                fputs("</td></tr>\n", out);
        }
        fputs("</table>\n", out);
}

/* "TIME RULE[: ACTION] STATUS: why" */
static void write_failure(FILE *out, usec_t t, const char *rule, const char *action, const char *status,
                          const char *why) {
        fputs("<li>", out);
        write_time(out, t);
        fputs(" ", out);
        html_escape(out, rule);
        if (action) {
                fputs(": ", out);
                html_escape(out, action);
        }
        fputs(" <span class=\"bad\">", out);
        html_escape(out, status);
        fputs("</span>: ", out);
        html_escape(out, why ? why : "no reason recorded");
        fputs("</li>\n", out);
}

/* What did not work: captures that failed or were skipped, with why, and
 * firings never collected. */
static void write_failures(FILE *out, const struct recording *rec) {
        fputs("<h2>Failed or skipped captures</h2>\n<ul>\n", out);
        size_t n = 0;
        for (size_t k = 0; k < rec->n_actions; k++) {
                const struct rec_action *x = &rec->actions[k];
                if (x->status && strcmp(x->status, "ok") == 0)
                        continue;
                const struct rec_firing *f = &rec->firings[rec->artifacts[x->artifact].firing];
                write_failure(out, f->t, rec->rules[f->rule].name, x->action, x->status, x->error);
                n++;
        }
        for (size_t i = 0; i < rec->n_firings; i++) {
                const struct rec_firing *f = &rec->firings[i];
                if (!f->status || (strcmp(f->status, "dropped") != 0 && strcmp(f->status, "failed") != 0))
                        continue;
                write_failure(out, f->t, rec->rules[f->rule].name, NULL, f->status, f->reason);
                n++;
        }
        fputs(n ? "</ul>\n" : "<li>None.</li></ul>\n", out);
}

static void write_replay(FILE *out, const struct recording *rec, const struct report_replay *replay) {
        fputs("<h2>Replay</h2>\n<p>The rules of <code>", out);
        html_escape(out, replay->rules);
        fprintf(out, "</code> on this recording: %zu would-be firing%s, drawn in purple beside the real ones.</p>\n",
                replay->n, replay->n == 1 ? "" : "s");
        if (!replay->n)
                return;
        fputs("<table><tr><th>would fire</th><th>rule</th><th>target</th><th>value</th><th>threshold</th></tr>\n", out);
        for (size_t i = 0; i < replay->n; i++) {
                const struct replay_firing *f = &replay->firings[i];
                char v[32], thr[32];
                metric_format(f->rule->metric, f->decision.value, v, sizeof v);
                metric_format(f->rule->metric, f->decision.threshold, thr, sizeof thr);
                fputs("<tr><td>", out);
                write_time(out, f->t);
                fputs("</td><td>", out);
                html_escape(out, f->rule->name);
                fputs("</td>", out);
                write_target_cell(out, rec, f->series);
                fprintf(out, "<td class=\"n\">%s</td><td class=\"n\">%s (%s)</td></tr>\n", v, thr,
                        trigger_kind_to_string(f->decision.trigger));
        }
        fputs("</table>\n", out);
}

static int write_report(FILE *out, const struct recording *rec, const struct report_replay *replay) {
        struct report_charts rc;
        int r = report_charts_build(&rc, rec, replay);
        if (r < 0) {
                report_charts_free(&rc);
                return r;
        }
        write_head(out, rec);
        fputs("<h1>autodump report</h1>\n", out);
        write_runs(out, rec);
        write_rules(out, rec);
        write_artifacts(out, rec);
        write_failures(out, rec);
        if (replay)
                write_replay(out, rec, replay);
        fputs("<h2>Timeline</h2>\n", out);
        if (rec->n_targets > rc.n_drawn)
                fprintf(out, "<p>%zu targets drawn (those that fired first, then the longest recorded); %zu more "
                             "were recorded and are in the database.</p>\n",
                        rc.n_drawn, rec->n_targets - rc.n_drawn);
        report_charts_write_timeline(out, &rc);
        fputs("<h2>Targets</h2>\n<p><small>Lines: the recorded values (each pixel column its least and greatest); "
              "dashed red, an <code>above</code> threshold; dotted orange, a <code>spike</code> threshold (the mean "
              "of the window before × the factor); red marks, firings (linked to their artifacts)",
              out);
        fputs(replay ? "; purple marks, the replay's.</small></p>\n" : ".</small></p>\n", out);
        report_charts_write_targets(out, &rc);
        fprintf(out, "<p><small>autodump %s</small></p>\n<script>%s</script>\n</body></html>\n", AUTODUMP_VERSION,
                script);
        report_charts_free(&rc);
        return ferror(out) ? -EIO : 0;
}

int report_write_file(const struct recording *rec, const struct report_replay *replay, const char *path, char *err,
                      size_t err_size) {
        _cleanup_free_ char *tmp = NULL;
        if (asprintf(&tmp, "%s.tmp.%d", path, (int) getpid()) < 0) {
                snprintf(err, err_size, "out of memory");
                return -ENOMEM;
        }
        FILE *out = fopen(tmp, "wxe");
        if (!out) {
                snprintf(err, err_size, "%s", strerror(errno));
                return -errno;
        }
        int r = write_report(out, rec, replay);
        if (fclose(out) != 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                snprintf(err, err_size, "%s", r == -ENOMEM ? "out of memory" : strerror(-r));
        }
        return r;
}
