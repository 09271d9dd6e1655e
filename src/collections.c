#include "collections.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "bindings.h"
#include "collect/fork_snapshot.h"
#include "collector.h"
#include "crash/link.h"
#include "firing_queue.h"
#include "log.h"
#include "output_dir.h"
#include "units.h"

/* One process a collection acts on, with its own artifact. */
struct subject {
        struct pick pick;
        int pidfd;                      /* opened in the loop, checked against the start time */
        bool stopped_at_firing;         /* state T before autodump touched it */
        struct artifact artifact;
};

struct collection {
        struct collections *owner;
        pid_t pid;                      /* the collector process (and its group) */
        struct target *target;
        struct subject *subjects;
        size_t n_subjects;
        struct loop_source *exit, *deadline;
        bool timed_out;
        /* For a recording: the collector writes each subject's artifact
         * path here, a line each; what it fired on, to say which firing. */
        int paths_fd;
        const struct rule *rule;
        usec_t wall;
        struct collection *next;
};

struct collections {
        struct loop *loop;
        struct collections_options o;
        struct collection *running;
        unsigned n_running;
        struct firing_queue queue;
};

static void start_waiting(struct collections *owner);

static void tell_dropped(const struct firing_job *j, const char *why, void *userdata) {
        const struct collections *owner = userdata;
        if (!owner->o.finished)
                return;
        struct firing_end e = { .rule = j->rule->name, .target = j->target, .wall = j->wall, .dropped = why };
        owner->o.finished(&e, owner->o.finished_userdata);
}

int collections_new(struct loop *loop, const struct collections_options *o, struct collections **ret) {
        struct collections *c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        *c = (struct collections) { .loop = loop, .o = *o,
                                    .queue = { .max = o->queue, .on_drop = tell_dropped, .on_drop_userdata = c } };
        *ret = c;
        return 0;
}

static void collection_free(struct collection *c) {
        loop_source_free(c->exit);
        loop_source_free(c->deadline);
        if (c->paths_fd >= 0)
                close(c->paths_fd);
        for (size_t i = 0; i < c->n_subjects; i++) {
                artifact_done(&c->subjects[i].artifact);
                /* A process target's pidfd is the target's own. */
                if (c->target->id.kind == TARGET_CGROUP && c->subjects[i].pidfd >= 0)
                        close(c->subjects[i].pidfd);
        }
        free(c->subjects);
        free(c);
}

void collections_free(struct collections *c) {
        if (!c)
                return;
        while (c->running) {
                struct collection *next = c->running->next;
                collection_free(c->running);
                c->running = next;
        }
        firing_queue_free(&c->queue);
        free(c);
}

unsigned collections_dropped(const struct collections *c) {
        return c->queue.dropped;
}

void collections_forget_target(struct collections *c, struct target *tg) {
        firing_queue_forget_target(&c->queue, tg);
}

void collections_stop(struct collections *c) {
        struct firing_job *j;
        while ((j = c->queue.head)) {
                c->queue.head = j->next;
                c->queue.n--;
                firing_queue_drop(&c->queue, j, "autodump is stopping", true);
        }
        c->queue.tail = NULL;
}

unsigned collections_running(const struct collections *c) {
        return c->n_running;
}

size_t collections_waiting(const struct collections *c) {
        return c->queue.n;
}

void collections_reconfigure(struct collections *c, const struct collections_options *o) {
        c->o = *o;
        c->queue.max = o->queue;
        /* More slots may let a waiting firing run now. */
        start_waiting(c);
}

void collections_rebind(struct collections *c, const struct binding_table *bindings) {
        for (struct firing_job *j = c->queue.head; j; j = j->next)
                j->binding = bindings_find(bindings, j->rule->name, &j->target->id);
}

bool collections_is_collector(const struct collections *c, pid_t pid) {
        for (const struct collection *k = c->running; k; k = k->next)
                if (k->pid == pid)
                        return true;
        return false;
}

static void on_deadline(struct loop_source *s, usec_t now, void *userdata) {
        struct collection *c = userdata;
        c->timed_out = true;
        kill(-c->pid, SIGKILL);
}

static void failure_reason(const struct collection *c, int status, char *buf, size_t size) {
        if (c->timed_out) {
                char d[32];
                format_duration(c->owner->o.timeout, d, sizeof d);
                snprintf(buf, size, "collection timed out after %s and was killed", d);
        } else if (WIFSIGNALED(status))
                snprintf(buf, size, "collector died of signal %d (%s)", WTERMSIG(status),
                         strsignal(WTERMSIG(status)));
        else
                snprintf(buf, size, "collector failed (exit status %d)", WEXITSTATUS(status));
}

