/* What processes shape: /proc/PID/stat (the comm is theirs), status,
 * cgroup, and the cgroup files read beside them. The first byte picks the
 * parser, so one corpus covers them all. */
#include "fuzz.h"

#include "cgroupfs.h"
#include "proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        char *text = fuzz_string(data + 1, size - 1);
        switch (data[0] % 6) {
        case 0: {
                struct proc_stat st;
                proc_parse_stat(text, &st);
                break;
        }
        case 1: {
                struct proc_signals s;
                proc_parse_signals(text, &s);
                break;
        }
        case 2: {
                struct cgroup_paths p = {};
                bool deleted;
                if (cgroup_parse_proc(text, &p, &deleted) == 0)
                        cgroup_paths_free(&p);
                break;
        }
        case 3: {
                uint64_t v;
                cgroup_parse_keyed(text, "total_rss", &v);
                break;
        }
        case 4: {
                uint64_t v;
                cgroup_parse_limit(text, &v);
                break;
        }
        case 5: {
                double v;
                cgroup_parse_psi_avg10(text, "some", &v);
                break;
        }
        }
        free(text);
        return 0;
}
