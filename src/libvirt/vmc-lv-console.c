/*
 * vmc-lv-console.c: a guest's serial output through libvirt's console
 * stream (hosts whose files this process does not see), the Ready record
 * written by whoever sees the marker, and the guest's output from
 * wherever its host gives it (resources stratum)
 *
 * A console is a non-blocking virStream that virDomainOpenConsole()
 * connected to the domain's pty; libvirt's event loop says when it can be
 * read. A boot on a remote host starts the domain paused, opens its
 * console and only then resumes it, so that no byte of the boot is lost;
 * the driver keeps that console (its "boot console") while the domain
 * runs, with what it carried, so that a wait or a follow that comes after
 * the boot reads the output from its first byte. One client holds a
 * console at a time: opened without VMC_CONSOLE_FORCE, a console held by
 * another client is refused. A libvirtd restart ends the stream.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-lv-resources.h"
#include "vmc-meta-private.h"

#include <string.h>

/* What a boot console keeps of what it carried, for those who come later. */
#define VMC_CONSOLE_KEEP (4 * 1024 * 1024)

typedef struct {
    gint ref;
    guint id;
    GMainContext *context;
    VmcConsoleChunkFunc func;
    gpointer data;
    gint removed;          /* atomic: no call of func once set */
} VmcConsoleListener;

struct _VmcConsoleTap {
    gint ref;
    GMutex lock;
    virStreamPtr stream;
    virDomainPtr dom;
    char *name;
    GByteArray *seen;      /* the first VMC_CONSOLE_KEEP bytes it carried */
    guint64 total;
    gboolean ended;
    GList *listeners;      /* of VmcConsoleListener */
    guint next_listener;
    VmcReadyScanner *scanner;
    char *ip;              /* the marker's address, once seen */
    GMutex record_lock;
    gboolean recorded;
    VmcEventHub *hub;      /* whose connection the stream is on */
    guint generation;      /* the hub's reconnects when it was opened */
    gboolean closed;       /* vmc_console_tap_close() removed the callback */
    gboolean hooked;       /* libvirt still holds the stream callback's reference */
    GCond unhooked;
};

static VmcConsoleListener *
vmc_listener_ref(VmcConsoleListener *l)
{
    g_atomic_int_inc(&l->ref);
    return l;
}

static void
vmc_listener_unref(gpointer data)
{
    VmcConsoleListener *l = data;

    if (!g_atomic_int_dec_and_test(&l->ref))
        return;
    if (l->context)
        g_main_context_unref(l->context);
    g_free(l);
}

VmcConsoleTap *
vmc_console_tap_ref(VmcConsoleTap *tap)
{
    g_atomic_int_inc(&tap->ref);
    return tap;
}

void
vmc_console_tap_unref(gpointer data)
{
    VmcConsoleTap *tap = data;

    if (!tap || !g_atomic_int_dec_and_test(&tap->ref))
        return;
    if (tap->stream)
        virStreamFree(tap->stream);
    if (tap->dom)
        virDomainFree(tap->dom);
    g_list_free_full(tap->listeners, vmc_listener_unref);
    g_byte_array_unref(tap->seen);
    vmc_ready_scanner_free(tap->scanner);
    g_free(tap->ip);
    g_free(tap->name);
    if (tap->hub)
        vmc_hub_unref(tap->hub);
    g_mutex_clear(&tap->lock);
    g_mutex_clear(&tap->record_lock);
    g_cond_clear(&tap->unhooked);
    virResetLastError();
    g_free(tap);
}

/* ---- the Ready record ---------------------------------------------------- */

/**
 * vmc_ready_record_write:
 * @dom: a running domain
 * @ip: the address its guest's marker gave
 * @error: return location for a #GError, or %NULL
 *
 * Records Ready and @ip for this boot of @dom in its live metadata (see
 * vmc-meta-private.h), where every process on every client reads it, and
 * which dies with the boot. Only whoever saw the marker writes it.
 */
