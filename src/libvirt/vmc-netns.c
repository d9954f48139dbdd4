/*
 * vmc-netns.c: TAP devices and named network namespaces, over rtnetlink
 *
 * libvirt cannot start QEMU inside a named network namespace, but a TAP
 * device that QEMU holds keeps carrying the guest's traffic when it is
 * moved into one after start (DESIGN.md §7). No command is run: the
 * devices are looked up and moved with netlink messages.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-netns-private.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    const char *netns;
    int fd;
    int err;
} VmcNetnsSocket;

/* A thread's network namespace is its own: a short-lived thread enters
 * the namespace, and the netlink socket it opens stays bound to it. */
static gpointer
vmc_netns_socket_thread(gpointer data)
{
    VmcNetnsSocket *s = data;
    g_autofree char *path = g_build_filename("/run/netns", s->netns, NULL);
    int ns = open(path, O_RDONLY | O_CLOEXEC);

    if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
        s->err = errno;
        if (ns >= 0)
            close(ns);
        return NULL;
    }
    close(ns);
    s->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    s->err = s->fd < 0 ? errno : 0;
    return NULL;
}

/* A rtnetlink socket in @netns, or in the process's own namespace for NULL. */
static int
vmc_netns_socket(const char *netns, GError **error)
{
    VmcNetnsSocket s = { netns, -1, 0 };

    if (!netns) {
        s.fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        s.err = errno;
    } else {
        g_thread_join(g_thread_new("vmc-netns", vmc_netns_socket_thread, &s));
    }
    if (s.fd < 0)
        g_set_error(error, VMC_ERROR, VMC_ERROR_IO, "cannot reach network namespace '%s': %s",
                    netns ? netns : "of this process", g_strerror(s.err));
    return s.fd;
}

static void
vmc_rta_add(struct nlmsghdr *nh, gsize room, int type, const void *data, gsize len)
{
    struct rtattr *rta = (struct rtattr *) ((char *) nh + NLMSG_ALIGN(nh->nlmsg_len));

    g_assert(NLMSG_ALIGN(nh->nlmsg_len) + RTA_SPACE(len) <= room);
    rta->rta_type = type;
    rta->rta_len = RTA_LENGTH(len);
    memcpy(RTA_DATA(rta), data, len);
    nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/* Sends a link request naming @ifname (moving it to @target_ns when >= 0,
 * setting it up when @up); 0, or the kernel's -errno. */
static int
vmc_link_request(int sock, int type, const char *ifname, int target_ns, gboolean up)
{
    struct {
        struct nlmsghdr nh;
        struct ifinfomsg ifi;
        char attrs[128];
    } req;
    char reply[8192];
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    ssize_t got;

    memset(&req, 0, sizeof(req));
    req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    req.nh.nlmsg_type = type;
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    req.nh.nlmsg_seq = 1;
    req.ifi.ifi_family = AF_UNSPEC;
    if (up) {
        req.ifi.ifi_flags = IFF_UP;
        req.ifi.ifi_change = IFF_UP;
    }
    vmc_rta_add(&req.nh, sizeof(req), IFLA_IFNAME, ifname, strlen(ifname) + 1);
    if (target_ns >= 0)
        vmc_rta_add(&req.nh, sizeof(req), IFLA_NET_NS_FD, &target_ns, sizeof(target_ns));

    if (sendto(sock, &req, req.nh.nlmsg_len, 0, (struct sockaddr *) &kernel, sizeof(kernel)) < 0)
        return -errno;
    for (;;) {
        got = recv(sock, reply, sizeof(reply), 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -errno;
        for (struct nlmsghdr *nh = (struct nlmsghdr *) reply; NLMSG_OK(nh, (gsize) got);
             nh = NLMSG_NEXT(nh, got)) {
            if (nh->nlmsg_type == NLMSG_ERROR)
                return ((struct nlmsgerr *) NLMSG_DATA(nh))->error;
            if (nh->nlmsg_type == RTM_NEWLINK && type == RTM_GETLINK)
                return 0;
        }
    }
}

gboolean
vmc_netns_exists(const char *netns)
{
    g_autofree char *path = g_build_filename("/run/netns", netns, NULL);

    return g_file_test(path, G_FILE_TEST_EXISTS);
}

gboolean
vmc_netns_has_link(const char *netns, const char *ifname)
{
    int sock = vmc_netns_socket(netns, NULL);
    gboolean found;

    if (sock < 0)
        return FALSE;
    found = vmc_link_request(sock, RTM_GETLINK, ifname, -1, FALSE) == 0;
    close(sock);
    return found;
}

gboolean
vmc_netns_move_link(const char *ifname, const char *from, const char *to, GError **error)
{
    g_autofree char *target_path = to ? g_build_filename("/run/netns", to, NULL)
                                      : g_strdup("/proc/self/ns/net");
    int sock = vmc_netns_socket(from, error);
    int target;
    int rc;

    if (sock < 0)
        return FALSE;
    target = open(target_path, O_RDONLY | O_CLOEXEC);
    if (target < 0) {
        int saved = errno;
        close(sock);
        g_set_error(error, VMC_ERROR, VMC_ERROR_IO, "cannot open network namespace '%s': %s",
                    to ? to : "of this process", g_strerror(saved));
        return FALSE;
    }
    rc = vmc_link_request(sock, RTM_NEWLINK, ifname, target, FALSE);
    close(target);
    close(sock);
    if (rc < 0) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_IO,
                    "cannot move network device '%s' into network namespace '%s': %s", ifname,
                    to ? to : "of this process", g_strerror(-rc));
        return FALSE;
    }
    return TRUE;
}

