/*
 * vmc-netns-private.h: TAP devices and named network namespaces
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "vmc-private.h"

/* Whether /run/netns/@netns (as `ip netns add` makes it) exists. */
gboolean vmc_netns_exists(const char *netns);

/* Whether the network device @ifname is in @netns (NULL: this process's). */
gboolean vmc_netns_has_link(const char *netns, const char *ifname);

/* Moves @ifname from namespace @from to namespace @to (NULL: this
 * process's); VMC_ERROR_IO with the kernel's reason when it cannot. */
gboolean vmc_netns_move_link(const char *ifname, const char *from, const char *to,
                             GError **error);

/* Sets @ifname in @netns (NULL: this process's) up. */
gboolean vmc_netns_set_link_up(const char *netns, const char *ifname, GError **error);

/* Removes @ifname from @netns (NULL: this process's); a device that is
 * not there is no error. */
gboolean vmc_netns_delete_link(const char *netns, const char *ifname, GError **error);

/* Creates the persistent TAP device @ifname in this process's namespace,
 * owned by user @owner (-1: no owner), down. */
gboolean vmc_tap_create(const char *ifname, gint64 owner, GError **error);