gboolean
vmc_ready_record_write(virDomainPtr dom, const char *ip, GError **error)
{
    g_autofree char *name = g_strdup(virDomainGetName(dom));
    unsigned int boot = virDomainGetID(dom);
    g_autofree char *record = NULL;

    if (boot == (unsigned int) -1)
        return vmc_libvirt_error(error, VMC_OP_STATE, "VM '%s' is not running", name);
    record = vmc_ready_record_format(ip, boot, NULL);
    if (virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, record, VMC_READY_PREFIX,
                             VMC_READY_NAMESPACE, VIR_DOMAIN_AFFECT_LIVE) < 0)
        return vmc_libvirt_error(error, VMC_OP_STATE,
                                 "cannot record that VM '%s' is ready at %s", name, ip);
    return TRUE;
}

/**
 * vmc_boot_note_stale_leases:
 * @dom: a domain that has just started
 *
 * The DHCP leases that the domain's NICs on libvirt networks hold now
 * are an earlier boot's (dnsmasq keeps them until they expire): they are
 * written into a record of this boot without an address, so that no
 * reader takes them for this boot's. Nothing is written when there are
 * none; a failure leaves the leases to count as they did before.
 */
void
vmc_boot_note_stale_leases(virDomainPtr dom)
{
    char *raw = virDomainGetXMLDesc(dom, 0);
    g_autoptr(xmlDoc) doc = raw ? vmc_xml_parse(raw, -1, NULL) : NULL;
    g_autoptr(GPtrArray) leases = NULL;
    g_autoptr(GStrvBuilder) ids = g_strv_builder_new();
    g_auto(GStrv) stale = NULL;
    g_autofree char *record = NULL;

    free(raw);
    leases = doc ? vmc_domain_leases(virDomainGetConnect(dom), doc) : NULL;
    if (leases && leases->len) {
        for (guint i = 0; i < leases->len; i++)
            g_strv_builder_add(ids, ((VmcLease *) g_ptr_array_index(leases, i))->id);
        stale = g_strv_builder_end(ids);
        record = vmc_ready_record_format(NULL, virDomainGetID(dom), (const char *const *) stale);
        virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, record, VMC_READY_PREFIX,
                             VMC_READY_NAMESPACE, VIR_DOMAIN_AFFECT_LIVE);
    }
    virResetLastError();
}

/* The tap's record, written once (whoever asks first writes it; those
 * after wait for it). */
static void
vmc_console_tap_record(VmcConsoleTap *tap, const char *ip)
{
    g_mutex_lock(&tap->record_lock);
    if (!tap->recorded) {
        g_autoptr(GError) error = NULL;

        tap->recorded = vmc_ready_record_write(tap->dom, ip, &error);
        if (!tap->recorded)
            g_debug("%s", error->message);
    }
    g_mutex_unlock(&tap->record_lock);
}

typedef struct {
    VmcConsoleTap *tap;
    char *ip;
} VmcRecordJob;

static gpointer
vmc_console_record_thread(gpointer data)
{
    VmcRecordJob *job = data;

    vmc_console_tap_record(job->tap, job->ip);
    vmc_console_tap_unref(job->tap);
    g_free(job->ip);
    g_free(job);
    return NULL;
}

/* ---- what the stream carries ------------------------------------------- */

typedef struct {
    VmcConsoleListener *listener;
    GBytes *bytes;         /* NULL: the console ended */
} VmcConsoleChunk;

static gboolean
vmc_console_chunk_deliver(gpointer data)
{
    VmcConsoleChunk *c = data;
    VmcConsoleListener *l = c->listener;

    if (!g_atomic_int_get(&l->removed)) {
        gsize len = 0;
        const char *bytes = c->bytes ? g_bytes_get_data(c->bytes, &len) : NULL;

        l->func(bytes, len, l->data);
    }
    return G_SOURCE_REMOVE;
}

static void
vmc_console_chunk_free(gpointer data)
{
    VmcConsoleChunk *c = data;

    if (c->bytes)
        g_bytes_unref(c->bytes);
    vmc_listener_unref(c->listener);
    g_free(c);
}

