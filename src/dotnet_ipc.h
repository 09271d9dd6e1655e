/* The .NET runtime's diagnostics IPC, as dotnet/diagnostics publishes it
 * (documentation/design-docs/ipc-protocol.md): every message is a 20-byte
 * header — "DOTNET_IPC_V1\0", a little-endian u16 size of the whole
 * message, a command set and id, a reserved u16 — and a payload; strings
 * are a u32 count of UTF-16 units (the NUL included) and the units. The
 * runtime answers 0xFF00 (OK) or 0xFFFF with an HRESULT. Pure: builds and
 * reads buffers; every length is checked against what was received. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DOTNET_IPC_HEADER_SIZE 20
#define DOTNET_IPC_MAX 65535

enum {
        DOTNET_SET_DUMP = 0x01,
        DOTNET_SET_EVENTPIPE = 0x02,
        DOTNET_SET_PROCESS = 0x04,
        DOTNET_SET_SERVER = 0xFF,
};
enum {
        DOTNET_DUMP_CREATE3 = 0x03,     /* answers an HRESULT and the runtime's own words */
        DOTNET_EVENTPIPE_STOP = 0x01,
        DOTNET_EVENTPIPE_COLLECT2 = 0x03,       /* CollectTracing2: a session streamed on the connection */
        DOTNET_PROCESS_INFO2 = 0x04,    /* ProcessInfo with the entry assembly and runtime version */
        DOTNET_SERVER_OK = 0x00,
        DOTNET_SERVER_ERROR = 0xFF,
};
/* CreateCoreDump's dumpType. */
enum dotnet_dump_type { DOTNET_DUMP_MINI = 1, DOTNET_DUMP_HEAP = 2, DOTNET_DUMP_TRIAGE = 3, DOTNET_DUMP_FULL = 4 };
/* "mini", "heap", "triage" or "full", as dotnet-dump's --type; -EINVAL else. */
int dotnet_dump_type_from_name(const char *name);

struct dotnet_ipc_writer {
        uint8_t buf[DOTNET_IPC_MAX];
        size_t len;
        bool overflow;
};

/* Starts a message of command (set, id); put the payload, then finish. */
void dotnet_ipc_begin(struct dotnet_ipc_writer *w, uint8_t set, uint8_t id);
void dotnet_ipc_put_u32(struct dotnet_ipc_writer *w, uint32_t v);
/* A UTF-8 string as the runtime's UTF-16 (ASCII and two-byte UTF-8; other
 * characters become '?': paths here are ours). */
void dotnet_ipc_put_string(struct dotnet_ipc_writer *w, const char *s);
/* The message's length, or -ENOBUFS when it did not fit. */
int dotnet_ipc_finish(struct dotnet_ipc_writer *w);

struct dotnet_ipc_header {
        uint16_t size;          /* of the whole message */
        uint8_t set, id;
};
int dotnet_ipc_parse_header(const uint8_t *buf, size_t len, struct dotnet_ipc_header *ret);

/* Reads a payload front to back; any read past the end sets `bad`. */
struct dotnet_ipc_reader {
        const uint8_t *p;
        size_t len, at;
        bool bad;
};
uint32_t dotnet_ipc_get_u32(struct dotnet_ipc_reader *r);
uint64_t dotnet_ipc_get_u64(struct dotnet_ipc_reader *r);
void dotnet_ipc_skip(struct dotnet_ipc_reader *r, size_t n);
/* A string as UTF-8 (non-ASCII as '?'), cut to `size`. */
void dotnet_ipc_get_string(struct dotnet_ipc_reader *r, char *buf, size_t size);

struct dotnet_process_info {
        uint64_t pid;                   /* in its own namespace */
        char cmdline[512], os[32], arch[32], assembly[128], version[64];
};
int dotnet_ipc_parse_process_info2(const uint8_t *payload, size_t len, struct dotnet_process_info *ret);
/* An EventPipe provider as CollectTracing2 takes it. */
struct dotnet_provider {
        const char *name;
        uint64_t keywords;
        uint32_t level;         /* 4: informational */
        const char *filter;     /* "EventCounterIntervalSec=1"; NULL: none */
};
/* CollectTracing2: a nettrace stream of `buffer_mib`; with `rundown`, the
 * runtime describes its loaded methods when the session stops (what a
 * profile needs to name its frames). */
void dotnet_ipc_collect_tracing(struct dotnet_ipc_writer *w, uint32_t buffer_mib, bool rundown,
                                const struct dotnet_provider *p, size_t n);
/* "Name[:keywords[:level[:arguments]]]", as dotnet-trace's --providers
 * takes each: keywords hex (0x…) or decimal, level 0–5 (default: all
 * keywords, 5), arguments "key=value;key=value" (ret->filter points into
 * spec). The name is copied into name (at most size). -EINVAL when
 * malformed. */
int dotnet_provider_parse(const char *spec, char *name, size_t size, struct dotnet_provider *ret);

/* An error reply's HRESULT, in words where known. */
const char *dotnet_ipc_hresult_text(uint32_t hr);
