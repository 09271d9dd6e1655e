#include "dotnet_ipc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t magic[14] = "DOTNET_IPC_V1";

static void put(struct dotnet_ipc_writer *w, const void *p, size_t n) {
        if (w->overflow || n > sizeof w->buf - w->len) {
                w->overflow = true;
                return;
        }
        memcpy(w->buf + w->len, p, n);
        w->len += n;
}

static void put_u16(struct dotnet_ipc_writer *w, uint16_t v) {
        uint8_t b[2] = { (uint8_t) v, (uint8_t) (v >> 8) };
        put(w, b, 2);
}

void dotnet_ipc_begin(struct dotnet_ipc_writer *w, uint8_t set, uint8_t id) {
        w->len = 0;
        w->overflow = false;
        put(w, magic, sizeof magic);
        put_u16(w, 0);          /* the size, set by finish */
        put(w, &set, 1);
        put(w, &id, 1);
        put_u16(w, 0);
}

void dotnet_ipc_put_u32(struct dotnet_ipc_writer *w, uint32_t v) {
        uint8_t b[4] = { (uint8_t) v, (uint8_t) (v >> 8), (uint8_t) (v >> 16), (uint8_t) (v >> 24) };
        put(w, b, 4);
}

void dotnet_ipc_put_string(struct dotnet_ipc_writer *w, const char *s) {
        size_t at = w->len;
        uint32_t units = 0;
        dotnet_ipc_put_u32(w, 0);
        for (const unsigned char *p = (const unsigned char *) s;; p++) {
                uint16_t u = *p;
                if (*p >= 0xC0 && *p < 0xE0 && (p[1] & 0xC0) == 0x80) {
                        u = (uint16_t) ((*p & 0x1F) << 6 | (p[1] & 0x3F));
                        p++;
                } else if (*p >= 0x80) {
                        u = '?';
                        while ((p[1] & 0xC0) == 0x80)
                                p++;
                }
                put_u16(w, u);
                units++;
                if (!u)
                        break;
        }
        if (!w->overflow)
                for (int i = 0; i < 4; i++)
                        w->buf[at + i] = (uint8_t) (units >> (8 * i));
}

void dotnet_ipc_collect_tracing(struct dotnet_ipc_writer *w, uint32_t buffer_mib, bool rundown,
                                const struct dotnet_provider *p, size_t n) {
        uint8_t rundown_byte = rundown;
        dotnet_ipc_begin(w, DOTNET_SET_EVENTPIPE, DOTNET_EVENTPIPE_COLLECT2);
        dotnet_ipc_put_u32(w, buffer_mib);
        dotnet_ipc_put_u32(w, 1);               /* nettrace */
        put(w, &rundown_byte, 1);
        dotnet_ipc_put_u32(w, (uint32_t) n);
        for (size_t i = 0; i < n; i++) {
                dotnet_ipc_put_u32(w, (uint32_t) p[i].keywords);
                dotnet_ipc_put_u32(w, (uint32_t) (p[i].keywords >> 32));
                dotnet_ipc_put_u32(w, p[i].level);
                dotnet_ipc_put_string(w, p[i].name);
                dotnet_ipc_put_string(w, p[i].filter ? p[i].filter : "");
        }
}

int dotnet_dump_type_from_name(const char *name) {
        static const char *const types[] = { [DOTNET_DUMP_MINI] = "mini", [DOTNET_DUMP_HEAP] = "heap",
                                             [DOTNET_DUMP_TRIAGE] = "triage", [DOTNET_DUMP_FULL] = "full" };
        for (int t = DOTNET_DUMP_MINI; t <= DOTNET_DUMP_FULL; t++)
                if (strcmp(name, types[t]) == 0)
                        return t;
        return -EINVAL;
}

