/* Run mode's duties as the command's parent (and PID 1 in a container):
 * start the command, forward signals to it, reap every orphan reparented
 * to us as subreaper, and pass its exit status through. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "loop.h"

struct runmode {
        struct loop *loop;
        pid_t command;
        bool exited;
        int status;             /* waitpid-style, once exited */
        struct loop_source *command_exit, *signals[7];  /* freed with the loop */
};

/* Starts `argv` as the command. When it cannot be executed, logs why and
 * sets *ret_exit_code (127: not found, 126: not executable). */
int runmode_start(struct runmode *rm, struct loop *loop, char *const *argv, int *ret_exit_code);
/* The command's exit code: its own, or 128+N if signal N killed it. */
int runmode_exit_code(const struct runmode *rm);
