/* The notes of a native core: what a debugger reads to know the threads
 * (registers, the signal that was caught) and the process (command, auxv,
 * mapped files). Written as the kernel writes them. */
#include <elf.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

#include "core_elf.h"

#define XSTATE_MAX (64u << 10)

/* ---- notes -------------------------------------------------------------- */

static int note_add(struct core *c, const char *name, uint32_t type, const void *desc, size_t descsz) {
        size_t namesz = strlen(name) + 1;
        size_t need = sizeof(Elf64_Nhdr) + ((namesz + 3) & ~3u) + ((descsz + 3) & ~(size_t) 3);
        if (c->notes_len + need > c->notes_cap) {
                size_t cap = (c->notes_cap + need) * 2;
                char *n = realloc(c->notes, cap);
                if (!n)
                        return -ENOMEM;
                c->notes = n;
                c->notes_cap = cap;
        }
        char *p = c->notes + c->notes_len;
        memset(p, 0, need);
        Elf64_Nhdr h = { .n_namesz = (Elf64_Word) namesz, .n_descsz = (Elf64_Word) descsz, .n_type = type };
        memcpy(p, &h, sizeof h);
        memcpy(p + sizeof h, name, namesz);
        memcpy(p + sizeof h + ((namesz + 3) & ~3u), desc, descsz);
        c->notes_len += need;
        return 0;
}

static int note_prstatus(struct core *c, const struct thread_state *t) {
        prstatus_t st = {};
        st.pr_info.si_signo = t->cursig;
        st.pr_cursig = (short) t->cursig;
        st.pr_pid = t->tid;
        st.pr_ppid = c->stat.ppid;
        st.pr_pgrp = c->stat.pgrp;
        st.pr_sid = c->stat.session;
        memcpy(&st.pr_reg, &t->regs, sizeof st.pr_reg);
        st.pr_fpvalid = t->has_fpregs;
        return note_add(c, "CORE", NT_PRSTATUS, &st, sizeof st);
}

static int note_thread_extras(struct core *c, const struct thread_state *t) {
        int r = 0;
        if (t->has_fpregs)
                r = note_add(c, "CORE", NT_FPREGSET, &t->fpregs, sizeof t->fpregs);
        if (r == 0 && t->xstate_len)
                r = note_add(c, "LINUX", NT_X86_XSTATE, t->xstate, t->xstate_len);
        return r;
}

static int note_prpsinfo(struct core *c) {
        prpsinfo_t ps = {};
        static const char states[] = "RSDTZW";
        const char *s = strchr(states, c->stat.state);
        ps.pr_state = (char) (s ? s - states : 0);
        ps.pr_sname = c->stat.state;
        ps.pr_zomb = c->stat.state == 'Z';
        ps.pr_nice = (char) c->stat.nice;
        ps.pr_flag = c->stat.flags;
        ps.pr_pid = c->pid;
        ps.pr_ppid = c->stat.ppid;
        ps.pr_pgrp = c->stat.pgrp;
        ps.pr_sid = c->stat.session;
        char path[64];
        snprintf(path, sizeof path, "%d/status", (int) c->pid);
        _cleanup_free_ char *status = NULL;
        if (read_file_at(c->proc->fd, path, 64 << 10, &status, NULL) == 0) {
                const char *u = strstr(status, "\nUid:"), *g = strstr(status, "\nGid:");
                ps.pr_uid = u ? (unsigned) strtoul(u + 5, NULL, 10) : 0;
                ps.pr_gid = g ? (unsigned) strtoul(g + 5, NULL, 10) : 0;
        }
        snprintf(ps.pr_fname, sizeof ps.pr_fname, "%s", c->stat.comm);
        snprintf(path, sizeof path, "%d/cmdline", (int) c->pid);
        _cleanup_free_ char *cmdline = NULL;
        size_t len = 0;
        if (read_file_at(c->proc->fd, path, 1 << 20, &cmdline, &len) == 0) {
                if (len > sizeof ps.pr_psargs - 1)
                        len = sizeof ps.pr_psargs - 1;
                for (size_t i = 0; i < len; i++)
                        ps.pr_psargs[i] = cmdline[i] ? cmdline[i] : ' ';
        }
        return note_add(c, "CORE", NT_PRPSINFO, &ps, sizeof ps);
}

static int note_auxv(struct core *c) {
        char path[64];
        snprintf(path, sizeof path, "%d/auxv", (int) c->pid);
        _cleanup_free_ char *auxv = NULL;
        size_t len;
        if (read_file_at(c->proc->fd, path, 1 << 16, &auxv, &len) < 0)
                return 0;       /* optional: a debugger copes without it */
        return note_add(c, "CORE", NT_AUXV, auxv, len);
}

