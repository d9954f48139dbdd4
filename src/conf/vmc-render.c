/*
 * vmc-render.c: VmcConfig to libvirt domain XML (DESIGN.md §4)
 *
 * Every document starts as a copy of the templates in xml-templates/,
 * compiled in as a GResource, and is filled through the DOM.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vmc-private.h"
#include "vmc-meta-private.h"
#include "vmc-templates.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

struct _VmcRenderOptions {
    VmcAccel accel;
    char *arch;
    char *machine;
    gboolean remote_paths;
    VmcUserBackend user_backend;
    GHashTable *share_views;   /* tag -> the read-only view's directory */
    GStrv owned_taps;          /* NULL-terminated, never NULL */
};

VMC_ENUM_IMPL(vmc_accel, VMC_ACCEL_QEMU + 1,
              "kvm",    /* VMC_ACCEL_KVM */
              "qemu")   /* VMC_ACCEL_QEMU */

VMC_ENUM_IMPL(vmc_user_backend, VMC_USER_BACKEND_PASST + 1,
              "slirp",  /* VMC_USER_BACKEND_SLIRP */
              "passt")  /* VMC_USER_BACKEND_PASST */

/**
 * vmc_user_backend_to_string:
 * @backend: a user-mode networking backend
 *
 * Returns: (transfer none): "slirp" or "passt"; %NULL for a value outside
 *   the enum.
 *
 * Since: 0.1
 */
const char *
vmc_user_backend_to_string(VmcUserBackend backend)
{
    return vmc_user_backend_to_str((int) backend);
}

/**
 * vmc_user_backend_from_string:
 * @str: "slirp" or "passt"
 * @backend: (out): the backend @str names
 *
 * Returns: %TRUE when @str names a backend; else @backend is untouched.
 *
 * Since: 0.1
 */
gboolean
vmc_user_backend_from_string(const char *str, VmcUserBackend *backend)
{
    int value = vmc_user_backend_from_str(str);

    if (value < 0)
        return FALSE;
    *backend = (VmcUserBackend) value;
    return TRUE;
}

/**
 * vmc_accel_to_string:
 * @accel: a #VmcAccel
 *
 * Returns: the libvirt domain type of @accel ("kvm", "qemu"), or %NULL
 *   for a value out of range. Any thread.
 *
 * Since: 0.1
 */
const char *
vmc_accel_to_string(VmcAccel accel)
{
    return vmc_accel_to_str((int) accel);
}

/**
 * vmc_accel_from_string:
 * @str: (nullable): "kvm" or "qemu"
 * @accel: (out): where to store the accelerator
 *
 * Returns: %TRUE when @str names an accelerator. Any thread.
 *
 * Since: 0.1
 */
gboolean
vmc_accel_from_string(const char *str, VmcAccel *accel)
{
    int value = vmc_accel_from_str(str);

    if (value < 0)
        return FALSE;
    *accel = (VmcAccel) value;
    return TRUE;
}

/**
 * vmc_render_options_new:
 *
 * The defaults: KVM, x86_64 on the q35 machine, paths on this host.
 *
 * Returns: (transfer full): new options; free with vmc_render_options_free().
 *
 * Since: 0.1
 */
VmcRenderOptions *
vmc_render_options_new(void)
{
    VmcRenderOptions *opts = g_new0(VmcRenderOptions, 1);

    opts->accel = VMC_ACCEL_KVM;
    opts->arch = g_strdup("x86_64");
    opts->machine = g_strdup("q35");
    opts->share_views = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    opts->owned_taps = g_new0(char *, 1);
    return opts;
}

/**
 * vmc_render_options_copy:
 * @opts: render options
 *
 * Returns: (transfer full): a deep copy of @opts; free with
 *   vmc_render_options_free().
 *
 * Since: 0.1
 */
VmcRenderOptions *
vmc_render_options_copy(const VmcRenderOptions *opts)
{
    VmcRenderOptions *copy;
    GHashTableIter iter;
    gpointer tag, dir;

    g_return_val_if_fail(opts != NULL, NULL);
    copy = g_new0(VmcRenderOptions, 1);
    copy->accel = opts->accel;
    copy->arch = g_strdup(opts->arch);
    copy->machine = g_strdup(opts->machine);
    copy->remote_paths = opts->remote_paths;
    copy->user_backend = opts->user_backend;
    copy->share_views = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_hash_table_iter_init(&iter, opts->share_views);
    while (g_hash_table_iter_next(&iter, &tag, &dir))
        g_hash_table_insert(copy->share_views, g_strdup(tag), g_strdup(dir));
    copy->owned_taps = g_strdupv(opts->owned_taps);
    return copy;
}

