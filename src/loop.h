/* The event loop: the only owner of epoll. Everything that waits — a target's
 * pidfd, the sampling tick, a collector's exit and deadline, signals, and
 * later PSI triggers, sockets and runtime streams — registers here with a
 * handler and gets a handle back; freeing the handle unregisters it.
 *
 * A handle may be freed from inside any handler, its own included, and an
 * event already fetched for a freed handle is never dispatched: the memory
 * is released only once the current batch of events is done. */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/signalfd.h>
#include <sys/types.h>

#include "util.h"

struct loop;
struct loop_source;

typedef void (*loop_io_fn)(struct loop_source *s, int fd, uint32_t revents, void *userdata);
typedef void (*loop_timer_fn)(struct loop_source *s, usec_t mono_now, void *userdata);
/* `status` is a waitpid(2)-style status: WIFEXITED, WTERMSIG… apply. */
typedef void (*loop_child_fn)(struct loop_source *s, pid_t pid, int status, void *userdata);
typedef void (*loop_signal_fn)(struct loop_source *s, const struct signalfd_siginfo *si, void *userdata);

int loop_new(struct loop **ret);
/* Frees every handle still registered, then the loop. */
void loop_free(struct loop *l);

/* Calls fn when `fd` has any of `events` (EPOLLIN, EPOLLPRI…). The fd stays
 * the caller's: it is not closed when the handle is freed. */
int loop_add_io(struct loop *l, int fd, uint32_t events, loop_io_fn fn, void *userdata,
                struct loop_source **ret);
/* Calls fn at `first` (CLOCK_MONOTONIC µs; 0 = at once), then every
 * `period` (0 = once). Ticks missed while busy are folded into one call. */
int loop_add_timer(struct loop *l, usec_t first, usec_t period, loop_timer_fn fn, void *userdata,
                   struct loop_source **ret);
/* Calls fn once when our child `pid` exits, after reaping it: a pidfd says
 * so at once, with no SIGCHLD needed. The handle is spent after the call
 * (free it all the same). */
int loop_add_child(struct loop *l, pid_t pid, loop_child_fn fn, void *userdata, struct loop_source **ret);
/* Calls fn for every delivery of `signo`, which is blocked and read from a
 * signalfd. One handler a signal. */
int loop_add_signal(struct loop *l, int signo, loop_signal_fn fn, void *userdata,
                    struct loop_source **ret);

void loop_source_free(struct loop_source *s);

/* Waits for events and dispatches one batch of them. */
int loop_run_once(struct loop *l);

/* Reaps every exited child: a child with a loop_add_child handle is
 * dispatched to it, any other (an orphan reparented to a subreaper) is just
 * reaped. For run mode's SIGCHLD. */
void loop_reap_children(struct loop *l);

/* In a child just forked from the loop's process: closes the loop's own fds
 * and unblocks its signals, so the child starts with default signal
 * handling. The loop's memory is left alone (it is the parent's copy). */
void loop_forked_child(struct loop *l);
