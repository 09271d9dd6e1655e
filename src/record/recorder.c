#include "recorder.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bindings.h"
#include "cgroup_discovery.h"
#include "log.h"
#include "recording.h"
#include "rule_when.h"
#include "units.h"
#include "version.h"

/* A target's row and series, hung on the target (target.h). Two rules that
 * read one metric at one interval share a series: the second sample of a
 * tick is the same reading and is not written again. */
struct target_recording {
        sqlite3_int64 id;
        size_t n;
        struct recorded_series {
                enum metric metric;
                usec_t interval;
                sqlite3_int64 id;
                usec_t last_mono;
                sqlite3_int64 linked_rule;      /* the last rule listed in series_rules */
        } series[];
};

/* A firing whose collection has not ended yet. */
struct pending {
        char *rule;
        struct target_id target;
        usec_t wall;
        sqlite3_int64 id;
};

#define PENDING_MAX 1024
/* How often the size is checked, in commits. */
#define PRUNE_EVERY 64

enum statement {
        ST_TARGET, ST_SERIES, ST_SERIES_RULE, ST_SAMPLE, ST_FIRING, ST_FIRING_END, ST_ARTIFACT, ST_ACTION,
        ST_RULE, _ST_MAX,
};

static const char *const statements[_ST_MAX] = {
        [ST_TARGET] = "INSERT INTO targets(run, kind, pid, start_time, comm, cmdline, uid, cgroup, first_seen) "
                      "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [ST_SERIES] = "INSERT INTO series(target, metric, interval) VALUES(?, ?, ?)",
        [ST_SERIES_RULE] = "INSERT OR IGNORE INTO series_rules VALUES(?, ?)",
        [ST_SAMPLE] = "INSERT INTO samples VALUES(?, ?, ?, ?, ?)",
        [ST_FIRING] = "INSERT INTO firings(run, rule, series, t, mono, value, mean, threshold, condition, status) "
                      "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [ST_FIRING_END] = "UPDATE firings SET status = ?, reason = ? WHERE id = ?",
        [ST_ARTIFACT] = "INSERT INTO artifacts(firing, path, pid, comm, bytes, complete) VALUES(?, ?, ?, ?, ?, ?)",
        [ST_ACTION] = "INSERT INTO actions VALUES(?, ?, ?, ?, ?, ?, ?)",
        [ST_RULE] = "INSERT INTO rules(run, name, metric, interval, window, condition, above, above_is_pct, spike, "
                    "min, min_is_pct, growth, over, for_samples, for_duration, cooldown, max, file, line) "
                    "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
};

struct recorder {
        struct recorder_options o;
        char *path;
        sqlite3 *db;
        sqlite3_stmt *st[_ST_MAX];
        sqlite3_int64 run;
        bool in_transaction;
        unsigned commits, failures;
        struct recorded_rule {
                const struct rule *rule;
                sqlite3_int64 id;
        } *rules;
        size_t n_rules;
        struct pending pending[PENDING_MAX];
        size_t n_pending;
};

/* Says the first failure and every 100th after it: a full disk must not
 * flood the log, nor stop the watching. */
static void failed(struct recorder *r, const char *what) {
        if (r->failures++ % 100 == 0)
                log_warning("recording %s: %s: %s (%u failure%s so far)", r->path, what, sqlite3_errmsg(r->db),
                            r->failures, r->failures == 1 ? "" : "s");
}

/* Runs a statement bound by the caller, then resets it. */
static int step(struct recorder *r, enum statement s, const char *what) {
        int rc = sqlite3_step(r->st[s]);
        sqlite3_reset(r->st[s]);
        sqlite3_clear_bindings(r->st[s]);
        if (rc != SQLITE_DONE) {
                failed(r, what);
                return -EIO;
        }
        return 0;
}