/* With the tap's lock held. */
static void
vmc_console_post(VmcConsoleListener *l, GBytes *bytes)
{
    VmcConsoleChunk *c = g_new0(VmcConsoleChunk, 1);
    GSource *source = g_idle_source_new();

    c->listener = vmc_listener_ref(l);
    c->bytes = bytes ? g_bytes_ref(bytes) : NULL;
    g_source_set_priority(source, G_PRIORITY_DEFAULT);
    g_source_set_callback(source, vmc_console_chunk_deliver, c, vmc_console_chunk_free);
    g_source_attach(source, l->context);
    g_source_unref(source);
}

static void
vmc_console_tap_carry(VmcConsoleTap *tap, const char *buf, gsize len)
{
    g_autoptr(GBytes) bytes = g_bytes_new(buf, len);
    VmcRecordJob *job = NULL;

    g_mutex_lock(&tap->lock);
    if (tap->ended) {
        /* Closed from another thread while this read: nothing after the end. */
        g_mutex_unlock(&tap->lock);
        return;
    }
    if (tap->seen->len < VMC_CONSOLE_KEEP)
        g_byte_array_append(tap->seen, (const guint8 *) buf,
                            (guint) MIN(len, VMC_CONSOLE_KEEP - tap->seen->len));
    tap->total += len;
    if (!tap->ip && vmc_ready_scanner_feed(tap->scanner, buf, len)) {
        tap->ip = g_strdup(vmc_ready_scanner_get_ip(tap->scanner));
        /* Recorded from a thread of its own: libvirt's event thread, where
         * this runs, must not wait for a call of its own connection. */
        job = g_new0(VmcRecordJob, 1);
        job->tap = vmc_console_tap_ref(tap);
        job->ip = g_strdup(tap->ip);
    }
    for (GList *l = tap->listeners; l; l = l->next)
        vmc_console_post(l->data, bytes);
    g_mutex_unlock(&tap->lock);
    if (job)
        g_thread_unref(g_thread_new("vmc-ready-record", vmc_console_record_thread, job));
}

/* The stream is done with: no callback after this one. */
static void
vmc_console_tap_end(VmcConsoleTap *tap)
{
    g_mutex_lock(&tap->lock);
    if (!tap->ended) {
        tap->ended = TRUE;
        for (GList *l = tap->listeners; l; l = l->next)
            vmc_console_post(l->data, NULL);
    }
    g_mutex_unlock(&tap->lock);
}

/* The stream callback's reference, dropped on libvirt's event thread
 * once the callback is removed: a call of it that was under way when it
 * was removed has returned by then (that thread runs one thing at a
 * time). libvirt's remote driver never calls the free function given
 * with a stream callback, so the reference is not given to it. */
static void
vmc_console_unhook(int timer, void *opaque)
{
    VmcConsoleTap *tap = opaque;

    virEventRemoveTimeout(timer);
    g_mutex_lock(&tap->lock);
    tap->hooked = FALSE;
    g_cond_broadcast(&tap->unhooked);
    g_mutex_unlock(&tap->lock);
    vmc_console_tap_unref(tap);
}

/* Once the callback is removed, until libvirt's event loop let go of it
 * (at once, unless that loop is stuck): a console closed before the
 * process exits leaves nothing behind. Never on the event thread. */
static void
vmc_console_wait_unhooked(VmcConsoleTap *tap)
{
    gint64 deadline = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;

    g_mutex_lock(&tap->lock);
    while (tap->hooked && g_cond_wait_until(&tap->unhooked, &tap->lock, deadline))
        ;
    g_mutex_unlock(&tap->lock);
}

