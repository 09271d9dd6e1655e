/* The `exec` action: a program, no shell, with placeholders expanded in its
 * arguments and the same values in AUTODUMP_* variables; its output goes to
 * exec-N.log in the artifact. And the `on_complete` hook: the same, run
 * once the artifact is in place, its output in autodump's log. */
#include <string.h>
#include <sys/wait.h>

#include "collect.h"
#include "../config.h"
#include "../log.h"
#include "../units.h"

extern char **environ;

struct placeholder { const char *name; const char *value; };

static char *expand(const char *arg, const struct placeholder *ph, size_t n) {
        size_t cap = strlen(arg) + 1, len = 0;
        char *out = malloc(cap);
        if (!out)
                return NULL;
        for (const char *p = arg; *p;) {
                const char *value = NULL;
                size_t skip = 0;
                for (size_t i = 0; i < n && *p == '{'; i++) {
                        size_t l = strlen(ph[i].name);
                        if (strncmp(p + 1, ph[i].name, l) == 0 && p[1 + l] == '}') {
                                value = ph[i].value;
                                skip = l + 2;
                        }
                }
                const char *piece = value ? value : p;
                size_t plen = value ? strlen(value) : 1;
                if (len + plen + 1 > cap) {
                        cap = 2 * (len + plen + 1);
                        char *o = realloc(out, cap);
                        if (!o) {
                                free(out);
                                return NULL;
                        }
                        out = o;
                }
                memcpy(out + len, piece, plen);
                len += plen;
                p += value ? skip : 1;
        }
        out[len] = 0;
        return out;
}

static void free_strv(char **v) {
        for (char **p = v; p && *p; p++)
                free(*p);
        free(v);
}

/* argv with the placeholders expanded, and the environment with the same
 * values as AUTODUMP_* (and AUTODUMP_BUILD_DIR while it is being built:
 * `build_dir`, or NULL once it is in place at `dir`). */
static int build_command(const struct collect_ctx *ctx, const struct action *a, const char *dir, const char *build_dir,
                         char ***ret_argv, char ***ret_envp) {
        char pid_s[16], value_s[64];
        snprintf(pid_s, sizeof pid_s, "%d", (int) ctx->pid);
        snprintf(value_s, sizeof value_s, "%.17g", ctx->value);
        const struct placeholder ph[] = {
                { "pid", pid_s }, { "comm", ctx->comm }, { "rule", ctx->rule },
                { "metric", ctx->metric }, { "value", value_s }, { "dir", dir },
        };
        size_t argc = 0, envc = 0;
        while (a->argv[argc])
                argc++;
        while (environ[envc])
                envc++;
        char **argv = calloc(argc + 1, sizeof *argv);
        char **envp = calloc(envc + ELEMENTSOF(ph) + 2, sizeof *envp);
        int r = argv && envp ? 0 : -ENOMEM;
        for (size_t i = 0; r == 0 && i < argc; i++)
                if (!(argv[i] = expand(a->argv[i], ph, ELEMENTSOF(ph))))
                        r = -ENOMEM;
        /* The caller's environment, then the firing's values (AUTODUMP_PID,
         * …), and where the files are while the artifact is being built. */
        size_t e = 0;
        for (size_t i = 0; r == 0 && i < envc; i++)
                if (strncmp(environ[i], "AUTODUMP_", 9) != 0 && !(envp[e++] = strdup(environ[i])))
                        r = -ENOMEM;
        for (size_t i = 0; r == 0 && i < ELEMENTSOF(ph); i++) {
                char upper[16];
                size_t k;
                for (k = 0; ph[i].name[k] && k + 1 < sizeof upper; k++)
                        upper[k] = (char) (ph[i].name[k] - 'a' + 'A');
                upper[k] = 0;
                if (asprintf(&envp[e++], "AUTODUMP_%s=%s", upper, ph[i].value) < 0)
                        r = -ENOMEM;
        }
        if (r == 0 && build_dir && asprintf(&envp[e++], "AUTODUMP_BUILD_DIR=%s", build_dir) < 0)
                r = -ENOMEM;
        if (r < 0) {
                free_strv(argv);
                free_strv(envp);
                return r;
        }
        *ret_argv = argv;
        *ret_envp = envp;
        return 0;
}

