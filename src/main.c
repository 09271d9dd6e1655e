/* autodump's command line: parses the subcommand's options and hands over
 * to the watchdog, the sampler or the collectors. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "collect/symbols.h"
#include "config.h"
#include "log.h"
#include "rules.h"
#include "units.h"
#include "version.h"
#include "watchdog.h"

static const char usage_text[] =
        "usage:\n"
        "  autodump run    [-c FILE] [-r RULES]... [-o DIR] [--dry-run] [--record DB] [-v|-q] [-g] [-s]\n"
        "                  [-e CODE]... [-p SIGNAL] -- COMMAND [ARG]...\n"
        "  autodump watch  [-c FILE] [-r RULES]... [-o DIR] [--dry-run] [--record DB] [-v|-q] [-p PID]...\n"
        "  autodump check  [-c FILE] [-r RULES]...\n"
        "  autodump sample [-i DURATION] [-n COUNT] [--json] [--record DB] [--cgroup PATH]... [--comm NAME]\n"
        "                  [-r RULES --rule NAME] [PID]...\n"
        "  autodump collect ACTION[,ACTION]... [-o DIR] [--compress zstd] [--filter MASK] [--via snapshot|stop|gcore]\n"
        "                   [--duration DURATION] [--frequency HZ] [--type mini|heap|triage|full] PID\n"
        "  autodump list   [-o DIR] [--json] [--since DURATION|TIME] [--rule NAME] [--target COMM|PID]\n"
        "  autodump show   ID|DIR\n"
        "  autodump report DB [-o report.html] [--replay RULES]\n"
        "  autodump replay -r RULES [--json] [--from TIME] [--to TIME] DB\n"
        "  autodump --help | --version\n"
        "\n"
        "RULES is a YAML file or a directory of them. Without -r, run uses the built-in\n"
        "default rules and watch uses the config's rules path (/etc/autodump/rules.d).\n"
        "Output: -o, else $AUTODUMP_OUTPUT, else the config's output, else ./autodump-out\n"
        "(run, collect) or /var/lib/autodump (watch).\n"
        "--record DB (or the config's [record] path): every sample, firing and capture to SQLite.\n";

/* Loads the config (-c must exist; the default path may not) and the rules:
 * -r paths, else the built-in rules (run) or the config's path (watch,
 * check). Prints every problem; returns false if there was any. */
static bool load_all(const struct common *c, bool builtin_default, struct config *config,
                     struct rule_set *rules) {
        struct diags diags = {};
        config_defaults(config);
        int config_result = config_load(config, c->config_path ? c->config_path : CONFIG_DEFAULT_PATH,
                                        c->config_path != NULL, &diags);
        if (c->n_rule_paths > 0)
                for (size_t i = 0; i < c->n_rule_paths; i++)
                        rules_load_path(rules, c->rule_paths[i], &diags);
        else if (builtin_default)
                rules_load_default(rules, &diags);
        else if (config_result == 0)    /* a broken config's rules path is no one's intent */
                rules_load_path(rules, config->rules, &diags);
        symbols_use_debuginfod(config->debuginfod);
        log_diags(&diags);
        bool ok = diags.n == 0;
        diags_free(&diags);
        return ok;
}

/* -v and -q, else the config's [log] level. */
static void set_log_level(const struct common *c, const struct config *config) {
        if (c->verbosity)
                log_set_level(c->verbosity > 0 ? LOG_DEBUG : LOG_WARNING);
        else if (config->log_level)
                log_set_level(config->log_level);
}

/* A reload (SIGHUP in watch mode) reads what the start read. */
static int reload_all(struct config *config, struct rule_set *rules, void *userdata) {
        if (!load_all(userdata, false, config, rules))
                return -EINVAL;
        set_log_level(userdata, config);
        return 0;
}

