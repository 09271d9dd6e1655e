#include "reader.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recording.h"

static char *text_dup(sqlite3_stmt *st, int col) {
        return sqlite3_column_type(st, col) == SQLITE_NULL ? NULL : strdup(recording_text(st, col));
}

static double real_or_nan(sqlite3_stmt *st, int col) {
        return sqlite3_column_type(st, col) == SQLITE_NULL ? NAN : sqlite3_column_double(st, col);
}

/* Ids are dense and ascending in practice; a binary search holds anyway. */
static size_t index_of(const void *items, size_t n, size_t elem_size, int64_t id) {
        size_t lo = 0, hi = n;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                int64_t here = *(const int64_t *) ((const char *) items + mid * elem_size);
                if (here == id)
                        return mid;
                if (here < id)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return (size_t) -1;
}

size_t recording_series_index(const struct recording *rec, int64_t id) {
        return index_of(rec->series, rec->n_series, sizeof *rec->series, id);
}

static bool metric_of(sqlite3_stmt *st, int col, enum metric *ret) {
        return metric_from_name(recording_text(st, col), ret) == 0;
}

static int run_row(sqlite3_stmt *st, void *item, const struct recording *rec) {
        struct rec_run *r = item;
        *r = (struct rec_run) { .id = sqlite3_column_int64(st, 0), .started = (usec_t) sqlite3_column_int64(st, 1),
                                .host = text_dup(st, 2), .mode = text_dup(st, 3), .command = text_dup(st, 4),
                                .output = text_dup(st, 5) };
        return 0;
}

static int rule_row(sqlite3_stmt *st, void *item, const struct recording *rec) {
        struct rec_rule *r = item;
        *r = (struct rec_rule) { .id = sqlite3_column_int64(st, 0), .name = text_dup(st, 1),
                                 .condition_text = text_dup(st, 5), .interval = (usec_t) sqlite3_column_int64(st, 3),
                                 .window = (unsigned) sqlite3_column_int(st, 4) };
        r->known_metric = metric_of(st, 2, &r->metric);
        struct condition *c = &r->cond;
        c->has_above = sqlite3_column_type(st, 6) != SQLITE_NULL;
        c->above = sqlite3_column_double(st, 6);
        c->above_is_pct = sqlite3_column_int(st, 7);
        c->has_spike = sqlite3_column_type(st, 8) != SQLITE_NULL;
        c->spike_pct = sqlite3_column_double(st, 8);
        c->has_min = sqlite3_column_type(st, 9) != SQLITE_NULL;
        c->min = sqlite3_column_double(st, 9);
        c->min_is_pct = sqlite3_column_int(st, 10);
        return r->name ? 0 : -ENOMEM;
}

static int target_row(sqlite3_stmt *st, void *item, const struct recording *rec) {
        struct rec_target *t = item;
        *t = (struct rec_target) { .id = sqlite3_column_int64(st, 0),
                                   .is_cgroup = strcmp(recording_text(st, 1), "cgroup") == 0,
                                   .pid = (pid_t) sqlite3_column_int(st, 2),
                                   .start_time = (uint64_t) sqlite3_column_int64(st, 3), .comm = text_dup(st, 4),
                                   .cmdline = text_dup(st, 5), .has_uid = sqlite3_column_type(st, 6) != SQLITE_NULL,
                                   .uid = (uid_t) sqlite3_column_int64(st, 6), .cgroup = text_dup(st, 7),
                                   .first_seen = (usec_t) sqlite3_column_int64(st, 8) };
        return 0;
}

static int series_row(sqlite3_stmt *st, void *item, const struct recording *rec) {
        struct rec_series *s = item;
        *s = (struct rec_series) { .id = sqlite3_column_int64(st, 0), .interval = (usec_t) sqlite3_column_int64(st, 3),
                                   .target = index_of(rec->targets, rec->n_targets, sizeof *rec->targets,
                                                      sqlite3_column_int64(st, 1)) };
        s->known_metric = metric_of(st, 2, &s->metric);
        return s->target == (size_t) -1 ? -EBADMSG : 0;
}

static int firing_row(sqlite3_stmt *st, void *item, const struct recording *rec) {
        struct rec_firing *f = item;
        *f = (struct rec_firing) {
                .id = sqlite3_column_int64(st, 0),
                .rule = index_of(rec->rules, rec->n_rules, sizeof *rec->rules, sqlite3_column_int64(st, 1)),
                .series = recording_series_index(rec, sqlite3_column_int64(st, 2)),
                .t = (usec_t) sqlite3_column_int64(st, 3), .mono = (usec_t) sqlite3_column_int64(st, 4),
                .value = real_or_nan(st, 5), .mean = real_or_nan(st, 6), .threshold = real_or_nan(st, 7),
                .condition = text_dup(st, 8), .status = text_dup(st, 9), .reason = text_dup(st, 10),
        };
        return f->rule == (size_t) -1 || f->series == (size_t) -1 ? -EBADMSG : 0;
}