/* On libvirt's event thread. */
static void
vmc_console_on_stream(virStreamPtr stream, int events, void *opaque)
{
    g_autoptr(VmcConsoleTap) tap = vmc_console_tap_ref(opaque);   /* past our own removal */
    char buf[16384];
    gboolean end = (events & (VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP)) != 0;

    while (!end && (events & VIR_STREAM_EVENT_READABLE)) {
        int n = virStreamRecv(stream, buf, sizeof(buf));

        if (n > 0)
            vmc_console_tap_carry(tap, buf, (gsize) n);
        else if (n == -2)
            break;        /* nothing more for now */
        else
            end = TRUE;   /* 0: the end of the stream; -1: an error */
    }
    /* The callback stays until the console is closed (which drops its
     * reference, see vmc_console_unhook()); asked for no more events, it
     * is not called. */
    if (end) {
        virStreamEventUpdateCallback(stream, 0);
        virResetLastError();
        vmc_console_tap_end(tap);
    }
}

/**
 * vmc_console_tap_open:
 * @driver: a driver
 * @uuid: the UUID of a running domain
 * @force: take the console from another client that holds it
 * @error: return location for a #GError, or %NULL
 *
 * Opens the domain's console (a pty port) on a non-blocking stream that
 * libvirt's event loop reads. Without @force, a console that another
 * client holds is refused with %VMC_ERROR_STATE_FAILED, saying so.
 *
 * Returns: (transfer full): the console, or %NULL.
 */
VmcConsoleTap *
vmc_console_tap_open(VmcDriver *driver, const char *uuid, gboolean force, GError **error)
{
    g_autoptr(virConnect) conn = NULL;
    g_autoptr(virDomain) dom = NULL;
    VmcConsoleTap *tap;
    virStreamPtr stream;
    virError cause = { 0 };
    const char *name;

    guint generation;

    /* Stream events need the event loop, and a connection opened with it. */
    if (!vmc_hub_want_events(driver->hub, error))
        return NULL;
    /* The connection's generation before the connection: a reconnect in
     * between makes this console one of the old connection, as it is. */
    g_mutex_lock(&driver->hub->lock);
    generation = driver->hub->reconnects;
    g_mutex_unlock(&driver->hub->lock);
    conn = vmc_driver_conn_checked(driver, error);
    if (!conn)
        return NULL;
    dom = virDomainLookupByUUIDString(conn, uuid);
    if (!dom) {
        vmc_libvirt_error(error, VMC_OP_STATE, "VM %s not found", uuid);
        return NULL;
    }
    name = virDomainGetName(dom);
    stream = virStreamNew(conn, VIR_STREAM_NONBLOCK);
    if (!stream) {
        vmc_libvirt_error(error, VMC_OP_STATE, "cannot open the console of VM '%s'", name);
        return NULL;
    }
    if (virDomainOpenConsole(dom, NULL, stream,
                             force ? VIR_DOMAIN_CONSOLE_FORCE : VIR_DOMAIN_CONSOLE_SAFE) < 0) {
        virCopyLastError(&cause);
        virStreamFree(stream);
        if (!force && cause.code == VIR_ERR_OPERATION_FAILED)
            vmc_fail(error, VMC_ERROR_STATE_FAILED,
                     "the console of VM '%s' is held by another client (%s); only one client "
                     "holds a console at a time", name, cause.message);
        else
            vmc_libvirt_error_from(error, VMC_OP_STATE, &cause,
                                   "cannot open the console of VM '%s'", name);
        virResetError(&cause);
        return NULL;
    }
    tap = g_new0(VmcConsoleTap, 1);
    tap->ref = 1;
    g_mutex_init(&tap->lock);
    g_mutex_init(&tap->record_lock);
    tap->stream = stream;
    tap->dom = g_steal_pointer(&dom);
    tap->name = g_strdup(name);
    tap->seen = g_byte_array_new();
    tap->scanner = vmc_ready_scanner_new();
    g_cond_init(&tap->unhooked);
    tap->hub = vmc_hub_ref(driver->hub);
    tap->generation = generation;
    tap->hooked = TRUE;
    if (virStreamEventAddCallback(stream,
                                  VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_ERROR |
                                      VIR_STREAM_EVENT_HANGUP,
                                  vmc_console_on_stream, vmc_console_tap_ref(tap),
                                  NULL) < 0) {
        vmc_libvirt_error(error, VMC_OP_STATE, "cannot read the console of VM '%s'",
                          tap->name);
        virStreamAbort(stream);
        tap->hooked = FALSE;
        vmc_console_tap_unref(tap);   /* the callback's, never registered */
        vmc_console_tap_unref(tap);
        return NULL;
    }
    return tap;
}

