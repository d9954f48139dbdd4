/*
 * vmc-serial.c: follow a serial log as it grows, and find the ready marker
 *
 * The log is watched with inotify on its directory (so that a log that is
 * created, truncated or replaced by a new boot is seen too) and read from
 * the last offset; no polling.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-serial-private.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define VMC_READY_MARKER "VMRS_READY"
#define VMC_READY_LINE_MAX 4096

struct _VmcReadyScanner {
    GString *line;
    gboolean too_long;   /* the line so far was longer than VMC_READY_LINE_MAX */
    char *ip;
};

VmcReadyScanner *
vmc_ready_scanner_new(void)
{
    VmcReadyScanner *s = g_new0(VmcReadyScanner, 1);

    s->line = g_string_new(NULL);
    return s;
}

void
vmc_ready_scanner_free(VmcReadyScanner *s)
{
    if (!s)
        return;
    g_string_free(s->line, TRUE);
    g_free(s->ip);
    g_free(s);
}

void
vmc_ready_scanner_reset(VmcReadyScanner *s)
{
    g_string_truncate(s->line, 0);
    s->too_long = FALSE;
    g_clear_pointer(&s->ip, g_free);
}

const char *
vmc_ready_scanner_get_ip(VmcReadyScanner *s)
{
    return s->ip;
}

/* A complete line counts when it holds "VMRS_READY <ip>" and nothing after
 * the address, and the address parses. */
static void
vmc_ready_check_line(VmcReadyScanner *s, const char *line)
{
    const char *marker = strstr(line, VMC_READY_MARKER " ");
    g_autofree char *token = NULL;
    g_autoptr(GInetAddress) address = NULL;

    if (!marker || s->ip)
        return;
    token = g_strstrip(g_strdup(marker + strlen(VMC_READY_MARKER " ")));
    if (!*token || strchr(token, ' '))
        return;
    address = g_inet_address_new_from_string(token);
    if (address)
        s->ip = g_steal_pointer(&token);
}

gboolean
vmc_ready_scanner_feed(VmcReadyScanner *s, const char *data, gsize len)
{
    for (gsize i = 0; i < len && !s->ip; i++) {
        char c = data[i];

        if (c == '\n') {
            if (!s->too_long)
                vmc_ready_check_line(s, s->line->str);
            g_string_truncate(s->line, 0);
            s->too_long = FALSE;
        } else if (c != '\r' && c != '\0') {
            /* A line this long is no marker line: none of it counts, and
             * memory stays bounded. */
            if (s->line->len < VMC_READY_LINE_MAX)
                g_string_append_c(s->line, c);
            else
                s->too_long = TRUE;
        }
    }
    return s->ip != NULL;
}

/* What was read of one serial log: where, how far, what it found. */
typedef struct {
    dev_t dev;
    ino_t ino;
    guint boot;       /* who wrote it: the domain's ID, new at every start */
    goffset offset;
    VmcReadyScanner *scanner;
} VmcReadyCacheEntry;

struct _VmcReadyCache {
    GMutex lock;
    GHashTable *entries;   /* path -> VmcReadyCacheEntry */
};

static void
vmc_ready_cache_entry_free(gpointer data)
{
    VmcReadyCacheEntry *e = data;

    vmc_ready_scanner_free(e->scanner);
    g_free(e);
}

VmcReadyCache *
vmc_ready_cache_new(void)
{
    VmcReadyCache *c = g_new0(VmcReadyCache, 1);

    g_mutex_init(&c->lock);
    c->entries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                       vmc_ready_cache_entry_free);
    return c;
}

void
vmc_ready_cache_free(VmcReadyCache *c)
{
    if (!c)
        return;
    g_hash_table_unref(c->entries);
    g_mutex_clear(&c->lock);
    g_free(c);
}

/* Reads @path from @e's offset to its end into its scanner. */
static void
vmc_ready_cache_read(VmcReadyCacheEntry *e, const char *path)
{
    char buf[65536];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t got;

    if (fd < 0)
        return;
    if (lseek(fd, e->offset, SEEK_SET) == e->offset) {
        while (!vmc_ready_scanner_get_ip(e->scanner) && (got = read(fd, buf, sizeof(buf))) > 0) {
            vmc_ready_scanner_feed(e->scanner, buf, (gsize) got);
            e->offset += got;
        }
    }
    close(fd);
}

char *
vmc_ready_cache_scan(VmcReadyCache *c, const char *path, guint boot)
{
    VmcReadyCacheEntry *e;
    struct stat st;
    char *ip;

    if (!path)
        return NULL;
    g_mutex_lock(&c->lock);
    if (stat(path, &st) < 0) {
        g_hash_table_remove(c->entries, path);
        g_mutex_unlock(&c->lock);
        return NULL;
    }
    e = g_hash_table_lookup(c->entries, path);
    if (!e) {
        e = g_new0(VmcReadyCacheEntry, 1);
        e->scanner = vmc_ready_scanner_new();
        g_hash_table_insert(c->entries, g_strdup(path), e);
    } else if (e->dev != st.st_dev || e->ino != st.st_ino || e->boot != boot ||
               st.st_size < e->offset) {
        /* Another file, another boot, or the log started over. */
        vmc_ready_scanner_reset(e->scanner);
        e->offset = 0;
    }
    e->dev = st.st_dev;
    e->ino = st.st_ino;
    e->boot = boot;
    if (!vmc_ready_scanner_get_ip(e->scanner) && st.st_size > e->offset)
        vmc_ready_cache_read(e, path);
    ip = g_strdup(vmc_ready_scanner_get_ip(e->scanner));
    g_mutex_unlock(&c->lock);
    return ip;
}