static int cmd_run_or_watch(int argc, char **argv, enum watch_mode mode) {
        struct common c = { .run = mode == MODE_RUN };
        if (c.run && run_options_from_env(&c) < 0)
                return EXIT_USAGE;
        int i = parse_common(argc, argv, mode == MODE_RUN ? "+c:r:o:vqgse:p:" : "+c:r:o:vqp:",
                             LONG(OPT_DRY_RUN) | LONG(OPT_RECORD), &c);
        if (i < 0) {
                free(c.expect_exit);
                return EXIT_USAGE;
        }
        if (mode == MODE_RUN && i >= argc)
                return usage_error("%s", "run needs a command: autodump run [OPTIONS] -- COMMAND [ARG]...");
        if (mode == MODE_WATCH && i < argc)
                return usage_error("unexpected argument '%s'", argv[i]);
        struct config config;
        struct rule_set rules = {};
        struct watchdog_options o;
        int ret = EXIT_USAGE;
        if (!load_all(&c, mode == MODE_RUN, &config, &rules))
                goto out;
        set_log_level(&c, &config);
        if (rules.n == 0 && (mode == MODE_WATCH || rules.n_crash == 0)) {
                fprintf(stderr, "autodump: no rules to watch with\n");
                goto out;
        }
        o = (struct watchdog_options) {
                .mode = mode, .rules = &rules, .config = &config, .dry_run = c.dry_run,
                .output = output_dir(&c, &config, mode == MODE_RUN ? "./autodump-out" : "/var/lib/autodump"),
                .proc_root = "/proc", .command = argv + i, .pids = c.pids, .n_pids = c.n_pids,
                .run = { .kill_group = c.kill_group, .expect_exit = c.expect_exit, .n_expect_exit = c.n_expect_exit },
                .reload = reload_all, .reload_userdata = &c,
                .record = c.record ? c.record : config.record_path,
        };
        /* -p: told when our own parent dies (tini's -p). */
        if (c.parent_death_signal > 0)
                prctl(PR_SET_PDEATHSIG, c.parent_death_signal);
        ret = watchdog_run(&o);
out:
        rule_set_free(&rules);
        config_free(&config);
        free(c.rule_paths);
        free(c.pids);
        free(c.expect_exit);
        return ret;
}

static int cmd_check(int argc, char **argv) {
        struct common c = {};
        int i = parse_common(argc, argv, "c:r:", 0, &c);
        if (i < 0)
                return EXIT_USAGE;
        if (i < argc)
                return usage_error("unexpected argument '%s'", argv[i]);
        struct config config;
        struct rule_set rules = {};
        bool ok = load_all(&c, false, &config, &rules);
        if (ok)
                printf("%zu rule%s OK\n", rules.n + rules.n_crash, rules.n + rules.n_crash == 1 ? "" : "s");
        rule_set_free(&rules);
        config_free(&config);
        free(c.rule_paths);
        return ok ? 0 : 1;
}

/* sample --comm NAME and --rule NAME: the processes (or cgroups) they
 * name now, added to the PIDs and cgroups given. */
static int select_for_sample(struct common *c, char ***rule_cgroups, size_t *n_rule_cgroups) {
        if (c->comm && sample_select_comm(c->comm, &c->pids, &c->n_pids) < 0)
                return usage_error("--comm %s: cannot list processes", c->comm);
        if (!c->rule)
                return 0;
        struct config config;
        struct rule_set rules = {};
        int r = load_all(c, false, &config, &rules) ? 0 : -EINVAL;
        if (r == 0)
                r = sample_select_rule(&rules, c->rule, &c->pids, &c->n_pids, rule_cgroups, n_rule_cgroups);
        rule_set_free(&rules);
        config_free(&config);
        if (r == -ENOENT)
                return usage_error("--rule: no rule '%s' in the rules loaded (-r, else the config's)", c->rule);
        if (r == -EINVAL)
                return usage_error("--rule %s: a rule with no target selects no process by itself (it watches "
                                   "run's command or watch's -p PIDs: give those)", c->rule);
        return r < 0 ? usage_error("--rule: %s", strerror(-r)) : 0;
}