/* Ends the stream (if it has not ended); listeners are told. */
void
vmc_console_tap_close(VmcConsoleTap *tap)
{
    gboolean closed;

    g_mutex_lock(&tap->lock);
    closed = tap->closed;
    tap->closed = TRUE;
    g_mutex_unlock(&tap->lock);
    if (!closed) {
        virStreamEventRemoveCallback(tap->stream);
        virStreamAbort(tap->stream);
        virResetLastError();
        vmc_console_tap_end(tap);
        if (virEventAddTimeout(0, vmc_console_unhook, tap, NULL) < 0) {
            virResetLastError();
            g_mutex_lock(&tap->lock);
            tap->hooked = FALSE;
            g_mutex_unlock(&tap->lock);
            vmc_console_tap_unref(tap);   /* no event loop: no callback runs */
        }
    }
    vmc_console_wait_unhooked(tap);
}

/* Whether the console carries nothing more: its stream ended, or the
 * connection it was on was lost and replaced (a daemon restart, after
 * which libvirt may say nothing on the old stream). */
gboolean
vmc_console_tap_ended(VmcConsoleTap *tap)
{
    gboolean ended;

    g_mutex_lock(&tap->lock);
    ended = tap->ended;
    g_mutex_unlock(&tap->lock);
    if (!ended) {
        g_mutex_lock(&tap->hub->lock);
        ended = tap->generation != tap->hub->reconnects;
        g_mutex_unlock(&tap->hub->lock);
    }
    return ended;
}

/* The marker's address once the console carried it (records it first, so
 * that a caller that reports Ready leaves the record behind), or NULL. */
char *
vmc_console_tap_ready_ip(VmcConsoleTap *tap)
{
    g_autofree char *ip = NULL;

    g_mutex_lock(&tap->lock);
    ip = g_strdup(tap->ip);
    g_mutex_unlock(&tap->lock);
    if (ip)
        vmc_console_tap_record(tap, ip);
    return g_steal_pointer(&ip);
}

guint64
vmc_console_tap_total(VmcConsoleTap *tap)
{
    guint64 total;

    g_mutex_lock(&tap->lock);
    total = tap->total;
    g_mutex_unlock(&tap->lock);
    return total;
}

/**
 * vmc_console_tap_listen:
 * @tap: a console
 * @func: called on the thread-default main context with what it carries
 *   (first what it kept of what it carried before), and with %NULL once it
 *   ended
 * @data: data for @func
 *
 * Returns: an id for vmc_console_tap_unlisten().
 */
guint
vmc_console_tap_listen(VmcConsoleTap *tap, VmcConsoleChunkFunc func, gpointer data)
{
    VmcConsoleListener *l = g_new0(VmcConsoleListener, 1);
    guint id;

    l->ref = 1;
    l->context = g_main_context_ref_thread_default();
    l->func = func;
    l->data = data;
    g_mutex_lock(&tap->lock);
    id = l->id = ++tap->next_listener;
    if (tap->seen->len) {
        g_autoptr(GBytes) kept = g_bytes_new(tap->seen->data, tap->seen->len);
        vmc_console_post(l, kept);
    }
    if (tap->ended)
        vmc_console_post(l, NULL);
    tap->listeners = g_list_append(tap->listeners, l);
    g_mutex_unlock(&tap->lock);
    return id;
}