static void begin(struct recorder *r) {
        if (r->in_transaction)
                return;
        if (recording_exec(r->db, "BEGIN", NULL, 0) < 0)
                failed(r, "begin");
        else
                r->in_transaction = true;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s) {
        if (s)
                sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

static void bind_real(sqlite3_stmt *st, int i, double v) {
        if (isfinite(v))
                sqlite3_bind_double(st, i, v);
}

static int insert_run(struct recorder *r) {
        char host[256] = "";
        gethostname(host, sizeof host - 1);
        _cleanup_free_ char *command = NULL;
        size_t len = 0;
        for (char *const *a = r->o.command; a && *a; a++)
                len += strlen(*a) + 1;
        if (len && (command = malloc(len))) {
                command[0] = 0;
                for (char *const *a = r->o.command; *a; a++)
                        strcat(strcat(command, a == r->o.command ? "" : " "), *a);
        }
        /* Absolute, for the report's link; run makes the directory only at
         * its first capture, so it may not exist yet to be resolved. */
        _cleanup_free_ char *output = r->o.output ? realpath(r->o.output, NULL) : NULL;
        _cleanup_free_ char *cwd = !output && r->o.output && r->o.output[0] != '/' ? getcwd(NULL, 0) : NULL;
        if (cwd && asprintf(&output, "%s/%s", cwd, r->o.output) < 0)
                output = NULL;
        sqlite3_stmt *st;
        if (recording_prepare(r->db, "INSERT INTO runs(started, host, mode, command, output, version) "
                                     "VALUES(?, ?, ?, ?, ?, ?)", &st) < 0)
                return -EIO;
        sqlite3_bind_int64(st, 1, (sqlite3_int64) now_usec(CLOCK_REALTIME));
        bind_text(st, 2, host);
        bind_text(st, 3, r->o.mode);
        bind_text(st, 4, command);
        bind_text(st, 5, output ? output : r->o.output);
        bind_text(st, 6, AUTODUMP_VERSION);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        r->run = sqlite3_last_insert_rowid(r->db);
        return rc == SQLITE_DONE ? 0 : -EIO;
}

int recorder_open(const struct recorder_options *o, struct recorder **ret, char *err, size_t err_size) {
        struct recorder *r = calloc(1, sizeof *r);
        if (!r || !(r->path = strdup(o->path))) {
                free(r);
                snprintf(err, err_size, "out of memory");
                return -ENOMEM;
        }
        r->o = *o;
        int rc = recording_open_write(o->path, &r->db, err, err_size);
        for (int s = 0; rc == 0 && s < _ST_MAX; s++)
                if ((rc = recording_prepare(r->db, statements[s], &r->st[s])) < 0)
                        snprintf(err, err_size, "%s", sqlite3_errmsg(r->db));
        if (rc == 0 && (rc = insert_run(r)) < 0)
                snprintf(err, err_size, "%s", sqlite3_errmsg(r->db));
        if (rc < 0) {
                recorder_close(r);
                return rc;
        }
        *ret = r;
        return 0;
}

void recorder_close(struct recorder *r) {
        if (!r)
                return;
        recorder_commit(r);
        for (int s = 0; s < _ST_MAX; s++)
                sqlite3_finalize(r->st[s]);
        /* The last connection's close checkpoints the WAL into the file. */
        sqlite3_close(r->db);
        for (size_t i = 0; i < r->n_pending; i++)
                free(r->pending[i].rule);
        free(r->rules);
        free(r->path);
        free(r);
}

static int add_rule(struct recorder *r, const struct rule *rule) {
        sqlite3_stmt *st = r->st[ST_RULE];
        const struct condition *c = &rule->cond;
        char cond[256];
        rule_when_describe(rule->metric, &rule->cond, cond, sizeof cond);
        sqlite3_bind_int64(st, 1, r->run);
        bind_text(st, 2, rule->name);
        bind_text(st, 3, metric_info(rule->metric)->name);
        sqlite3_bind_int64(st, 4, (sqlite3_int64) rule->interval);
        sqlite3_bind_int(st, 5, (int) rule->window);
        bind_text(st, 6, cond);
        if (c->has_above)
                bind_real(st, 7, c->above);
        sqlite3_bind_int(st, 8, c->above_is_pct);
        if (c->has_spike)
                bind_real(st, 9, c->spike_pct);
        if (c->has_min)
                bind_real(st, 10, c->min);
        sqlite3_bind_int(st, 11, c->min_is_pct);
        if (c->has_growth) {
                bind_real(st, 12, c->growth);
                sqlite3_bind_int64(st, 13, (sqlite3_int64) c->over);
        }
        sqlite3_bind_int(st, 14, (int) c->for_samples);
        sqlite3_bind_int64(st, 15, (sqlite3_int64) c->for_duration);
        sqlite3_bind_int64(st, 16, (sqlite3_int64) c->cooldown);
        sqlite3_bind_int(st, 17, (int) c->max);
        bind_text(st, 18, rule->file);
        sqlite3_bind_int(st, 19, rule->line);
        int rc = step(r, ST_RULE, "rule");
        if (rc < 0)
                return rc;
        struct recorded_rule *m = realloc(r->rules, (r->n_rules + 1) * sizeof *m);
        if (!m)
                return -ENOMEM;
        r->rules = m;
        m[r->n_rules++] = (struct recorded_rule) { rule, sqlite3_last_insert_rowid(r->db) };
        return 0;
}

int recorder_add_rules(struct recorder *r, const struct rule_set *rules) {
        begin(r);
        int rc = 0;
        for (size_t i = 0; i < rules->n && rc == 0; i++)
                rc = add_rule(r, &rules->rules[i]);
        recorder_commit(r);
        return rc;
}

static sqlite3_int64 rule_id(const struct recorder *r, const struct rule *rule) {
        /* Newest first: after a reload, the rules in force are last. */
        for (size_t i = r->n_rules; i-- > 0;)
                if (r->rules[i].rule == rule)
                        return r->rules[i].id;
        return 0;
}

/* The target's row, written the first time it is recorded. */
static struct target_recording *target_row(struct recorder *r, struct target *tg, usec_t wall) {
        if (tg->recording)
                return tg->recording;
        struct target_recording *tr = calloc(1, sizeof *tr);
        if (!tr)
                return NULL;
        sqlite3_stmt *st = r->st[ST_TARGET];
        _cleanup_free_ char *cmdline = NULL;
        struct cgroup_paths paths = {};
        const char *cgroup = NULL;
        sqlite3_bind_int64(st, 1, r->run);
        if (tg->id.kind == TARGET_CGROUP) {
                bind_text(st, 2, "cgroup");
                cgroup = cgroup_paths_name(&tg->cgroup.handle.paths);
        } else {
                uid_t uid;
                bind_text(st, 2, "process");
                sqlite3_bind_int(st, 3, (int) tg->id.pid);
                sqlite3_bind_int64(st, 4, (sqlite3_int64) tg->id.starttime);
                if (proc_read_cmdline(r->o.proc, tg->id.pid, &cmdline) == 0)
                        bind_text(st, 6, cmdline);
                if (proc_read_uid(r->o.proc, tg->id.pid, &uid) == 0)
                        sqlite3_bind_int64(st, 7, uid);
                if (cgroup_of_process(r->o.proc, tg->id.pid, &paths) == 0)
                        cgroup = cgroup_paths_name(&paths);
        }
        bind_text(st, 5, tg->name);
        bind_text(st, 8, cgroup);
        sqlite3_bind_int64(st, 9, (sqlite3_int64) wall);
        int rc = step(r, ST_TARGET, "target");
        cgroup_paths_free(&paths);
        if (rc < 0) {
                free(tr);
                return NULL;
        }
        tr->id = sqlite3_last_insert_rowid(r->db);
        tg->recording = tr;
        return tr;
}

static struct recorded_series *series_of(struct recorder *r, struct target *tg, enum metric m, usec_t interval,
                                         usec_t wall) {
        struct target_recording *tr = target_row(r, tg, wall);
        if (!tr)
                return NULL;
        for (size_t i = 0; i < tr->n; i++)
                if (tr->series[i].metric == m && tr->series[i].interval == interval)
                        return &tr->series[i];
        sqlite3_stmt *st = r->st[ST_SERIES];
        sqlite3_bind_int64(st, 1, tr->id);
        bind_text(st, 2, metric_info(m)->name);
        sqlite3_bind_int64(st, 3, (sqlite3_int64) interval);
        if (step(r, ST_SERIES, "series") < 0)
                return NULL;
        struct target_recording *grown = realloc(tr, sizeof *tr + (tr->n + 1) * sizeof tr->series[0]);
        if (!grown)
                return NULL;
        tg->recording = tr = grown;
        tr->series[tr->n] = (struct recorded_series) { .metric = m, .interval = interval,
                                                       .id = sqlite3_last_insert_rowid(r->db) };
        return &tr->series[tr->n++];
}

static void write_sample(struct recorder *r, struct recorded_series *se, double value, double reference,
                         usec_t mono, usec_t wall) {
        /* The same reading, taken for a second rule in the same tick. */
        if (se->last_mono && mono - se->last_mono < se->interval / 2)
                return;
        se->last_mono = mono;
        sqlite3_stmt *st = r->st[ST_SAMPLE];
        sqlite3_bind_int64(st, 1, se->id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64) wall);
        sqlite3_bind_int64(st, 3, (sqlite3_int64) mono);
        sqlite3_bind_double(st, 4, value);
        if (reference > 0)
                sqlite3_bind_double(st, 5, reference);
        step(r, ST_SAMPLE, "sample");
}

