/* One crash, in the tracer: is it one (a signal that dumps core, not
 * handled), does a rule want it, then hold every thread, run the rule's
 * actions on the held process, and let the signal go on. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "follow.h"
#include "link.h"
#include "../collector.h"
#include "../log.h"
#include "../match.h"
#include "../ptrace.h"

/* The signals whose default action is "core" (signal(7)). */
static bool dumps_core(int sig) {
        static const int core[] = { SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ, SIGSYS };
        for (size_t i = 0; i < ELEMENTSOF(core); i++)
                if (core[i] == sig)
                        return true;
        return false;
}

bool crash_signal_is_fatal(int sig, uint64_t caught, uint64_t ignored) {
        uint64_t bit = 1ULL << (sig - 1);
        /* A handler of its own (a JVM's or Go runtime's SIGSEGV) means the
         * signal is the program's business. A fault the kernel forces on a
         * process that ignores or blocks it resets the disposition before
         * the stop, so what is read here is what will happen. */
        return dumps_core(sig) && !(caught & bit) && !(ignored & bit);
}

const struct rule *crash_rule_for(const struct crash_config *cfg, pid_t pid, const char *comm) {
        struct proc_facts f = { .pid = pid, .comm = comm, .in_tree = true };
        _cleanup_free_ char *cmdline = NULL;
        for (size_t i = 0; i < cfg->n_rules; i++) {
                const struct target_match *m = &cfg->rules[i].target;
                if (match_needs_details(m) && !f.cmdline && proc_read_cmdline(cfg->proc, pid, &cmdline) == 0) {
                        f.cmdline = cmdline;
                        f.has_uid = proc_read_uid(cfg->proc, pid, &f.uid) == 0;
                }
                if (target_matches(m, MODE_RUN, &f))
                        return &cfg->rules[i];
        }
        return NULL;
}

/* A crash-looping worker is captured `max` times per program, and not
 * again within `cooldown`: the count is per rule and comm. */
static struct crash_count *count_of(struct crash_capturer *c, const struct rule *rule, const char *comm) {
        for (size_t i = 0; i < c->n_counts; i++)
                if (c->counts[i].rule == rule && strcmp(c->counts[i].comm, comm) == 0)
                        return &c->counts[i];
        struct crash_count *counts = realloc(c->counts, (c->n_counts + 1) * sizeof *counts);
        if (!counts)
                return NULL;
        c->counts = counts;
        struct crash_count *n = &counts[c->n_counts++];
        *n = (struct crash_count) { .rule = rule };
        snprintf(n->comm, sizeof n->comm, "%s", comm);
        return n;
}

bool crash_count_allows(struct crash_capturer *c, const struct rule *rule, const char *comm, usec_t now) {
        struct crash_count *n = count_of(c, rule, comm);
        const struct condition *cond = &rule->cond;
        if (!n || (cond->max && n->fired >= cond->max) || (n->fired && now - n->last < cond->cooldown))
                return false;
        n->fired++;
        n->last = now;
        return true;
}

static void describe(const struct crash_info *ci, char *buf, size_t size) {
        const char *code = signal_code_name(ci->signo, ci->code);
        snprintf(buf, size, "SIG%s (%s) at 0x%" PRIx64 " in thread %d", sigabbrev_np(ci->signo),
                 code ? code : "?", ci->addr, (int) ci->tid);
}

/* Runs the rule's actions on the held process into one artifact; autodump
 * is told before (so it can finish the artifact, should the tracer die)
 * and after. */
