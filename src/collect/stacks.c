/* The `stacks` action: every thread stopped with PTRACE_SEIZE/INTERRUPT,
 * unwound and symbolized with elfutils libdw (what eu-stack uses), then
 * resumed. stacks.txt lists each thread (tid, name) with its frames. */
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>

#include "collect.h"
#include "../ptrace.h"

#define MAX_FRAMES 256

struct unwind {
        Dwfl *dwfl;
        FILE *out;
        unsigned depth;
};

static void print_frame(struct unwind *u, Dwarf_Addr pc, bool activation) {
        /* A return address points after the call; look up the call itself
         * so the line is the caller's, not the next statement's. */
        Dwarf_Addr lookup = activation ? pc : pc - 1;
        Dwfl_Module *mod = dwfl_addrmodule(u->dwfl, lookup);
        const char *sym = NULL, *modname = NULL;
        GElf_Off offset = 0;
        GElf_Sym s;
        if (mod) {
                modname = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
                sym = dwfl_module_addrinfo(mod, lookup, &offset, &s, NULL, NULL, NULL);
        }
        fprintf(u->out, "  #%-2u 0x%016" PRIx64 " %s", u->depth, (uint64_t) pc, sym ? sym : "??");
        if (sym)
                fprintf(u->out, "+0x%" PRIx64, (uint64_t) (offset + (activation ? 0 : 1)));
        if (modname)
                fprintf(u->out, " (%s)", modname);
        Dwfl_Line *line = mod ? dwfl_module_getsrc(mod, lookup) : NULL;
        int lineno;
        const char *src = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
        if (src)
                fprintf(u->out, " at %s:%d", src, lineno);
        fputc('\n', u->out);
}

static int frame_cb(Dwfl_Frame *frame, void *arg) {
        struct unwind *u = arg;
        Dwarf_Addr pc;
        bool activation;
        if (!dwfl_frame_pc(frame, &pc, &activation))
                return DWARF_CB_ABORT;
        print_frame(u, pc, activation);
        return ++u->depth >= MAX_FRAMES ? DWARF_CB_ABORT : DWARF_CB_OK;
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

static int write_stacks(int proc_fd, const struct stopped_process *sp, FILE *out, unsigned *ret_unwound) {
        static char *debuginfo_path = NULL;
        static const Dwfl_Callbacks callbacks = {
                .find_elf = dwfl_linux_proc_find_elf,
                .find_debuginfo = dwfl_standard_find_debuginfo,
                .debuginfo_path = &debuginfo_path,
        };
        Dwfl *dwfl = dwfl_begin(&callbacks);
        if (!dwfl)
                return -ENOMEM;
        int r = 0;
        /* The threads are already stopped by us: libdw must not attach
         * itself (it would use PTRACE_ATTACH). */
        if (dwfl_linux_proc_report(dwfl, sp->pid) != 0 || dwfl_report_end(dwfl, NULL, NULL) != 0 ||
            dwfl_linux_proc_attach(dwfl, sp->pid, true) != 0) {
                r = -EIO;
                goto out;
        }
        unsigned unwound = 0;
        fprintf(out, "process %d: %zu threads\n", (int) sp->pid, sp->n);
        for (size_t i = 0; i < sp->n; i++) {
                char name[64];
                thread_name(proc_fd, sp->pid, sp->threads[i].tid, name, sizeof name);
                fprintf(out, "\nthread %d (%s)%s:\n", (int) sp->threads[i].tid, name,
                        sp->threads[i].tid == sp->pid ? " [main]" : "");
                struct unwind u = { .dwfl = dwfl, .out = out };
                if (dwfl_getthread_frames(dwfl, sp->threads[i].tid, frame_cb, &u) != 0 && u.depth == 0)
                        fprintf(out, "  (no frames: %s)\n", dwfl_errmsg(-1));
                else
                        unwound++;
        }
        *ret_unwound = unwound;
out:
        dwfl_end(dwfl);
        return r;
}

int collect_stacks(struct collect_ctx *ctx, const struct action *a, struct action_result *res) {
        struct stopped_process sp;
        int r = ptrace_stop_process(ctx->proc->fd, ctx->pid, &sp);
        if (r < 0) {
                result_stop_failed(res, ctx, r);
                return r;
        }
        size_t threads = sp.n;
        int fd = -1;
        r = artifact_open_partial(ctx->artifact, "stacks.txt", &fd);
        FILE *out = r >= 0 ? fdopen(fd, "w") : NULL;
        unsigned unwound = 0;
        if (out)
                r = write_stacks(ctx->proc->fd, &sp, out, &unwound);
        else if (r >= 0)
                r = negative_errno();
        /* Resume before anything else can fail: the stop is only as long as
         * the unwinding. */
        ptrace_resume_process(&sp);
        res->has_stopped = true;
        res->stopped_seconds = (double) sp.stopped_usec / USEC_PER_SEC;
        if (out && fclose(out) != 0 && r >= 0)
                r = negative_errno();
        else if (!out && fd >= 0)
                close(fd);
        if (r >= 0)
                r = artifact_publish(ctx->artifact, "stacks.txt");
        if (r < 0) {
                artifact_discard(ctx->artifact, "stacks.txt");
                result_set(res, ACTION_FAILED, "cannot write stacks.txt: %s", strerror(-r));
                return r;
        }
        result_add_file(res, ctx->artifact->dir_fd, "stacks.txt");
        if (unwound == 0)
                result_set(res, ACTION_FAILED, "no thread of %zu could be unwound", threads);
        else
                result_set(res, ACTION_OK, NULL);
        return 0;
}
