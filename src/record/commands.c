/* `autodump replay` and `autodump report`: reading a recording. */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "json_text.h"
#include "log.h"
#include "replay.h"
#include "report.h"

static bool load_rules(const char *const *paths, size_t n, struct rule_set *rules) {
        struct diags diags = {};
        for (size_t i = 0; i < n; i++)
                rules_load_path(rules, paths[i], &diags);
        diags_print(&diags, stderr);
        bool ok = diags.n == 0;
        diags_free(&diags);
        return ok;
}

static int load_recording(const char *path, struct recording *rec) {
        char err[512];
        if (recording_load(path, rec, err, sizeof err) < 0) {
                fprintf(stderr, "autodump: %s: %s\n", path, err);
                return -1;
        }
        return 0;
}

struct printer {
        const struct recording *rec;
        bool json;
        unsigned n;
};

static void print_firing(const struct replay_firing *f, void *userdata) {
        struct printer *p = userdata;
        const struct rec_series *se = &p->rec->series[f->series];
        const struct rec_target *tg = &p->rec->targets[se->target];
        const struct decision *d = &f->decision;
        char when[40], what[160], v[32], thr[32], mean[32];
        format_utc(f->t, false, when, sizeof when);
        p->n++;
        if (p->json) {
                json_t *target = tg->is_cgroup ? json_pack("{s:o}", "cgroup", json_text(tg->cgroup))
                                               : json_pack("{s:i, s:I, s:o}", "pid", (int) tg->pid, "start_time",
                                                           (json_int_t) tg->start_time, "comm", json_text(tg->comm));
                json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:f, s:o, s:o, s:s}", "time", when, "rule", f->rule->name,
                                      "target", target, "metric", metric_info(f->rule->metric)->name, "value",
                                      d->value, "threshold", isfinite(d->threshold) ? json_real(d->threshold) : json_null(),
                                      "mean", isfinite(d->mean) ? json_real(d->mean) : json_null(), "condition",
                                      trigger_kind_to_string(d->trigger));
                char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
                printf("%s\n", text);
                free(text);
                json_decref(o);
                return;
        }
        rec_target_describe(tg, what, sizeof what);
        metric_format(f->rule->metric, d->value, v, sizeof v);
        metric_format(f->rule->metric, d->threshold, thr, sizeof thr);
        metric_format(f->rule->metric, d->mean, mean, sizeof mean);
        if (d->trigger == TRIGGER_GROWTH)
                printf("%s %s %s %s %s (growth)\n", when, f->rule->name, what, metric_info(f->rule->metric)->name, v);
        else
                printf("%s %s %s %s %s > %s (%s; mean %s)\n", when, f->rule->name, what,
                       metric_info(f->rule->metric)->name, v, thr, trigger_kind_to_string(d->trigger),
                       isfinite(d->mean) ? mean : "-");
}

static int parse_span(const struct common *c, usec_t *from, usec_t *to) {
        if (c->from && parse_time_arg(c->from, from) < 0)
                return usage_error("--from: '%s' is neither a duration (12h) nor a UTC time (2026-11-22T02:00Z)",
                                   c->from);
        if (c->to && parse_time_arg(c->to, to) < 0)
                return usage_error("--to: '%s' is neither a duration (12h) nor a UTC time (2026-11-22T02:00Z)", c->to);
        return 0;
}

int replay_command(int argc, char **argv) {
        struct common c = {};
        int i = parse_common(argc, argv, "r:", LONG(OPT_JSON) | LONG(OPT_FROM) | LONG(OPT_TO), &c);
        if (i < 0)
                return EXIT_USAGE;
        usec_t from = 0, to = 0;
        int ret = EXIT_USAGE;
        if (c.n_rule_paths == 0 || argc - i != 1)
                ret = usage_error("%s", "replay needs rules and one recording: autodump replay -r RULES DB");
        else if (parse_span(&c, &from, &to) == 0) {
                struct rule_set rules = {};
                struct recording rec = {};
                ret = 1;
                if (load_rules(c.rule_paths, c.n_rule_paths, &rules) && load_recording(argv[i], &rec) == 0) {
                        struct printer p = { .rec = &rec, .json = c.json };
                        char err[768];
                        int r = replay_run(&rec, &rules, from, to, print_firing, &p, err, sizeof err);
                        if (r < 0)
                                fprintf(stderr, "autodump: %s\n", err);
                        else if (!c.json)
                                fprintf(stderr, "%u firing%s (the recording holds %" PRIu64 " samples)\n", p.n,
                                        p.n == 1 ? "" : "s", rec.n_samples);
                        ret = r < 0;
                }
                recording_free(&rec);
                rule_set_free(&rules);
        }
        free(c.rule_paths);
        return ret;
}

static void collect_firing(const struct replay_firing *f, void *userdata) {
        struct report_replay *rr = userdata;
        struct replay_firing *grown = realloc(rr->firings, (rr->n + 1) * sizeof *grown);
        if (grown)
                (rr->firings = grown)[rr->n++] = *f;
}

/* report.html beside DB (its name with .html for its extension). */
static char *default_output(const char *db) {
        const char *base = strrchr(db, '/') ? strrchr(db, '/') + 1 : db;
        const char *dot = strrchr(base, '.');
        size_t n = dot && dot != base ? (size_t) (dot - db) : strlen(db);
        char *out = NULL;
        return asprintf(&out, "%.*s.html", (int) n, db) < 0 ? NULL : out;
}

int report_command(int argc, char **argv) {
        struct common c = {};
        int i = parse_common(argc, argv, "o:", LONG(OPT_REPLAY), &c);
        if (i < 0)
                return EXIT_USAGE;
        if (argc - i != 1)
                return usage_error("%s", "report needs one recording: autodump report DB [-o report.html]");
        struct recording rec = {};
        struct rule_set rules = {};
        struct report_replay replay = {};
        _cleanup_free_ char *fallback = c.output ? NULL : default_output(argv[i]);
        const char *out = c.output ? c.output : fallback;
        int ret = 1;
        if (!out || load_recording(argv[i], &rec) < 0)
                goto done;
        if (c.replay) {
                char err[768];
                if (!load_rules((const char *const *) &c.replay, 1, &rules))
                        goto done;
                replay.rules = c.replay;
                if (replay_run(&rec, &rules, 0, 0, collect_firing, &replay, err, sizeof err) < 0) {
                        fprintf(stderr, "autodump: %s\n", err);
                        goto done;
                }
        }
        char err[256];
        if (report_write_file(&rec, c.replay ? &replay : NULL, out, err, sizeof err) < 0) {
                fprintf(stderr, "autodump: %s: %s\n", out, err);
                goto done;
        }
        printf("%s\n", out);
        ret = 0;
done:
        free(replay.firings);
        rule_set_free(&rules);
        recording_free(&rec);
        return ret;
}
