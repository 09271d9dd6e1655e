#include "match.h"

#include <string.h>

bool match_needs_details(const struct target_match *m) {
        return m->cmdline || m->has_user;
}

bool target_matches(const struct target_match *m, enum watch_mode mode, const struct proc_facts *f) {
        /* No target: the mode's own targets, the command's tree in run mode
         * and the -p PIDs in watch mode. */
        if (m->any)
                return mode == MODE_RUN ? f->in_tree : f->listed;
        /* A cgroup or unit target is found by cgroup discovery, not here. */
        if (m->cgroup || m->unit)
                return false;
        if (m->has_self && m->self != f->in_tree)
                return false;
        if (m->has_pid && m->pid != f->pid)
                return false;
        if (m->comm && strcmp(m->comm, f->comm) != 0)
                return false;
        if (m->cmdline && (!f->cmdline || regexec(&m->cmdline_re, f->cmdline, 0, NULL, 0) != 0))
                return false;
        if (m->has_user && (!f->has_uid || m->uid != f->uid))
                return false;
        return true;
}