/* The series a rule's sample (or firing) belongs to, in the transaction. */
static struct recorded_series *series_of_event(struct recorder *r, const struct sample_event *ev) {
        begin(r);
        return series_of(r, ev->target, ev->metric, ev->binding->rule->interval, ev->wall);
}

void recorder_consume(const struct sample_event *ev, void *userdata) {
        struct recorder *r = userdata;
        const struct rule *rule = ev->binding->rule;
        struct recorded_series *se = series_of_event(r, ev);
        if (!se)
                return;
        sqlite3_int64 rid = rule_id(r, rule);
        if (rid && se->linked_rule != rid) {
                sqlite3_bind_int64(r->st[ST_SERIES_RULE], 1, se->id);
                sqlite3_bind_int64(r->st[ST_SERIES_RULE], 2, rid);
                if (step(r, ST_SERIES_RULE, "series rule") == 0)
                        se->linked_rule = rid;
        }
        write_sample(r, se, ev->value, ev->reference, ev->mono, ev->wall);
}

void recorder_sample(struct recorder *r, struct target *tg, enum metric m, usec_t interval, double value,
                     usec_t mono, usec_t wall) {
        begin(r);
        struct recorded_series *se = series_of(r, tg, m, interval, wall);
        if (se)
                write_sample(r, se, value, 0, mono, wall);
}

