/* Run mode's duties as the command's parent (and PID 1 in a container),
 * as tini, dumb-init and catatonit do them: start the command in its own
 * process group (the terminal's foreground group, with a terminal), with
 * the limits, signal mask and dispositions autodump was started with;
 * forward every catchable signal to it (or its group); reap every orphan
 * reparented to us as subreaper; pass its exit status through. With crash
 * rules, a crash tracer follows the command's tree (crash/tracer.h), and
 * .NET programs dump their own crashes (crash/dotnet_dumps.h). */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "crash/dotnet_dumps.h"
#include "crash/tracer.h"
#include "loop.h"

/* What autodump was started with, for the command to start with too. */
struct inherited {
        struct rlimit nofile;
        sigset_t mask;
        struct sigaction ttin, ttou, pipe;
};

struct runmode_options {
        bool kill_group;                /* -g: signals go to the command's whole process group */
        const int *expect_exit;         /* -e: exit codes passed through as 0 */
        size_t n_expect_exit;
        const struct crash_config *crash;       /* NULL: crashes are not traced */
};

struct runmode {
        struct loop *loop;
        struct runmode_options o;
        struct inherited inherited;
        pid_t command;
        bool exited;
        int status;             /* waitpid-style, once exited */
        struct crash_tracer *crash;
        bool crash_traced;      /* the tracer holds the command */
        struct dotnet_dumps *dotnet;    /* .NET programs' own crash dumps */
        struct loop_source *command_exit, *signals[_NSIG];     /* freed with the loop */
};

/* Before autodump changes any: the limits and signal state to restore in
 * the command. */
void runmode_save_inherited(struct inherited *ret);

/* Starts `argv` as the command. When it cannot be executed, logs why and
 * sets *ret_exit_code (127: not found, 126: not executable). */
int runmode_start(struct runmode *rm, struct loop *loop, const struct runmode_options *o, char *const *argv,
                  int *ret_exit_code);
/* The command's exit code: its own, or 128+N if signal N killed it; 0 if
 * it is one of -e's. */
int runmode_exit_code(const struct runmode *rm);
void runmode_done(struct runmode *rm);