/**
 * vmc_render_options_free:
 * @opts: (nullable): render options
 *
 * Frees @opts.
 *
 * Since: 0.1
 */
void
vmc_render_options_free(VmcRenderOptions *opts)
{
    if (!opts)
        return;
    g_free(opts->arch);
    g_free(opts->machine);
    g_hash_table_unref(opts->share_views);
    g_strfreev(opts->owned_taps);
    g_free(opts);
}

/**
 * vmc_render_options_set_accel:
 * @opts: render options
 * @accel: the accelerator, which becomes the libvirt domain type
 *
 * Since: 0.1
 */
void
vmc_render_options_set_accel(VmcRenderOptions *opts, VmcAccel accel)
{
    g_return_if_fail(opts != NULL);
    g_return_if_fail(vmc_accel_to_string(accel) != NULL);
    opts->accel = accel;
}

/**
 * vmc_render_options_get_accel:
 * @opts: render options
 *
 * Returns: the accelerator; %VMC_ACCEL_KVM unless set.
 *
 * Since: 0.1
 */
VmcAccel
vmc_render_options_get_accel(const VmcRenderOptions *opts)
{
    g_return_val_if_fail(opts != NULL, VMC_ACCEL_KVM);
    return opts->accel;
}

/**
 * vmc_render_options_set_arch:
 * @opts: render options
 * @arch: the guest architecture, as libvirt names it (`x86_64`, `aarch64`)
 * @machine: the machine type (`q35`, `virt`)
 *
 * Since: 0.1
 */
void
vmc_render_options_set_arch(VmcRenderOptions *opts, const char *arch, const char *machine)
{
    g_return_if_fail(opts != NULL && arch != NULL && machine != NULL);
    g_free(opts->arch);
    g_free(opts->machine);
    opts->arch = g_strdup(arch);
    opts->machine = g_strdup(machine);
}

/**
 * vmc_render_options_get_arch:
 * @opts: render options
 *
 * Returns: the guest architecture, as libvirt names it; "x86_64" unless
 *   set.
 *
 * Since: 0.1
 */
const char *
vmc_render_options_get_arch(const VmcRenderOptions *opts)
{
    g_return_val_if_fail(opts != NULL, NULL);
    return opts->arch;
}

/**
 * vmc_render_options_get_machine:
 * @opts: render options
 *
 * Returns: the machine type; "q35" unless set.
 *
 * Since: 0.1
 */
const char *
vmc_render_options_get_machine(const VmcRenderOptions *opts)
{
    g_return_val_if_fail(opts != NULL, NULL);
    return opts->machine;
}

/**
 * vmc_render_options_set_remote_paths:
 * @opts: render options
 * @remote: %TRUE when the config's paths are on another host
 *
 * Disk formats are read from the image files' headers. When the files are
 * on another host they cannot be read here, and disks are rendered as raw;
 * on this host an unreadable disk is an error.
 *
 * Since: 0.1
 */
void
vmc_render_options_set_remote_paths(VmcRenderOptions *opts, gboolean remote)
{
    g_return_if_fail(opts != NULL);
    opts->remote_paths = !!remote;
}

/**
 * vmc_render_options_get_remote_paths:
 * @opts: render options
 *
 * Returns: %TRUE when the config's paths are on another host.
 *
 * Since: 0.1
 */
gboolean
vmc_render_options_get_remote_paths(const VmcRenderOptions *opts)
{
    g_return_val_if_fail(opts != NULL, FALSE);
    return opts->remote_paths;
}

/**
 * vmc_render_options_set_user_backend:
 * @opts: render options
 * @backend: what carries the traffic of `user` NICs
 *
 * %VMC_USER_BACKEND_SLIRP (the default) is QEMU's built-in user-mode
 * stack; %VMC_USER_BACKEND_PASST adds `<backend type='passt'/>`, for hosts
 * whose libvirt and passt both support it.
 *
 * Since: 0.1
 */
void
vmc_render_options_set_user_backend(VmcRenderOptions *opts, VmcUserBackend backend)
{
    g_return_if_fail(opts != NULL);
    g_return_if_fail(vmc_user_backend_to_string(backend) != NULL);
    opts->user_backend = backend;
}

/**
 * vmc_render_options_get_user_backend:
 * @opts: render options
 *
 * Returns: what carries the traffic of `user` NICs;
 *   %VMC_USER_BACKEND_SLIRP unless set.
 *
 * Since: 0.1
 */
VmcUserBackend
vmc_render_options_get_user_backend(const VmcRenderOptions *opts)
{
    g_return_val_if_fail(opts != NULL, VMC_USER_BACKEND_SLIRP);
    return opts->user_backend;
}