/* No call of the listener's function after this, when made on its context. */
void
vmc_console_tap_unlisten(VmcConsoleTap *tap, guint id)
{
    g_mutex_lock(&tap->lock);
    for (GList *l = tap->listeners; l; l = l->next) {
        VmcConsoleListener *listener = l->data;

        if (listener->id == id) {
            g_atomic_int_set(&listener->removed, 1);
            /* Chunks still on their way hold the listener, and the
             * listener held the context they are on: a circle, unless it
             * lets go here. */
            g_clear_pointer(&listener->context, g_main_context_unref);
            tap->listeners = g_list_delete_link(tap->listeners, l);
            vmc_listener_unref(listener);
            break;
        }
    }
    g_mutex_unlock(&tap->lock);
}

/* Sends @data to the guest's console (what a terminal types). */
gboolean
vmc_console_tap_send(VmcConsoleTap *tap, const char *data, gsize len, GError **error)
{
    gsize done = 0;
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    while (done < len) {
        int n = virStreamSend(tap->stream, data + done, len - done);

        if (n > 0) {
            done += (gsize) n;
        } else if (n == -2 && g_get_monotonic_time() < deadline) {
            g_usleep(1000);   /* the stream is full: the guest reads slowly */
        } else if (n == -2) {
            return vmc_fail(error, VMC_ERROR_STATE_FAILED,
                            "the console of VM '%s' took no input for 5 s (%" G_GSIZE_FORMAT
                            " of %" G_GSIZE_FORMAT " bytes were sent)", tap->name, done, len);
        } else {
            return vmc_libvirt_error(error, VMC_OP_STATE,
                                     "cannot write to the console of VM '%s' (%" G_GSIZE_FORMAT
                                     " of %" G_GSIZE_FORMAT " bytes were sent)", tap->name,
                                     done, len);
        }
    }
    return TRUE;
}

/* ---- the console a driver keeps for a domain ----------------------------- */

/* Keeps @tap as the console of @uuid that this driver's users share (the
 * boot's, or one an application opened), replacing an older one. */
void
vmc_boot_console_keep(VmcDriver *driver, const char *uuid, VmcConsoleTap *tap)
{
    g_autofree char *old_key = NULL;
    gpointer old = NULL;

    g_mutex_lock(&driver->console_lock);
    if (!driver->consoles)
        driver->consoles = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                 vmc_boot_console_free);
    g_hash_table_steal_extended(driver->consoles, uuid, (gpointer *) &old_key, &old);
    g_hash_table_insert(driver->consoles, g_strdup(uuid), vmc_console_tap_ref(tap));
    g_mutex_unlock(&driver->console_lock);
    /* Outside the lock: closing a stream is a call to the daemon. */
    if (old)
        vmc_boot_console_free(old);
}

/* The boot console of @uuid while it carries output, or NULL. */
VmcConsoleTap *
vmc_boot_console_get(VmcDriver *driver, const char *uuid)
{
    VmcConsoleTap *tap = NULL;

    g_autofree char *key = NULL;
    gpointer ended = NULL;

    g_mutex_lock(&driver->console_lock);
    if (driver->consoles)
        tap = g_hash_table_lookup(driver->consoles, uuid);
    if (tap && vmc_console_tap_ended(tap)) {
        g_hash_table_steal_extended(driver->consoles, uuid, (gpointer *) &key, &ended);
        tap = NULL;
    }
    if (tap)
        vmc_console_tap_ref(tap);
    g_mutex_unlock(&driver->console_lock);
    if (ended)
        vmc_boot_console_free(ended);
    return tap;
}

void
vmc_boot_console_free(gpointer data)
{
    VmcConsoleTap *tap = data;

    vmc_console_tap_close(tap);
    vmc_console_tap_unref(tap);
}

/* ---- the guest's output, from wherever its host gives it ---------------- */

struct _VmcGuestOutput {
    VmcSerialWatch *file;      /* a host whose files this process sees */
    VmcConsoleTap *tap;        /* a remote host */
    guint listener;
    gboolean own_tap;          /* opened for this output, closed with it */
    VmcSerialChunkFunc func;
    gpointer data;
};

static void
vmc_guest_output_relay(const char *data, gsize len, gpointer user_data)
{
    VmcGuestOutput *o = user_data;

    o->func(data, len, FALSE, o->data);
}