static void remember_pending(struct recorder *r, const char *rule, const struct target_id *id, usec_t wall,
                             sqlite3_int64 firing) {
        /* Never full in practice (the queue and the running collections are
         * bounded well below); if it were, the oldest stays "collecting". */
        if (r->n_pending == PENDING_MAX) {
                free(r->pending[0].rule);
                memmove(r->pending, r->pending + 1, --r->n_pending * sizeof r->pending[0]);
        }
        char *copy = strdup(rule);
        if (copy)
                r->pending[r->n_pending++] = (struct pending) { copy, *id, wall, firing };
}

void recorder_fired(const struct sample_event *ev, const struct decision *d, bool dry_run, void *userdata) {
        struct recorder *r = userdata;
        const struct rule *rule = ev->binding->rule;
        struct recorded_series *se = series_of_event(r, ev);
        if (!se)
                return;
        sqlite3_stmt *st = r->st[ST_FIRING];
        sqlite3_bind_int64(st, 1, r->run);
        sqlite3_bind_int64(st, 2, rule_id(r, rule));
        sqlite3_bind_int64(st, 3, se->id);
        sqlite3_bind_int64(st, 4, (sqlite3_int64) ev->wall);
        sqlite3_bind_int64(st, 5, (sqlite3_int64) ev->mono);
        bind_real(st, 6, d->value);
        bind_real(st, 7, d->mean);
        bind_real(st, 8, d->threshold);
        bind_text(st, 9, trigger_kind_to_string(d->trigger));
        bind_text(st, 10, dry_run ? "dry-run" : "collecting");
        if (step(r, ST_FIRING, "firing") == 0 && !dry_run)
                remember_pending(r, rule->name, &ev->target->id, ev->wall, sqlite3_last_insert_rowid(r->db));
}

