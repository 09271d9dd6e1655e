/* dotnet.dump: the .NET runtime's own dump, asked for over its diagnostics
 * IPC (dotnet_attach.h) as dotnet-dump does: the runtime runs its
 * createdump, which writes the dump where the target sees its TMPDIR; it
 * is then moved into the artifact as dotnet.dmp. A mini dump holds the
 * stacks and runtime structures, a heap dump the managed heap too (what a
 * leak hunt needs, and the default), a triage dump less than a mini one
 * with personal data left out, a full dump all memory. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../dotnet_attach.h"
#include "collect.h"

#define ASK_TIMEOUT (10 * USEC_PER_SEC)
#define DUMP_TIMEOUT (300 * USEC_PER_SEC)       /* createdump of a large heap */

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
