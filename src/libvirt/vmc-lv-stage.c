/*
 * vmc-lv-stage.c: a VM's files copied to the libvirt host through its
 * storage API, and the copies no domain uses removed
 *
 * The copies are volumes of one directory pool of ours on that host.
 * Kernel, initramfs and seed ISO are named by their content (SHA-256), so
 * that an unchanged file is uploaded once and VMs share it; the root and
 * data disks are the VM's own (named by VM and field), uploaded once, so
 * that what the guest wrote stays.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-lv-operations.h"
#include "vmc-xml-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#define VMC_STAGE_POOL "virt-vmconfig-staged"
#define VMC_STAGE_DIR "/var/lib/virt-vmconfig/staged"
#define VMC_STAGE_CHUNK (256 * 1024)

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virStoragePool, virStoragePoolFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virStorageVol, virStorageVolFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virStream, virStreamFree)

/* <pool type='dir'> of ours, 0755 so that QEMU's user can reach the files. */
static char *
vmc_stage_pool_xml(void)
{
    g_autoptr(xmlDoc) doc = xmlNewDoc((const xmlChar *) "1.0");
    xmlNode *pool = xmlNewNode(NULL, (const xmlChar *) "pool");
    xmlNode *target;

    xmlDocSetRootElement(doc, pool);
    xmlSetProp(pool, (const xmlChar *) "type", (const xmlChar *) "dir");
    xmlNewTextChild(pool, NULL, (const xmlChar *) "name", (const xmlChar *) VMC_STAGE_POOL);
    target = xmlNewChild(pool, NULL, (const xmlChar *) "target", NULL);
    xmlNewTextChild(target, NULL, (const xmlChar *) "path", (const xmlChar *) VMC_STAGE_DIR);
    xmlNewTextChild(xmlNewChild(target, NULL, (const xmlChar *) "permissions", NULL), NULL,
                    (const xmlChar *) "mode", (const xmlChar *) "0755");
    return vmc_xml_dump(doc);
}

static char *
vmc_stage_volume_xml(const char *name, guint64 size)
{
    g_autoptr(xmlDoc) doc = xmlNewDoc((const xmlChar *) "1.0");
    xmlNode *vol = xmlNewNode(NULL, (const xmlChar *) "volume");
    xmlNode *capacity, *target;
    g_autofree char *bytes = g_strdup_printf("%" G_GUINT64_FORMAT, size);

    xmlDocSetRootElement(doc, vol);
    xmlNewTextChild(vol, NULL, (const xmlChar *) "name", (const xmlChar *) name);
    capacity = xmlNewTextChild(vol, NULL, (const xmlChar *) "capacity", (const xmlChar *) bytes);
    xmlSetProp(capacity, (const xmlChar *) "unit", (const xmlChar *) "bytes");
    target = xmlNewChild(vol, NULL, (const xmlChar *) "target", NULL);
    xmlSetProp(xmlNewChild(target, NULL, (const xmlChar *) "format", NULL),
               (const xmlChar *) "type", (const xmlChar *) "raw");
    xmlNewTextChild(xmlNewChild(target, NULL, (const xmlChar *) "permissions", NULL), NULL,
                    (const xmlChar *) "mode", (const xmlChar *) "0644");
    return vmc_xml_dump(doc);
}

/* Our pool on the host, defined, built and started when it is not. */
static virStoragePoolPtr
vmc_stage_pool(VmcDriver *driver, virConnectPtr conn, gboolean create, GError **error)
{
    virStoragePoolPtr pool = virStoragePoolLookupByName(conn, VMC_STAGE_POOL);
    g_autofree char *xml = NULL;
    int active;

    if (!pool && (!create || virGetLastErrorCode() != VIR_ERR_NO_STORAGE_POOL)) {
        if (virGetLastErrorCode() == VIR_ERR_NO_STORAGE_POOL) {
            virResetLastError();
            return NULL;   /* nothing staged there */
        }
        vmc_libvirt_error(error, VMC_OP_DEFINE, "cannot look up the storage pool '%s' on %s",
                          VMC_STAGE_POOL, driver->hub->uri);
        return NULL;
    }
    if (!pool) {
        virResetLastError();
        xml = vmc_stage_pool_xml();
        pool = virStoragePoolDefineXML(conn, xml, 0);
        if (!pool || virStoragePoolBuild(pool, 0) < 0) {
            vmc_libvirt_error(error, VMC_OP_DEFINE, "cannot make the storage pool '%s' (%s) on %s",
                              VMC_STAGE_POOL, VMC_STAGE_DIR, driver->hub->uri);
            if (pool) {
                virStoragePoolUndefine(pool);
                virStoragePoolFree(pool);
            }
            return NULL;
        }
        virStoragePoolSetAutostart(pool, 1);
    }
    active = virStoragePoolIsActive(pool);
    if ((active == 0 && virStoragePoolCreate(pool, 0) < 0) || active < 0 ||
        virStoragePoolRefresh(pool, 0) < 0) {
        vmc_libvirt_error(error, VMC_OP_DEFINE, "cannot start the storage pool '%s' on %s",
                          VMC_STAGE_POOL, driver->hub->uri);
        virStoragePoolFree(pool);
        return NULL;
    }
    virResetLastError();
    return pool;
}

