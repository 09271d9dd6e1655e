/* The `stacks` action: every thread stopped with PTRACE_SEIZE/INTERRUPT,
 * unwound and symbolized with elfutils libdw (what eu-stack uses), then
 * resumed. stacks.txt lists each thread (tid, name) with its frames. */
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>

#include "collect.h"
#include "symbols.h"
#include "../ptrace.h"

#define MAX_FRAMES 256
#define SYMBOL_CACHE 4096               /* slots; a power of two */

/* One thread's frames, taken while it is stopped and printed after it runs
 * again: symbolizing needs the modules' files, not the process. */
struct thread_frames {
        pid_t tid;
        char name[64];
        size_t n;
        Dwarf_Addr pc[MAX_FRAMES];
        bool activation[MAX_FRAMES];
        int crash_signal;               /* the fatal signal it was stopped in; 0: none */
        const char *error;              /* why no frame could be had */
};

struct symbol_cache {
        Dwarf_Addr key[SYMBOL_CACHE];
        char *text[SYMBOL_CACHE];
};

static int frame_cb(Dwfl_Frame *frame, void *arg) {
        struct thread_frames *t = arg;
        Dwarf_Addr pc;
        bool activation;
        if (!dwfl_frame_pc(frame, &pc, &activation))
                return DWARF_CB_ABORT;
        t->pc[t->n] = pc;
        t->activation[t->n] = activation;
        return ++t->n >= MAX_FRAMES ? DWARF_CB_ABORT : DWARF_CB_OK;
}

/* "symbol+0xoff (module) at file:line" for an address, formatted once per
 * distinct address: the threads of a pool share their frames. When the
 * cache is full the text goes to `buf`. */
static const char *describe(Dwfl *dwfl, const struct perf_map *jit, struct symbol_cache *cache, Dwarf_Addr lookup,
                            bool activation, char *buf, size_t size) {
        size_t slot = (size_t) (lookup * 0x9E3779B97F4A7C15ULL >> 52) & (SYMBOL_CACHE - 1);
        size_t probes = 0;
        while (cache->text[slot] && cache->key[slot] != lookup && ++probes < SYMBOL_CACHE)
                slot = (slot + 1) & (SYMBOL_CACHE - 1);
        if (cache->text[slot] && cache->key[slot] == lookup)
                return cache->text[slot];

        struct symbol sym;
        symbols_lookup(dwfl, jit, lookup, &sym);
        char off[32] = "", where[512] = "";
        if (sym.name && !sym.by_address)
                snprintf(off, sizeof off, "+0x%" PRIx64, sym.offset + (activation ? 0 : 1));
        if (sym.file)
                snprintf(where, sizeof where, " at %s:%d", sym.file, sym.line);
        snprintf(buf, size, "%s%s%s%s%s%s", sym.name ? sym.name : "??", off, sym.module ? " (" : "",
                 sym.module ? sym.module : "", sym.module ? ")" : "", where);
        if (!cache->text[slot] && (cache->text[slot] = strdup(buf))) {
                cache->key[slot] = lookup;
                return cache->text[slot];
        }
        return buf;
}

static void thread_name(int proc_fd, pid_t pid, pid_t tid, char *buf, size_t size) {
        char path[64];
        snprintf(path, sizeof path, "%d/task/%d/comm", (int) pid, (int) tid);
        _cleanup_free_ char *text = NULL;
        if (read_file_at(proc_fd, path, 4096, &text, NULL) < 0) {
                snprintf(buf, size, "?");
                return;
        }
        text[strcspn(text, "\n")] = 0;
        snprintf(buf, size, "%s", text);
}

static Dwfl *begin_dwfl(pid_t pid) {
        Dwfl *dwfl = symbols_open(pid);
        /* The threads are already stopped by us: libdw must not attach
         * itself (it would use PTRACE_ATTACH). */
        if (dwfl && dwfl_linux_proc_attach(dwfl, pid, true) != 0) {
                dwfl_end(dwfl);
                return NULL;
        }
        return dwfl;
}

