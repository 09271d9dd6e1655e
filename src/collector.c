#include "collector.h"

#include <string.h>

#include "log.h"
#include "trigger.h"

typedef int (*action_fn)(struct collect_ctx *, const struct action *, struct action_result *);

static int collect_core(struct collect_ctx *ctx, const struct action *a, struct action_result *res) {
        return a->core_via == CORE_VIA_GCORE ? collect_core_gcore(ctx, a, res) : collect_core_native(ctx, a, res);
}

static const action_fn action_fns[_ACTION_MAX] = {
        [ACTION_CORE] = collect_core,
        [ACTION_STACKS] = collect_stacks,
        [ACTION_EXEC] = collect_exec,
        [ACTION_SIGNAL] = collect_signal,
        [ACTION_PROFILE] = collect_profile,
        [ACTION_JVM_THREADDUMP] = collect_jvm_threaddump,
        [ACTION_JVM_HEAPDUMP] = collect_jvm_heapdump,
        [ACTION_JVM_JCMD] = collect_jvm_jcmd,
        [ACTION_GO_GOROUTINES] = collect_go_goroutines,
        [ACTION_GO_HEAP] = collect_go_heap,
        [ACTION_GO_PROFILE] = collect_go_profile,
        [ACTION_DOTNET_DUMP] = collect_dotnet_dump,
        [ACTION_DOTNET_TRACE] = collect_dotnet_trace,
};

static int save(struct artifact *a, json_t *doc) {
        int r = artifact_write_json(a->dir_fd, "trigger.json", doc);
        if (r < 0)
                log_error("%s: cannot write trigger.json: %s", a->partial, strerror(-r));
        return r;
}

/* Never start a capture that would leave the disk fuller than configured:
 * a watchdog must not be what fills the disk the service needs. */
static bool disk_too_full(const struct firing *f, const char *output, char *why, size_t size) {
        double free_pct;
        if (f->min_free_pct <= 0 || fs_free_pct(output, &free_pct) < 0 || free_pct >= f->min_free_pct)
                return false;
        snprintf(why, size, "output filesystem has %.1f%% free, below min_free %.0f%%", free_pct,
                 f->min_free_pct);
        return true;
}

int collector_run(const struct proc_root *proc, const struct firing *f, struct artifact *a,
                  char **ret_path) {
        int r = artifact_create(a);
        if (r < 0) {
                /* Nothing can be recorded there: the watchdog logs it,
                 * removes what was made, and keeps watching. */
                log_error("cannot create artifact directory in %s: %s", a->output, strerror(-r));
                return r;
        }
        _cleanup_free_ char *build_dir = NULL, *final_dir = NULL;
        if (asprintf(&build_dir, "%s/%s", a->output, a->partial) < 0 ||
            asprintf(&final_dir, "%s/%s", a->output, a->name) < 0)
                return -ENOMEM;

        json_t *doc = trigger_new(proc, f);
        if (!doc)
                return -ENOMEM;
        save(a, doc);

        struct collect_ctx ctx = {
                .proc = proc, .pid = f->pid, .starttime = f->starttime, .pidfd = f->pidfd,
                .stopped_at_firing = f->stopped_at_firing, .artifact = a, .build_dir = build_dir,
                .final_dir = final_dir, .rule = f->rule, .metric = f->metric,
                .value = f->decision ? f->decision->value : 0, .min_free_pct = f->min_free_pct, .held = f->held,
                .hook_user = f->hook_user, .go_pprof = f->go_pprof,
        };
        memcpy(ctx.comm, f->comm, sizeof ctx.comm);

        char why[256];
        bool too_full = disk_too_full(f, a->output, why, sizeof why);
        struct action_result snap = {};
        if (too_full)
                result_set(&snap, ACTION_SKIPPED, "%s", why);
        else if (f->pid == 0)
                result_set(&snap, ACTION_SKIPPED, "the cgroup had no process to act on");
        else
                collect_snapshot(&ctx, &snap);
        trigger_set_snapshot(doc, &snap);

        for (size_t i = 0; i < f->n_actions; i++) {
                const struct action *act = &f->actions[i];
                struct action_result res = {};
                /* Without a process only exec, the user's own hook, runs. */
                bool no_process = f->pid == 0 && act->kind != ACTION_EXEC;
                if (too_full || no_process) {
                        result_set(&res, ACTION_SKIPPED, "%s", too_full ? why : "the cgroup had no process to act on");
                        trigger_set_action(doc, i, &res, false);
                        continue;
                }
                trigger_set_action(doc, i, &res, true);
                save(a, doc);
                usec_t start = now_usec(CLOCK_MONOTONIC);
                action_fns[act->kind](&ctx, act, &res);
                res.seconds = (double) (now_usec(CLOCK_MONOTONIC) - start) / USEC_PER_SEC;
                trigger_set_action(doc, i, &res, false);
                if (res.status != ACTION_OK)
                        log_warning("%s: %s on %s[%d]: %s: %s", f->rule, action_kind_to_string(act->kind),
                                    f->comm, (int) f->pid,
                                    res.status == ACTION_SKIPPED ? "skipped" : "failed", res.error);
        }
        json_object_set_new(doc, "complete", json_true());
        r = save(a, doc);
        json_decref(doc);
        /* An artifact without its record explains nothing: none rather
         * than that. */
        if (r < 0) {
                artifact_remove(a);
                return r;
        }
        r = artifact_commit(a, ret_path);
        if (r < 0) {
                /* Every name taken (-EEXIST after 99 tries) or the disk
                 * refused: nothing half-made is left behind. */
                log_error("cannot move %s into place: %s", a->partial, strerror(-r));
                artifact_remove(a);
                return r;
        }
        /* Shipping it is the hook's business; the artifact is kept whatever
         * the hook does. */
        if (f->on_complete)
                (void) collect_on_complete(&ctx, f->on_complete, *ret_path);
        return 0;
}