static int artifact_row(sqlite3_stmt *st, void *item, const struct recording *rec) {
        struct rec_artifact *a = item;
        *a = (struct rec_artifact) {
                .id = sqlite3_column_int64(st, 0),
                .firing = index_of(rec->firings, rec->n_firings, sizeof *rec->firings, sqlite3_column_int64(st, 1)),
                .path = text_dup(st, 2), .pid = (pid_t) sqlite3_column_int(st, 3), .comm = text_dup(st, 4),
                .bytes = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 5),
                .complete = sqlite3_column_int(st, 6),
        };
        return a->firing == (size_t) -1 ? -EBADMSG : 0;
}

static int action_row(sqlite3_stmt *st, void *item, const struct recording *rec) {
        struct rec_action *a = item;
        *a = (struct rec_action) {
                .artifact = index_of(rec->artifacts, rec->n_artifacts, sizeof *rec->artifacts,
                                     sqlite3_column_int64(st, 0)),
                .action = text_dup(st, 1), .status = text_dup(st, 2), .error = text_dup(st, 3),
                .bytes = sqlite3_column_int64(st, 4), .seconds = real_or_nan(st, 5), .stopped = real_or_nan(st, 6),
        };
        return a->artifact == (size_t) -1 ? -EBADMSG : 0;
}

/* Loads the rows of `sql` into a growing array, each by `row`. */
static int load_rows(struct recording *rec, const char *sql, size_t elem_size, void **items, size_t *n,
                     int (*row)(sqlite3_stmt *st, void *item, const struct recording *rec)) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(rec->db, sql, -1, &st, NULL) != SQLITE_OK)
                return -EIO;
        size_t cap = 0;
        int r = 0, rc;
        while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (*n == cap) {
                        void *grown = realloc(*items, (cap = cap ? 2 * cap : 16) * elem_size);
                        if (!grown) {
                                r = -ENOMEM;
                                break;
                        }
                        *items = grown;
                }
                if ((r = row(st, (char *) *items + *n * elem_size, rec)) == 0)
                        (*n)++;
        }
        sqlite3_finalize(st);
        return r;
}

/* Which rules read each series. */
static int load_series_rules(struct recording *rec) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(rec->db, "SELECT series, rule FROM series_rules ORDER BY series, rule", -1, &st,
                               NULL) != SQLITE_OK)
                return -EIO;
        int r = 0;
        while (r == 0 && sqlite3_step(st) == SQLITE_ROW) {
                size_t s = recording_series_index(rec, sqlite3_column_int64(st, 0)),
                       k = index_of(rec->rules, rec->n_rules, sizeof *rec->rules, sqlite3_column_int64(st, 1));
                if (s == (size_t) -1 || k == (size_t) -1)
                        continue;
                struct rec_series *se = &rec->series[s];
                size_t *grown = realloc(se->rules, (se->n_rules + 1) * sizeof *grown);
                if (!grown)
                        r = -ENOMEM;
                else
                        (se->rules = grown)[se->n_rules++] = k;
        }
        sqlite3_finalize(st);
        return r;
}

/* The first and last sample, by the order they were written (the
 * samples table has no index on time, and needs none for this). */
static void load_span(struct recording *rec) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(rec->db,
                               "SELECT (SELECT t FROM samples ORDER BY rowid LIMIT 1), "
                               "(SELECT t FROM samples ORDER BY rowid DESC LIMIT 1), "
                               "(SELECT max(rowid) - min(rowid) + 1 FROM samples)",
                               -1, &st, NULL) != SQLITE_OK)
                return;
        if (sqlite3_step(st) == SQLITE_ROW) {
                rec->first = (usec_t) sqlite3_column_int64(st, 0);
                rec->last = (usec_t) sqlite3_column_int64(st, 1);
                rec->n_samples = (uint64_t) sqlite3_column_int64(st, 2);
        }
        sqlite3_finalize(st);
}

