/* What autodump watches. A target has an identity of its kind — a process
 * is (pid, start time); cgroups and the host join as further kinds — and
 * the kind's open handle behind it. A restarted process is a new identity,
 * hence a new target with fresh rings and limits. The bindings of rules to a
 * target live in the bindings table; the target lists its own for the
 * sampling pass. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc.h"

enum target_kind { TARGET_PROCESS };

struct target_id {
        enum target_kind kind;
        pid_t pid;              /* process */
        uint64_t starttime;     /* process: clock ticks after boot */
};

bool target_id_equal(const struct target_id *a, const struct target_id *b);
uint64_t target_id_hash(const struct target_id *id);

/* The process behind a process target. */
struct process_target {
        int pidfd;              /* readable when the process exits */
        struct proc_handle handle;
        double nofile_limit;    /* RLIMIT_NOFILE soft limit, the reference of fds */
        bool in_tree;           /* run mode: part of the command's tree */
};

struct binding;
struct collection;
struct loop_source;

struct target {
        struct target_id id;
        char name[16];          /* a process's comm, following exec */
        struct process_target proc;
        struct binding **bindings;      /* its rules; owned by the bindings table */
        size_t n_bindings;
        struct loop_source *exit_watch; /* the pidfd in the loop */
        void *watcher;                  /* handed back to exit_watch's handler */
        struct collection *collection;  /* the running one, or NULL */
        bool gone;              /* dropped while collected: freed when that ends */
        struct target *next;    /* hash chain */
};

/* Opens PID (checked against `starttime`, 0 = any) as a target. -ESRCH if
 * it is gone or was recycled. */
int target_open_process(const struct proc_root *root, pid_t pid, uint64_t starttime, struct target **ret);
void target_free(struct target *tg);
/* For a target no longer watched: frees it, unless a collection still uses
 * it; then it is marked gone and the collection frees it when it ends. */
void target_release(struct target *tg);
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
void target_insert(struct target_table *t, struct target *tg);
void target_remove(struct target_table *t, struct target *tg);
/* Calls fn on every target; fn may remove the target it is given. */
void target_foreach(struct target_table *t, void (*fn)(struct target *, void *), void *userdata);
