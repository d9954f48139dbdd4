/*
 * vmc-serial-private.h: following serial logs, finding the ready marker
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "vmc-private.h"

typedef struct _VmcReadyScanner VmcReadyScanner;

VmcReadyScanner *vmc_ready_scanner_new(void);
void vmc_ready_scanner_free(VmcReadyScanner *s);
void vmc_ready_scanner_reset(VmcReadyScanner *s);
/* Feeds bytes of the log; TRUE once a complete "VMRS_READY <ip>" line
 * with a valid address has been seen. */
gboolean vmc_ready_scanner_feed(VmcReadyScanner *s, const char *data, gsize len);
const char *vmc_ready_scanner_get_ip(VmcReadyScanner *s);
/* What was read of serial logs, so that asking again reads only what was
 * appended since: vmc_ready_cache_scan() gives the IP of the first valid
 * marker of @boot (the domain's ID, new at every start) in @path, or NULL;
 * a log replaced, truncated or written by another boot is read again from
 * its start. May be used from several threads. */
typedef struct _VmcReadyCache VmcReadyCache;

VmcReadyCache *vmc_ready_cache_new(void);
void vmc_ready_cache_free(VmcReadyCache *c);
char *vmc_ready_cache_scan(VmcReadyCache *c, const char *path, guint boot);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmcReadyScanner, vmc_ready_scanner_free)

/* Called with new bytes, or with reset TRUE (and no data) when the log was
 * truncated or replaced and is read again from its start. */
typedef void (*VmcSerialChunkFunc)(const char *data, gsize len, gboolean reset, gpointer user_data);

typedef struct _VmcSerialWatch VmcSerialWatch;

VmcSerialWatch *vmc_serial_watch_new(const char *path, GMainContext *context, VmcSerialChunkFunc func,
                                     gpointer data, GError **error);
void vmc_serial_watch_read(VmcSerialWatch *w);
guint64 vmc_serial_watch_get_total(VmcSerialWatch *w);
void vmc_serial_watch_free(VmcSerialWatch *w);