/* SHA-256 of a file, read in chunks. */
static char *
vmc_file_sha256(const char *path, GError **error)
{
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_autofree guchar *buf = g_malloc(VMC_STAGE_CHUNK);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t got;

    if (fd < 0) {
        int saved = errno;
        g_set_error(error, VMC_ERROR, VMC_ERROR_IO, "cannot read %s: %s", path, g_strerror(saved));
        return NULL;
    }
    while ((got = read(fd, buf, VMC_STAGE_CHUNK)) > 0)
        g_checksum_update(sum, buf, got);
    if (got < 0) {
        int saved = errno;
        close(fd);
        g_set_error(error, VMC_ERROR, VMC_ERROR_IO, "cannot read %s: %s", path, g_strerror(saved));
        return NULL;
    }
    close(fd);
    return g_strdup(g_checksum_get_string(sum));
}

typedef struct {
    int fd;
    const char *field;
    const char *path;
    guint64 done;
    guint64 total;
    VmcStageProgressFunc progress;
    gpointer user_data;
    int err;
    GCancellable *cancellable;
    gboolean cancelled;
} VmcUpload;

static int
vmc_upload_source(virStreamPtr stream, char *data, size_t nbytes, void *opaque)
{
    VmcUpload *up = opaque;
    ssize_t got;

    /* Seen between chunks: the stream is then aborted. */
    if (g_cancellable_is_cancelled(up->cancellable)) {
        up->cancelled = TRUE;
        return -1;
    }
    do
        got = read(up->fd, data, nbytes);
    while (got < 0 && errno == EINTR);
    if (got < 0) {
        up->err = errno;
        return -1;
    }
    up->done += got;
    if (up->progress && got > 0)
        up->progress(up->field, up->path, up->done, up->total, up->user_data);
    return (int) got;
}

/* The volume @name in @pool holding @path: found, or made and uploaded. */
static virStorageVolPtr
vmc_stage_file(VmcDriver *driver, virConnectPtr conn, virStoragePoolPtr pool, const char *field,
               const char *path, const char *name, VmcStageProgressFunc progress,
               gpointer user_data, GCancellable *cancellable, GError **error)
{
    virStorageVolPtr vol = virStorageVolLookupByName(pool, name);
    g_autoptr(virStream) stream = NULL;
    g_autofree char *xml = NULL;
    VmcUpload up = { -1, field, path, 0, 0, progress, user_data, 0, cancellable, FALSE };
    GStatBuf st;

    if (vol)
        return vol;
    virResetLastError();
    if (g_stat(path, &st) < 0) {
        int saved = errno;
        g_set_error(error, VMC_ERROR, VMC_ERROR_IO, "cannot stat %s: %s", path, g_strerror(saved));
        return NULL;
    }
    up.total = (guint64) st.st_size;
    up.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (up.fd < 0) {
        int saved = errno;
        g_set_error(error, VMC_ERROR, VMC_ERROR_IO, "cannot read %s: %s", path, g_strerror(saved));
        return NULL;
    }
    xml = vmc_stage_volume_xml(name, up.total);
    vol = virStorageVolCreateXML(pool, xml, 0);
    stream = vol ? virStreamNew(conn, 0) : NULL;
    if (progress)
        progress(field, path, 0, up.total, user_data);
    if (!stream || virStorageVolUpload(vol, stream, 0, up.total, 0) < 0 ||
        virStreamSendAll(stream, vmc_upload_source, &up) < 0 || virStreamFinish(stream) < 0) {
        if (up.cancelled)
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                        "the upload of %s was cancelled, and its partial copy removed", path);
        else if (up.err)
            g_set_error(error, VMC_ERROR, VMC_ERROR_IO, "cannot read %s: %s", path,
                        g_strerror(up.err));
        else
            vmc_libvirt_error(error, VMC_OP_DEFINE, "cannot upload %s to %s", path,
                              driver->hub->uri);
        if (stream)
            virStreamAbort(stream);
        if (vol) {
            virStorageVolDelete(vol, 0);
            virStorageVolFree(vol);
        }
        virResetLastError();
        close(up.fd);
        return NULL;
    }
    close(up.fd);
    return vol;
}

