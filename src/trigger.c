#include "trigger.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "json_text.h"
#include "version.h"

/* JSON has no NaN: a mean during warm-up, or a threshold never crossed, is
 * null. */
static json_t *number_or_null(double v) {
        return isfinite(v) ? json_real(v) : json_null();
}

static json_t *target_json(const struct proc_root *proc, const struct firing *f) {
        _cleanup_free_ char *cmdline = NULL, *cgroup = NULL;
        proc_read_cmdline(proc, f->pid, &cmdline);
        char path[64];
        snprintf(path, sizeof path, "%d/cgroup", (int) f->pid);
        if (read_file_at(proc->fd, path, 64 << 10, &cgroup, NULL) == 0) {
                /* The unified (0::) line names the cgroup; else the first. */
                const char *line = strstr(cgroup, "0::");
                if (line && (line == cgroup || line[-1] == '\n'))
                        memmove(cgroup, line + 3, strlen(line + 3) + 1);
                else if ((line = strrchr(cgroup, ':')))
                        memmove(cgroup, line + 1, strlen(line + 1) + 1);
                cgroup[strcspn(cgroup, "\n")] = 0;
        }
        /* What the process chose about itself may be any bytes. */
        return json_pack("{s:i, s:I, s:o, s:o, s:o}",
                         "pid", (int) f->pid, "start_time", (json_int_t) f->starttime,
                         "comm", json_text(f->comm), "cmdline", json_text(cmdline), "cgroup", json_text(cgroup));
}

/* A limit of 0 is none: null. */
static json_t *limit_json(double v) {
        return v > 0 ? json_real(v) : json_null();
}

static json_t *cgroup_json(const struct firing_cgroup *cg) {
        json_t *picked = json_array();
        for (size_t i = 0; i < cg->n_picked; i++)
                json_array_append_new(picked, json_pack("{s:i, s:o, s:f}", "pid", (int) cg->picked[i].pid, "comm",
                                                        json_text(cg->picked[i].comm), "score", cg->picked[i].score));
        return json_pack("{s:o, s:o, s:o, s:o, s:s, s:o}", "path", json_text(cg->path), "memory_limit",
                         limit_json(cg->memory_limit), "pids_limit", limit_json(cg->pids_limit), "cpu_quota",
                         limit_json(cg->cpu_quota), "picked_by", cg->why, "picked", picked);
}

static json_t *history_json(const struct ring *ring) {
        json_t *h = json_array();
        for (size_t i = 0; ring && i < ring->count; i++) {
                const struct sample *s = ring_at(ring, i);
                char when[40];
                format_utc(s->time, false, when, sizeof when);
                json_array_append_new(h, json_pack("[s, f]", when, s->value));
        }
        return h;
}

