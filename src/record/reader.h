/* Reading a recording back: everything but the samples is loaded (runs,
 * rules, targets, series, firings, artifacts, actions); the samples,
 * which may be hundreds of millions, are streamed in the order they were
 * taken. Shared by replay and the report. */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine.h"
#include "metric.h"
#include "util.h"

struct rec_run {
        int64_t id;
        usec_t started;
        char *host, *mode, *command, *output;
};

struct rec_rule {
        int64_t id;
        char *name, *condition_text;
        bool known_metric;              /* false: a metric this build does not know */
        enum metric metric;
        usec_t interval;
        unsigned window;
        struct condition cond;          /* thresholds, for the lines the report draws */
};

struct rec_target {
        int64_t id;
        bool is_cgroup;
        pid_t pid;
        uint64_t start_time;
        char *comm, *cmdline, *cgroup;
        bool has_uid;
        uid_t uid;
        usec_t first_seen;
};

struct rec_series {
        int64_t id;
        size_t target;                  /* index into targets */
        bool known_metric;
        enum metric metric;
        usec_t interval;
        size_t *rules;                  /* indexes of the rules that read it */
        size_t n_rules;
};

struct rec_firing {
        int64_t id;
        size_t rule, series;            /* indexes */
        usec_t t, mono;
        double value, mean, threshold;  /* NAN where not recorded */
        char *condition, *status, *reason;
};

struct rec_artifact {
        int64_t id;
        size_t firing;
        char *path, *comm;
        pid_t pid;
        int64_t bytes;                  /* -1: unknown (no trigger.json) */
        bool complete;
};

struct rec_action {
        size_t artifact;
        char *action, *status, *error;
        int64_t bytes;
        double seconds, stopped;        /* NAN where not recorded */
};

struct rec_sample {
        usec_t t, mono;
        double value;
        double reference;               /* 0: none recorded */
};

struct recording {
        sqlite3 *db;
        struct rec_run *runs;
        size_t n_runs;
        struct rec_rule *rules;
        size_t n_rules;
        struct rec_target *targets;
        size_t n_targets;
        struct rec_series *series;
        size_t n_series;
        struct rec_firing *firings;
        size_t n_firings;
        struct rec_artifact *artifacts;
        size_t n_artifacts;
        struct rec_action *actions;
        size_t n_actions;
        uint64_t n_samples;
        usec_t first, last;             /* the samples' span (wall clock); 0 when none */
};

/* On failure, why in `err`. */
int recording_load(const char *path, struct recording *ret, char *err, size_t err_size);
void recording_free(struct recording *rec);

typedef void (*sample_fn)(size_t series, const struct rec_sample *s, void *userdata);
/* Calls fn for each sample taken in [from, to] (0: no bound), oldest first. */
int recording_each_sample(const struct recording *rec, usec_t from, usec_t to, sample_fn fn, void *userdata);
/* How many samples each series holds (counts[i] for series i). */
int recording_count_samples(const struct recording *rec, uint64_t *counts);
/* The index of the series with this id, or (size_t) -1. */
size_t recording_series_index(const struct recording *rec, int64_t id);
/* "nginx[812]" or "cgroup /system.slice/x.service". */
void rec_target_describe(const struct rec_target *t, char *buf, size_t size);