/* A volume name of the file's base name: what libvirt allows, kept short. */
static char *
vmc_stage_base_name(const char *path)
{
    g_autofree char *base = g_path_get_basename(path);

    g_strcanon(base, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-", '_');
    if (strlen(base) > 64)
        base[64] = '\0';
    return g_steal_pointer(&base);
}

/**
 * vmc_lv_stage:
 * @driver: a driver
 * @cfg: a VM
 * @progress: (nullable): told how uploads go
 * @user_data: data for @progress
 * @error: return location for a #GError, or %NULL
 *
 * Returns: (transfer full): @cfg with the paths of the staged copies.
 */
VmcConfig *
vmc_lv_stage(VmcDriver *driver, const VmcConfig *cfg, VmcStageProgressFunc progress,
             gpointer user_data, GError **error)
{
    return vmc_lv_stage_cancellable(driver, cfg, progress, user_data, NULL, error);
}

/**
 * vmc_lv_stage_cancellable:
 * @driver: a driver
 * @cfg: a VM
 * @progress: (nullable): told how uploads go
 * @user_data: data for @progress
 * @cancellable: (nullable): stops the staging when cancelled
 * @error: return location for a #GError, or %NULL
 *
 * vmc_lv_stage() that a #GCancellable stops, before each file and between
 * the chunks of an upload, with %G_IO_ERROR_CANCELLED: the volume under
 * upload is removed, the files staged before stay, as after a failure.
 *
 * Returns: (transfer full): @cfg with the paths of the staged copies.
 */
VmcConfig *
vmc_lv_stage_cancellable(VmcDriver *driver, const VmcConfig *cfg,
                         VmcStageProgressFunc progress, gpointer user_data,
                         GCancellable *cancellable, GError **error)
{
    const struct {
        const char *field;
        const char *path;
        gboolean own;   /* the VM's own (writable) copy, not one named by content */
        void (*set)(VmcConfig *cfg, const char *path);
    } files[] = {
        { "kernel", vmc_config_get_kernel(cfg), FALSE, vmc_config_set_kernel },
        { "initramfs", vmc_config_get_initramfs(cfg), FALSE, vmc_config_set_initramfs },
        { "seed_iso", vmc_config_get_seed_iso(cfg), FALSE, vmc_config_set_seed_iso },
        { "root_disk", vmc_config_get_root_disk(cfg), TRUE, vmc_config_set_root_disk },
        { "data_disk", vmc_config_get_data_disk(cfg), TRUE, vmc_config_set_data_disk },
    };
    g_autoptr(virConnect) conn = NULL;
    g_autoptr(virStoragePool) pool = NULL;
    g_autoptr(VmcConfig) staged = NULL;
    const char *name = vmc_config_get_name(cfg);

    g_return_val_if_fail(driver != NULL && cfg != NULL, NULL);
    if (!vmc_config_validate(cfg, error))
        return NULL;
    if (g_cancellable_is_cancelled(cancellable)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                    "VM '%s': staging was cancelled before it started; nothing was done", name);
        return NULL;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
        if (files[i].path && !g_file_test(files[i].path, G_FILE_TEST_IS_REGULAR)) {
            vmc_fail(error, VMC_ERROR_INVALID_CONFIG,
                     "VM '%s': %s '%s' is not a file on this host, so it cannot be staged",
                     name, files[i].field, files[i].path);
            return NULL;
        }
    }
    conn = vmc_driver_conn_checked(driver, error);
    if (!conn)
        return NULL;
    pool = vmc_stage_pool(driver, conn, TRUE, error);
    if (!pool)
        return NULL;
    staged = vmc_config_copy(cfg);
    for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autoptr(virStorageVol) vol = NULL;
        g_autofree char *base = NULL;
        g_autofree char *vol_name = NULL;
        g_autofree char *sum = NULL;
        char *remote;

        if (!files[i].path)
            continue;
        if (g_cancellable_is_cancelled(cancellable)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                        "VM '%s': staging was cancelled before %s was staged", name,
                        files[i].field);
            return NULL;
        }
        base = vmc_stage_base_name(files[i].path);
        if (files[i].own) {
            vol_name = g_strdup_printf("vm-%s-%s-%s", name, files[i].field, base);
        } else {
            sum = vmc_file_sha256(files[i].path, error);
            if (!sum)
                return NULL;
            vol_name = g_strdup_printf("%.32s-%s", sum, base);
        }
        vol = vmc_stage_file(driver, conn, pool, files[i].field, files[i].path, vol_name,
                             progress, user_data, cancellable, error);
        if (!vol) {
            g_prefix_error(error, "VM '%s': %s: ", name, files[i].field);
            return NULL;
        }
        remote = virStorageVolGetPath(vol);
        if (!remote) {
            vmc_libvirt_error(error, VMC_OP_DEFINE, "VM '%s': cannot read where %s was staged",
                              name, files[i].field);
            return NULL;
        }
        files[i].set(staged, remote);
        free(remote);
    }
    return g_steal_pointer(&staged);
}

