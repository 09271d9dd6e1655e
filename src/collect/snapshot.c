/* proc/: a small snapshot of the target's /proc files, taken first, while
 * the moment is fresh. Never environ: it may hold secrets. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "collect.h"

static int copy_proc_file(int src_dir, int dst_dir, const char *name) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = read_file_at(src_dir, name, 64 << 20, &text, &len);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return negative_errno();
        return write_all(fd, text, len);
}

static int write_fd_list(int src_dir, int dst_dir) {
        _cleanup_closedir_ DIR *d = NULL;
        int r = opendir_at(src_dir, "fd", &d);
        if (r < 0)
                return r;
        int out = openat(dst_dir, "fds", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
                return negative_errno();
        _cleanup_fclose_ FILE *f = fdopen(out, "w");
        if (!f) {
                close(out);
                return negative_errno();
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                char target[4096];
                ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof target - 1);
                target[n > 0 ? n : 0] = 0;
                fprintf(f, "%s -> %s\n", de->d_name, target);
        }
        return 0;
}

int collect_snapshot(struct collect_ctx *ctx, struct action_result *res) {
        static const char *const files[] = {
                "status", "limits", "maps", "smaps_rollup", "cgroup", "stat", "cmdline",
        };
        char path[32];
        snprintf(path, sizeof path, "%d", (int) ctx->pid);
        _cleanup_close_ int src = openat(ctx->proc->fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        /* Checked after the open: the directory stays the one of the
         * process it was opened for, and that process is still ours. */
        if (src < 0 || collect_check_identity(ctx) < 0) {
                result_set(res, ACTION_FAILED, "process exited before the capture");
                return -ESRCH;
        }
        if (mkdirat(ctx->artifact->dir_fd, "proc", 0700) < 0 && errno != EEXIST) {
                int r = negative_errno();
                result_set(res, ACTION_FAILED, "cannot create proc/: %s", strerror(-r));
                return r;
        }
        _cleanup_close_ int dst = openat(ctx->artifact->dir_fd, "proc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dst < 0) {
                int r = negative_errno();
                result_set(res, ACTION_FAILED, "cannot open proc/: %s", strerror(-r));
                return r;
        }
        unsigned failed = 0;
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                if (copy_proc_file(src, dst, files[i]) < 0)
                        failed++;
        if (write_fd_list(src, dst) < 0)
                failed++;
        uint64_t bytes = 0;
        dir_disk_usage(dst, &bytes);
        res->bytes = bytes;
        if (failed == ELEMENTSOF(files) + 1)
                result_set(res, ACTION_FAILED, "could read none of the /proc files");
        else if (failed)
                result_set(res, ACTION_OK, "%u of the /proc files could not be read", failed);
        else
                result_set(res, ACTION_OK, NULL);
        return 0;
}