/**
 * vmc_guest_output_new:
 * @driver: a driver
 * @uuid: the domain's UUID
 * @serial_log: (nullable): its serial log on its host
 * @context: where @func is called
 * @func: called with the output as it comes: (data, len, FALSE); (NULL,
 *   0, TRUE) when a log started over; (NULL, 0, FALSE) when a console ended
 * @data: data for @func
 * @flags: %VMC_OUTPUT_FORCE takes a console that another client holds;
 *   %VMC_OUTPUT_KEPT_ONLY opens none (a boot console of this driver or
 *   nothing: an output that never delivers)
 * @error: return location for a #GError, or %NULL
 *
 * The serial log followed with inotify on a host whose files this process
 * sees; on any other host the boot console that this driver keeps, else
 * the domain's console opened now (output from now on). For the test
 * driver (in this process) the file at the log's path, which no guest
 * writes: shown, never taken for a guest's word (no Ready from it).
 *
 * Returns: (transfer full): the output, or %NULL.
 */
VmcGuestOutput *
vmc_guest_output_new(VmcDriver *driver, const char *uuid, const char *serial_log,
                     GMainContext *context, VmcSerialChunkFunc func, gpointer data,
                     VmcOutputFlags flags, GError **error)
{
    gboolean force = (flags & VMC_OUTPUT_FORCE) != 0;

    g_autofree VmcGuestOutput *o = g_new0(VmcGuestOutput, 1);

    o->func = func;
    o->data = data;
    if (driver->local) {
        if (!serial_log) {
            g_set_error(error, VMC_ERROR, VMC_ERROR_IO, "VM %s has no serial log", uuid);
            return NULL;
        }
        o->file = vmc_serial_watch_new(serial_log, context, func, data, error);
        return o->file ? g_steal_pointer(&o) : NULL;
    }
    o->tap = force ? NULL : vmc_boot_console_get(driver, uuid);
    if (!o->tap && (flags & VMC_OUTPUT_KEPT_ONLY))
        return g_steal_pointer(&o);
    if (!o->tap) {
        o->tap = vmc_console_tap_open(driver, uuid, force, error);
        o->own_tap = TRUE;
    }
    if (!o->tap)
        return NULL;
    g_main_context_push_thread_default(context);
    o->listener = vmc_console_tap_listen(o->tap, vmc_guest_output_relay, o);
    g_main_context_pop_thread_default(context);
    return g_steal_pointer(&o);
}

guint64
vmc_guest_output_total(VmcGuestOutput *o)
{
    if (!o)
        return 0;
    if (o->file)
        return vmc_serial_watch_get_total(o->file);
    return o->tap ? vmc_console_tap_total(o->tap) : 0;
}

/* The console under a remote host's output, or NULL. */
VmcConsoleTap *
vmc_guest_output_tap(VmcGuestOutput *o)
{
    return o ? o->tap : NULL;
}

void
vmc_guest_output_free(VmcGuestOutput *o)
{
    if (!o)
        return;
    vmc_serial_watch_free(o->file);
    if (o->tap) {
        vmc_console_tap_unlisten(o->tap, o->listener);
        if (o->own_tap)
            vmc_console_tap_close(o->tap);
        vmc_console_tap_unref(o->tap);
    }
    g_free(o);
}

/* ---- consoles for an application (vmc_driver_open_console()) ------------ */

typedef struct {
    VmcConsoleTap *tap;
    guint listener;
    gboolean own_tap;
    VmcConsoleFunc func;
    gpointer data;
} VmcOpenConsole;

static void
vmc_open_console_free(gpointer data)
{
    VmcOpenConsole *c = data;

    vmc_console_tap_unlisten(c->tap, c->listener);
    if (c->own_tap)
        vmc_console_tap_close(c->tap);
    vmc_console_tap_unref(c->tap);
    g_free(c);
}

static void
vmc_open_console_relay(const char *data, gsize len, gpointer user_data)
{
    VmcOpenConsole *c = user_data;

    c->func(data, len, c->data);
}