/**
 * vmc_render_options_set_share_view:
 * @opts: render options
 * @tag: the tag of a read-only share
 * @view_dir: (nullable): a directory that shows the share's host_path
 *   read-only (a read-only bind mount), or %NULL to drop the view
 *
 * For libvirt versions that refuse virtiofs `<readonly/>`: the share of
 * @tag is rendered with @view_dir as its source and without `<readonly/>`,
 * and the metadata records its host_path, so that the domain reads back as
 * the config it came from. Applies to read-only shares only; a writable
 * share of that tag renders as it is.
 *
 * Since: 0.1
 */
void
vmc_render_options_set_share_view(VmcRenderOptions *opts, const char *tag, const char *view_dir)
{
    g_return_if_fail(opts != NULL && tag != NULL);
    g_return_if_fail(view_dir == NULL || g_path_is_absolute(view_dir));
    if (view_dir)
        g_hash_table_insert(opts->share_views, g_strdup(tag), g_strdup(view_dir));
    else
        g_hash_table_remove(opts->share_views, tag);
}

/**
 * vmc_render_options_get_share_view:
 * @opts: render options
 * @tag: a share's tag
 *
 * Returns: (transfer none) (nullable): the view set for @tag.
 *
 * Since: 0.1
 */
const char *
vmc_render_options_get_share_view(const VmcRenderOptions *opts, const char *tag)
{
    g_return_val_if_fail(opts != NULL && tag != NULL, NULL);
    return g_hash_table_lookup(opts->share_views, tag);
}

/**
 * vmc_render_options_set_owned_taps:
 * @opts: render options
 * @taps: (array zero-terminated=1) (nullable): TAP device names
 *
 * The TAP devices of the VM that its driver created (and will remove): the
 * metadata records them, so that whichever process stops the VM knows which
 * TAPs are the driver's and which the operator's.
 *
 * Since: 0.1
 */
void
vmc_render_options_set_owned_taps(VmcRenderOptions *opts, const char *const *taps)
{
    static const char *const none[] = { NULL };

    g_return_if_fail(opts != NULL);
    g_strfreev(opts->owned_taps);
    opts->owned_taps = g_strdupv((char **) (taps ? taps : none));
}

/**
 * vmc_render_options_get_owned_taps:
 * @opts: render options
 *
 * Returns: (transfer none) (array zero-terminated=1): the TAPs set with
 *   vmc_render_options_set_owned_taps(); never %NULL.
 *
 * Since: 0.1
 */
const char *const *
vmc_render_options_get_owned_taps(const VmcRenderOptions *opts)
{
    g_return_val_if_fail(opts != NULL, NULL);
    return (const char *const *) opts->owned_taps;
}

/* UUIDv5 namespace: uuid5(NAMESPACE_URL, VMC_XML_NAMESPACE). */
static const guint8 vmc_uuid_namespace[16] = {
    0xac, 0xf6, 0xf0, 0x79, 0x7a, 0x7e, 0x54, 0x1c,
    0xa1, 0x5a, 0x89, 0xbe, 0x73, 0x18, 0xc0, 0xda,
};

void
vmc_config_compute_uuid(const VmcConfig *cfg, guint8 uuid[16])
{
    g_autoptr(GChecksum) sha1 = NULL;
    guint8 digest[20];
    gsize len = sizeof(digest);

    if (cfg->machine_id && g_bytes_get_size(cfg->machine_id) == 16) {
        memcpy(uuid, g_bytes_get_data(cfg->machine_id, NULL), 16);
        return;
    }
    sha1 = g_checksum_new(G_CHECKSUM_SHA1);
    g_checksum_update(sha1, vmc_uuid_namespace, sizeof(vmc_uuid_namespace));
    g_checksum_update(sha1, (const guchar *) (cfg->namespace ? cfg->namespace : ""), -1);
    g_checksum_update(sha1, (const guchar *) "/", 1);
    g_checksum_update(sha1, (const guchar *) (cfg->name ? cfg->name : ""), -1);
    g_checksum_get_digest(sha1, digest, &len);
    memcpy(uuid, digest, 16);
    uuid[6] = (uuid[6] & 0x0f) | 0x50;
    uuid[8] = (uuid[8] & 0x3f) | 0x80;
}

static char *
vmc_hex_pairs(char *out, const guint8 *bytes, gsize n)
{
    static const char digits[] = "0123456789abcdef";

    for (gsize i = 0; i < n; i++) {
        *out++ = digits[bytes[i] >> 4];
        *out++ = digits[bytes[i] & 0xf];
    }
    return out;
}

