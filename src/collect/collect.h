/* The actions a firing runs, each in the collector process. Every action
 * fills an action_result; none may leave the target stopped or changed
 * (except `signal`, whose point is to send one). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../proc.h"
#include "../rules.h"
#include "../store.h"

struct stopped_process;
struct hook_user;

enum action_status { ACTION_PENDING, ACTION_OK, ACTION_FAILED, ACTION_SKIPPED };

#define ACTION_MAX_FILES 4

struct action_result {
        enum action_status status;
        char error[512];
        char files[ACTION_MAX_FILES][64];
        size_t n_files;
        uint64_t bytes;                 /* of the files listed */
        uint64_t disk_bytes;            /* allocated on disk, when it differs (sparse) */
        double seconds;
        bool has_stopped;
        double stopped_seconds;         /* how long the target was stopped */
        const char *core_via;           /* a core: "snapshot" or "stop"; NULL: not a core */
        char core_fallback[256];        /* why not from a snapshot; "": it was, or was not asked */
        uint64_t snapshot_extra_bytes;  /* the pages the target wrote meanwhile, copied for the snapshot */
        uint64_t not_in_snapshot_bytes; /* MADV_DONTFORK memory a snapshot lacks: holes in the core */
};

struct collect_ctx {
        const struct proc_root *proc;
        pid_t pid;
        uint64_t starttime;
        int pidfd;                      /* of the target: signals go through it, readable once it exits */
        char comm[16];
        bool stopped_at_firing;         /* it was in state T before we came */
        struct artifact *artifact;
        const char *build_dir;          /* where the files are while collecting */
        const char *final_dir;          /* where they will be */
        const char *rule;
        const char *metric;             /* "" for manual collections */
        double value;
        double min_free_pct;            /* never start a capture below this free space */
        unsigned exec_count;
        unsigned jcmd_count;
        /* A crash: the process the crash tracer holds in its fatal signal.
         * Actions use it as it is and never resume it. NULL: they stop the
         * target themselves. */
        const struct stopped_process *held;
        const struct hook_user *hook_user;      /* exec and on_complete run as it; NULL: as we run */
        const char *go_pprof;                   /* HOST:PORT of net/http/pprof; NULL: found */
};

void result_set(struct action_result *res, enum action_status status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Records a file the action wrote into the artifact, with its size. */
void result_add_file(struct action_result *res, int dir_fd, const char *name);

/* Moves the file the target's runtime wrote at `target_path` (as the
 * target sees it) into the artifact as `name`, whole or not at all, and
 * records it; removes it where it was either way. */
int collect_take_file(struct collect_ctx *ctx, const char *target_path, const char *name,
                      struct action_result *res);
/* Records why stopping the target failed (ptrace_stop_process's error). */
void result_stop_failed(struct action_result *res, const struct collect_ctx *ctx, int r);
/* Whether the target is still the process that fired: its pidfd not
 * readable (not exited), its start time unchanged. -ESRCH if not: its PID
 * may be another process's now, which is never touched. */
int collect_check_identity(const struct collect_ctx *ctx);
/* Stops the target for an action (or takes the held one), its identity
 * checked before and after seizing, and resumes it (or only records how
 * long it was held). */
int collect_stop_target(const struct collect_ctx *ctx, struct stopped_process *ret);
void collect_resume_target(const struct collect_ctx *ctx, struct stopped_process *sp);

int collect_core_native(struct collect_ctx *ctx, const struct action *a, struct action_result *res);
int collect_core_gcore(struct collect_ctx *ctx, const struct action *a, struct action_result *res);
int collect_stacks(struct collect_ctx *ctx, const struct action *a, struct action_result *res);
int collect_profile(struct collect_ctx *ctx, const struct action *a, struct action_result *res);
int collect_exec(struct collect_ctx *ctx, const struct action *a, struct action_result *res);
/* Runs `hook` for the artifact committed at `path` ({dir} and AUTODUMP_DIR
 * are that path), its output in autodump's log; logs how it ended. */
int collect_on_complete(const struct collect_ctx *ctx, const struct action *hook, const char *path);
int collect_signal(struct collect_ctx *ctx, const struct action *a, struct action_result *res);
/* Through HotSpot's attach (jvm.c): threads.txt, heap.hprof, jcmd-N.txt. */
int collect_jvm_threaddump(struct collect_ctx *ctx, const struct action *a, struct action_result *res);
int collect_jvm_heapdump(struct collect_ctx *ctx, const struct action *a, struct action_result *res);
int collect_jvm_jcmd(struct collect_ctx *ctx, const struct action *a, struct action_result *res);
/* From a Go program's net/http/pprof (go.c): goroutines.txt, heap.pb.gz, cpu.pb.gz. */
int collect_go_goroutines(struct collect_ctx *ctx, const struct action *a, struct action_result *res);
int collect_go_heap(struct collect_ctx *ctx, const struct action *a, struct action_result *res);
int collect_go_profile(struct collect_ctx *ctx, const struct action *a, struct action_result *res);
/* A .NET runtime's own dump over its diagnostics IPC (dotnet.c): dotnet.dmp. */
int collect_dotnet_dump(struct collect_ctx *ctx, const struct action *a, struct action_result *res);
/* An EventPipe session of a->duration written as trace.nettrace. */
int collect_dotnet_trace(struct collect_ctx *ctx, const struct action *a, struct action_result *res);
/* proc/: status, limits, maps, smaps_rollup, cgroup, stat, cmdline, fds. */
int collect_snapshot(struct collect_ctx *ctx, struct action_result *res);

/* Resumes the target if it is stopped now but was not when the firing
 * began: the last line of defence after a tool (gdb) that stops with
 * SIGSTOP died mid-capture. Returns true if it had to. */
bool collect_ensure_running(const struct proc_root *proc, int pidfd, pid_t pid,
                            bool stopped_at_firing);

/* Runs argv with stdout+stderr to out_fd, as `as` (NULL or nameless: as
 * we run), killing it after `timeout` (0: none). *ret_status is the
 * waitpid status. -ETIME on timeout; the exec's own error (-ENOENT,
 * -EACCES…, or -EPERM from becoming `as`) when argv[0] could not be run. */
int spawn_and_wait(char *const argv[], char *const envp[], int out_fd, usec_t timeout,
                   const struct hook_user *as, int *ret_status);