static int cmd_sample(int argc, char **argv) {
        struct common c = { .interval = USEC_PER_SEC };
        int i = parse_common(argc, argv, "c:r:i:n:",
                             LONG(OPT_JSON) | LONG(OPT_RECORD) | LONG(OPT_CGROUP) | LONG(OPT_COMM) | LONG(OPT_RULE), &c);
        if (i < 0)
                return EXIT_USAGE;
        if (i >= argc && c.n_cgroups == 0 && !c.comm && !c.rule)
                return usage_error("%s", "sample needs a PID, --cgroup PATH, --comm NAME or --rule NAME");
        for (; i < argc; i++)
                if (add_pid(&c, argv[i]) < 0)
                        return usage_error("'%s' is not a PID", argv[i]);
        for (size_t k = 0; k < c.n_cgroups; k++)
                if (c.cgroups[k][0] != '/')
                        return usage_error("--cgroup: '%s' must be a path from the hierarchy's root, such as "
                                           "/system.slice/nginx.service", c.cgroups[k]);
        char **found = NULL;
        size_t n_found = 0;
        int r = select_for_sample(&c, &found, &n_found);
        /* --cgroup paths join the rule's, all owned here. */
        char **all = r == 0 ? realloc(found, (n_found + c.n_cgroups + 1) * sizeof *all) : NULL;
        if (all) {
                found = all;
                for (size_t k = 0; k < c.n_cgroups && r == 0; k++)
                        if (!(found[n_found++] = strdup(c.cgroups[k])))
                                r = 1;
        } else if (r == 0)
                r = 1;
        if (r == 0 && c.n_pids == 0 && n_found == 0) {
                fprintf(stderr, "autodump: nothing to sample: no process or cgroup matches now\n");
                r = 1;
        }
        if (r == 0)
                r = sample_command(c.pids, c.n_pids, found, n_found, c.interval, c.count, c.json, c.record);
        for (size_t k = 0; k < n_found; k++)
                free(found[k]);
        free(found);
        free(c.pids);
        free(c.cgroups);
        free(c.rule_paths);
        return r;
}

static int cmd_list_or_show(int argc, char **argv, bool show) {
        struct common c = {};
        int i = parse_common(argc, argv, "c:o:", show ? 0 : LONG(OPT_JSON) | LONG(OPT_RULE) | LONG(OPT_TARGET) |
                             LONG(OPT_SINCE), &c);
        if (i < 0)
                return EXIT_USAGE;
        if (show ? argc - i != 1 : i < argc)
                return usage_error("%s", show ? "show needs one ID or DIR" : "list takes no arguments");
        struct list_filter filter = { .rule = c.rule, .target = c.target };
        if (c.since && parse_time_arg(c.since, &filter.since) < 0)
                return usage_error("--since: '%s' is neither a duration (12h) nor a UTC time (2026-11-22T02:00Z)",
                                   c.since);
        struct config config;
        struct diags diags = {};
        config_defaults(&config);
        config_load(&config, c.config_path ? c.config_path : CONFIG_DEFAULT_PATH, c.config_path != NULL, &diags);
        diags_print(&diags, stderr);
        const char *out = output_dir(&c, &config,
                                     access("./autodump-out", F_OK) == 0 ? "./autodump-out" : "/var/lib/autodump");
        int r = diags.n ? 1 : show ? show_artifact(out, argv[i]) : list_artifacts(out, &filter, c.json);
        diags_free(&diags);
        config_free(&config);
        return r;
}

/* What each subcommand is for, under its usage line, for `SUBCOMMAND
 * --help`. */
