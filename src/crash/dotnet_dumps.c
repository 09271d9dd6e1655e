#include "dotnet_dumps.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "follow.h"
#include "../log.h"
#include "../output_dir.h"
#include "../retention.h"
#include "../store.h"
#include "../trigger.h"

#define STAGING ".dotnet-crash"
#define DUMP_TYPE_HEAP "2"      /* what dotnet-dump analyze needs; dotnet.dump's default too */

extern char **environ;

struct dotnet_dumps {
        const struct crash_config *cfg;
        struct crash_capturer counts;   /* max and cooldown, as the tracer keeps them */
        int staging_fd, inotify_fd;
        struct loop_source *watch;
        char **env;
        unsigned firings;
};

static const struct action dump_action = { .kind = ACTION_DOTNET_DUMP };

/* NAME=value into env (n so far), unless the user set NAME. */
static int add_setting(char **env, size_t *n, const char *name, const char *value) {
        if (getenv(name))
                return 0;
        if (asprintf(&env[*n], "%s=%s", name, value) < 0)
                return -ENOMEM;
        (*n)++;
        return 0;
}

static int make_environ(struct dotnet_dumps *d, const char *staging) {
        size_t n = 0, mine = 3;
        while (environ[n])
                n++;
        if (!(d->env = calloc(n + mine + 1, sizeof *d->env)))
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(d->env[i] = strdup(environ[i])))
                        return -ENOMEM;
        char name[PATH_MAX + 16];
        /* %p and %e: the runtime puts the process's pid and program name. */
        snprintf(name, sizeof name, "%s/%%p-%%e.dmp", staging);
        int r = add_setting(d->env, &n, "DOTNET_DbgEnableMiniDump", "1");
        if (r == 0)
                r = add_setting(d->env, &n, "DOTNET_DbgMiniDumpType", DUMP_TYPE_HEAP);
        if (r == 0)
                r = add_setting(d->env, &n, "DOTNET_DbgMiniDumpName", name);
        return r;
}

/* The dump `file` ("PID-PROGRAM.dmp") into an artifact of `rule`. */
static void make_artifact(struct dotnet_dumps *d, const struct rule *rule, const char *file, pid_t pid,
                          const char *comm) {
        const struct crash_config *cfg = d->cfg;
        usec_t wall = now_usec(CLOCK_REALTIME);
        struct artifact a = ARTIFACT_NULL;
        struct crash_info ci = { .dumped_by = "the .NET runtime (createdump, DOTNET_DbgEnableMiniDump)" };
        struct firing f = { .rule = rule->name, .actions = &dump_action, .n_actions = 1, .metric = "", .pid = pid,
                            .wall = wall, .crash = &ci };
        snprintf(f.comm, sizeof f.comm, "%s", comm);
        /* The runtime still waits on createdump's end: its start time. */
        struct proc_stat st;
        if (proc_read_stat(cfg->proc, pid, &st) == 0)
                f.starttime = st.starttime;
        struct action_result res = { .status = ACTION_OK };
        _cleanup_free_ char *path = NULL;
        json_t *doc = NULL;
        int r = artifact_prepare(cfg->output, wall, rule->name, comm, pid, &a);
        if (r == 0)
                r = artifact_create(&a);
        if (r == 0 && renameat(d->staging_fd, file, a.dir_fd, "dotnet.dmp") < 0)
                r = -errno;
        if (r == 0 && !(doc = trigger_new(cfg->proc, &f)))
                r = -ENOMEM;
        if (r == 0) {
                result_add_file(&res, a.dir_fd, "dotnet.dmp");
                trigger_set_action(doc, 0, &res, false);
                json_object_set_new(doc, "complete", json_true());
                r = artifact_write_json(a.dir_fd, "trigger.json", doc);
        }
        if (r == 0)
                r = artifact_commit(&a, &path);
        json_decref(doc);
        if (r < 0) {
                log_error("%s: the dump of %s[%d]'s crash is not kept: %s", rule->name, comm, (int) pid, strerror(-r));
                artifact_remove(&a);
                (void) unlinkat(d->staging_fd, file, 0);
        } else {
                d->firings++;
                log_notice("%s: artifact written: %s", rule->name, path);
        }
        artifact_done(&a);
        retention_apply(cfg->output, &cfg->retention);
}