json_t *trigger_new(const struct proc_root *proc, const struct firing *f) {
        char host[256] = "", when[40];
        gethostname(host, sizeof host - 1);
        format_utc(f->wall, false, when, sizeof when);
        json_t *doc = json_pack("{s:i, s:s, s:s, s:s, s:s, s:b}",
                                "schema", TRIGGER_SCHEMA, "autodump_version", AUTODUMP_VERSION,
                                "host", host, "time", when, "rule", f->rule,
                                "manual", f->decision == NULL && f->crash == NULL);
        char started[40];
        format_utc(f->capture_wall ? f->capture_wall : f->wall, false, started, sizeof started);
        json_object_set_new(doc, "capture_started", json_string(started));
        if (f->decision) {
                const struct decision *d = f->decision;
                json_object_set_new(doc, "metric", json_string(f->metric));
                json_object_set_new(doc, "value", number_or_null(d->value));
                json_object_set_new(doc, "mean", number_or_null(d->mean));
                json_object_set_new(doc, "threshold", number_or_null(d->threshold));
                json_object_set_new(doc, "condition", json_string(trigger_kind_to_string(d->trigger)));
                /* A growth's threshold and its measure are per second. */
                if (isfinite(d->growth))
                        json_object_set_new(doc, "growth_per_second", json_real(d->growth));
        }
        if (f->crash && f->crash->dumped_by) {
                json_object_set_new(doc, "event", json_string("crash"));
                json_object_set_new(doc, "crash", json_pack("{s:s}", "dumped_by", f->crash->dumped_by));
        } else if (f->crash) {
                const struct crash_info *c = f->crash;
                char signame[16], addr[32];
                snprintf(signame, sizeof signame, "SIG%s", sigabbrev_np(c->signo) ? sigabbrev_np(c->signo) : "?");
                snprintf(addr, sizeof addr, "0x%" PRIx64, c->addr);
                json_object_set_new(doc, "event", json_string("crash"));
                json_object_set_new(doc, "crash", json_pack("{s:s, s:i, s:i, s:s?, s:s, s:i}", "signal", signame,
                                                            "signo", c->signo, "code", c->code, "code_name",
                                                            signal_code_name(c->signo, c->code), "address", addr,
                                                            "thread", (int) c->tid));
        }
        if (f->reference_what)
                json_object_set_new(doc, "reference", json_pack("{s:o, s:s}", "value", number_or_null(f->reference),
                                                                "of", f->reference_what));
        json_object_set_new(doc, "target", f->pid ? target_json(proc, f) : json_null());
        if (f->cgroup)
                json_object_set_new(doc, "cgroup", cgroup_json(f->cgroup));
        json_object_set_new(doc, "history", history_json(f->history));
        json_t *actions = json_array();
        for (size_t i = 0; i < f->n_actions; i++)
                json_array_append_new(actions, json_pack("{s:s, s:s}", "action",
                                                         action_kind_to_string(f->actions[i].kind),
                                                         "status", "pending"));
        json_object_set_new(doc, "actions", actions);
        json_object_set_new(doc, "complete", json_false());
        return doc;
}

static json_t *result_json(const struct action_result *res, bool running) {
        static const char *const names[] = {
                [ACTION_PENDING] = "pending", [ACTION_OK] = "ok", [ACTION_FAILED] = "failed",
                [ACTION_SKIPPED] = "skipped",
        };
        json_t *files = json_array();
        for (size_t i = 0; i < res->n_files; i++)
                json_array_append_new(files, json_string(res->files[i]));
        json_t *o = json_pack("{s:s, s:s?, s:o, s:I, s:f}",
                              "status", running ? "running" : names[res->status],
                              "error", res->error[0] ? res->error : NULL, "files", files,
                              "bytes", (json_int_t) res->bytes, "seconds", res->seconds);
        if (res->disk_bytes)
                json_object_set_new(o, "disk_bytes", json_integer((json_int_t) res->disk_bytes));
        json_object_set_new(o, "target_stopped_seconds",
                            res->has_stopped ? json_real(res->stopped_seconds) : json_null());
        if (res->core_via) {
                json_object_set_new(o, "via", json_string(res->core_via));
                if (*res->core_fallback)
                        json_object_set_new(o, "snapshot_refused", json_string(res->core_fallback));
                else if (strcmp(res->core_via, "snapshot") == 0) {
                        json_object_set_new(o, "snapshot_extra_bytes", json_integer((json_int_t) res->snapshot_extra_bytes));
                        json_object_set_new(o, "not_in_snapshot_bytes",
                                            json_integer((json_int_t) res->not_in_snapshot_bytes));
                }
        }
        return o;
}

void trigger_set_action(json_t *doc, size_t index, const struct action_result *res, bool running) {
        json_t *entry = json_array_get(json_object_get(doc, "actions"), index);
        json_t *r = result_json(res, running);
        json_object_update(entry, r);
        json_decref(r);
}

void trigger_set_snapshot(json_t *doc, const struct action_result *res) {
        json_object_set_new(doc, "snapshot", result_json(res, false));
}
