#include "store.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "output_dir.h"

/* Directory names must stay one path component of safe characters,
 * whatever a process calls itself. */
static void sanitize(const char *in, char *out, size_t size) {
        size_t j = 0;
        for (size_t i = 0; in[i] && j + 1 < size; i++) {
                char ch = in[i];
                bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                          (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
                out[j++] = ok ? ch : '_';
        }
        if (j == 0)
                out[j++] = '_';
        out[j] = 0;
}

int artifact_prepare(const char *output, usec_t wall, const char *rule, const char *comm,
                     pid_t pid, struct artifact *ret) {
        char when[32], safe_rule[64], safe_comm[32];
        format_utc(wall, true, when, sizeof when);
        sanitize(rule, safe_rule, sizeof safe_rule);
        sanitize(comm, safe_comm, sizeof safe_comm);
        struct artifact a = ARTIFACT_NULL;
        if (asprintf(&a.name, "%s-%s-%s-%d", when, safe_rule, safe_comm, (int) pid) < 0)
                return -ENOMEM;
        if (asprintf(&a.partial, ".%s.partial", a.name) < 0 || !(a.output = strdup(output))) {
                artifact_done(&a);
                return -ENOMEM;
        }
        *ret = a;
        return 0;
}

/* The output directory's fd: the one held, else opened safely now (in
 * the watchdog, finishing what a collector began). */
static int out_dir(struct artifact *a) {
        if (a->out_fd >= 0)
                return 0;
        char why[256];
        return output_dir_open(a->output, false, &a->out_fd, why, sizeof why);
}

int artifact_create(struct artifact *a) {
        char why[256];
        int r = output_dir_open(a->output, true, &a->out_fd, why, sizeof why);
        if (r < 0)
                return r;
        /* Ours alone, made here: a name planted first fails, never followed. */
        if (mkdirat(a->out_fd, a->partial, 0700) < 0)
                return negative_errno();
        a->dir_fd = openat(a->out_fd, a->partial, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return a->dir_fd < 0 ? negative_errno() : 0;
}

int artifact_open_file(struct artifact *a, const char *name, int *ret_fd) {
        int fd = openat(a->dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return negative_errno();
        *ret_fd = fd;
        return 0;
}

void artifact_partial_name(const char *name, char *buf, size_t size) {
        snprintf(buf, size, ".%s.partial", name);
}

int artifact_open_partial(struct artifact *a, const char *name, int *ret_fd) {
        char partial[256];
        artifact_partial_name(name, partial, sizeof partial);
        return artifact_open_file(a, partial, ret_fd);
}

int artifact_publish(struct artifact *a, const char *name) {
        char partial[256];
        artifact_partial_name(name, partial, sizeof partial);
        return renameat(a->dir_fd, partial, a->dir_fd, name) < 0 ? negative_errno() : 0;
}

void artifact_discard(struct artifact *a, const char *name) {
        char partial[256];
        artifact_partial_name(name, partial, sizeof partial);
        unlinkat(a->dir_fd, partial, 0);
}

int remove_tree_at(int dir_fd, const char *name) {
        int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return unlinkat(dir_fd, name, 0) < 0 ? negative_errno() : 0;
        DIR *d;
        if (opendir_at(fd, ".", &d) == 0) {
                struct dirent *de;
                while ((de = readdir(d)))
                        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                                (void) remove_tree_at(fd, de->d_name);
                closedir(d);
        }
        close(fd);
        return unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 ? negative_errno() : 0;
}

int artifact_share_with_group(int dir_fd, gid_t gid) {
        if (fchown(dir_fd, (uid_t) -1, gid) < 0 || fchmod(dir_fd, 0750) < 0)
                return negative_errno();
        DIR *d;
        int r = opendir_at(dir_fd, ".", &d);
        if (r < 0)
                return r;
        struct dirent *de;
        while ((de = readdir(d)) && r == 0) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                int fd = openat(dir_fd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
                struct stat st;
                if (fd < 0 || fstat(fd, &st) < 0)
                        r = errno == ELOOP ? 0 : negative_errno();   /* a link: left alone */
                else if (S_ISDIR(st.st_mode))
                        r = artifact_share_with_group(fd, gid);
                else if (S_ISREG(st.st_mode) && (fchown(fd, (uid_t) -1, gid) < 0 || fchmod(fd, 0640) < 0))
                        r = negative_errno();
                if (fd >= 0)
                        close(fd);
        }
        closedir(d);
        return r;
}

void artifact_remove(struct artifact *a) {
        if (out_dir(a) == 0)
                (void) remove_tree_at(a->out_fd, a->partial);
}

/* Removes the hidden files a killed collector left half-written. */
static void remove_partial_files(int dir_fd) {
        DIR *d;
        if (opendir_at(dir_fd, ".", &d) < 0)
                return;
        struct dirent *de;
        while ((de = readdir(d)))
                if (de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        unlinkat(dir_fd, de->d_name, 0);
        closedir(d);
}

int artifact_write_json(int dir_fd, const char *name, json_t *doc) {
        char tmp[256];
        snprintf(tmp, sizeof tmp, ".%s.tmp", name);
        _cleanup_free_ char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!text)
                return -ENOMEM;
        /* A leftover of a write that died goes first: created anew, never
         * followed. */
        (void) unlinkat(dir_fd, tmp, 0);
        _cleanup_close_ int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return negative_errno();
        int r = write_all(fd, text, strlen(text));
        if (r >= 0)
                r = write_all(fd, "\n", 1);
        if (r < 0) {
                unlinkat(dir_fd, tmp, 0);
                return r;
        }
        if (renameat(dir_fd, tmp, dir_fd, name) < 0)
                return negative_errno();
        return 0;
}

int artifact_commit(struct artifact *a, char **ret_path) {
        int r = out_dir(a);
        if (r < 0)
                return r;
        int out_fd = a->out_fd;
        if (a->dir_fd >= 0)
                fsync(a->dir_fd);
        for (int attempt = 1; attempt < 100; attempt++) {
                _cleanup_free_ char *name = NULL;
                if (attempt == 1)
                        name = strdup(a->name);
                else if (asprintf(&name, "%s-%d", a->name, attempt) < 0)
                        name = NULL;
                if (!name)
                        return -ENOMEM;
                if (renameat2(out_fd, a->partial, out_fd, name, RENAME_NOREPLACE) == 0) {
                        if (ret_path && asprintf(ret_path, "%s/%s", a->output, name) < 0)
                                return -ENOMEM;
                        return 0;
                }
                if (errno != EEXIST)
                        return negative_errno();
        }
        return -EEXIST;
}

void artifact_done(struct artifact *a) {
        free(a->output);
        free(a->name);
        free(a->partial);
        if (a->dir_fd >= 0)
                close(a->dir_fd);
        if (a->out_fd >= 0)
                close(a->out_fd);
        *a = (struct artifact) ARTIFACT_NULL;
}

int artifact_abandon(struct artifact *a, const char *reason, char **ret_path) {
        int r = out_dir(a);
        if (r < 0)
                return r;
        int out_fd = a->out_fd;
        _cleanup_close_ int dir_fd = openat(out_fd, a->partial, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dir_fd < 0)
                return negative_errno();        /* the collector never made it: nothing to keep */
        json_error_t jerr;
        _cleanup_close_ int tfd = openat(dir_fd, "trigger.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        json_t *doc = tfd >= 0 ? json_loadfd(tfd, 0, &jerr) : NULL;
        if (!doc)
                doc = json_object();
        json_t *actions = json_object_get(doc, "actions");
        size_t i;
        json_t *act;
        json_array_foreach(actions, i, act) {
                const char *status = json_string_value(json_object_get(act, "status"));
                if (status && (strcmp(status, "pending") == 0 || strcmp(status, "running") == 0)) {
                        json_object_set_new(act, "status", json_string("failed"));
                        json_object_set_new(act, "error", json_string(reason));
                }
        }
        json_object_set_new(doc, "complete", json_false());
        json_object_set_new(doc, "error", json_string(reason));
        remove_partial_files(dir_fd);
        r = artifact_write_json(dir_fd, "trigger.json", doc);
        json_decref(doc);
        if (r >= 0)
                r = artifact_commit(a, ret_path);
        if (r < 0)
                /* Not even the record fits (a full disk): leave nothing
                 * half-made behind. */
                (void) remove_tree_at(out_fd, a->partial);
        return r;
}

int dir_disk_usage(int dir_fd, uint64_t *ret) {
        DIR *d;
        int r = opendir_at(dir_fd, ".", &d);
        if (r < 0)
                return r;
        uint64_t total = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                struct stat st;
                if (fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int sub = openat(dir_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        uint64_t n = 0;
                        if (sub >= 0 && dir_disk_usage(sub, &n) == 0)
                                total += n;
                } else
                        total += (uint64_t) st.st_blocks * 512;
        }
        closedir(d);
        *ret = total;
        return 0;
}

int fs_free_pct(const char *path, double *ret) {
        struct statvfs sv;
        if (statvfs(path, &sv) < 0)
                return negative_errno();
        if (sv.f_blocks == 0)
                return -EINVAL;
        *ret = 100.0 * (double) sv.f_bavail / (double) sv.f_blocks;
        return 0;
}
