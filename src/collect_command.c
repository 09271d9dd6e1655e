/* `autodump collect ACTION[,ACTION]... PID`: one capture, now, with the
 * actions' options on the command line (--compress, --filter, --via for
 * core; --duration for profile, go.profile and dotnet.trace; --frequency
 * for profile; --type for dotnet.dump). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "cli.h"
#include "collect/symbols.h"
#include "collector.h"
#include "commands.h"
#include "dotnet_ipc.h"
#include "output_dir.h"
#include "suggest.h"
#include "units.h"

static int parse_action_list(const char *list, struct action **ret, size_t *ret_n) {
        _cleanup_free_ char *copy = strdup(list);
        if (!copy)
                return -ENOMEM;
        struct action *acts = NULL;
        size_t n = 0;
        char *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                struct action a = {};
                /* exec, signal and jvm.jcmd need options a comma list cannot give. */
                if (action_from_name(tok, &a.kind) < 0 || a.kind == ACTION_EXEC || a.kind == ACTION_SIGNAL ||
                    a.kind == ACTION_JVM_JCMD) {
                        static const char *const names[] = {
                                "core", "stacks", "profile", "jvm.threaddump", "jvm.heapdump", "go.goroutines",
                                "go.heap", "go.profile", "dotnet.dump", "dotnet.trace", NULL,
                        };
                        const char *hint = suggest_near_miss(tok, names);
                        char msg[240];
                        snprintf(msg, sizeof msg, "collect: unknown action '%%s' (%s%s%s)", hint ? "did you mean '" : "",
                                 hint ? hint : "core, stacks, profile, jvm.threaddump, jvm.heapdump, go.goroutines, "
                                               "go.heap, go.profile, dotnet.dump, dotnet.trace",
                                 hint ? "'?" : "");
                        free(acts);
                        usage_error(msg, tok);
                        return -EINVAL;
                }
                struct action *m = realloc(acts, (n + 1) * sizeof *m);
                if (!m) {
                        free(acts);
                        return -ENOMEM;
                }
                acts = m;
                acts[n++] = a;
        }
        *ret = acts;
        *ret_n = n;
        return 0;
}

static struct action *find_action(struct action *acts, size_t n, enum action_kind kind) {
        for (size_t i = 0; i < n; i++)
                if (acts[i].kind == kind)
                        return &acts[i];
        return NULL;
}

/* The actions' options from the command line, each checked as a rule's
 * would be, and given only with its action. */
static int apply_options(const struct common *c, struct action *acts, size_t n) {
        struct action *core = find_action(acts, n, ACTION_CORE), *profile = find_action(acts, n, ACTION_PROFILE),
                      *go_profile = find_action(acts, n, ACTION_GO_PROFILE),
                      *trace = find_action(acts, n, ACTION_DOTNET_TRACE), *dump = find_action(acts, n, ACTION_DOTNET_DUMP);
        const struct { const char *value, *option; bool present; } wanted[] = {
                { c->compress, "--compress", core }, { c->filter, "--filter", core }, { c->via, "--via", core },
                { c->duration, "--duration", profile || go_profile || trace }, { c->frequency, "--frequency", profile },
                { c->dump_type, "--type", dump },
        };
        for (size_t i = 0; i < ELEMENTSOF(wanted); i++)
                if (wanted[i].value && !wanted[i].present)
                        return usage_error("%s goes with an action that takes it (--compress, --filter, --via: core; "
                                           "--duration: profile, go.profile, dotnet.trace; --frequency: profile; "
                                           "--type: dotnet.dump)", wanted[i].option);
        int dump_type = c->dump_type ? dotnet_dump_type_from_name(c->dump_type) : 0;
        if (dump_type < 0)
                return usage_error("--type: '%s' is none of mini, heap, triage, full", c->dump_type);
        if (c->compress && strcmp(c->compress, "zstd") != 0)
                return usage_error("--compress: '%s' is not a compression autodump knows (zstd)", c->compress);
        enum core_via via = CORE_VIA_SNAPSHOT;
        if (c->via && core_via_from_name(c->via, &via) < 0)
                return usage_error("--via: '%s' is none of snapshot, stop, gcore", c->via);
        char *end = NULL;
        unsigned long filter = c->filter ? strtoul(c->filter, &end, 0) : 0;
        if (c->filter && (*end || end == c->filter || filter > 0x1ff))
                return usage_error("--filter: '%s' is not a coredump_filter mask, such as 0x33", c->filter);
        unsigned frequency = 0;
        if (c->frequency && (parse_unsigned(c->frequency, &frequency) < 0 || frequency == 0 || frequency > 10000))
                return usage_error("--frequency: '%s' is not a rate from 1 to 10000 Hz", c->frequency);
        usec_t duration = 0;
        if (c->duration && (parse_duration(c->duration, &duration) < 0 || duration < 10 * USEC_PER_MSEC))
                return usage_error("--duration: '%s' is not a duration of 10ms or more", c->duration);
        if (core) {
                core->compress_zstd = c->compress != NULL;
                core->core_via = via;
                core->filter_set = c->filter != NULL;
                core->filter = (unsigned) filter;
        }
        if (profile) {
                profile->duration = duration;
                profile->frequency = frequency;
        }
        /* The Go runtime profiles whole seconds; a trace is at least one. */
        if ((go_profile || trace) && c->duration && duration < USEC_PER_SEC)
                return usage_error("--duration: '%s' is less than the 1s go.profile and dotnet.trace take", c->duration);
        if (go_profile)
                go_profile->duration = duration;
        if (trace)
                trace->duration = duration;
        if (dump)
                dump->dotnet_dump_type = (unsigned) dump_type;
        return 0;
}

