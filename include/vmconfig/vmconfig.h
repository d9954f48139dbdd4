/*
 * vmconfig.h: the one header to include for libvmconfig
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#define VMC_INSIDE
#include <vmconfig/vmc-error.h>
#include <vmconfig/vmc-config.h>
#include <vmconfig/vmc-domain.h>
#include <vmconfig/vmc-driver.h>
#include <vmconfig/vmc-host.h>
#undef VMC_INSIDE