static const struct { const char *name, *what; } subcommands[] = {
        { "run", "Starts COMMAND and watches it and every descendant (a container's entrypoint);\n"
                 "captures their crashes; forwards signals, reaps orphans, exits with its exit code.\n"
                 "  -g         forward signals to COMMAND's whole process group\n"
                 "  -s         be a subreaper (always so; accepted as tini takes it)\n"
                 "  -e CODE    exit 0 when COMMAND exits with CODE (repeatable)\n"
                 "  -p SIGNAL  get SIGNAL when autodump's own parent dies\n"
                 "The same from AUTODUMP_KILL_PROCESS_GROUP=1, AUTODUMP_EXPECT_EXIT=CODE,..., and\n"
                 "AUTODUMP_PDEATHSIG=SIGNAL (AUTODUMP_SUBREAPER is accepted)." },
        { "watch", "Watches the processes and cgroups the rules select, and the -p PIDs, until\n"
                   "SIGTERM (a service on a VM)." },
        { "check", "Checks rule and config files: every problem as FILE:LINE:COL; exit 0 valid,\n"
                   "1 invalid." },
        { "sample", "Prints what the rules would see of processes and cgroups, every DURATION." },
        { "collect", "Captures now: ACTION is core, stacks, profile, jvm.threaddump, jvm.heapdump,\n"
                     "go.goroutines, go.heap, go.profile, dotnet.dump or dotnet.trace; prints the artifact's\n"
                     "path." },
        { "list", "Lists the artifacts in the output directory, oldest first, and how many, how large,\n"
                  "and since when; --since 12h (or a UTC time, 2026-11-22T02:00Z), --rule and --target\n"
                  "(a comm or a PID) narrow the list." },
        { "show", "Shows one artifact: what fired and why, the samples that led to it against the\n"
                  "threshold, what each action did, and its files." },
        { "report", "Writes one self-contained HTML page from a recording (--record): a summary, a\n"
                    "timeline across targets, a chart of each metric with the rules' thresholds and\n"
                    "each firing linked to its artifact. Default output: DB's name with .html.\n"
                    "  --replay RULES  also draws where RULES would have fired" },
        { "replay", "Evaluates RULES on a recording with the live engine and prints each firing:\n"
                    "time, rule, target, value, condition. --from/--to: a duration back from now\n"
                    "(12h) or a UTC time (2026-11-22T02:00Z)." },
};

/* `autodump SUBCOMMAND --help` (or -h): its usage line and what it is for.
 * For run, only options before the command count. */
static bool subcommand_help(const char *cmd, int argc, char **argv) {
        bool asked = false;
        for (int i = 1; i < argc && strcmp(argv[i], "--") != 0 && !asked; i++)
                asked = strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0;
        for (size_t i = 0; asked && i < ELEMENTSOF(subcommands); i++) {
                if (strcmp(subcommands[i].name, cmd) != 0)
                        continue;
                char prefix[32];
                snprintf(prefix, sizeof prefix, "  autodump %s ", cmd);
                const char *line = strstr(usage_text, prefix);
                printf("usage:\n%.*s\n%s\n", (int) strcspn(line, "\n"), line, subcommands[i].what);
                return true;
        }
        return false;
}

int main(int argc, char **argv) {
        log_init("autodump");
        if (argc < 2)
                return usage_error("%s", "a subcommand is needed");
        const char *cmd = argv[1];
        if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
                fputs(usage_text, stdout);
                return 0;
        }
        if (strcmp(cmd, "--version") == 0) {
                printf("autodump %s\n", AUTODUMP_VERSION);
                return 0;
        }
        argc--;
        argv++;
        if (subcommand_help(cmd, argc, argv))
                return 0;
        if (strcmp(cmd, "run") == 0)
                return cmd_run_or_watch(argc, argv, MODE_RUN);
        if (strcmp(cmd, "watch") == 0)
                return cmd_run_or_watch(argc, argv, MODE_WATCH);
        if (strcmp(cmd, "check") == 0)
                return cmd_check(argc, argv);
        if (strcmp(cmd, "collect") == 0)
                return collect_command(argc, argv);
        if (strcmp(cmd, "sample") == 0)
                return cmd_sample(argc, argv);
        if (strcmp(cmd, "list") == 0)
                return cmd_list_or_show(argc, argv, false);
        if (strcmp(cmd, "show") == 0)
                return cmd_list_or_show(argc, argv, true);
        if (strcmp(cmd, "report") == 0)
                return report_command(argc, argv);
        if (strcmp(cmd, "replay") == 0)
                return replay_command(argc, argv);
        return usage_error("unknown subcommand '%s'", cmd);
}