/* The artifacts the collector wrote, a path a line in subject order, to
 * whoever keeps a record; `abandoned` holds the paths of those finished
 * here instead. */
static void tell_finished(struct collection *c, char **abandoned) {
        struct collections *owner = c->owner;
        if (!owner->o.finished || c->paths_fd < 0)
                return;
        char buf[65536];
        ssize_t n = read(c->paths_fd, buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = 0;
        struct firing_subject subjects[c->n_subjects];
        char *line = buf;
        for (size_t i = 0; i < c->n_subjects; i++) {
                char *end = line ? strchr(line, '\n') : NULL;
                if (end)
                        *end = 0;
                const char *path = end && *line ? line : abandoned[i];
                subjects[i] = (struct firing_subject) { .pid = c->subjects[i].pick.pid,
                                                        .comm = c->subjects[i].pick.comm, .path = path };
                line = end ? end + 1 : NULL;
        }
        struct firing_end e = { .rule = c->rule->name, .target = c->target, .wall = c->wall,
                                .subjects = subjects, .n_subjects = c->n_subjects };
        owner->o.finished(&e, owner->o.finished_userdata);
}

/* A core written from a snapshot, its collector killed meanwhile: the
 * kernel killed the snapshot with it; its zombie is reaped in the target. */
static void end_left_snapshot(const struct collections *owner, const struct artifact *a) {
        char why[256];
        _cleanup_close_ int out_fd = -1;
        if (output_dir_open(a->output, false, &out_fd, why, sizeof why) < 0)
                return;
        _cleanup_close_ int dir_fd = openat(out_fd, a->partial, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int r = dir_fd >= 0 ? fork_snapshot_end_noted(owner->o.proc, dir_fd) : 0;
        if (r < 0)
                log_warning("the snapshot of a core left unfinished was not reaped in its process: %s", strerror(-r));
}

static void on_collector_exit(struct loop_source *s, pid_t pid, int status, void *userdata) {
        struct collection *c = userdata;
        struct collections *owner = c->owner;
        struct target *tg = c->target;
        char *abandoned[c->n_subjects];
        memset(abandoned, 0, sizeof abandoned);
        if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
                char reason[128];
                failure_reason(c, status, reason, sizeof reason);
                for (size_t i = 0; i < c->n_subjects; i++) {
                        struct subject *sub = &c->subjects[i];
                        char *path = NULL;
                        end_left_snapshot(owner, &sub->artifact);
                        /* A subject the collector never reached left nothing. */
                        if (artifact_abandon(&sub->artifact, reason, &path) == 0)
                                log_warning("%s[%d]: %s; partial artifact: %s", sub->pick.comm, (int) sub->pick.pid,
                                            reason, (abandoned[i] = path));
                        else
                                log_warning("%s[%d]: %s", sub->pick.comm, (int) sub->pick.pid, reason);
                        /* The collector may have died with the process held by
                         * a tool that stops with SIGSTOP (gdb); never leave it
                         * so. */
                        if (sub->pidfd >= 0 && !tg->gone &&
                            collect_ensure_running(owner->o.proc, sub->pidfd, sub->pick.pid, sub->stopped_at_firing))
                                log_warning("%s[%d]: was left stopped; resumed it", sub->pick.comm, (int) sub->pick.pid);
                }
        }
        tell_finished(c, abandoned);
        for (size_t i = 0; i < c->n_subjects; i++)
                free(abandoned[i]);
        for (struct collection **p = &owner->running; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        owner->n_running--;
        tg->collection = NULL;
        retention_apply(owner->o.output, &owner->o.retention);
        bool gone = tg->gone;
        collection_free(c);
        if (gone)
                target_free(tg);
        start_waiting(owner);
}

/* The collector process: builds each subject's artifact and runs the
 * actions. */
static _Noreturn void run_collector(struct collections *owner, struct collection *c, const struct firing_job *job,
                                    usec_t capture_wall, const struct firing_cgroup *cg, int crash_channel) {
        /* Its own process group so a timeout kills every tool it started;
         * dies with the watchdog, and then the kernel releases any thread
         * it holds. */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* Everything written, by us or by a tool such as gdb, is for root's
         * eyes only: cores hold the process's secrets. */
        umask(0077);
        loop_forked_child(owner->loop);
        const struct rule *rule = job->rule;
        int failed = 0;
        for (size_t i = 0; i < c->n_subjects; i++) {
                struct subject *sub = &c->subjects[i];
                struct firing f = {
                        .rule = rule->name, .actions = rule->actions, .n_actions = rule->n_actions,
                        .metric = metric_info(rule->metric)->name, .decision = &job->decision,
                        .history = &job->history, .reference = job->reference,
                        .reference_what = job->reference_what, .cgroup = cg, .pid = sub->pick.pid,
                        .starttime = sub->pick.starttime, .pidfd = sub->pidfd,
                        .stopped_at_firing = sub->stopped_at_firing, .wall = job->wall, .capture_wall = capture_wall,
                        .min_free_pct = owner->o.min_free_pct,
                        .on_complete = rule->on_complete.argv ? &rule->on_complete : owner->o.on_complete,
                        .hook_user = owner->o.hook_user, .go_pprof = rule->go_pprof,
                };
                memcpy(f.comm, sub->pick.comm, sizeof f.comm);
                /* The crash tracer lends it for the capture and takes it
                 * back when this process ends. */
                int r = crash_channel >= 0 ? crash_borrow(crash_channel, sub->pick.pid, sub->pick.starttime) : 0;
                if (r < 0)
                        log_warning("%s: the crash tracer did not let go of %s[%d]: %s", rule->name, sub->pick.comm,
                                    (int) sub->pick.pid, strerror(-r));
                _cleanup_free_ char *path = NULL;
                r = collector_run(owner->o.proc, &f, &sub->artifact, &path);
                if (r == 0)
                        log_notice("%s: artifact written: %s", rule->name, path);
                failed |= r < 0;
                if (c->paths_fd >= 0)
                        dprintf(c->paths_fd, "%s\n", r == 0 && path ? path : "");
        }
        _exit(failed);
}

/* The processes a firing acts on: the target itself, or those picked in
 * its cgroup (none, if it has none: then one artifact records that). */
static int choose_subjects(struct collections *owner, const struct firing_job *job, struct collection *c) {
        struct target *tg = job->target;
        const struct rule *rule = job->rule;
        if (tg->id.kind == TARGET_PROCESS) {
                struct pick self = { .pid = tg->id.pid, .starttime = tg->id.starttime };
                memcpy(self.comm, tg->name, sizeof self.comm);
                if (!(c->subjects = calloc(1, sizeof *c->subjects)))
                        return -ENOMEM;
                c->subjects[0] = (struct subject) { .pick = self, .pidfd = tg->proc.pidfd, .artifact = ARTIFACT_NULL };
                c->n_subjects = 1;
                return 0;
        }
        _cleanup_free_ struct pick *picks = NULL;
        size_t n;
        bool names_cgroup = rule->target.cgroup || rule->target.unit;
        int r = pick_processes(owner->o.proc, tg, metric_info(rule->metric)->lead, rule->pick_all ? rule->pick_max : 1,
                               names_cgroup ? NULL : owner->o.is_watched, owner->o.userdata, &picks, &n);
        if (r < 0)
                n = 0;
        if (!(c->subjects = calloc(n ? n : 1, sizeof *c->subjects)))
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                /* The pidfd first, then the start time again: a pick that
                 * exited and whose PID was reused is dropped. */
                int pidfd = (int) syscall(SYS_pidfd_open, picks[i].pid, 0);
                struct proc_stat st;
                if (pidfd < 0 || proc_read_stat(owner->o.proc, picks[i].pid, &st) < 0 ||
                    st.starttime != picks[i].starttime) {
                        if (pidfd >= 0)
                                close(pidfd);
                        continue;
                }
                c->subjects[c->n_subjects++] =
                        (struct subject) { .pick = picks[i], .pidfd = pidfd, .artifact = ARTIFACT_NULL };
        }
        if (c->n_subjects == 0) {
                /* Named after the cgroup, pid 0: nothing to act on. */
                struct pick none = {};
                memcpy(none.comm, tg->name, sizeof none.comm);
                c->subjects[0] = (struct subject) { .pick = none, .pidfd = -1, .artifact = ARTIFACT_NULL };
                c->n_subjects = 1;
        }
        return 0;
}

/* Starts the collection of `job`, which it then owns. */
static void run(struct collections *owner, struct firing_job *job) {
        _cleanup_(firing_job_freep) struct firing_job *owned = job;
        struct target *tg = job->target;
        const struct rule *rule = job->rule;
        usec_t capture_wall = now_usec(CLOCK_REALTIME);
        struct collection *c = calloc(1, sizeof *c);
        if (c)
                c->paths_fd = -1;
        if (!c || choose_subjects(owner, job, c) < 0) {
                if (c)
                        collection_free(c);
                log_error("%s: out of memory", rule->name);
                return;
        }
        c->owner = owner;
        c->target = tg;
        c->rule = rule;
        c->wall = job->wall;
        for (size_t i = 0; i < c->n_subjects; i++) {
                struct subject *sub = &c->subjects[i];
                sub->artifact = (struct artifact) ARTIFACT_NULL;
                struct proc_stat st;
                sub->stopped_at_firing = sub->pick.pid && proc_read_stat(owner->o.proc, sub->pick.pid, &st) == 0 &&
                                         st.state == 'T';
                if (artifact_prepare(owner->o.output, job->wall, rule->name, sub->pick.comm, sub->pick.pid,
                                     &sub->artifact) < 0) {
                        log_error("%s: out of memory", rule->name);
                        collection_free(c);
                        return;
                }
        }
        struct firing_cgroup cg = {}, *cgp = NULL;
        _cleanup_free_ struct pick *picked = NULL;
        if (tg->id.kind == TARGET_CGROUP) {
                bool any = c->subjects[0].pick.pid != 0;
                picked = calloc(c->n_subjects, sizeof *picked);
                for (size_t i = 0; picked && i < c->n_subjects; i++)
                        picked[i] = c->subjects[i].pick;
                cg = (struct firing_cgroup) {
                        .path = cgroup_paths_name(&tg->cgroup.handle.paths), .memory_limit = tg->cgroup.memory_limit,
                        .pids_limit = tg->cgroup.pids_limit, .cpu_quota = tg->cgroup.cpu_limit,
                        .why = any ? pick_reason(metric_info(rule->metric)->lead) : "the cgroup had no process",
                        .picked = picked, .n_picked = picked && any ? c->n_subjects : 0,
                };
                cgp = &cg;
        }
        int crash_channel = owner->o.crash_channel ? owner->o.crash_channel(owner->o.userdata) : -1;
        /* The paths fit the pipe's buffer (a line per subject), so the
         * collector never waits on it; read once it has exited. */
        int paths[2] = { -1, -1 };
        if (owner->o.finished && pipe2(paths, O_CLOEXEC) < 0)
                log_warning("%s: the recording will not know this firing's artifacts: %m", rule->name);
        c->paths_fd = paths[1];
        /* The collector does all its work (malloc, libdw, zstd) in the forked
         * child without an exec: safe only because the watchdog has one
         * thread, so no lock can be held at the fork. Keep it so, or exec a
         * collector, once the watchdog grows threads. */
        c->pid = fork();
        if (c->pid == 0)
                run_collector(owner, c, job, capture_wall, cgp, crash_channel);
        if (crash_channel >= 0)
                close(crash_channel);
        if (paths[1] >= 0) {
                close(paths[1]);
                fcntl(paths[0], F_SETFL, O_NONBLOCK);
        }
        c->paths_fd = paths[0];
        if (c->pid < 0) {
                log_error("%s: cannot fork a collector: %m", rule->name);
                tell_dropped(job, "cannot fork a collector", owner);
                collection_free(c);
                return;
        }
        setpgid(c->pid, c->pid);        /* also here: no race with the kill on timeout */
        int r = loop_add_child(owner->loop, c->pid, on_collector_exit, c, &c->exit);
        if (r >= 0)
                r = loop_add_timer(owner->loop, now_usec(CLOCK_MONOTONIC) + owner->o.timeout, 0, on_deadline, c,
                                   &c->deadline);
        if (r < 0) {
                /* Unwatched, it could never be timed out or finished. */
                log_error("%s: cannot watch the collector: %s", rule->name, strerror(-r));
                kill(-c->pid, SIGKILL);
                waitpid(c->pid, NULL, 0);
                for (size_t i = 0; i < c->n_subjects; i++)
                        artifact_abandon(&c->subjects[i].artifact, "collector could not be watched", NULL);
                collection_free(c);
                return;
        }
        c->next = owner->running;
        owner->running = c;
        owner->n_running++;
        tg->collection = c;
}

static void start_waiting(struct collections *owner) {
        struct firing_job *j;
        while (owner->n_running < owner->o.parallel && (j = firing_queue_take_ready(&owner->queue)))
                run(owner, j);
}

void collections_fire(struct collections *owner, const struct sample_event *ev, const struct decision *d,
                      usec_t last_fire_before) {
        struct firing_job *job;
        if (firing_job_new(ev, d, last_fire_before, &job) < 0) {
                log_error("%s: out of memory", ev->binding->rule->name);
                return;
        }
        if (!ev->target->collection && owner->n_running < owner->o.parallel) {
                run(owner, job);
                return;
        }
        char what[128];
        target_describe(ev->target, what, sizeof what);
        int r = firing_queue_push(&owner->queue, job);
        if (r == -EEXIST)
                firing_queue_drop(&owner->queue, job, "a firing of this target already waits for a slot", true);
        else if (r == -ENOSPC)
                firing_queue_drop(&owner->queue, job, "the queue of firings waiting for a slot is full", true);
        else
                log_info("%s: firing on %s waits for a collection slot (%s)", job->rule->name, what,
                         ev->target->collection ? "its collection is running"
                                                : "every slot is busy: [collect] parallel");
}