static void collect(struct crash_capturer *c, const struct rule *rule, const struct proc_stat *st,
                    const struct crash_info *ci, const struct stopped_process *held) {
        const struct crash_config *cfg = c->cfg;
        usec_t wall = now_usec(CLOCK_REALTIME);
        struct artifact a = ARTIFACT_NULL;
        struct crash_msg m = { .type = CRASH_MSG_CAUGHT, .pid = st->pid, .tid = ci->tid,
                               .starttime = st->starttime, .signo = ci->signo, .code = ci->code,
                               .addr = ci->addr, .wall = wall };
        snprintf(m.rule, sizeof m.rule, "%s", rule->name);
        memcpy(m.comm, st->comm, sizeof m.comm);
        if (artifact_prepare(cfg->output, wall, rule->name, st->comm, st->pid, &a) < 0) {
                log_error("%s: out of memory", rule->name);
                return;
        }
        (void) crash_msg_send(c->ctrl, &m, -1);
        struct firing f = {
                .rule = rule->name, .actions = rule->actions, .n_actions = rule->n_actions, .metric = "",
                .pid = st->pid, .starttime = st->starttime, .pidfd = (int) syscall(SYS_pidfd_open, st->pid, 0),
                .wall = wall, .min_free_pct = cfg->min_free_pct,
                .on_complete = rule->on_complete.argv ? &rule->on_complete : cfg->on_complete,
                .hook_user = cfg->hook_user,
                .crash = ci, .held = held,
        };
        memcpy(f.comm, st->comm, sizeof f.comm);
        /* A capture that hangs must not hold the process for ever: the
         * alarm ends the tracer, the kernel lets every thread go, and the
         * signal goes on. */
        unsigned seconds = (unsigned) (cfg->timeout / USEC_PER_SEC);
        alarm(seconds ? seconds : 1);
        _cleanup_free_ char *path = NULL;
        int r = collector_run(cfg->proc, &f, &a, &path);
        alarm(0);
        m.type = CRASH_MSG_CAPTURED;
        m.result = r;
        snprintf(m.text, sizeof m.text, "%s", r == 0 ? path : strerror(-r));
        (void) crash_msg_send(c->ctrl, &m, -1);
        if (r == 0)
                log_notice("%s: artifact written: %s", rule->name, path);
        if (f.pidfd >= 0)
                close(f.pidfd);
        artifact_done(&a);
}

bool crash_capture(struct crash_capturer *c, pid_t tid, int sig) {
        const struct crash_config *cfg = c->cfg;
        struct proc_signals ps;
        /* Every signal of the tree stops here: the common ones (SIGCHLD,
         * a runtime's own) must cost no read of /proc. */
        if (!dumps_core(sig) || proc_read_signals(cfg->proc, tid, &ps) < 0 ||
            !crash_signal_is_fatal(sig, ps.caught, ps.ignored))
                return false;
        struct proc_stat st;
        if (proc_read_stat(cfg->proc, ps.tgid, &st) < 0)
                return false;
        const struct rule *rule = crash_rule_for(cfg, st.pid, st.comm);
        siginfo_t si = {};
        ptrace(PTRACE_GETSIGINFO, tid, NULL, &si);
        struct crash_info ci = { .signo = sig, .code = si.si_code, .tid = tid };
        /* si_addr means the faulting address only for the faults. */
        if (si.si_code > 0 && (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGTRAP))
                ci.addr = (uint64_t) (uintptr_t) si.si_addr;
        char what[128];
        describe(&ci, what, sizeof what);
        if (!rule || !crash_count_allows(c, rule, st.comm, now_usec(CLOCK_MONOTONIC))) {
                log_info("%s[%d] crashed: %s; %s", st.comm, (int) st.pid, what,
                         !rule ? "no crash rule selects it" : "not captured: max or cooldown of rule reached");
                return false;
        }
        log_notice("%s: fired on %s[%d]: crashed: %s", rule->name, st.comm, (int) st.pid, what);
        struct stopped_process sp;
        int r = ptrace_hold_traced(cfg->proc->fd, st.pid, tid, sig, &sp);
        if (r < 0) {
                /* Resumed already, the signal with it. */
                log_warning("%s: cannot stop %s[%d] to capture its crash: %s", rule->name, st.comm, (int) st.pid,
                            strerror(-r));
                return true;
        }
        collect(c, rule, &st, &ci, &sp);
        ptrace_resume_process(&sp);
        return true;
}

void crash_capturer_done(struct crash_capturer *c) {
        free(c->counts);
        c->counts = NULL;
        c->n_counts = 0;
}
