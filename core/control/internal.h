/* SPDX-License-Identifier: Apache-2.0 */
/* What the control plane's files share.  Calls go down: server.c (a
 * request line: checked, run, answered) -> commands.c, upload.c (the
 * commands) -> args.c (their arguments) -> session.c (transports,
 * output, events). */
#ifndef VIREO_CORE_CONTROL_INTERNAL_H
#define VIREO_CORE_CONTROL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/control/control.h"
#include "lib/json.h"

#define CONTROL_SESSIONS      8
#define CONTROL_REQUEST_MAX   (96u << 10) /* bytes in one request line */
#define CONTROL_REPLY_MAX     (72u << 10) /* bytes of one reply's value: a 48 KiB chunk in base64 */
#define CONTROL_OUT_SIZE      (128u << 10)
#define CONTROL_TOKENS        1024
#define CONTROL_UPLOAD_MAX    (1ull << 30) /* a bundle, at most */
#define CONTROL_CHUNK_MAX     (48u << 10)  /* decoded bytes in one upload-data */
#define CONTROL_CONSOLE_CHUNK 2048         /* bytes of console output per event */

struct vm;

struct control_upload {
    uint64_t id; /* 0: none */
    uint8_t *buf;
    uint64_t size, received;
};

struct control_session {
    bool used;
    bool dead; /* the transport closed it: freed at the next work */
    const struct control_transport *t;
    void *ctx;
    struct vm *peer; /* NULL: the host management port */
    uint64_t peer_uid;
    char who[64];
    bool greet;
    /* Input: bytes not yet taken as lines. */
    char in[CONTROL_REQUEST_MAX + 1];
    size_t in_len;
    bool discarding; /* inside a line that was too long: up to its newline */
    /* Output: out[out_off..out_len) waits for the transport. */
    char out[CONTROL_OUT_SIZE];
    size_t out_off, out_len;
    uint64_t ev_next; /* sequence number of the next event to send */
    /* The console it follows (console-attach). */
    struct vm *con_vm;
    uint64_t con_uid, con_pos;
    struct control_upload up;
};

/* A request being served: commands read their arguments and write their
 * return value (one JSON value) into w, or fail with a class and a
 * message. */
struct control_req {
    struct control_session *s;
    const struct json_doc *doc;
    int args; /* the arguments object's token, or -1 */
    struct jw *w;
    char err[256];
    int rc; /* the code of the last control_fail */
};

enum control_arg_type { ARG_STR, ARG_UINT, ARG_BOOL };

struct control_arg {
    const char *name;
    enum control_arg_type type;
    bool required;
};

#define CONTROL_MAX_ARGS 6

struct control_cmd {
    const char *name;
    const char *help;
    struct control_arg args[CONTROL_MAX_ARGS];
    /* 0, or a negative ERR_* with r->err saying why (the error class
     * follows from the code). */
    int (*run)(struct control_req *r);
    /* It waits for vCPUs to leave their harts (snapshots): it runs only
     * where this hart has no vCPU loaded, so a request that arrives in a
     * guest's exit or interrupt waits for the run loop's next stop. */
    bool in_loop;
};

extern const struct control_cmd control_cmds[];
extern const unsigned control_ncmds;

/* Arguments, already checked against the command's list. */
bool control_arg_present(const struct control_req *r, const char *name);
int control_arg_str(struct control_req *r, const char *name, char *buf, size_t size);
uint64_t control_arg_u64(const struct control_req *r, const char *name, uint64_t dflt);
bool control_arg_bool(const struct control_req *r, const char *name, bool dflt);
/* The VM the "name" argument names; NULL with r failed (r->rc) if none.
 * self_verb: what a control VM may not do to itself ("stop"), refused
 * when the VM asking is this one: it could not come back from it. */
struct vm *control_arg_vm(struct control_req *r, const char *self_verb);
/* The token of an argument's value, or -1. */
int control_arg_tok(const struct control_req *r, const char *name);

/* Fails r with a message; returns code. */
int control_fail(struct control_req *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Commands in other files than commands.c. */
int control_cmd_upload_begin(struct control_req *r);
int control_cmd_upload_data(struct control_req *r);
int control_cmd_upload_cancel(struct control_req *r);
int control_cmd_vm_create(struct control_req *r);
int control_cmd_snapshot_restore(struct control_req *r);
int control_cmd_trace_start(struct control_req *r);
int control_cmd_trace_stop(struct control_req *r);
int control_cmd_trace_status(struct control_req *r);
int control_cmd_trace_read(struct control_req *r);
int control_cmd_gdb_attach(struct control_req *r);
int control_cmd_gdb_input(struct control_req *r);
int control_cmd_gdb_detach(struct control_req *r);
/* gdb.c, for each session at each work: stops to report and the stub's
 * bytes; and when a session ends: its stubs detach. */
void control_gdb_pump(struct control_session *s);
void control_gdb_gone(struct control_session *s);
int control_cmd_query_migration(struct control_req *r);
int control_cmd_migrate_cancel(struct control_req *r);
int control_cmd_migrate_resolve(struct control_req *r);

/* session.c, for the files above it. */
/* Work of a port above the sessions (the migration port) that runs in the
 * same place as theirs: fn is called at every work, under the control
 * lock, on a hart with no vCPU loaded.  Boot. */
void control_set_port_work(void (*fn)(void));
/* serve: one request line; false if it must wait (it is offered again
 * from the run loop). */
/* pump: what the files above have for a session, at each work; gone: a
 * session ended (both optional). */
struct control_session_hooks {
    void (*pump)(struct control_session *s);
    void (*gone)(struct control_session *s);
};
void control_sessions_init(uint32_t timebase_hz,
                           bool (*serve)(struct control_session *s, const char *line, size_t n),
                           const struct control_session_hooks *hooks);
uint32_t control_timebase(void);
/* Ticks of the time CSR in milliseconds. */
uint64_t control_ms(uint64_t ticks);
size_t control_out_room(const struct control_session *s);
/* Queues one message (w's JSON object) and its newline, if it fits whole. */
bool control_emit(struct control_session *s, struct jw *w);
void control_reply_error(struct control_session *s, const char *id, size_t idlen, const char *cls,
                         const char *desc);
/* The error class a negative ERR_* code is reported with ("NotFound"). */
const char *control_error_class(int code);
void control_upload_drop(struct control_upload *up);
/* The session follows vm's console output from log position from. */
void control_console_follow(struct control_session *s, struct vm *vm, uint64_t from);
void control_console_detach(struct control_session *s);
/* Whether any session follows vm's console. */
bool control_console_followed(const struct vm *vm);

#endif
