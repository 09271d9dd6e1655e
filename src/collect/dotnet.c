/* The .NET runtime's own captures, asked for over its diagnostics IPC
 * (dotnet_attach.h) as dotnet-dump and dotnet-trace do.
 *
 * dotnet.dump: the runtime runs its createdump, which writes the dump where
 * the target sees its TMPDIR; it is then moved into the artifact as
 * dotnet.dmp. A mini dump holds the stacks and runtime structures, a heap
 * dump the managed heap too (what a leak hunt needs, and the default), a
 * triage dump less than a mini one with personal data left out, a full
 * dump all memory.
 *
 * dotnet.trace: an EventPipe session of `duration`, its nettrace stream
 * written as trace.nettrace; stopped with StopTracing, then read to its
 * end, so the file is whole (the rundown that names the methods comes
 * last). By default the providers dotnet-trace's cpu-sampling profile
 * enables, which PerfView and `dotnet-trace convert` expect. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../dotnet_attach.h"
#include "collect.h"

#define ASK_TIMEOUT (10 * USEC_PER_SEC)
#define DUMP_TIMEOUT (300 * USEC_PER_SEC)       /* createdump of a large heap */
#define RUNDOWN_TIMEOUT (60 * USEC_PER_SEC)     /* after the stop: the rundown, then the stream's end */
#define PROVIDERS_MAX 32

/* One command on a connection of its own (the runtime closes each after
 * its answer). */
static int ask(const struct collect_ctx *ctx, struct dotnet_ipc_writer *w, usec_t timeout, struct dotnet_reply *reply,
               struct action_result *res) {
        char why[400];
        _cleanup_close_ int fd = -1;
        int r = dotnet_connect(ctx->proc, ctx->pid, &fd, why, sizeof why);
        if (r == 0)
                r = dotnet_exchange(fd, w, timeout, reply, why, sizeof why);
        if (r < 0)
                result_set(res, ACTION_FAILED, "%s", why);
        return r;
}

int collect_dotnet_dump(struct collect_ctx *ctx, const struct action *a, struct action_result *res) {
        static struct dotnet_ipc_writer w;
        static struct dotnet_reply reply;
        int r = collect_check_identity(ctx);
        if (r < 0) {
                result_set(res, ACTION_FAILED, "process exited before the capture");
                return r;
        }
        /* Confirms a .NET runtime answers before asking it for a dump. */
        dotnet_ipc_begin(&w, DOTNET_SET_PROCESS, DOTNET_PROCESS_INFO2);
        struct dotnet_process_info info;
        if ((r = ask(ctx, &w, ASK_TIMEOUT, &reply, res)) < 0)
                return r;
        if (dotnet_ipc_parse_process_info2(reply.payload, reply.len, &info) < 0) {
                result_set(res, ACTION_FAILED, "the runtime's process information could not be read");
                return -EBADMSG;
        }
        char tmpdir[PATH_MAX], path[PATH_MAX + 64];
        dotnet_tmpdir(ctx->proc, ctx->pid, tmpdir, sizeof tmpdir);
        snprintf(path, sizeof path, "%s/.autodump-dotnet-%d-%u.dmp", tmpdir, (int) getpid(),
                 (unsigned) now_usec(CLOCK_MONOTONIC));
        dotnet_ipc_begin(&w, DOTNET_SET_DUMP, DOTNET_DUMP_CREATE3);
        dotnet_ipc_put_string(&w, path);
        dotnet_ipc_put_u32(&w, a->dotnet_dump_type ? a->dotnet_dump_type : DOTNET_DUMP_HEAP);
        dotnet_ipc_put_u32(&w, 0);
        if ((r = ask(ctx, &w, DUMP_TIMEOUT, &reply, res)) < 0)
                return r;
        struct dotnet_ipc_reader rd = { .p = reply.payload, .len = reply.len };
        uint32_t hr = dotnet_ipc_get_u32(&rd);
        if (hr != 0) {
                char words[300] = "";
                dotnet_ipc_get_string(&rd, words, sizeof words);
                result_set(res, ACTION_FAILED, "the runtime (.NET %s) could not write the dump: %s (HRESULT 0x%08x)",
                           info.version, *words ? words : dotnet_ipc_hresult_text(hr), (unsigned) hr);
                return -EIO;
        }
        if ((r = collect_take_file(ctx, path, "dotnet.dmp", res)) < 0)
                return r;
        result_set(res, ACTION_OK, NULL);
        return 0;
}