/* An artifact's actions, from its trigger.json: what the report lists. */
static void record_artifact(struct recorder *r, sqlite3_int64 firing, const struct firing_subject *s) {
        json_t *doc = NULL;
        /* Absolute, so the report links to it from wherever it is opened. */
        _cleanup_free_ char *path = s->path ? realpath(s->path, NULL) : NULL;
        if (s->path) {
                _cleanup_free_ char *trigger = NULL;
                if (asprintf(&trigger, "%s/trigger.json", s->path) >= 0)
                        doc = json_load_file(trigger, 0, NULL);
        }
        json_t *actions = json_object_get(doc, "actions");
        json_int_t bytes = 0;
        size_t i;
        json_t *a;
        json_array_foreach(actions, i, a)
                bytes += json_integer_value(json_object_get(a, "bytes"));
        sqlite3_stmt *st = r->st[ST_ARTIFACT];
        sqlite3_bind_int64(st, 1, firing);
        bind_text(st, 2, path ? path : s->path);
        sqlite3_bind_int(st, 3, (int) s->pid);
        bind_text(st, 4, s->comm);
        if (doc) {
                sqlite3_bind_int64(st, 5, bytes);
                sqlite3_bind_int(st, 6, json_is_true(json_object_get(doc, "complete")));
        }
        if (step(r, ST_ARTIFACT, "artifact") < 0) {
                json_decref(doc);
                return;
        }
        sqlite3_int64 artifact = sqlite3_last_insert_rowid(r->db);
        json_array_foreach(actions, i, a) {
                st = r->st[ST_ACTION];
                sqlite3_bind_int64(st, 1, artifact);
                bind_text(st, 2, json_string_value(json_object_get(a, "action")));
                bind_text(st, 3, json_string_value(json_object_get(a, "status")));
                bind_text(st, 4, json_string_value(json_object_get(a, "error")));
                sqlite3_bind_int64(st, 5, json_integer_value(json_object_get(a, "bytes")));
                bind_real(st, 6, json_number_value(json_object_get(a, "seconds")));
                json_t *stopped = json_object_get(a, "target_stopped_seconds");
                if (json_is_number(stopped))
                        bind_real(st, 7, json_number_value(stopped));
                step(r, ST_ACTION, "action");
        }
        json_decref(doc);
}

void recorder_finished(const struct firing_end *e, void *userdata) {
        struct recorder *r = userdata;
        size_t k;
        for (k = 0; k < r->n_pending; k++)
                if (r->pending[k].wall == e->wall && target_id_equal(&r->pending[k].target, &e->target->id) &&
                    strcmp(r->pending[k].rule, e->rule) == 0)
                        break;
        if (k == r->n_pending)
                return;
        sqlite3_int64 firing = r->pending[k].id;
        free(r->pending[k].rule);
        memmove(r->pending + k, r->pending + k + 1, (--r->n_pending - k) * sizeof r->pending[0]);
        begin(r);
        bool any = false;
        for (size_t i = 0; i < e->n_subjects; i++) {
                record_artifact(r, firing, &e->subjects[i]);
                any |= e->subjects[i].path != NULL;
        }
        sqlite3_stmt *st = r->st[ST_FIRING_END];
        bind_text(st, 1, e->dropped ? "dropped" : any ? "collected" : "failed");
        bind_text(st, 2, e->dropped ? e->dropped : any ? NULL : "no artifact was written");
        sqlite3_bind_int64(st, 3, firing);
        step(r, ST_FIRING_END, "firing's end");
        /* A collection ends between ticks: commit now, not a tick later. */
        recorder_commit(r);
}

/* Past max_size, the oldest tenth of the samples goes and its pages are
 * given back; firings, targets and rules stay. */
static void prune(struct recorder *r) {
        sqlite3_stmt *st;
        if (recording_prepare(r->db, "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size",
                              &st) < 0)
                return;
        sqlite3_int64 size = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_finalize(st);
        if ((uint64_t) size <= r->o.max_size)
                return;
        if (recording_exec(r->db,
                           "DELETE FROM samples WHERE rowid < (SELECT min(rowid) FROM samples) + "
                           "((SELECT max(rowid) FROM samples) - (SELECT min(rowid) FROM samples)) / 10 + 1;"
                           "PRAGMA incremental_vacuum;",
                           NULL, 0) < 0)
                failed(r, "pruning");
        else
                log_info("recording %s: over max_size, pruned the oldest tenth of the samples", r->path);
}

void recorder_commit(struct recorder *r) {
        if (!r->in_transaction)
                return;
        r->in_transaction = false;
        if (recording_exec(r->db, "COMMIT", NULL, 0) < 0) {
                failed(r, "commit");
                recording_exec(r->db, "ROLLBACK", NULL, 0);
                return;
        }
        if (r->o.max_size && ++r->commits % PRUNE_EVERY == 0)
                prune(r);
}