static void on_dump(struct dotnet_dumps *d, const char *file) {
        char *end;
        long pid = strtol(file, &end, 10);
        size_t len = strlen(file);
        struct stat st;
        /* Only what the runtime writes: a plain file of that name. */
        if (pid <= 0 || *end != '-' || len < 5 || strcmp(file + len - 4, ".dmp") != 0 ||
            fstatat(d->staging_fd, file, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                return;
        char comm[16];
        snprintf(comm, sizeof comm, "%.*s", (int) (len - 4 - (size_t) (end + 1 - file)), end + 1);
        const struct rule *rule = crash_rule_for(d->cfg, (pid_t) pid, comm);
        if (!rule || !crash_count_allows(&d->counts, rule, comm, now_usec(CLOCK_MONOTONIC))) {
                log_info("%s[%ld] crashed; the dump its runtime wrote is removed: %s", comm, pid,
                         !rule ? "no crash rule selects it" : "max or cooldown of rule reached");
                (void) unlinkat(d->staging_fd, file, 0);
                return;
        }
        log_notice("%s: fired on %s[%ld]: crashed: its runtime dumped it", rule->name, comm, pid);
        make_artifact(d, rule, file, (pid_t) pid, comm);
}

static void on_inotify(struct loop_source *s, int fd, uint32_t revents, void *userdata) {
        struct dotnet_dumps *d = userdata;
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0)
                for (char *p = buf; p < buf + n; p += sizeof(struct inotify_event) + ((struct inotify_event *) p)->len) {
                        const struct inotify_event *ev = (const struct inotify_event *) p;
                        if (ev->len)
                                on_dump(d, ev->name);
                }
}

int dotnet_dumps_start(struct loop *loop, const struct crash_config *cfg, struct dotnet_dumps **ret) {
        struct dotnet_dumps *d = calloc(1, sizeof *d);
        if (!d)
                return -ENOMEM;
        *d = (struct dotnet_dumps) { .cfg = cfg, .counts.cfg = cfg, .counts.ctrl = -1, .staging_fd = -1,
                                     .inotify_fd = -1 };
        char why[256], staging[PATH_MAX];
        _cleanup_close_ int out_fd = -1;
        int r = output_dir_open(cfg->output, true, &out_fd, why, sizeof why);
        if (r == -EPERM)
                log_error("%s", why);
        if (r == 0 && ((mkdirat(out_fd, STAGING, 0700) < 0 && errno != EEXIST) ||
                       (d->staging_fd = openat(out_fd, STAGING, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0))
                r = -errno;
        if (r == 0 && !realpath(cfg->output, staging))
                r = -errno;
        if (r == 0 && strlen(staging) + sizeof "/" STAGING > sizeof staging)
                r = -ENAMETOOLONG;
        if (r == 0) {
                strcat(staging, "/" STAGING);
                r = make_environ(d, staging);
        }
        if (r == 0 && (d->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
                r = -errno;
        if (r == 0 && inotify_add_watch(d->inotify_fd, staging, IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR) < 0)
                r = -errno;
        if (r == 0)
                r = loop_add_io(loop, d->inotify_fd, EPOLLIN, on_inotify, d, &d->watch);
        if (r < 0) {
                dotnet_dumps_free(d);
                return r;
        }
        *ret = d;
        return 0;
}

char *const *dotnet_dumps_environ(const struct dotnet_dumps *d) {
        return d->env;
}

unsigned dotnet_dumps_firings(const struct dotnet_dumps *d) {
        return d ? d->firings : 0;
}

void dotnet_dumps_free(struct dotnet_dumps *d) {
        if (!d)
                return;
        loop_source_free(d->watch);
        if (d->inotify_fd >= 0)
                close(d->inotify_fd);
        if (d->staging_fd >= 0)
                close(d->staging_fd);
        for (char **e = d->env; e && *e; e++)
                free(*e);
        free(d->env);
        crash_capturer_done(&d->counts);
        free(d);
}