/* Writes the 36 characters of @uuid and a NUL to @text. */
static void
vmc_uuid_format_to(const guint8 uuid[16], char text[37])
{
    char *p = text;

    p = vmc_hex_pairs(p, uuid, 4);
    *p++ = '-';
    p = vmc_hex_pairs(p, uuid + 4, 2);
    *p++ = '-';
    p = vmc_hex_pairs(p, uuid + 6, 2);
    *p++ = '-';
    p = vmc_hex_pairs(p, uuid + 8, 2);
    *p++ = '-';
    p = vmc_hex_pairs(p, uuid + 10, 6);
    *p = '\0';
}

char *
vmc_uuid_format(const guint8 uuid[16])
{
    char *text = g_malloc(37);

    vmc_uuid_format_to(uuid, text);
    return text;
}

/**
 * vmc_config_get_uuid_string:
 * @cfg: a config
 *
 * The domain UUID a config renders to: its machine id when it has one of
 * 16 bytes, else a UUIDv5 derived from namespace and name, so that the
 * same VM always gets the same UUID.
 *
 * Returns: (transfer full): the UUID in its 36-character form.
 *
 * Since: 0.1
 */
char *
vmc_config_get_uuid_string(const VmcConfig *cfg)
{
    guint8 uuid[16];

    g_return_val_if_fail(cfg != NULL, NULL);
    vmc_config_compute_uuid(cfg, uuid);
    return vmc_uuid_format(uuid);
}

/* vm-rs gave every MAC-less NIC of a VM one MAC; ours differ per NIC:
 * 52:54:00 and the first three bytes of SHA-256("namespace/name#index").
 * Writes its 17 characters and a NUL to @mac. */
static void
vmc_config_compute_mac_to(const VmcConfig *cfg, guint index, char mac[18])
{
    g_autoptr(GChecksum) sha = g_checksum_new(G_CHECKSUM_SHA256);
    char number[16];
    guint8 digest[32];
    gsize len = sizeof(digest);

    memcpy(mac, "52:54:00:xx:xx:xx", 18);
    g_snprintf(number, sizeof(number), "#%u", index);
    g_checksum_update(sha, (const guchar *) (cfg->namespace ? cfg->namespace : ""), -1);
    g_checksum_update(sha, (const guchar *) "/", 1);
    g_checksum_update(sha, (const guchar *) (cfg->name ? cfg->name : ""), -1);
    g_checksum_update(sha, (const guchar *) number, -1);
    g_checksum_get_digest(sha, digest, &len);
    for (int i = 0; i < 3; i++)
        vmc_hex_pairs(mac + 9 + 3 * i, digest + i, 1);
}

char *
vmc_config_compute_mac(const VmcConfig *cfg, guint index)
{
    char *mac = g_malloc(18);

    vmc_config_compute_mac_to(cfg, index, mac);
    return mac;
}

char *
vmc_config_default_cmdline(const VmcConfig *cfg, const char *arch)
{
    const char *console = g_str_has_prefix(arch ? arch : "", "arm") ||
                                  g_strcmp0(arch, "aarch64") == 0
                              ? "console=ttyAMA0"
                              : "console=ttyS0";

    if (cfg->root_disk)
        return g_strconcat(console, " root=/dev/vda1 rw ds=nocloud", NULL);
    return g_strdup(console);
}

/* Templates, parsed once per process and copied for each render. */
typedef enum {
    TPL_DOMAIN,
    TPL_DISK,
    TPL_FILESYSTEM,
    TPL_INTERFACE,
    TPL_SERIAL,
    TPL_CONSOLE,
    TPL_VSOCK,
    TPL_MEMORY_BACKING,
    TPL_EFI,
    TPL_LAST,
} VmcTemplate;

static const char *const vmc_template_names[TPL_LAST] = {
    "domain.xml", "disk.xml", "filesystem.xml", "interface.xml", "serial.xml",
    "console.xml", "vsock.xml", "memory-backing.xml", "efi.xml",
};

static xmlDoc *vmc_templates[TPL_LAST];

static gpointer
vmc_templates_load(gpointer data)
{
    GResource *resource = vmc_templates_get_resource();

    for (int i = 0; i < TPL_LAST; i++) {
        g_autofree char *path = g_strconcat("/dev/virt-vmconfig/templates/",
                                            vmc_template_names[i], NULL);
        g_autoptr(GBytes) bytes = g_resource_lookup_data(resource, path, 0, NULL);
        gsize size;
        const char *text;

        /* The templates are part of the library: a missing or broken one is a bug. */
        g_assert(bytes != NULL);
        text = g_bytes_get_data(bytes, &size);
        vmc_templates[i] = xmlReadMemory(text, (int) size, vmc_template_names[i], "UTF-8",
                                         XML_PARSE_NONET | XML_PARSE_NOBLANKS);
        g_assert(vmc_templates[i] != NULL);
    }
    return NULL;
}

