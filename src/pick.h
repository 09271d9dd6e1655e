/* Which processes of a cgroup a cgroup rule's process actions (core,
 * stacks, profile, signal) go to: the one leading what the metric measures
 * — the largest RSS for memory, the most CPU since the last sample for
 * cpu, the most threads for tasks — or, with `pick: all`, the first
 * `pick_max` of them in that order. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "consumer.h"
#include "metric.h"
#include "proc.h"
#include "target.h"

struct pick {
        pid_t pid;
        uint64_t starttime;
        char comm[16];
        double score;           /* bytes of RSS, CPU seconds in the interval, or threads */
};

/* Orders candidates by score, most first (ties: lower pid), keeping `max`.
 * Pure. */
size_t pick_rank(struct pick *p, size_t n, size_t max);

/* A consumer, ahead of the engine: on each sample of a CPU-led cgroup
 * metric, notes the CPU ticks of the cgroup's processes (the cgroup
 * target's cpu_snapshot), so a firing can tell who used the most since the
 * last sample. */
void pick_note_cpu(const struct sample_event *ev, void *userdata /* const struct proc_root * */);

/* The processes to act on for a firing of a `lead`-led metric on cgroup
 * target `tg`: the leader, or the first `max` (pick: all), among those
 * `allowed` accepts (NULL: every process in the cgroup). *ret_n may be 0:
 * the cgroup had no such process. */
int pick_processes(const struct proc_root *proc, struct target *tg, enum metric_lead lead, size_t max,
                   bool (*allowed)(pid_t pid, void *userdata), void *userdata, struct pick **ret, size_t *ret_n);
const char *pick_reason(enum metric_lead lead);