/* Every file path the domains of the host name (kernel, initrd, disks),
 * in their live and persistent definitions. */
static GHashTable *
vmc_paths_in_use(virConnectPtr conn, GError **error)
{
    g_autoptr(GHashTable) used = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(conn, &doms, 0);

    if (n < 0) {
        vmc_libvirt_error(error, VMC_OP_LIST, "cannot list the domains");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        const unsigned int flags[] = { 0, VIR_DOMAIN_XML_INACTIVE };

        for (gsize f = 0; f < G_N_ELEMENTS(flags); f++) {
            char *raw = virDomainGetXMLDesc(doms[i], flags[f]);
            g_autoptr(xmlDoc) doc = raw ? vmc_xml_parse(raw, -1, NULL) : NULL;
            g_autoptr(xmlXPathContext) ctxt = NULL;
            g_autoptr(GPtrArray) found = NULL;

            free(raw);
            if (!doc)
                continue;
            ctxt = xmlXPathNewContext(doc);
            found = vmc_xml_find_all(ctxt, "/domain/os/kernel | /domain/os/initrd | "
                                           "/domain/devices/disk/source/@file");
            for (guint k = 0; k < found->len; k++)
                g_hash_table_add(used, (char *) xmlNodeGetContent(g_ptr_array_index(found, k)));
        }
        virDomainFree(doms[i]);
    }
    free(doms);
    virResetLastError();
    return g_steal_pointer(&used);
}

/**
 * vmc_lv_gc_staged:
 * @driver: a driver
 * @error: return location for a #GError, or %NULL
 *
 * Removes the staged files no domain uses; on a local host, first releases
 * what the boots of VMs that are neither booting nor running left behind
 * when they were killed half-way (vmc_release_unfinished_boots()), each
 * saying what it removed.
 *
 * Returns: (transfer full): the staged files removed.
 */
char **
vmc_lv_gc_staged(VmcDriver *driver, GError **error)
{
    g_autoptr(virConnect) conn = vmc_driver_conn_checked(driver, error);
    g_autoptr(virStoragePool) pool = NULL;
    g_autoptr(GHashTable) used = NULL;
    g_autoptr(GStrvBuilder) removed = g_strv_builder_new();
    g_autoptr(GError) local = NULL;
    virStorageVolPtr *vols = NULL;
    int n;

    if (!conn)
        return NULL;
    /* Boots of this host's VMs killed half-way: each release says so. */
    vmc_release_unfinished_boots(driver, conn);
    pool = vmc_stage_pool(driver, conn, FALSE, &local);
    if (!pool) {
        if (local) {
            g_propagate_error(error, g_steal_pointer(&local));
            return NULL;
        }
        return g_strv_builder_end(removed);   /* nothing was ever staged there */
    }
    used = vmc_paths_in_use(conn, error);
    if (!used)
        return NULL;
    n = virStoragePoolListAllVolumes(pool, &vols, 0);
    if (n < 0) {
        vmc_libvirt_error(error, VMC_OP_LIST, "cannot list the staged files on %s",
                          driver->hub->uri);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        char *path = virStorageVolGetPath(vols[i]);

        if (path && !g_hash_table_contains(used, path) && virStorageVolDelete(vols[i], 0) == 0)
            g_strv_builder_add(removed, path);
        free(path);
        virStorageVolFree(vols[i]);
    }
    free(vols);
    virResetLastError();
    return g_strv_builder_end(removed);
}