/* NT_FILE: count, page size, then (start, end, offset in pages) for each
 * file mapping, then their names — what lets a debugger find the files. */
static int note_file(struct core *c) {
        size_t n = 0, names = 0;
        for (size_t i = 0; i < c->maps.n; i++)
                if (maps_is_file(&c->maps.items[i])) {
                        n++;
                        names += strlen(c->maps.items[i].path) + 1;
                }
        size_t size = (2 + 3 * n) * sizeof(uint64_t) + names;
        _cleanup_free_ uint64_t *desc = calloc(1, size);
        if (!desc)
                return -ENOMEM;
        desc[0] = n;
        desc[1] = (uint64_t) c->page;
        char *name = (char *) (desc + 2 + 3 * n);
        size_t k = 0;
        for (size_t i = 0; i < c->maps.n; i++) {
                const struct mapping *m = &c->maps.items[i];
                if (!maps_is_file(m))
                        continue;
                desc[2 + 3 * k] = m->start;
                desc[3 + 3 * k] = m->end;
                desc[4 + 3 * k] = m->offset / (uint64_t) c->page;
                k++;
                size_t l = strlen(m->path) + 1;
                memcpy(name, m->path, l);
                name += l;
        }
        return note_add(c, "CORE", NT_FILE, desc, size);
}

int core_build_notes(struct core *c) {
        /* The kernel's order: the first thread's status, the process-wide
         * notes, the first thread's other registers, then each other
         * thread. */
        int r = note_prstatus(c, &c->threads[0]);
        if (r == 0)
                r = note_prpsinfo(c);
        if (r == 0 && c->threads[0].has_siginfo)
                r = note_add(c, "CORE", NT_SIGINFO, &c->threads[0].siginfo, sizeof c->threads[0].siginfo);
        if (r == 0)
                r = note_auxv(c);
        if (r == 0)
                r = note_file(c);
        if (r == 0)
                r = note_thread_extras(c, &c->threads[0]);
        for (size_t i = 1; r == 0 && i < c->n_threads; i++) {
                r = note_prstatus(c, &c->threads[i]);
                if (r == 0)
                        r = note_thread_extras(c, &c->threads[i]);
        }
        return r;
}

/* ---- threads ------------------------------------------------------------ */

int core_read_registers(struct core *c, const struct stopped_process *sp) {
        c->threads = calloc(sp->n, sizeof *c->threads);
        if (!c->threads)
                return -ENOMEM;
        /* The thread a debugger shows first leads: the one that crashed,
         * else the main thread. */
        pid_t first = sp->first ? sp->first : sp->pid;
        /* A crash: the kernel writes the fatal signal into every thread's
         * status, and a debugger takes it from the last one it reads. */
        int fatal = sp->first && sp->n && sp->threads[0].tid == sp->first ? sp->threads[0].pending_signal : 0;
        size_t k = 0;
        for (size_t pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < sp->n; i++) {
                        bool leads = sp->threads[i].tid == first;
                        if (leads != (pass == 0))
                                continue;
                        struct thread_state *t = &c->threads[k];
                        t->tid = sp->threads[i].tid;
                        t->cursig = fatal ? fatal : sp->threads[i].pending_signal;
                        /* A signal caught on its way in while stopping: the
                         * one case where a live dump has a siginfo to tell. */
                        t->has_siginfo = sp->threads[i].pending_signal && ptrace(PTRACE_GETSIGINFO, t->tid, NULL, &t->siginfo) == 0;
                        struct iovec iov = { &t->regs, sizeof t->regs };
                        if (ptrace(PTRACE_GETREGSET, t->tid, (void *) NT_PRSTATUS, &iov) < 0)
                                continue;       /* gone meanwhile */
                        iov = (struct iovec) { &t->fpregs, sizeof t->fpregs };
                        t->has_fpregs = ptrace(PTRACE_GETREGSET, t->tid, (void *) NT_PRFPREG, &iov) == 0;
                        t->xstate = malloc(XSTATE_MAX);
                        iov = (struct iovec) { t->xstate, XSTATE_MAX };
                        if (t->xstate && ptrace(PTRACE_GETREGSET, t->tid, (void *) NT_X86_XSTATE, &iov) == 0)
                                t->xstate_len = iov.iov_len;
                        k++;
                }
        c->n_threads = k;
        return k ? 0 : -ESRCH;
}