/* While the process is stopped: every thread's program counters. */
static void unwind_all(Dwfl *dwfl, int proc_fd, const struct stopped_process *sp, struct thread_frames *threads) {
        for (size_t i = 0; i < sp->n; i++) {
                struct thread_frames *t = &threads[i];
                t->tid = sp->threads[i].tid;
                if (t->tid == sp->first)
                        t->crash_signal = sp->threads[i].pending_signal;
                thread_name(proc_fd, sp->pid, t->tid, t->name, sizeof t->name);
                if (dwfl_getthread_frames(dwfl, t->tid, frame_cb, t) != 0 && t->n == 0)
                        t->error = dwfl_errmsg(-1);
        }
}

static unsigned print_all(Dwfl *dwfl, const struct perf_map *jit, pid_t pid, const struct thread_frames *threads,
                          size_t n, FILE *out) {
        struct symbol_cache *cache = calloc(1, sizeof *cache);
        if (!cache)
                return 0;
        unsigned unwound = 0;
        char buf[1024];
        fprintf(out, "process %d: %zu threads\n", (int) pid, n);
        for (size_t i = 0; i < n; i++) {
                const struct thread_frames *t = &threads[i];
                char crashed[48] = "";
                if (t->crash_signal)
                        snprintf(crashed, sizeof crashed, " [crashed: SIG%s]", sigabbrev_np(t->crash_signal));
                fprintf(out, "\nthread %d (%s)%s%s:\n", (int) t->tid, t->name, t->tid == pid ? " [main]" : "", crashed);
                if (t->n == 0) {
                        fprintf(out, "  (no frames: %s)\n", t->error ? t->error : "unknown");
                        continue;
                }
                unwound++;
                for (size_t k = 0; k < t->n; k++) {
                        /* A return address points after the call; look up the
                         * call itself so the line is the caller's. */
                        Dwarf_Addr lookup = t->activation[k] ? t->pc[k] : t->pc[k] - 1;
                        fprintf(out, "  #%-2zu 0x%016" PRIx64 " %s\n", k, (uint64_t) t->pc[k],
                                describe(dwfl, jit, cache, lookup, t->activation[k], buf, sizeof buf));
                }
        }
        for (size_t i = 0; i < SYMBOL_CACHE; i++)
                free(cache->text[i]);
        free(cache);
        return unwound;
}

int collect_stacks(struct collect_ctx *ctx, const struct action *a, struct action_result *res) {
        struct stopped_process sp;
        int r = collect_stop_target(ctx, &sp);
        if (r < 0) {
                result_stop_failed(res, ctx, r);
                return r;
        }
        size_t n = sp.n;
        struct thread_frames *threads = calloc(n, sizeof *threads);
        Dwfl *dwfl = threads ? begin_dwfl(ctx->pid) : NULL;
        if (dwfl)
                unwind_all(dwfl, ctx->proc->fd, &sp, threads);
        /* Only the unwinding needs the process stopped; symbolizing reads
         * the modules' files, and happens after this. */
        collect_resume_target(ctx, &sp);
        res->has_stopped = true;
        res->stopped_seconds = (double) sp.stopped_usec / USEC_PER_SEC;
        if (!dwfl) {
                result_set(res, ACTION_FAILED, "cannot read the process's modules: %s",
                           threads ? dwfl_errmsg(-1) : "out of memory");
                free(threads);
                return -EIO;
        }

        int fd = -1;
        FILE *out = NULL;
        unsigned unwound = 0;
        r = artifact_open_partial(ctx->artifact, "stacks.txt", &fd);
        if (r >= 0 && !(out = fdopen(fd, "w"))) {
                r = negative_errno();
                close(fd);
        }
        if (out) {
                /* A runtime's generated code is named by its perf map. */
                struct perf_map jit = {};
                (void) perf_map_load(ctx->proc->fd, ctx->pid, &jit);
                unwound = print_all(dwfl, &jit, ctx->pid, threads, n, out);
                perf_map_free(&jit);
                if (fclose(out) != 0)
                        r = negative_errno();
        }
        dwfl_end(dwfl);
        free(threads);
        if (r >= 0)
                r = artifact_publish(ctx->artifact, "stacks.txt");
        if (r < 0) {
                artifact_discard(ctx->artifact, "stacks.txt");
                result_set(res, ACTION_FAILED, "cannot write stacks.txt: %s", strerror(-r));
                return r;
        }
        result_add_file(res, ctx->artifact->dir_fd, "stacks.txt");
        if (unwound == 0)
                result_set(res, ACTION_FAILED, "no thread of %zu could be unwound", n);
        else
                result_set(res, ACTION_OK, NULL);
        return 0;
}
