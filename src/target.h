/* What autodump watches. A target has an identity of its kind — a process
 * is (pid, start time), a cgroup is its directories' inodes — and
 * the kind's open handle behind it. A restarted process is a new identity,
 * hence a new target with fresh rings and limits; so is a cgroup removed
 * and made again. The bindings of rules to a
 * target live in the bindings table; the target lists its own for the
 * sampling pass. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup_handle.h"
#include "metric.h"
#include "proc.h"
#include "util.h"

struct cpu_snapshot {
        struct cpu_ticks {
                pid_t pid;
                uint64_t ticks;
        } *now, *before;                /* sorted by pid */
        size_t n_now, n_before;
        usec_t noted_at;                /* the sample `now` is of */
};

enum target_kind { TARGET_PROCESS, TARGET_CGROUP };

struct target_id {
        enum target_kind kind;
        pid_t pid;              /* process */
        uint64_t starttime;     /* process: clock ticks after boot */
        uint64_t cgroup_id;     /* cgroup: from its directories' inodes */
};

bool target_id_equal(const struct target_id *a, const struct target_id *b);
uint64_t target_id_hash(const struct target_id *id);

/* The process behind a process target. */
struct process_target {
        int pidfd;              /* readable when the process exits */
        struct proc_handle handle;
        double nofile_limit;    /* RLIMIT_NOFILE soft limit, the reference of fds */
        double memory_limit;    /* of its cgroup, 0 = none: the reference of rss */
        usec_t memory_limit_read;       /* monotonic; 0 = never */
        bool in_tree;           /* run mode: part of the command's tree */
        /* Listed with -p, or run's command itself: its comings and goings
         * are logged at info; other processes', by the thousand a second
         * on a busy host, at debug and in the periodic summary. */
        bool named;
};

/* The cgroup behind a cgroup target. */
struct cgroup_target {
        struct cgroup_handle handle;
        double memory_limit;    /* bytes, 0 = none: a % of cgroup.memory is of it */
        double pids_limit;      /* 0 = none */
        double cpu_limit;       /* 100 = one core, 0 = no quota */
        struct cpu_snapshot cpu; /* its processes' CPU at the last samples, for picking */
};

struct binding;
struct collection;
struct loop_source;

/* What a source keeps of one target between reads (a runtime's file, or
 * when to look for it again), freed with the target by its own `free`. */
struct source_note {
        void (*free)(struct source_note *n);
};

struct target {
        /* What every sample touches first, together: the hash chain, the
         * identity, the rules, the name and the process's kept-open stat. */
        struct target *next;    /* hash chain */
        struct target_id id;
        struct binding **bindings;      /* its rules; owned by the bindings table */
        size_t n_bindings;
        char name[16];          /* a process's comm, following exec; a cgroup's last path component */
        struct process_target proc;
        struct loop_source *exit_watch; /* the pidfd in the loop */
        void *watcher;                  /* handed back to exit_watch's handler */
        struct collection *collection;  /* the running one, or NULL */
        bool gone;              /* dropped while collected: freed when that ends */
        /* The recorder's note of this target (its row and series), one
         * allocation freed with the target; NULL when not recorded. */
        void *recording;
        struct source_note *notes[_METRIC_SOURCE_MAX];
        struct cgroup_target cgroup;
};

/* Opens PID (checked against `starttime`, 0 = any) as a target. -ESRCH if
 * it is gone or was recycled. */
int target_open_process(const struct proc_root *root, pid_t pid, uint64_t starttime, struct target **ret);
/* Opens the cgroup of `paths` (taken over) as a target. -ENOENT if it
 * does not exist. */
int target_open_cgroup(const struct cgroup_mounts *m, struct cgroup_paths *paths, struct target **ret);
void target_free(struct target *tg);
/* "nginx[812]" or "cgroup /system.slice/nginx.service", for messages. */
const char *target_describe(const struct target *tg, char *buf, size_t size);
/* For a target no longer watched: frees it, unless a collection still uses
 * it; then it is marked gone and the collection frees it when it ends. */
void target_release(struct target *tg);
/* Empties the target's list of bindings (a reload binds it again); the
 * bindings themselves are the table's. */
void target_forget_bindings(struct target *tg);
int target_add_binding(struct target *tg, struct binding *b);

/* The live targets, found by identity; a process also by its bare pid,
 * which names at most one live process target. */
struct target_table {
        struct target **buckets;
        size_t n_buckets;
        size_t count;
};

int target_table_init(struct target_table *t, size_t buckets);
/* Frees every target still in the table. */
void target_table_free(struct target_table *t);
struct target *target_find(const struct target_table *t, const struct target_id *id);
struct target *target_find_pid(const struct target_table *t, pid_t pid);
struct target *target_find_cgroup(const struct target_table *t, uint64_t cgroup_id);
void target_insert(struct target_table *t, struct target *tg);
void target_remove(struct target_table *t, struct target *tg);
/* Calls fn on every target; fn may remove the target it is given. */
void target_foreach(struct target_table *t, void (*fn)(struct target *, void *), void *userdata);
