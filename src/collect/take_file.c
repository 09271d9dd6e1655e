/* A file a runtime wrote for us inside the target's own filesystem (a
 * JVM's heap dump, a .NET dump from createdump): moved into the artifact
 * whole or not at all, then removed where it was. */
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "collect.h"

int collect_take_file(struct collect_ctx *ctx, const char *target_path, const char *name,
                      struct action_result *res) {
        char root_path[32];
        snprintf(root_path, sizeof root_path, "%d/root", (int) ctx->pid);
        _cleanup_close_ int root = openat(ctx->proc->fd, root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        /* Links are resolved inside the target's root: a link it planted
         * never reads one of ours. */
        struct open_how how = { .flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC,
                                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
        _cleanup_close_ int in = root >= 0 ? (int) syscall(SYS_openat2, root, target_path, &how, sizeof how) : -1;
        _cleanup_close_ int out = -1;
        struct stat s;
        int r = 0;
        if (in < 0 || fstat(in, &s) < 0 || !S_ISREG(s.st_mode)) {
                result_set(res, ACTION_FAILED, "the runtime wrote no file at %s", target_path);
                r = -ENOENT;
        } else if ((r = artifact_open_partial(ctx->artifact, name, &out)) < 0)
                result_set(res, ACTION_FAILED, "cannot create %s: %s", name, strerror(-r));
        for (off_t left = r == 0 ? s.st_size : 0; left > 0;) {
                ssize_t n = sendfile(out, in, NULL, (size_t) left);
                if (n <= 0) {
                        r = n < 0 ? -errno : -EIO;
                        result_set(res, ACTION_FAILED, "cannot copy %s: %s", name, strerror(-r));
                        break;
                }
                left -= n;
        }
        if (root >= 0)
                unlinkat(root, target_path[0] == '/' ? target_path + 1 : target_path, 0);
        if (r == 0 && (r = artifact_publish(ctx->artifact, name)) == 0) {
                result_add_file(res, ctx->artifact->dir_fd, name);
                return 0;
        }
        if (out >= 0)
                artifact_discard(ctx->artifact, name);
        return r;
}
