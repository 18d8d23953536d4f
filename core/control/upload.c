/* SPDX-License-Identifier: Apache-2.0 */
/* Uploads: a boot bundle for vm-create, streamed in base64 chunks
 * (docs/control.md, "Creating a VM").  The whole size is declared first,
 * so a bundle that cannot fit is refused before a byte moves, and the
 * memory is taken once; chunks must come in order. */
#include "arch/arch.h"
#include "core/control/internal.h"
#include "core/pmem.h"
#include "core/vm.h"
#include "core/vm_ops.h"
#include "lib/base64.h"
#include "lib/err.h"
#include "lib/printf.h"

static uint64_t upload_ids;

int control_cmd_upload_begin(struct control_req *r)
{
    struct control_upload *up = &r->s->up;
    uint64_t size = control_arg_u64(r, "size", 0);

    if (up->id)
        return control_fail(r, ERR_STATE,
                            "upload %llu is still open (upload-cancel it, or finish it with "
                            "vm-create)",
                            (unsigned long long)up->id);
    if (size == 0 || size > CONTROL_UPLOAD_MAX)
        return control_fail(r, ERR_RANGE, "an upload is 1 byte to %llu MiB (asked: %llu bytes)",
                            (unsigned long long)(CONTROL_UPLOAD_MAX >> 20),
                            (unsigned long long)size);
    void *buf = pmem_alloc((size_t)size, PMEM_PAGE_SIZE);
    if (!buf)
        return control_fail(r, ERR_NOMEM, "an upload of %llu KiB does not fit: %llu KiB free",
                            (unsigned long long)((size + 1023) >> 10),
                            (unsigned long long)(pmem_free_bytes() >> 10));
    *up = (struct control_upload){.id = ++upload_ids, .buf = buf, .size = size};
    jw_obj(r->w);
    jw_ku64(r->w, "upload", up->id);
    jw_ku64(r->w, "chunk-max", CONTROL_CHUNK_MAX);
    jw_end(r->w);
    return 0;
}

/* The session's open upload with the id the request names. */
static struct control_upload *arg_upload(struct control_req *r)
{
    struct control_upload *up = &r->s->up;
    uint64_t id = control_arg_u64(r, "upload", 0);

    if (!up->id || up->id != id) {
        control_fail(r, ERR_NOENT, "no upload %llu in this session (upload-begin opens one)",
                     (unsigned long long)id);
        return NULL;
    }
    return up;
}

/* Whether every byte of the upload arrived; r failed if not. */
static bool upload_complete(struct control_req *r, const struct control_upload *up)
{
    if (up->received == up->size)
        return true;
    control_fail(r, ERR_STATE, "upload %llu has %llu of its %llu bytes", (unsigned long long)up->id,
                 (unsigned long long)up->received, (unsigned long long)up->size);
    return false;
}

int control_cmd_upload_data(struct control_req *r)
{
    static char text[CONTROL_CHUNK_MAX * 4 / 3 + 8];
    struct control_upload *up = arg_upload(r);

    if (!up)
        return r->rc;
    uint64_t off = control_arg_u64(r, "offset", UINT64_MAX);
    if (off != up->received)
        return control_fail(r, ERR_INVAL, "chunk at offset %llu: the next byte expected is %llu",
                            (unsigned long long)off, (unsigned long long)up->received);
    int n = control_arg_str(r, "data", text, sizeof(text));
    if (n < 0)
        return control_fail(r, ERR_INVAL, "argument \"data\": at most %u bytes a chunk",
                            CONTROL_CHUNK_MAX);
    uint64_t room = up->size - up->received;
    long k = base64_decode(text, (size_t)n, up->buf + up->received,
                           room < CONTROL_CHUNK_MAX ? (size_t)room : CONTROL_CHUNK_MAX);
    if (k == ERR_NOSPC)
        return control_fail(r, ERR_RANGE, "chunk goes past the declared size (%llu bytes)",
                            (unsigned long long)up->size);
    if (k < 0)
        return control_fail(r, ERR_INVAL, "argument \"data\" is not base64");
    up->received += (uint64_t)k;
    jw_obj(r->w);
    jw_ku64(r->w, "received", up->received);
    jw_end(r->w);
    return 0;
}

int control_cmd_upload_cancel(struct control_req *r)
{
    struct control_upload *up = arg_upload(r);

    if (!up)
        return r->rc;
    control_upload_drop(up);
    return 0;
}

/* vm-create: the upload becomes the VM's bundle (it owns it from here,
 * whether the VM is added or refused). */
int control_cmd_vm_create(struct control_req *r)
{
    struct control_upload *up = arg_upload(r);

    if (!up)
        return r->rc;
    if (!upload_complete(r, up))
        return r->rc;
    void *bundle = up->buf;
    uint64_t size = up->size;
    *up = (struct control_upload){0};
    struct vm *vm;
    int rc = vm_ops_add(bundle, (size_t)size, &vm, r->err, sizeof(r->err));
    if (rc < 0)
        return rc; /* the bundle is freed */
    if (control_arg_bool(r, "start", false)) {
        rc = vm_ops_start(vm, r->err, sizeof(r->err));
        if (rc < 0)
            return rc; /* added, but not started: the message says why */
    }
    jw_obj(r->w);
    jw_kstr(r->w, "name", vm->name);
    jw_kstr(r->w, "state", vm_ops_state(vm));
    jw_end(r->w);
    return 0;
}

/* snapshot-restore: the upload is a snapshot; it is dropped after. */
int control_cmd_snapshot_restore(struct control_req *r)
{
    struct control_upload *up = arg_upload(r);
    if (!up)
        return r->rc;
    struct vm *vm = control_arg_vm(r, "restore");
    if (!vm)
        return r->rc;
    if (!upload_complete(r, up))
        return r->rc;
    uint64_t t0 = arch_time();
    int rc = vm_ops_restore_buf(vm, up->buf, up->size, r->err, sizeof(r->err));
    control_upload_drop(up);
    if (rc < 0)
        return rc;
    jw_obj(r->w);
    jw_kstr(r->w, "state", vm_ops_state(vm));
    jw_ku64(r->w, "ms", control_ms(arch_time() - t0));
    jw_end(r->w);
    return 0;
}
