/*
 * fuzz-ready.c: libFuzzer target for the serial log's ready-marker scanner
 *
 * The input is a serial log. It is fed to one scanner in one call, and to
 * another in chunks whose sizes come from the input's bytes; both must
 * agree, and a scanner reset and fed again must too. What they find must
 * be what a plain reading of the log finds: the first complete line (up
 * to its '\n'; '\r' and NUL bytes are not part of a line, and a line over
 * VMC_READY_LINE_MAX bytes is no marker line) holding "VMRS_READY " and
 * then an address that g_inet_address_new_from_string() takes, with
 * nothing but blanks around it. A disagreement aborts, saying which.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz-common.h"
#include "vmc-serial-private.h"

#include <gio/gio.h>
#include <string.h>

/* As in vmc-serial.c. */
#define FUZZ_MARKER "VMRS_READY "
#define FUZZ_LINE_MAX 4096

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init_logging();
    return 0;
}

/* The address the marker line @line (no '\n', '\r' nor NUL in it) gives,
 * or NULL. */
static char *
fuzz_marker_ip(const char *line)
{
    const char *marker = strstr(line, FUZZ_MARKER);
    g_autofree char *token = NULL;
    g_autoptr(GInetAddress) address = NULL;

    if (!marker)
        return NULL;
    token = g_strstrip(g_strdup(marker + strlen(FUZZ_MARKER)));
    if (!*token || strchr(token, ' '))
        return NULL;
    address = g_inet_address_new_from_string(token);
    return address ? g_steal_pointer(&token) : NULL;
}

/* Gives lines of each length class, and marker lines near the scanner's
 * line limit above all, a branch of their own, so that the fuzzer keeps
 * inputs with them (the scanner's own code has no branch there). */
static volatile unsigned fuzz_length_classes;

static void
fuzz_note_line(gsize len, gboolean marker)
{
    gsize bucket = len >= 2 * FUZZ_LINE_MAX ? 64 : len * 32 / FUZZ_LINE_MAX;

    if (marker && len + 64 >= FUZZ_LINE_MAX && len <= FUZZ_LINE_MAX + 64)
        fuzz_length_classes += len <= FUZZ_LINE_MAX ? 1000 : 2000;
    switch (bucket) {
#define B(n) case n: fuzz_length_classes += n; break;
        B(0) B(1) B(2) B(3) B(4) B(5) B(6) B(7) B(8) B(9) B(10) B(11) B(12) B(13) B(14) B(15)
        B(16) B(17) B(18) B(19) B(20) B(21) B(22) B(23) B(24) B(25) B(26) B(27) B(28) B(29)
        B(30) B(31) B(32) B(33) B(34) B(35) B(36) B(37) B(38) B(39) B(40) B(41) B(42) B(43)
        B(44) B(45) B(46) B(47) B(48) B(49) B(50) B(51) B(52) B(53) B(54) B(55) B(56) B(57)
        B(58) B(59) B(60) B(61) B(62) B(63)
#undef B
    default:
        fuzz_length_classes++;
    }
}

/* The plain reading of the log: the first marker line's address, or NULL. */
static char *
fuzz_expected_ip(const uint8_t *data, size_t size)
{
    g_autoptr(GString) line = g_string_new(NULL);

    for (size_t i = 0; i < size; i++) {
        if (data[i] == '\n') {
            char *ip = line->len <= FUZZ_LINE_MAX ? fuzz_marker_ip(line->str) : NULL;

            fuzz_note_line(line->len, strstr(line->str, FUZZ_MARKER) != NULL);

            if (ip)
                return ip;
            g_string_truncate(line, 0);
        } else if (data[i] != '\r' && data[i] != '\0') {
            g_string_append_c(line, (char) data[i]);
        }
    }
    return NULL;   /* a last line with no '\n' is not complete */
}

/* Whether the log holds a complete line that is "VMRS_READY " and @ip,
 * with blanks around the address and anything before the marker. */
static gboolean
fuzz_has_marker_line(const uint8_t *data, size_t size, const char *ip)
{
    g_autoptr(GString) line = g_string_new(NULL);

    for (size_t i = 0; i < size; i++) {
        if (data[i] == '\n') {
            const char *marker = strstr(line->str, FUZZ_MARKER);

            if (marker) {
                g_autofree char *rest = g_strstrip(g_strdup(marker + strlen(FUZZ_MARKER)));
                if (strcmp(rest, ip) == 0)
                    return TRUE;
            }
            g_string_truncate(line, 0);
        } else if (data[i] != '\r' && data[i] != '\0') {
            g_string_append_c(line, (char) data[i]);
        }
    }
    return FALSE;
}

static guint32
fuzz_next(guint32 *state)
{
    guint32 x = *state ? *state : 0x9e3779b9u;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

static G_GNUC_NORETURN void
fuzz_ready_fail(const char *what, const char *a, const char *b)
{
    fprintf(stderr, "fuzz: %s (%s vs %s)\n", what, a ? a : "not found", b ? b : "not found");
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(VmcReadyScanner) whole = vmc_ready_scanner_new();
    g_autoptr(VmcReadyScanner) chunked = vmc_ready_scanner_new();
    g_autofree char *expected = fuzz_expected_ip(data, size);
    guint32 state = 2166136261u;
    gsize max_chunk = size ? 1 + data[0] % 64 : 1;
    gboolean found_whole, found_chunked = FALSE;
    const char *ip;

    for (size_t i = 0; i < size; i++)
        state = (state ^ data[i]) * 16777619u;

    found_whole = vmc_ready_scanner_feed(whole, (const char *) data, size);
    ip = vmc_ready_scanner_get_ip(whole);
    if (found_whole != (ip != NULL))
        fuzz_ready_fail("feed()'s result and get_ip() disagree", ip, found_whole ? "found" : NULL);

    /* Chunks of 0 to max_chunk bytes, the last one to the end. */
    for (size_t pos = 0; pos < size || pos == 0;) {
        size_t n = fuzz_next(&state) % (max_chunk + 1);

        n = MIN(n, size - pos);
        found_chunked = vmc_ready_scanner_feed(chunked, (const char *) data + pos, n);
        pos += n;
        if (size == 0)
            break;
    }
    if (found_whole != found_chunked ||
        g_strcmp0(ip, vmc_ready_scanner_get_ip(chunked)) != 0)
        fuzz_ready_fail("fed whole and fed in chunks disagree", ip,
                        vmc_ready_scanner_get_ip(chunked));

    vmc_ready_scanner_reset(chunked);
    if (vmc_ready_scanner_get_ip(chunked))
        fuzz_ready_fail("a reset scanner still has an address", vmc_ready_scanner_get_ip(chunked),
                        NULL);
    vmc_ready_scanner_feed(chunked, (const char *) data, size);
    if (g_strcmp0(ip, vmc_ready_scanner_get_ip(chunked)) != 0)
        fuzz_ready_fail("a reset scanner fed again disagrees", ip,
                        vmc_ready_scanner_get_ip(chunked));

    if (ip) {
        g_autoptr(GInetAddress) address = g_inet_address_new_from_string(ip);

        if (!address)
            fuzz_ready_fail("the address found does not parse", ip, NULL);
        if (!fuzz_has_marker_line(data, size, ip))
            fuzz_ready_fail("the log has no complete line \"VMRS_READY <address>\"", ip, NULL);
    }
    if (g_strcmp0(ip, expected) != 0)
        fuzz_ready_fail("the scanner and a plain reading of the log disagree (scanner vs reading)",
                        ip, expected);
    return 0;
}