/**
 * vmc_lv_open_console:
 * @driver: a driver
 * @handle: a running VM
 * @flags: #VmcConsoleFlags
 * @func: called with the guest's output, and with %NULL once the console
 *   ended
 * @user_data: data for @func
 * @error: return location for a #GError, or %NULL
 *
 * Attaches to the VM's console on any host (its pty, through libvirt's
 * stream): output from now on (from the boot's first byte when this driver
 * booted it and keeps its console), and input through
 * vmc_lv_console_send(). Without %VMC_CONSOLE_FORCE, a console another
 * client holds is refused with %VMC_ERROR_STATE_FAILED. The test driver's
 * VMs have no console: %G_IO_ERROR_NOT_SUPPORTED.
 *
 * Returns: an id for vmc_lv_close_console(), or 0.
 */
guint
vmc_lv_open_console(VmcDriver *driver, const VmcHandle *handle, VmcConsoleFlags flags,
                    VmcConsoleFunc func, gpointer user_data, GError **error)
{
    gboolean force = (flags & VMC_CONSOLE_FORCE) != 0;
    VmcOpenConsole *c;
    guint id;

    g_return_val_if_fail(driver != NULL && handle != NULL && func != NULL, 0);
    if (driver->in_process) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "VM '%s' has no console: the VMs of libvirt's test driver print nothing",
                    vmc_handle_get_name(handle));
        return 0;
    }
    c = g_new0(VmcOpenConsole, 1);
    c->func = func;
    c->data = user_data;
    c->tap = force ? NULL : vmc_boot_console_get(driver, vmc_handle_get_uuid(handle));
    if (!c->tap) {
        c->tap = vmc_console_tap_open(driver, vmc_handle_get_uuid(handle), force, error);
        c->own_tap = TRUE;
    }
    if (!c->tap) {
        g_free(c);
        return 0;
    }
    /* Shared with the driver's other users of the VM's output (a wait, a
     * follow) while it is open: libvirt gives one client one console. */
    if (c->own_tap)
        vmc_boot_console_keep(driver, vmc_handle_get_uuid(handle), c->tap);
    c->listener = vmc_console_tap_listen(c->tap, vmc_open_console_relay, c);
    g_mutex_lock(&driver->console_lock);
    if (!driver->open_consoles)
        driver->open_consoles = g_hash_table_new_full(NULL, NULL, NULL, vmc_open_console_free);
    id = ++driver->next_console;
    g_hash_table_insert(driver->open_consoles, GUINT_TO_POINTER(id), c);
    g_mutex_unlock(&driver->console_lock);
    return id;
}

gboolean
vmc_lv_console_send(VmcDriver *driver, guint id, const char *data, gsize len, GError **error)
{
    g_autoptr(VmcConsoleTap) tap = NULL;

    g_return_val_if_fail(driver != NULL, FALSE);
    g_mutex_lock(&driver->console_lock);
    if (driver->open_consoles) {
        VmcOpenConsole *c = g_hash_table_lookup(driver->open_consoles, GUINT_TO_POINTER(id));

        if (c)
            tap = vmc_console_tap_ref(c->tap);
    }
    g_mutex_unlock(&driver->console_lock);
    if (!tap) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_STATE_FAILED, "no console %u is open", id);
        return FALSE;
    }
    if (vmc_console_tap_ended(tap)) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_STATE_FAILED, "the console of VM '%s' ended",
                    tap->name);
        return FALSE;
    }
    return vmc_console_tap_send(tap, data, len, error);
}

void
vmc_lv_close_console(VmcDriver *driver, guint id)
{
    gpointer c = NULL;

    g_return_if_fail(driver != NULL);
    g_mutex_lock(&driver->console_lock);
    if (driver->open_consoles)
        g_hash_table_steal_extended(driver->open_consoles, GUINT_TO_POINTER(id), NULL, &c);
    g_mutex_unlock(&driver->console_lock);
    if (c)
        vmc_open_console_free(c);
}