static xmlNode *
vmc_fragment(xmlDoc *doc, VmcTemplate which)
{
    static GOnce once = G_ONCE_INIT;

    g_once(&once, vmc_templates_load, NULL);
    if (!doc)
        return NULL;
    return xmlDocCopyNode(xmlDocGetRootElement(vmc_templates[which]), doc, 1);
}

static void
vmc_dict_release(gpointer dict)
{
    xmlDictFree(dict);
}

/* Element and attribute names are interned in a dictionary of this
 * thread's, kept from one render to the next, rather than copied into
 * every node and freed with it. */
static xmlDict *
vmc_thread_dict(void)
{
    static GPrivate key = G_PRIVATE_INIT(vmc_dict_release);
    xmlDict *dict = g_private_get(&key);

    if (!dict) {
        dict = xmlDictCreate();
        g_private_set(&key, dict);
    }
    return dict;
}

static xmlDoc *
vmc_domain_template(void)
{
    xmlDoc *doc = xmlNewDoc((const xmlChar *) "1.0");

    doc->dict = vmc_thread_dict();
    xmlDictReference(doc->dict);
    xmlDocSetRootElement(doc, vmc_fragment(doc, TPL_DOMAIN));
    return doc;
}

/* The lone text node of @node (of an element or an attribute), if that is
 * all it holds. */
static xmlNode *
vmc_only_text(xmlNode *children)
{
    return children && children->type == XML_TEXT_NODE && !children->next ? children : NULL;
}

static void
vmc_set_text(xmlNode *node, const char *text)
{
    xmlNode *child = vmc_only_text(node->children);

    /* A template's element holds one text node: its content is replaced,
     * rather than the node freed and another allocated. On a text node,
     * xmlNodeSetContent takes @text as text, not markup; on an element,
     * xmlNodeAddContent does: '&' and '<' are escaped when written. */
    if (child) {
        xmlNodeSetContent(child, (const xmlChar *) text);
        return;
    }
    xmlNodeSetContent(node, NULL);
    xmlNodeAddContent(node, (const xmlChar *) text);
}

static void
vmc_set_prop(xmlNode *node, const char *name, const char *value)
{
    xmlAttr *attr = xmlHasProp(node, (const xmlChar *) name);
    xmlNode *child = attr ? vmc_only_text(attr->children) : NULL;

    /* As in vmc_set_text(): the value of a template's attribute is
     * replaced in place (the templates have no DTD, so no IDs to keep up). */
    if (child)
        xmlNodeSetContent(child, (const xmlChar *) value);
    else
        xmlSetProp(node, (const xmlChar *) name, (const xmlChar *) value);
}

static xmlNode *
vmc_child(xmlNode *parent, const char *name)
{
    for (xmlNode *n = parent->children; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *) n->name, name) == 0)
            return n;
    }
    return NULL;
}

static xmlNode *
vmc_new_child(xmlNode *parent, const char *name)
{
    return xmlNewChild(parent, NULL, (const xmlChar *) name, NULL);
}

typedef enum {
    VMC_IMAGE_RAW,
    VMC_IMAGE_QCOW2,
} VmcImageFormat;

/* Reads the image's header: libvirt does not probe formats, for safety,
 * so the format must be stated, and stating the wrong one corrupts data. */