int dotnet_provider_parse(const char *spec, char *name, size_t size, struct dotnet_provider *ret) {
        size_t n = strcspn(spec, ":");
        if (n == 0 || n >= size || strspn(spec, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_") < n)
                return -EINVAL;
        memcpy(name, spec, n);
        name[n] = 0;
        *ret = (struct dotnet_provider) { .name = name, .keywords = UINT64_MAX, .level = 5 };
        const char *p = spec + n;
        char *end;
        if (*p == ':') {
                errno = 0;
                ret->keywords = strtoull(p + 1, &end, 0);
                if (errno || end == p + 1 || (*end && *end != ':'))
                        return -EINVAL;
                p = end;
        }
        if (*p == ':') {
                unsigned long level = strtoul(p + 1, &end, 10);
                if (end == p + 1 || (*end && *end != ':') || level > 5)
                        return -EINVAL;
                ret->level = (uint32_t) level;
                p = end;
        }
        /* The rest is the provider's arguments, colons and all (a
         * FilterAndPayloadSpecs line has its own). */
        if (*p == ':')
                ret->filter = p[1] ? p + 1 : NULL;
        return 0;
}

int dotnet_ipc_finish(struct dotnet_ipc_writer *w) {
        if (w->overflow)
                return -ENOBUFS;
        w->buf[14] = (uint8_t) w->len;
        w->buf[15] = (uint8_t) (w->len >> 8);
        return (int) w->len;
}

int dotnet_ipc_parse_header(const uint8_t *buf, size_t len, struct dotnet_ipc_header *ret) {
        if (len < DOTNET_IPC_HEADER_SIZE || memcmp(buf, magic, sizeof magic) != 0)
                return -EBADMSG;
        *ret = (struct dotnet_ipc_header) { .size = (uint16_t) (buf[14] | buf[15] << 8), .set = buf[16],
                                            .id = buf[17] };
        return ret->size < DOTNET_IPC_HEADER_SIZE ? -EBADMSG : 0;
}

static const uint8_t *take(struct dotnet_ipc_reader *r, size_t n) {
        if (r->bad || n > r->len - r->at) {
                r->bad = true;
                return NULL;
        }
        r->at += n;
        return r->p + r->at - n;
}

uint32_t dotnet_ipc_get_u32(struct dotnet_ipc_reader *r) {
        const uint8_t *b = take(r, 4);
        return b ? (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 24 : 0;
}

uint64_t dotnet_ipc_get_u64(struct dotnet_ipc_reader *r) {
        uint64_t lo = dotnet_ipc_get_u32(r);
        return lo | (uint64_t) dotnet_ipc_get_u32(r) << 32;
}

void dotnet_ipc_skip(struct dotnet_ipc_reader *r, size_t n) {
        take(r, n);
}

void dotnet_ipc_get_string(struct dotnet_ipc_reader *r, char *buf, size_t size) {
        uint32_t units = dotnet_ipc_get_u32(r);
        const uint8_t *p = units <= DOTNET_IPC_MAX ? take(r, (size_t) units * 2) : (r->bad = true, NULL);
        size_t n = 0;
        for (uint32_t i = 0; p && i < units && n + 1 < size; i++) {
                uint16_t u = (uint16_t) (p[2 * i] | p[2 * i + 1] << 8);
                if (!u)
                        break;
                buf[n++] = u < 0x80 && u >= 0x20 ? (char) u : '?';
        }
        if (size)
                buf[n] = 0;
}

int dotnet_ipc_parse_process_info2(const uint8_t *payload, size_t len, struct dotnet_process_info *ret) {
        struct dotnet_ipc_reader r = { .p = payload, .len = len };
        ret->pid = dotnet_ipc_get_u64(&r);
        dotnet_ipc_skip(&r, 16);        /* the runtime instance's cookie */
        dotnet_ipc_get_string(&r, ret->cmdline, sizeof ret->cmdline);
        dotnet_ipc_get_string(&r, ret->os, sizeof ret->os);
        dotnet_ipc_get_string(&r, ret->arch, sizeof ret->arch);
        dotnet_ipc_get_string(&r, ret->assembly, sizeof ret->assembly);
        dotnet_ipc_get_string(&r, ret->version, sizeof ret->version);
        return r.bad ? -EBADMSG : 0;
}

const char *dotnet_ipc_hresult_text(uint32_t hr) {
        switch (hr) {
        case 0x80131384:
                return "the runtime could not read the request (bad encoding)";
        case 0x80131385:
                return "the runtime does not know this command (an older runtime)";
        case 0x80131386:
                return "the runtime did not recognise the protocol";
        case 0x80131515:
                return "not supported by this runtime";
        case 0x80070057:
                return "an argument the runtime refused";
        case 0x8007000E:
                return "the runtime ran out of memory";
        case 0x80004005:
                return "the runtime failed";
        default:
                return "an error of the runtime's";
        }
}