int recording_load(const char *path, struct recording *ret, char *err, size_t err_size) {
        struct recording rec = {};
        int r = recording_open_read(path, &rec.db, err, err_size);
        if (r < 0)
                return r;
#define LOAD(sql, what, fn) load_rows(&rec, sql, sizeof *rec.what, (void **) &rec.what, &rec.n_##what, fn)
        if ((r = LOAD("SELECT id, started, host, mode, command, output FROM runs ORDER BY id", runs, run_row)) ==
                    0 &&
            (r = LOAD("SELECT id, name, metric, interval, window, condition, above, above_is_pct, spike, min, "
                      "min_is_pct FROM rules ORDER BY id", rules, rule_row)) == 0 &&
            (r = LOAD("SELECT id, kind, pid, start_time, comm, cmdline, uid, cgroup, first_seen FROM targets "
                      "ORDER BY id", targets, target_row)) == 0 &&
            (r = LOAD("SELECT id, target, metric, interval FROM series ORDER BY id", series, series_row)) == 0 &&
            (r = load_series_rules(&rec)) == 0 &&
            (r = LOAD("SELECT id, rule, series, t, mono, value, mean, threshold, condition, status, reason "
                      "FROM firings ORDER BY id", firings, firing_row)) == 0 &&
            (r = LOAD("SELECT id, firing, path, pid, comm, bytes, complete FROM artifacts ORDER BY id", artifacts,
                      artifact_row)) == 0)
                r = LOAD("SELECT artifact, action, status, error, bytes, seconds, stopped_seconds FROM actions "
                         "ORDER BY artifact, rowid", actions, action_row);
#undef LOAD
        if (r < 0) {
                snprintf(err, err_size, "%s", r == -ENOMEM ? "out of memory"
                                              : r == -EBADMSG ? "a row refers to one that is not there"
                                                              : sqlite3_errmsg(rec.db));
                recording_free(&rec);
                return r;
        }
        load_span(&rec);
        *ret = rec;
        return 0;
}

void recording_free(struct recording *rec) {
        for (size_t i = 0; i < rec->n_runs; i++) {
                free(rec->runs[i].host);
                free(rec->runs[i].mode);
                free(rec->runs[i].command);
                free(rec->runs[i].output);
        }
        for (size_t i = 0; i < rec->n_rules; i++) {
                free(rec->rules[i].name);
                free(rec->rules[i].condition_text);
        }
        for (size_t i = 0; i < rec->n_targets; i++) {
                free(rec->targets[i].comm);
                free(rec->targets[i].cmdline);
                free(rec->targets[i].cgroup);
        }
        for (size_t i = 0; i < rec->n_series; i++)
                free(rec->series[i].rules);
        for (size_t i = 0; i < rec->n_firings; i++) {
                free(rec->firings[i].condition);
                free(rec->firings[i].status);
                free(rec->firings[i].reason);
        }
        for (size_t i = 0; i < rec->n_artifacts; i++) {
                free(rec->artifacts[i].path);
                free(rec->artifacts[i].comm);
        }
        for (size_t i = 0; i < rec->n_actions; i++) {
                free(rec->actions[i].action);
                free(rec->actions[i].status);
                free(rec->actions[i].error);
        }
        free(rec->runs);
        free(rec->rules);
        free(rec->targets);
        free(rec->series);
        free(rec->firings);
        free(rec->artifacts);
        free(rec->actions);
        sqlite3_close(rec->db);
        *rec = (struct recording) {};
}

int recording_each_sample(const struct recording *rec, usec_t from, usec_t to, sample_fn fn, void *userdata) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(rec->db, "SELECT series, t, mono, value, reference FROM samples ORDER BY rowid", -1,
                               &st, NULL) != SQLITE_OK)
                return -EIO;
        /* Series are looked up by id for every row: remember the last. */
        int64_t last_id = -1;
        size_t last = (size_t) -1;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                struct rec_sample s = { .t = (usec_t) sqlite3_column_int64(st, 1),
                                        .mono = (usec_t) sqlite3_column_int64(st, 2),
                                        .value = sqlite3_column_double(st, 3),
                                        .reference = sqlite3_column_double(st, 4) };
                if ((from && s.t < from) || (to && s.t > to))
                        continue;
                int64_t id = sqlite3_column_int64(st, 0);
                if (id != last_id) {
                        last_id = id;
                        last = recording_series_index(rec, id);
                }
                if (last != (size_t) -1)
                        fn(last, &s, userdata);
        }
        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? 0 : -EIO;
}

void rec_target_describe(const struct rec_target *t, char *buf, size_t size) {
        if (t->is_cgroup)
                snprintf(buf, size, "cgroup %s", t->cgroup ? t->cgroup : "?");
        else
                snprintf(buf, size, "%s[%d]", t->comm ? t->comm : "?", (int) t->pid);
}

int recording_count_samples(const struct recording *rec, uint64_t *counts) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(rec->db, "SELECT series, count(*) FROM samples GROUP BY series", -1, &st, NULL) !=
            SQLITE_OK)
                return -EIO;
        memset(counts, 0, rec->n_series * sizeof *counts);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                size_t i = recording_series_index(rec, sqlite3_column_int64(st, 0));
                if (i != (size_t) -1)
                        counts[i] = (uint64_t) sqlite3_column_int64(st, 1);
        }
        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? 0 : -EIO;
}