static gboolean
vmc_detect_format(const VmcConfig *cfg, const char *field, const char *path,
                  const VmcRenderOptions *opts, VmcImageFormat *format, GError **error)
{
    static const struct {
        const char *magic;
        gsize offset;
        gsize len;
        const char *name;
    } unsupported[] = {
        { "QFI\xfb", 0, 4, NULL },
        { "QED\0", 0, 4, "QED" },
        { "KDMV", 0, 4, "VMDK" },
        { "vhdxfile", 0, 8, "VHDX" },
        { "\x7f\x10\xda\xbe", 0x40, 4, "VDI" },
    };
    guint8 header[0x44] = { 0 };
    ssize_t got = 0;
    struct stat st;
    int fd;

    *format = VMC_IMAGE_RAW;
    if (opts->remote_paths)
        return TRUE;

    /* Not blocking: a FIFO (or a device that waits) must not hang here. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd >= 0 && (fstat(fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)))) {
        close(fd);
        g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG,
                    "VM '%s': %s '%s' is neither a file nor a block device", cfg->name, field,
                    path);
        return FALSE;
    }
    if (fd >= 0) {
        do {
            got = read(fd, header, sizeof(header));
        } while (got < 0 && errno == EINTR);
    }
    if (fd < 0 || got < 0) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG,
                    "VM '%s': cannot read %s '%s' to learn its format: %s (if the file is on "
                    "the host that will run the VM, render with remote paths)",
                    cfg->name, field, path, g_strerror(saved));
        return FALSE;
    }
    close(fd);

    for (gsize i = 0; i < G_N_ELEMENTS(unsupported); i++) {
        if ((gsize) got < unsupported[i].offset + unsupported[i].len ||
            memcmp(header + unsupported[i].offset, unsupported[i].magic, unsupported[i].len) != 0)
            continue;
        if (!unsupported[i].name) {
            *format = VMC_IMAGE_QCOW2;
            return TRUE;
        }
        g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG,
                    "VM '%s': %s '%s' is a %s image; use raw or qcow2 (qemu-img convert -O "
                    "qcow2 can convert it)", cfg->name, field, path, unsupported[i].name);
        return FALSE;
    }
    return TRUE;
}

static gboolean
vmc_add_disk(xmlNode *devices, xmlNode *before, const VmcConfig *cfg, const char *field,
             const char *path, gboolean read_only, guint *index, const VmcRenderOptions *opts,
             GError **error)
{
    VmcImageFormat format;
    xmlNode *disk;
    xmlNode *alias;
    char target[] = "vdX";
    g_autofree char *alias_name = NULL;

    if (!path)
        return TRUE;
    if (!vmc_detect_format(cfg, field, path, opts, &format, error))
        return FALSE;

    disk = xmlAddPrevSibling(before, vmc_fragment(devices->doc, TPL_DISK));
    vmc_set_prop(vmc_child(disk, "driver"), "type", format == VMC_IMAGE_QCOW2 ? "qcow2" : "raw");
    vmc_set_prop(vmc_child(disk, "source"), "file", path);
    target[2] = (char) ('a' + (*index)++);
    vmc_set_prop(vmc_child(disk, "target"), "dev", target);
    if (read_only)
        vmc_new_child(disk, "readonly");
    /* A user alias names the disk's role, so that reading back knows a lone
     * data disk from a root disk. */
    alias = vmc_new_child(disk, "alias");
    alias_name = g_strconcat(VMC_DISK_ALIAS_PREFIX, field, NULL);
    g_strdelimit(alias_name, "_", '-');
    vmc_set_prop(alias, "name", alias_name);
    return TRUE;
}

static void
vmc_add_interface(xmlNode *before, const VmcConfig *cfg, guint index, GString *generated_macs,
                  const VmcRenderOptions *opts)
{
    const VmcNetworkAttachment *net = g_ptr_array_index(cfg->networks, index);
    xmlNode *iface = xmlAddPrevSibling(before, vmc_fragment(before->doc, TPL_INTERFACE));
    xmlNode *mac = vmc_child(iface, "mac");
    char generated[18];
    xmlNode *extra = NULL;

    if (!net->mac) {
        vmc_config_compute_mac_to(cfg, index, generated);
        g_string_append_printf(generated_macs, "%s%u", generated_macs->len ? " " : "", index);
    }
    vmc_set_prop(mac, "address", net->mac ? net->mac : generated);

    switch (net->kind) {
    case VMC_NETWORK_TAP:
        vmc_set_prop(iface, "type", "ethernet");
        extra = xmlNewDocNode(iface->doc, NULL, (const xmlChar *) "target", NULL);
        vmc_set_prop(extra, "dev", net->source);
        vmc_set_prop(extra, "managed", "no");
        break;
    case VMC_NETWORK_BRIDGE:
    case VMC_NETWORK_NETWORK:
        vmc_set_prop(iface, "type", net->kind == VMC_NETWORK_BRIDGE ? "bridge" : "network");
        extra = xmlNewDocNode(iface->doc, NULL, (const xmlChar *) "source", NULL);
        vmc_set_prop(extra, net->kind == VMC_NETWORK_BRIDGE ? "bridge" : "network", net->source);
        break;
    case VMC_NETWORK_USER:
        vmc_set_prop(iface, "type", "user");
        if (opts->user_backend == VMC_USER_BACKEND_PASST)
            vmc_set_prop(xmlNewChild(iface, NULL, (const xmlChar *) "backend", NULL), "type",
                         "passt");
        /* <portForward proto address><range start=HOST to=GUEST/>: one each,
         * only with passt (the render refuses them on slirp before). */
        for (guint i = 0; i < vmc_network_attachment_get_n_forwards(net); i++) {
            const VmcPortForward *fwd = vmc_network_attachment_get_forward(net, i);
            xmlNode *pf = xmlNewChild(iface, NULL, (const xmlChar *) "portForward", NULL);
            xmlNode *range = xmlNewChild(pf, NULL, (const xmlChar *) "range", NULL);
            char port[16];

            vmc_set_prop(pf, "proto", vmc_forward_proto_to_string(fwd->proto));
            if (fwd->host_address)
                vmc_set_prop(pf, "address", fwd->host_address);
            g_snprintf(port, sizeof(port), "%u", fwd->host_port);
            vmc_set_prop(range, "start", port);
            g_snprintf(port, sizeof(port), "%u", fwd->guest_port);
            vmc_set_prop(range, "to", port);
        }
        break;
    }
    if (extra)
        xmlAddNextSibling(mac, extra);
}