/* The providers of the action, or dotnet-trace's cpu-sampling profile. */
static size_t providers_of(const struct action *a, struct dotnet_provider *p, char names[][128]) {
        static const struct dotnet_provider cpu_sampling[] = {
                { "Microsoft-DotNETCore-SampleProfiler", 0xF00000000000, 4, NULL },
                { "Microsoft-Windows-DotNETRuntime", 0x14C14FCCBD, 4, NULL },
        };
        size_t n = 0;
        for (char **s = a->providers; s && *s && n < PROVIDERS_MAX; s++)
                if (dotnet_provider_parse(*s, names[n], sizeof names[n], &p[n]) == 0)
                        n++;
        if (n)
                return n;
        memcpy(p, cpu_sampling, sizeof cpu_sampling);
        return ELEMENTSOF(cpu_sampling);
}

/* Copies the stream to out until `deadline`, or until it ends. */
static int copy_stream(int from, int out, usec_t deadline, bool *ret_ended) {
        static char buf[65536];
        *ret_ended = false;
        for (usec_t now; (now = now_usec(CLOCK_MONOTONIC)) < deadline;) {
                struct pollfd p = { .fd = from, .events = POLLIN };
                int r = poll(&p, 1, (int) ((deadline - now) / USEC_PER_MSEC) + 1);
                if (r <= 0)
                        continue;
                ssize_t n = read(from, buf, sizeof buf);
                if (n < 0)
                        return -errno;
                if (n == 0) {
                        *ret_ended = true;
                        return 0;
                }
                for (ssize_t done = 0; done < n;) {
                        ssize_t w = write(out, buf + done, (size_t) (n - done));
                        if (w <= 0)
                                return w < 0 ? -errno : -EIO;
                        done += w;
                }
        }
        return 0;
}

int collect_dotnet_trace(struct collect_ctx *ctx, const struct action *a, struct action_result *res) {
        static struct dotnet_ipc_writer w;
        static struct dotnet_reply reply;
        static char names[PROVIDERS_MAX][128];
        struct dotnet_provider p[PROVIDERS_MAX];
        char why[400];
        int r = collect_check_identity(ctx);
        if (r < 0) {
                result_set(res, ACTION_FAILED, "process exited before the capture");
                return r;
        }
        _cleanup_close_ int fd = -1, out = -1;
        if ((r = dotnet_connect(ctx->proc, ctx->pid, &fd, why, sizeof why)) < 0) {
                result_set(res, ACTION_FAILED, "%s", why);
                return r;
        }
        dotnet_ipc_collect_tracing(&w, 256, true, p, providers_of(a, p, names));
        if ((r = dotnet_exchange(fd, &w, ASK_TIMEOUT, &reply, why, sizeof why)) < 0) {
                result_set(res, ACTION_FAILED, "the runtime refused the trace session: %s", why);
                return r;
        }
        uint64_t session = dotnet_ipc_get_u64(&(struct dotnet_ipc_reader) { .p = reply.payload, .len = reply.len });
        if ((r = artifact_open_partial(ctx->artifact, "trace.nettrace", &out)) < 0) {
                result_set(res, ACTION_FAILED, "cannot create trace.nettrace: %s", strerror(-r));
                return r;
        }
        usec_t duration = a->duration ? a->duration : 10 * USEC_PER_SEC;
        bool ended;
        r = copy_stream(fd, out, now_usec(CLOCK_MONOTONIC) + duration, &ended);
        if (r == 0 && !ended) {
                dotnet_ipc_begin(&w, DOTNET_SET_EVENTPIPE, DOTNET_EVENTPIPE_STOP);
                dotnet_ipc_put_u32(&w, (uint32_t) session);
                dotnet_ipc_put_u32(&w, (uint32_t) (session >> 32));
                /* Its answer is not waited for: the runtime answers once it
                 * has written the rundown, which is read meanwhile. */
                _cleanup_close_ int stop_fd = -1;
                if (dotnet_connect(ctx->proc, ctx->pid, &stop_fd, why, sizeof why) == 0)
                        dotnet_send(stop_fd, &w, why, sizeof why);
                r = copy_stream(fd, out, now_usec(CLOCK_MONOTONIC) + RUNDOWN_TIMEOUT, &ended);
        }
        if (r < 0 || !ended) {
                artifact_discard(ctx->artifact, "trace.nettrace");
                result_set(res, ACTION_FAILED, r < 0 ? "the trace could not be written: %s"
                                                     : "the runtime did not end the trace within 60s of its stop%s",
                           r < 0 ? strerror(-r) : "");
                return r < 0 ? r : -ETIMEDOUT;
        }
        if ((r = artifact_publish(ctx->artifact, "trace.nettrace")) < 0) {
                result_set(res, ACTION_FAILED, "cannot publish trace.nettrace: %s", strerror(-r));
                return r;
        }
        result_add_file(res, ctx->artifact->dir_fd, "trace.nettrace");
        result_set(res, ACTION_OK, NULL);
        return 0;
}
