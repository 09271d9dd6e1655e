#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "dotnet_ipc.h"

static void a_request_as_the_runtime_reads_it(void **state) {
        static struct dotnet_ipc_writer w;
        dotnet_ipc_begin(&w, DOTNET_SET_DUMP, DOTNET_DUMP_CREATE3);
        dotnet_ipc_put_string(&w, "/tmp/d\xc3\xa9.dmp");     /* "dé": one UTF-16 unit */
        dotnet_ipc_put_u32(&w, DOTNET_DUMP_HEAP);
        int len = dotnet_ipc_finish(&w);
        /* 20 header, 4 count, 12 units (NUL included) × 2, 4 type. */
        assert_int_equal(len, 20 + 4 + 24 + 4);
        assert_memory_equal(w.buf, "DOTNET_IPC_V1\0", 14);
        assert_int_equal(w.buf[14] | w.buf[15] << 8, len);
        assert_int_equal(w.buf[16], 0x01);
        assert_int_equal(w.buf[17], 0x03);
        assert_int_equal(w.buf[24 + 2 * 6], 0xe9);      /* é */
        struct dotnet_ipc_header h;
        assert_int_equal(dotnet_ipc_parse_header(w.buf, (size_t) len, &h), 0);
        assert_int_equal(h.size, len);
        struct dotnet_ipc_reader r = { .p = w.buf + 20, .len = (size_t) len - 20 };
        char s[32];
        dotnet_ipc_get_string(&r, s, sizeof s);
        assert_string_equal(s, "/tmp/d?.dmp");
        assert_int_equal(dotnet_ipc_get_u32(&r), DOTNET_DUMP_HEAP);
        assert_false(r.bad);
        /* Too long for one message: refused, not cut. */
        static char huge[40000];
        memset(huge, 'x', sizeof huge - 1);
        dotnet_ipc_begin(&w, DOTNET_SET_DUMP, DOTNET_DUMP_CREATE3);
        dotnet_ipc_put_string(&w, huge);
        assert_int_equal(dotnet_ipc_finish(&w), -ENOBUFS);
}

static void headers_that_are_not_the_protocol(void **state) {
        struct dotnet_ipc_header h;
        uint8_t b[20] = "DOTNET_IPC_V1";
        assert_int_equal(dotnet_ipc_parse_header(b, 19, &h), -EBADMSG);
        assert_int_equal(dotnet_ipc_parse_header(b, 20, &h), -EBADMSG);    /* size 0 < the header */
        b[14] = 20;
        assert_int_equal(dotnet_ipc_parse_header(b, 20, &h), 0);
        b[0] = 'X';
        assert_int_equal(dotnet_ipc_parse_header(b, 20, &h), -EBADMSG);
}

/* A ProcessInfo2 payload: pid, cookie, then five strings. */
static size_t process_info(uint8_t *p) {
        static struct dotnet_ipc_writer w;
        dotnet_ipc_begin(&w, 0xFF, 0x00);
        dotnet_ipc_put_u32(&w, 4242);
        dotnet_ipc_put_u32(&w, 0);
        for (int i = 0; i < 4; i++)
                dotnet_ipc_put_u32(&w, 0xdeadbeef);
        const char *s[] = { "dotnet app.dll", "Linux", "x64", "app", "10.0.0" };
        for (int i = 0; i < 5; i++)
                dotnet_ipc_put_string(&w, s[i]);
        size_t len = (size_t) dotnet_ipc_finish(&w) - 20;
        memcpy(p, w.buf + 20, len);
        return len;
}

static void process_info_whole_and_cut_short(void **state) {
        uint8_t p[512];
        size_t len = process_info(p);
        struct dotnet_process_info info;
        assert_int_equal(dotnet_ipc_parse_process_info2(p, len, &info), 0);
        assert_int_equal(info.pid, 4242);
        assert_string_equal(info.cmdline, "dotnet app.dll");
        assert_string_equal(info.arch, "x64");
        assert_string_equal(info.version, "10.0.0");
        for (size_t cut = 0; cut < len; cut++)
                assert_int_equal(dotnet_ipc_parse_process_info2(p, cut, &info), -EBADMSG);
        /* A string count far past the payload. */
        p[24] = 0xff;
        p[25] = 0xff;
        assert_int_equal(dotnet_ipc_parse_process_info2(p, len, &info), -EBADMSG);
}

static void provider_specs_as_dotnet_trace_takes_them(void **state) {
        char name[64];
        struct dotnet_provider p;
        assert_int_equal(dotnet_provider_parse("Microsoft-Windows-DotNETRuntime", name, sizeof name, &p), 0);
        assert_int_equal(p.keywords, UINT64_MAX);
        assert_int_equal(p.level, 5);
        assert_null(p.filter);
        assert_int_equal(dotnet_provider_parse("System.Runtime:0:4:EventCounterIntervalSec=1", name, sizeof name, &p), 0);
        assert_string_equal(name, "System.Runtime");
        assert_int_equal(p.keywords, 0);
        assert_int_equal(p.level, 4);
        assert_string_equal(p.filter, "EventCounterIntervalSec=1");
        /* The arguments keep their own colons. */
        const char *bridge = "Microsoft-Diagnostics-DiagnosticSource:0x2:5:FilterAndPayloadSpecs=\"L/E:-a=b.c\"";
        assert_int_equal(dotnet_provider_parse(bridge, name, sizeof name, &p), 0);
        assert_int_equal(p.keywords, 2);
        assert_string_equal(p.filter, "FilterAndPayloadSpecs=\"L/E:-a=b.c\"");
        const char *bad[] = { "", ":1", "P:x", "P:1:9", "P:1:4x", "P q" };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
                assert_int_equal(dotnet_provider_parse(bad[i], name, sizeof name, &p), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(a_request_as_the_runtime_reads_it),
                cmocka_unit_test(headers_that_are_not_the_protocol),
                cmocka_unit_test(process_info_whole_and_cut_short),
                cmocka_unit_test(provider_specs_as_dotnet_trace_takes_them),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
