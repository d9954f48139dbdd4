/*
 * bench-record.h: what the ready benchmarks share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

/* Removes the Ready record (README.md, "Remote hosts") of the running VM
 * @name on @uri, so that the next wait has to see the marker itself. */
gboolean bench_clear_ready_record(const char *uri, const char *name, GError **error);
