/* SPDX-License-Identifier: Apache-2.0 */
/* What a network frame carries besides its bytes when it crosses the
 * virtual switch: the virtio-net header (virtio 1.2, 5.1.6) of the
 * checksum and segmentation offloads, and the software fallbacks for a
 * receiver that did not take them (a guest without GUEST_CSUM or
 * GUEST_TSO4/6, the uplink when the host's NIC offers no offloads).
 *
 *   - checksum: NEEDS_CSUM with csum_start and csum_offset: the sender
 *     left the Internet checksum of [csum_start, end) to be done, the
 *     field at csum_start + csum_offset holding the pseudo-header sum
 *     (5.1.6.2).  net_csum_complete does it.
 *   - segmentation: gso_type TCPV4 or TCPV6 with gso_size: the frame is
 *     one Ethernet + IP + TCP header and up to 64 KiB of payload that the
 *     receiver must see as segments of at most gso_size payload bytes
 *     (5.1.6.2.1).  net_gso_segment cuts it: headers copied, IPv4 total
 *     length, id and header checksum, IPv6 payload length, TCP sequence
 *     number, FIN/PSH on the last segment only, CWR on the first only,
 *     and each TCP checksum computed whole.
 *
 * Everything here is checked as hostile input (the frame comes from a
 * guest): a frame that does not parse as what its header says is
 * refused (ERR_INVAL), never read or written out of bounds.  Pure code:
 * no locks, no allocation; unit-tested and fuzzed on the host. */
#ifndef VIREO_DEVICES_NET_OFFLOAD_H
#define VIREO_DEVICES_NET_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VNET_HDR_LEN 12 /* struct virtio_net_hdr with num_buffers (VERSION_1) */

#define VNET_HDR_F_NEEDS_CSUM 1
#define VNET_HDR_F_DATA_VALID 2

#define VNET_GSO_NONE  0
#define VNET_GSO_TCPV4 1
#define VNET_GSO_UDP   3
#define VNET_GSO_TCPV6 4
#define VNET_GSO_ECN   0x80

/* The largest frame a segmentation offload may carry: the 64 KiB IP
 * datagram behind an Ethernet header with one VLAN tag. */
#define VNET_GSO_MAX_FRAME (65535 + 18)

/* What a receiver takes as is (a bit mask). */
#define VNET_OFF_CSUM 1 /* NEEDS_CSUM frames */
#define VNET_OFF_TSO4 2 /* gso_type TCPV4 (with CSUM) */
#define VNET_OFF_TSO6 4 /* gso_type TCPV6 (with CSUM) */

/* The header's fields in host order. */
struct vnet_hdr {
    uint8_t flags, gso_type;
    uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
};

void vnet_hdr_parse(const uint8_t b[VNET_HDR_LEN], struct vnet_hdr *h);
void vnet_hdr_build(const struct vnet_hdr *h, uint8_t b[VNET_HDR_LEN]);

/* The offloads (VNET_OFF_*) a frame with header h needs from its
 * receiver; 0 for a plain frame. */
unsigned vnet_hdr_needs(const struct vnet_hdr *h);

/* The checksum header h asks for, within a frame of len bytes, is sane:
 * NEEDS_CSUM points inside the frame, a gso_type is TCPV4/TCPV6 with a
 * gso_size and NEEDS_CSUM, a frame longer than max_plain carries one, no
 * other flag bit or type (ECN included: not offered) is set. */
bool vnet_hdr_valid(const struct vnet_hdr *h, size_t len, size_t max_plain);

/* The 16-bit one's-complement sum (RFC 1071) of p[0..n) as big-endian
 * words, added to sum (a previous result, or 0); not complemented. */
uint16_t net_csum(const void *p, size_t n, uint16_t sum);

/* Completes the checksum NEEDS_CSUM asks for in frame (len bytes).
 * 0, or ERR_INVAL when the offsets do not fit. */
int net_csum_complete(uint8_t *frame, size_t len, uint16_t csum_start, uint16_t csum_offset);

/* Cuts the TCP segmentation frame (header h, len bytes) into segments of
 * at most h->gso_size payload bytes, each built in seg (room bytes) and
 * passed to emit (which returns 0 to go on, or an ERR_* code that stops
 * the cut and is returned).  A frame whose segments would not fit seg,
 * that is not Ethernet (one optional VLAN tag) + IPv4 without options
 * or fragments / IPv6 without extension headers + TCP as h says, or
 * whose header lengths run past its end: ERR_INVAL, nothing emitted.
 * Returns the number of segments emitted. */
int net_gso_segment(const struct vnet_hdr *h, const uint8_t *frame, size_t len, uint8_t *seg,
                    size_t room, int (*emit)(void *ctx, const uint8_t *seg, size_t len), void *ctx);

#endif