static char *
vmc_doc_to_string(xmlDoc *doc)
{
    /* No encoder on the buffer: the document is UTF-8 already, and saying
     * "UTF-8" to the dump keeps non-ASCII text as it is. */
    xmlOutputBuffer *out = xmlAllocOutputBuffer(NULL);
    char *text;

    xmlNodeDumpOutput(out, doc, xmlDocGetRootElement(doc), 0, 1, "UTF-8");
    xmlOutputBufferWrite(out, 1, "\n");
    xmlOutputBufferFlush(out);
    text = g_strndup((const char *) xmlOutputBufferGetContent(out), xmlOutputBufferGetSize(out));
    xmlOutputBufferClose(out);
    return text;
}

/**
 * vmc_config_to_domain_xml:
 * @cfg: a config
 * @opts: (nullable): how to render it; %NULL for vmc_render_options_new()'s
 * @error: return location for a #GError, or %NULL
 *
 * Validates @cfg and renders it as libvirt domain XML (DESIGN.md §4): direct
 * kernel boot, disks in the order root, seed (read-only), data with their
 * format read from the image files, virtiofs shares with the shared memory
 * they need, NICs with stable MACs, the serial log, vsock, UEFI, a stable
 * UUID and the metadata element that marks the domain as ours. The same
 * config and options always give the same bytes.
 *
 * Returns: (transfer full): the XML, or %NULL with %VMC_ERROR_INVALID_CONFIG
 * set.
 *
 * Since: 0.1
 */
