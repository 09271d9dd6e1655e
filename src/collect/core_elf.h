/* The native core writer's picture of a stopped process (coredump.c):
 * threads with their registers, the mappings chosen for the file, and the
 * notes that describe both (core_notes.c). */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/user.h>

#include "maps.h"
#include "../proc.h"
#include "../ptrace.h"

struct thread_state {
        pid_t tid;
        int cursig;
        siginfo_t siginfo;              /* of cursig, when one was caught */
        bool has_siginfo;
        struct user_regs_struct regs;
        struct user_fpregs_struct fpregs;
        bool has_fpregs;
        void *xstate;
        size_t xstate_len;
};

struct segment {
        const struct mapping *map;
        uint64_t file_size;     /* bytes of memory stored: 0, a page, or all */
        uint64_t offset;        /* in the core file */
};

struct core {
        pid_t pid;
        pid_t mem_pid;          /* whose memory is read: the target, or its snapshot */
        int pidfd;
        const struct proc_root *proc;
        long page;
        struct proc_stat stat;
        struct mapping_list maps;
        struct segment *segs;
        size_t n_segs;
        struct thread_state *threads;
        size_t n_threads;
        char *notes;
        size_t notes_len, notes_cap;
        int mem_fd;             /* mem_pid's /proc/PID/mem: the fallback for unreadable ranges */
        int pagemap_fd;         /* mem_pid's */
        uint64_t unreadable;    /* bytes that could not be read: left as zeros */
};

/* Every thread's registers (general, FP, XSAVE) and caught signal, the
 * main thread first. -ESRCH if none could be read. */
int core_read_registers(struct core *c, const struct stopped_process *sp);
/* NT_PRSTATUS, NT_PRPSINFO, NT_SIGINFO, NT_AUXV, NT_FILE and the other
 * register notes, in the kernel's order, into c->notes. */
int core_build_notes(struct core *c);