gboolean
vmc_netns_set_link_up(const char *netns, const char *ifname, GError **error)
{
    int sock = vmc_netns_socket(netns, error);
    int rc;

    if (sock < 0)
        return FALSE;
    rc = vmc_link_request(sock, RTM_NEWLINK, ifname, -1, TRUE);
    close(sock);
    if (rc < 0) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_IO, "cannot set network device '%s' up: %s",
                    ifname, g_strerror(-rc));
        return FALSE;
    }
    return TRUE;
}

gboolean
vmc_netns_delete_link(const char *netns, const char *ifname, GError **error)
{
    int sock = vmc_netns_socket(netns, error);
    int rc;

    if (sock < 0)
        return FALSE;
    rc = vmc_link_request(sock, RTM_DELLINK, ifname, -1, FALSE);
    close(sock);
    if (rc < 0 && rc != -ENODEV) {
        g_set_error(error, VMC_ERROR, VMC_ERROR_IO, "cannot remove network device '%s'%s%s: %s",
                    ifname, netns ? " from network namespace " : "", netns ? netns : "",
                    g_strerror(-rc));
        return FALSE;
    }
    return TRUE;
}

/* A TAP device is made with the tun driver's ioctls (rtnetlink cannot
 * make one), persistent so that libvirt can open it by name. */
gboolean
vmc_tap_create(const char *ifname, gint64 owner, GError **error)
{
    struct ifreq ifr;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    int saved;

    if (fd < 0) {
        saved = errno;
        g_set_error(error, VMC_ERROR, VMC_ERROR_IO, "cannot open /dev/net/tun: %s",
                    g_strerror(saved));
        return FALSE;
    }
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    g_strlcpy(ifr.ifr_name, ifname, sizeof(ifr.ifr_name));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0 ||
        (owner >= 0 && ioctl(fd, TUNSETOWNER, (unsigned long) owner) < 0) ||
        ioctl(fd, TUNSETPERSIST, 1) < 0) {
        saved = errno;
        /* Not persistent yet: the device goes with the descriptor. */
        close(fd);
        g_set_error(error, VMC_ERROR, VMC_ERROR_IO, "cannot create TAP device '%s': %s", ifname,
                    g_strerror(saved));
        return FALSE;
    }
    close(fd);
    return TRUE;
}