char *
vmc_config_to_domain_xml(const VmcConfig *cfg, const VmcRenderOptions *opts, GError **error)
{
    g_autoptr(VmcRenderOptions) defaults = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(GString) generated_macs = g_string_new(NULL);
    guint8 uuid_bytes[16];
    char uuid[37];
    char memory[16];
    char cpus[16];
    g_autofree char *default_cmdline = NULL;
    g_autoptr(VmcMeta) meta = NULL;
    xmlNode *root, *os, *devices, *first_device, *node;
    guint disk_index = 0;

    g_return_val_if_fail(cfg != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    if (!opts)
        opts = defaults = vmc_render_options_new();
    if (!vmc_config_validate(cfg, error))
        return NULL;

    doc = vmc_domain_template();
    root = xmlDocGetRootElement(doc);
    vmc_set_prop(root, "type", vmc_accel_to_string(opts->accel));
    vmc_set_text(vmc_child(root, "name"), cfg->name);
    vmc_config_compute_uuid(cfg, uuid_bytes);
    vmc_uuid_format_to(uuid_bytes, uuid);
    vmc_set_text(vmc_child(root, "uuid"), uuid);

    /* Our metadata element (vmc-meta.c): the serial log is in <serial>
     * too, and here so that listing VMs reads only the metadata. */
    meta = vmc_meta_new(cfg->namespace);
    meta->netns = g_strdup(cfg->netns);
    meta->serial_log = g_strdup(cfg->serial_log);
    meta->generated_uuid = !cfg->machine_id;
    meta->generated_cmdline = !cfg->cmdline;

    g_snprintf(memory, sizeof(memory), "%u", cfg->memory_mb);
    vmc_set_text(vmc_child(root, "memory"), memory);
    vmc_set_text(vmc_child(root, "currentMemory"), memory);
    g_snprintf(cpus, sizeof(cpus), "%u", cfg->cpus);
    vmc_set_text(vmc_child(root, "vcpu"), cpus);

    /* A guest kernel panic reaches libvirt through the ISA pvpanic device
     * (x86 only), as a crash event that tells it from a kill. */
    if (g_strcmp0(opts->arch, "x86_64") != 0 && g_strcmp0(opts->arch, "i686") != 0) {
        node = vmc_child(vmc_child(root, "devices"), "panic");
        xmlUnlinkNode(node);
        xmlFreeNode(node);
    }
    os = vmc_child(root, "os");
    vmc_set_prop(vmc_child(os, "type"), "arch", opts->arch);
    vmc_set_prop(vmc_child(os, "type"), "machine", opts->machine);
    vmc_set_text(vmc_child(os, "kernel"), cfg->kernel);
    if (cfg->initramfs) {
        node = xmlNewDocNode(doc, NULL, (const xmlChar *) "initrd", NULL);
        vmc_set_text(node, cfg->initramfs);
        xmlAddNextSibling(vmc_child(os, "kernel"), node);
    }
    if (!cfg->cmdline)
        default_cmdline = vmc_config_default_cmdline(cfg, opts->arch);
    vmc_set_text(vmc_child(os, "cmdline"), cfg->cmdline ? cfg->cmdline : default_cmdline);

    if (cfg->efi_variable_store) {
        g_autoptr(xmlNode) efi = vmc_fragment(doc, TPL_EFI);
        xmlNode *type = vmc_child(os, "type");
        xmlNode *nvram = vmc_child(efi, "nvram");
        xmlNode *firmware = vmc_child(efi, "firmware");

        vmc_set_prop(os, "firmware", "efi");
        xmlUnlinkNode(firmware);
        xmlUnlinkNode(nvram);
        vmc_set_text(nvram, cfg->efi_variable_store);
        xmlAddNextSibling(type, nvram);
        xmlAddNextSibling(type, firmware);
    }

    if (cfg->shared_dirs->len > 0)
        xmlAddNextSibling(vmc_child(root, "currentMemory"), vmc_fragment(doc, TPL_MEMORY_BACKING));

    devices = vmc_child(root, "devices");
    first_device = devices->children;

    if (!vmc_add_disk(devices, first_device, cfg, "root_disk", cfg->root_disk, FALSE, &disk_index,
                      opts, error) ||
        !vmc_add_disk(devices, first_device, cfg, "seed_iso", cfg->seed_iso, TRUE, &disk_index,
                      opts, error) ||
        !vmc_add_disk(devices, first_device, cfg, "data_disk", cfg->data_disk, FALSE, &disk_index,
                      opts, error))
        return NULL;

    for (guint i = 0; i < cfg->shared_dirs->len; i++) {
        const VmcSharedDir *dir = g_ptr_array_index(cfg->shared_dirs, i);
        xmlNode *fs = xmlAddPrevSibling(first_device, vmc_fragment(doc, TPL_FILESYSTEM));

        const char *view = dir->read_only ? g_hash_table_lookup(opts->share_views, dir->tag)
                                          : NULL;

        vmc_set_prop(vmc_child(fs, "source"), "dir", view ? view : dir->host_path);
        vmc_set_prop(vmc_child(fs, "target"), "dir", dir->tag);
        if (view)
            vmc_meta_add_share(meta, dir->tag, dir->host_path);
        else if (dir->read_only)
            vmc_new_child(fs, "readonly");
    }
    for (char **tap = opts->owned_taps; *tap; tap++)
        vmc_meta_add_owned_tap(meta, *tap);

    for (guint i = 0; i < cfg->networks->len; i++) {
        const VmcNetworkAttachment *net = g_ptr_array_index(cfg->networks, i);

        /* libvirt takes a <portForward> on a slirp NIC and forwards nothing. */
        if (vmc_network_attachment_get_n_forwards(net) &&
            opts->user_backend != VMC_USER_BACKEND_PASST) {
            g_set_error(error, VMC_ERROR, VMC_ERROR_INVALID_CONFIG,
                        "VM '%s': networks[%u].forwards need the passt backend of a user NIC "
                        "(slirp forwards no port): render with the passt backend (xml "
                        "--user-backend passt), for a host whose libvirt takes <backend "
                        "type='passt'/> and has passt installed", cfg->name, i);
            return NULL;
        }
        vmc_add_interface(first_device, cfg, i, generated_macs, opts);
    }
    if (generated_macs->len)
        meta->generated_macs = g_strdup(generated_macs->str);
    vmc_meta_write(meta, vmc_child(root, "metadata"));

    /* A pty, so that libvirt's console stream can carry it to any client
     * (it cannot open a file port), logged to the serial log on the host,
     * which libvirt truncates at each start. */
    node = xmlAddPrevSibling(first_device, vmc_fragment(doc, TPL_SERIAL));
    vmc_set_prop(vmc_child(node, "log"), "file", cfg->serial_log);
    xmlAddPrevSibling(first_device, vmc_fragment(doc, TPL_CONSOLE));

    if (cfg->vsock)
        xmlAddPrevSibling(first_device, vmc_fragment(doc, TPL_VSOCK));

    return vmc_doc_to_string(doc);
}