int collect_command(int argc, char **argv) {
        struct common c = {};
        /* ACTIONS may come before or after the options. */
        int i = parse_common(argc, argv, "c:o:",
                             LONG(OPT_COMPRESS) | LONG(OPT_FILTER) | LONG(OPT_VIA) | LONG(OPT_DURATION) |
                                     LONG(OPT_FREQUENCY) | LONG(OPT_TYPE),
                             &c);
        if (i < 0)
                return EXIT_USAGE;
        if (argc - i != 2)
                return usage_error("%s", "collect needs ACTION[,ACTION]... and one PID");
        _cleanup_free_ struct action *actions = NULL;
        size_t n_actions;
        unsigned pid;
        if (parse_action_list(argv[i], &actions, &n_actions) < 0 || apply_options(&c, actions, n_actions) != 0)
                return EXIT_USAGE;
        if (parse_unsigned(argv[i + 1], &pid) < 0 || pid == 0)
                return usage_error("'%s' is not a PID", argv[i + 1]);

        struct config config;
        struct diags diags = {};
        config_defaults(&config);
        config_load(&config, c.config_path ? c.config_path : CONFIG_DEFAULT_PATH, c.config_path != NULL, &diags);
        diags_print(&diags, stderr);
        symbols_use_debuginfod(config.debuginfod);
        int ret = 1;
        struct proc_root proc = { .fd = -1 };
        struct artifact a = ARTIFACT_NULL;
        int pidfd = -1;
        _cleanup_free_ char *path = NULL;       /* before any goto: it is freed at every exit */
        struct action hook = {};
        struct proc_stat st;
        struct firing f;
        char why[256];
        int r;
        struct retention_limits retention;
        if (diags.n)
                goto out;
        if (proc_root_open("/proc", &proc) < 0)
                goto out;
        pidfd = (int) syscall(SYS_pidfd_open, (pid_t) pid, 0);
        if (pidfd < 0 || proc_read_stat(&proc, (pid_t) pid, &st) < 0) {
                fprintf(stderr, "autodump: PID %u: no such process\n", pid);
                goto out;
        }
        f = (struct firing) {
                .rule = "manual", .actions = actions, .n_actions = n_actions, .metric = "",
                .pid = (pid_t) pid, .starttime = st.starttime, .pidfd = pidfd,
                .stopped_at_firing = st.state == 'T', .wall = now_usec(CLOCK_REALTIME),
                .min_free_pct = config.min_free_pct,
        };
        memcpy(f.comm, st.comm, sizeof f.comm);
        if (config.on_complete && action_from_command_line(config.on_complete, config.on_complete_timeout, &hook) == 0)
                f.on_complete = &hook;
        if (config.hook_user.name)
                f.hook_user = &config.hook_user;
        if (artifact_prepare(output_dir(&c, &config, "./autodump-out"), f.wall, "manual", st.comm,
                             (pid_t) pid, &a) < 0)
                goto out;
        r = output_dir_open(a.output, true, &a.out_fd, why, sizeof why);
        if (r < 0) {
                fprintf(stderr, "autodump: %s output directory %s: %s\n", r == -EPERM ? "refusing" : "cannot use",
                        a.output, r == -EPERM ? why : strerror(-r));
                goto out;
        }
        if (f.hook_user && (r = output_dir_share(a.out_fd, f.hook_user->gid)) < 0)
                fprintf(stderr, "autodump: output directory %s: cannot let hook_user %s through: %s\n", a.output,
                        f.hook_user->name, strerror(-r));
        umask(0077);    /* as in a forked collector: cores hold secrets */
        if (collector_run(&proc, &f, &a, &path) == 0) {
                printf("%s\n", path);
                ret = artifact_all_ok(path) ? 0 : 1;
        }
        retention = config_retention(&config);
        retention_apply(a.output, &retention);
out:
        action_clear(&hook);
        if (pidfd >= 0)
                close(pidfd);
        artifact_done(&a);
        proc_root_close(&proc);
        diags_free(&diags);
        config_free(&config);
        return ret;
}
