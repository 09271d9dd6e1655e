#include "output_dir.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define LINKS_MAX 8

/* Whether a directory on the way may be trusted: ours or root's, and
 * writable by no one else, unless root's and sticky (/tmp). The last one
 * is judged by the caller, who may tighten it. */
static bool trusted(const struct stat *st, bool last, const char *name, char *why, size_t size) {
        uid_t me = geteuid();
        if (st->st_uid != 0 && st->st_uid != me) {
                snprintf(why, size, "%s is owned by user %u, not by root or by autodump's user", name,
                         (unsigned) st->st_uid);
                return false;
        }
        bool others_write = st->st_mode & (S_IWGRP | S_IWOTH);
        if (!others_write || last)
                return true;
        if ((st->st_mode & S_ISVTX) && st->st_uid == 0)
                return true;
        snprintf(why, size, "%s is writable by others (mode %04o)", name, (unsigned) (st->st_mode & 07777));
        return false;
}

/* The last directory: ours and open to others is tightened (a Kubernetes
 * emptyDir is 0777); root's and open to others, when we are not root, is
 * refused. */
static int settle_last(int fd, const struct stat *st, const char *name, char *why, size_t size) {
        if (!(st->st_mode & (S_IWGRP | S_IWOTH)))
                return 0;
        if (st->st_uid == geteuid())
                return fchmod(fd, 0700) < 0 ? negative_errno() : 0;
        snprintf(why, size, "%s is writable by others (mode %04o)", name, (unsigned) (st->st_mode & 07777));
        return -EPERM;
}

/* A link on the way is followed only because the directory holding it is
 * trusted (no one else could have put it there) and it is root's or ours;
 * where it leads is walked again, from the root, with the same checks. */
static int follow_link(int dir_fd, const char *comp, const char *so_far, const char *rest, char **ret,
                       char *why, size_t size) {
        struct stat st;
        if (fstatat(dir_fd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        if (!S_ISLNK(st.st_mode)) {
                snprintf(why, size, "%s is not a directory", so_far);
                return -EPERM;
        }
        if (st.st_uid != 0 && st.st_uid != geteuid()) {
                snprintf(why, size, "%s is a link owned by user %u", so_far, (unsigned) st.st_uid);
                return -EPERM;
        }
        char target[PATH_MAX];
        ssize_t n = readlinkat(dir_fd, comp, target, sizeof target - 1);
        if (n < 0)
                return negative_errno();
        target[n] = 0;
        /* A relative target is relative to the directory holding the link. */
        size_t parent = strlen(so_far) - strlen(comp);
        int r = target[0] == '/' ? asprintf(ret, "%s/%s", target, rest)
                                 : asprintf(ret, "%.*s%s/%s", (int) parent, so_far, target, rest);
        return r < 0 ? -ENOMEM : 0;
}

static int walk(const char *path, bool create, int links, int *ret_fd, char *why, size_t size) {
        _cleanup_free_ char *abs = NULL;
        if (path[0] == '/')
                abs = strdup(path);
        else {
                char cwd[PATH_MAX];
                if (getcwd(cwd, sizeof cwd) && asprintf(&abs, "%s/%s", cwd, path) < 0)
                        abs = NULL;
        }
        /* strtok_r cuts `abs` up; `full` keeps the path for messages. */
        _cleanup_free_ char *full = abs ? strdup(abs) : NULL, *shown = abs ? strdup(abs) : NULL;
        if (!abs || !full || !shown)
                return -ENOMEM;
        int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        char *save = NULL;
        for (char *comp = strtok_r(abs, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
                bool last = !save || !*save;
                size_t upto = (size_t) (comp - abs) + strlen(comp);
                memcpy(shown, full, upto);
                shown[upto] = 0;
                int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0 && errno == ENOENT && create) {
                        if (mkdirat(fd, comp, last ? 0700 : 0755) < 0 && errno != EEXIST) {
                                int r = negative_errno();
                                close(fd);
                                return r;
                        }
                        next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                }
                if (next < 0 && (errno == ELOOP || errno == ENOTDIR)) {
                        _cleanup_free_ char *resolved = NULL;
                        int r = links < LINKS_MAX ? follow_link(fd, comp, shown, full + upto, &resolved, why, size)
                                                  : -ELOOP;
                        close(fd);
                        return r < 0 ? r : walk(resolved, create, links + 1, ret_fd, why, size);
                }
                int r = next < 0 ? negative_errno() : 0;
                close(fd);
                if (r < 0)
                        return r;
                fd = next;
                struct stat st;
                if (fstat(fd, &st) < 0 || !trusted(&st, last, shown, why, size) ||
                    (last && settle_last(fd, &st, shown, why, size) < 0)) {
                        r = *why ? -EPERM : negative_errno();
                        close(fd);
                        return r;
                }
        }
        *ret_fd = fd;
        return 0;
}

int output_dir_share(int fd, gid_t gid) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (st.st_uid != geteuid())
                return 0;       /* the admin's: as they made it */
        if (fchown(fd, (uid_t) -1, gid) < 0 || fchmod(fd, (st.st_mode & 0700) | 0010) < 0)
                return negative_errno();
        return 0;
}

int output_dir_open(const char *path, bool create, int *ret_fd, char *why, size_t why_size) {
        if (why_size)
                *why = 0;
        return walk(path, create, 0, ret_fd, why, why_size);
}