/* A hook running as its own user reads the artifact through its group:
 * what is there so far (an exec action runs mid-collection). */
static void share_with_hook_user(const struct collect_ctx *ctx) {
        if (!ctx->hook_user)
                return;
        int r = artifact_share_with_group(ctx->artifact->dir_fd, ctx->hook_user->gid);
        if (r < 0)
                log_warning("cannot let hook_user %s read %s: %s", ctx->hook_user->name, ctx->artifact->name,
                            strerror(-r));
}

int collect_exec(struct collect_ctx *ctx, const struct action *a, struct action_result *res) {
        char **argv = NULL, **envp = NULL;
        /* {pid} must name the process that fired, not one that took its PID. */
        int r = collect_check_identity(ctx);
        if (r < 0) {
                result_set(res, ACTION_FAILED, "process exited before the capture");
                return r;
        }
        r = build_command(ctx, a, ctx->final_dir, ctx->build_dir, &argv, &envp);
        if (r < 0) {
                result_set(res, ACTION_FAILED, "out of memory");
                return r;
        }

        char log_name[32];
        snprintf(log_name, sizeof log_name, "exec-%u.log", ++ctx->exec_count);
        _cleanup_close_ int log_fd = -1;
        if ((r = artifact_open_file(ctx->artifact, log_name, &log_fd)) < 0) {
                result_set(res, ACTION_FAILED, "cannot create %s: %s", log_name, strerror(-r));
                goto out;
        }
        int status;
        share_with_hook_user(ctx);
        r = spawn_and_wait(argv, envp, log_fd, a->timeout, ctx->hook_user, &status);
        result_add_file(res, ctx->artifact->dir_fd, log_name);
        if (r == -ETIME) {
                char d[32];
                format_duration(a->timeout, d, sizeof d);
                result_set(res, ACTION_FAILED, "%s killed after its timeout of %s", argv[0], d);
        } else if (r < 0)
                result_set(res, ACTION_FAILED, "cannot run %s: %s", argv[0], strerror(-r));
        else if (WIFSIGNALED(status))
                result_set(res, ACTION_FAILED, "%s died of signal %d", argv[0], WTERMSIG(status));
        else if (WEXITSTATUS(status) == 127)
                result_set(res, ACTION_FAILED, "cannot execute %s (see %s)", argv[0], log_name);
        else if (WEXITSTATUS(status) != 0)
                result_set(res, ACTION_FAILED, "%s exited with status %d", argv[0], WEXITSTATUS(status));
        else
                result_set(res, ACTION_OK, NULL);
        if (r == 0 && res->status != ACTION_OK)
                r = -EIO;
out:
        free_strv(argv);
        free_strv(envp);
        return r;
}

int collect_on_complete(const struct collect_ctx *ctx, const struct action *hook, const char *path) {
        char **argv = NULL, **envp = NULL;
        int r = build_command(ctx, hook, path, NULL, &argv, &envp);
        if (r < 0)
                return r;
        int status = 0;
        share_with_hook_user(ctx);
        r = spawn_and_wait(argv, envp, STDERR_FILENO, hook->timeout, ctx->hook_user, &status);
        if (r == -ETIME)
                log_warning("on_complete %s for %s: killed after its timeout", argv[0], path);
        else if (r < 0)
                log_warning("on_complete %s for %s: cannot run it: %s", argv[0], path, strerror(-r));
        else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                log_warning("on_complete %s for %s: failed (status %d)", argv[0], path, exit_code_of_status(status));
        else
                log_info("on_complete %s for %s: done", argv[0], path);
        free_strv(argv);
        free_strv(envp);
        return r < 0 ? r : WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}