struct _VmcSerialWatch {
    char *path;
    char *base;
    int inotify_fd;
    int fd;           /* the log, open for reading, or -1 */
    ino_t inode;
    goffset offset;
    GSource *source;
    VmcSerialChunkFunc func;
    gpointer data;
    guint64 total;
};

static void
vmc_serial_reopen(VmcSerialWatch *w)
{
    struct stat st;

    if (w->fd >= 0)
        close(w->fd);
    w->fd = open(w->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    w->offset = 0;
    if (w->fd >= 0 && fstat(w->fd, &st) == 0)
        w->inode = st.st_ino;
}

void
vmc_serial_watch_read(VmcSerialWatch *w)
{
    struct stat st;
    char buf[16384];
    gboolean reset = FALSE;

    /* A new file (a new boot may replace the log), or one truncated under
     * us (libvirt truncates it at each start): start over. */
    if (stat(w->path, &st) != 0)
        return;
    if (w->fd < 0 || st.st_ino != w->inode) {
        reset = w->fd >= 0 || w->offset > 0;
        vmc_serial_reopen(w);
    } else if (st.st_size < w->offset) {
        reset = TRUE;
        w->offset = 0;
    }
    if (w->fd < 0)
        return;
    if (reset)
        w->func(NULL, 0, TRUE, w->data);

    for (;;) {
        ssize_t got = pread(w->fd, buf, sizeof(buf), w->offset);

        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        w->offset += got;
        w->total += got;
        w->func(buf, (gsize) got, FALSE, w->data);
    }
}

static gboolean
vmc_serial_on_inotify(gint fd, GIOCondition condition, gpointer data)
{
    VmcSerialWatch *w = data;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    gboolean ours = FALSE;
    ssize_t got;

    while ((got = read(fd, buf, sizeof(buf))) > 0) {
        for (char *p = buf; p < buf + got;) {
            struct inotify_event *ev = (struct inotify_event *) p;

            if (ev->len == 0 || strcmp(ev->name, w->base) == 0)
                ours = TRUE;
            p += sizeof(struct inotify_event) + ev->len;
        }
    }
    if (ours)
        vmc_serial_watch_read(w);
    return G_SOURCE_CONTINUE;
}

VmcSerialWatch *
vmc_serial_watch_new(const char *path, GMainContext *context, VmcSerialChunkFunc func, gpointer data,
                     GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    VmcSerialWatch *w;
    int ifd;

    ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ifd < 0 || inotify_add_watch(ifd, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO |
                                                   IN_CLOSE_WRITE | IN_ATTRIB) < 0) {
        int saved = errno;
        if (ifd >= 0)
            close(ifd);
        g_set_error(error, VMC_ERROR, VMC_ERROR_IO, "cannot watch the serial log '%s': %s", path,
                    g_strerror(saved));
        return NULL;
    }

    w = g_new0(VmcSerialWatch, 1);
    w->path = g_strdup(path);
    w->base = g_path_get_basename(path);
    w->inotify_fd = ifd;
    w->fd = -1;
    w->func = func;
    w->data = data;
    w->source = g_unix_fd_source_new(ifd, G_IO_IN);
    g_source_set_callback(w->source, (GSourceFunc) (void (*)(void)) vmc_serial_on_inotify, w, NULL);
    g_source_attach(w->source, context);
    vmc_serial_watch_read(w);
    return w;
}

guint64
vmc_serial_watch_get_total(VmcSerialWatch *w)
{
    return w->total;
}

/* Closing an inotify descriptor waits for the kernel to retire its watches,
 * which takes milliseconds on a busy host: a waiter that has its answer
 * should not wait for that too. */
static void
vmc_close_fd(gpointer data, gpointer user_data)
{
    close(GPOINTER_TO_INT(data) - 1);
}

static void
vmc_close_later(int fd)
{
    static GThreadPool *closer;
    static gsize once;

    if (g_once_init_enter(&once)) {
        closer = g_thread_pool_new(vmc_close_fd, NULL, 1, FALSE, NULL);
        g_once_init_leave(&once, 1);
    }
    if (!closer || !g_thread_pool_push(closer, GINT_TO_POINTER(fd + 1), NULL))
        close(fd);
}

void
vmc_serial_watch_free(VmcSerialWatch *w)
{
    if (!w)
        return;
    g_source_destroy(w->source);
    g_source_unref(w->source);
    vmc_close_later(w->inotify_fd);
    if (w->fd >= 0)
        close(w->fd);
    g_free(w->path);
    g_free(w->base);
    g_free(w);
}
