/*
 * vmconfig.h: the one header to include for libvmconfig
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

/* What these headers declare is the library's ABI: exported, and nothing
 * else is (the library is built with -fvisibility=hidden). */
#pragma GCC visibility push(default)

#define VMC_INSIDE
#include <vmconfig/vmc-error.h>
#include <vmconfig/vmc-config.h>
#include <vmconfig/vmc-domain.h>
#include <vmconfig/vmc-driver.h>
#include <vmconfig/vmc-host.h>
#undef VMC_INSIDE

#pragma GCC visibility pop
