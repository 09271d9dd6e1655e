#include "collections.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "collector.h"
#include "log.h"
#include "units.h"

struct collection {
        struct collections *owner;
        pid_t pid;                      /* the collector process (and its group) */
        struct target *target;
        bool stopped_at_firing;         /* state T before autodump touched it */
        struct artifact artifact;
        struct loop_source *exit, *deadline;
        bool timed_out;
        struct collection *next;
};

struct collections {
        struct loop *loop;
        struct collections_options o;
        struct collection *running;
        unsigned n_running;
};

int collections_new(struct loop *loop, const struct collections_options *o, struct collections **ret) {
        struct collections *c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        *c = (struct collections) { .loop = loop, .o = *o };
        *ret = c;
        return 0;
}

static void collection_free(struct collection *c) {
        loop_source_free(c->exit);
        loop_source_free(c->deadline);
        artifact_done(&c->artifact);
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
        free(c);
}

unsigned collections_running(const struct collections *c) {
        return c->n_running;
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

static void on_collector_exit(struct loop_source *s, pid_t pid, int status, void *userdata) {
        struct collection *c = userdata;
        struct collections *owner = c->owner;
        struct target *tg = c->target;
        if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
                char reason[128];
                failure_reason(c, status, reason, sizeof reason);
                _cleanup_free_ char *path = NULL;
                if (artifact_abandon(&c->artifact, reason, &path) == 0)
                        log_warning("%s[%d]: %s; partial artifact: %s", tg->name, (int) tg->id.pid, reason, path);
                else
                        log_warning("%s[%d]: %s", tg->name, (int) tg->id.pid, reason);
                /* The collector may have died with the target held by a tool
                 * that stops with SIGSTOP (gdb); never leave it so. */
                if (!tg->gone && collect_ensure_running(owner->o.proc, tg->proc.pidfd, tg->id.pid,
                                                        c->stopped_at_firing))
                        log_warning("%s[%d]: was left stopped; resumed it", tg->name, (int) tg->id.pid);
        }
        for (struct collection **p = &owner->running; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        owner->n_running--;
        tg->collection = NULL;
        if (tg->gone)
                target_free(tg);
        collection_free(c);
}

/* The collector process: builds the artifact and runs the actions. */
static _Noreturn void run_collector(struct collections *owner, struct collection *c, const struct rule *rule,
                                    const struct ring *history, const struct decision *d, usec_t wall) {
        /* Its own process group so a timeout kills every tool it started;
         * dies with the watchdog, and then the kernel releases any thread
         * it holds. */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* Everything written, by us or by a tool such as gdb, is for root's
         * eyes only: cores hold the process's secrets. */
        umask(0077);
        loop_forked_child(owner->loop);
        const struct target *tg = c->target;
        struct firing f = {
                .rule = rule->name, .actions = rule->actions, .n_actions = rule->n_actions,
                .metric = metric_info(rule->metric)->name, .decision = d, .history = history,
                .pid = tg->id.pid, .starttime = tg->id.starttime, .pidfd = tg->proc.pidfd,
                .stopped_at_firing = c->stopped_at_firing, .wall = wall, .min_free_pct = owner->o.min_free_pct,
        };
        memcpy(f.comm, tg->name, sizeof f.comm);
        _cleanup_free_ char *path = NULL;
        int r = collector_run(owner->o.proc, &f, &c->artifact, &path);
        if (r == 0)
                log_notice("%s: artifact written: %s", rule->name, path);
        _exit(r < 0 ? 1 : 0);
}

void collections_start(struct collections *owner, struct target *tg, const struct rule *rule,
                       const struct ring *history, const struct decision *d, usec_t wall) {
        if (tg->collection) {
                log_warning("%s: %s[%d] has a collection running; this firing collects nothing", rule->name,
                            tg->name, (int) tg->id.pid);
                return;
        }
        if (owner->n_running >= owner->o.parallel) {
                log_warning("%s: %u collection(s) already running (parallel = %u); this firing collects nothing",
                            rule->name, owner->n_running, owner->o.parallel);
                return;
        }
        struct collection *c = calloc(1, sizeof *c);
        if (!c || artifact_prepare(owner->o.output, wall, rule->name, tg->name, tg->id.pid, &c->artifact) < 0) {
                free(c);
                log_error("%s: out of memory", rule->name);
                return;
        }
        c->owner = owner;
        c->target = tg;
        struct proc_stat st;
        c->stopped_at_firing = proc_handle_stat(&tg->proc.handle, &st) == 0 && st.state == 'T';
        c->pid = fork();
        if (c->pid < 0) {
                log_error("%s: cannot fork a collector: %m", rule->name);
                collection_free(c);
                return;
        }
        if (c->pid == 0)
                run_collector(owner, c, rule, history, d, wall);
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
                artifact_abandon(&c->artifact, "collector could not be watched", NULL);
                collection_free(c);
                return;
        }
        c->next = owner->running;
        owner->running = c;
        owner->n_running++;
        tg->collection = c;
}
