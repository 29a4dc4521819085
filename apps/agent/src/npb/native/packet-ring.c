/*
 * Complete frames out of an AF_PACKET TX ring, the path tcpreplay takes (a packet socket), but
 * with one send(2) flushing every frame queued in the ring instead of one syscall per frame.
 * Compiled lazily by ../packet-ring.ts; plain N-API.
 *
 *   open(ifindex, frameSize, frameCount, vnet) -> { fd, ring: ArrayBuffer, frames } or -errno
 *       SOCK_RAW packet socket bound to the interface with protocol 0 (it never receives),
 *       TPACKET_V2, PACKET_QDISC_BYPASS (straight to the driver, as tcpreplay's frames are not
 *       queued either), PACKET_LOSS (a malformed frame is skipped, not stuck at the head), and
 *       the TX ring mmap'ed and handed to JS as an external ArrayBuffer: JS writes each frame at
 *       slot * frameSize + 32, its length at +4 and TP_STATUS_SEND_REQUEST (1) at +0.
 *       vnet = 1: PACKET_VNET_HDR, each frame preceded by a 10-byte virtio_net_hdr whose hdr_len
 *       tells the kernel how many bytes to copy into the skb; the rest would be attached as
 *       pages of the ring (zero copy), which a veth or loopback hop then copies into a freshly
 *       allocated page per frame (skb_copy_ubufs) and a NIC maps for DMA one by one.
 *   flush(fd) -> bytes the kernel took, or -errno (EAGAIN and ENOBUFS included)
 *   close(fd)  the mapping stays valid until the ArrayBuffer is collected (then munmap)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <node_api.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

static int32_t arg_i32(napi_env env, napi_value v) {
  int32_t r = 0;
  napi_get_value_int32(env, v, &r);
  return r;
}

static napi_value num(napi_env env, int32_t v) {
  napi_value r;
  napi_create_int32(env, v, &r);
  return r;
}

static void unmap(napi_env env, void *data, void *hint) {
  (void)env;
  munmap(data, (size_t)hint);
}

static napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) return num(env, -EINVAL);
  int ifindex = arg_i32(env, argv[0]);
  int frame = arg_i32(env, argv[1]);
  int count = arg_i32(env, argv[2]);
  int vnet = argc > 3 ? arg_i32(env, argv[3]) : 0;
  if (frame < 64 || frame % TPACKET_ALIGNMENT || 4096 % frame || count < 1) return num(env, -EINVAL);

  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return num(env, -errno);
  int v2 = TPACKET_V2, one = 1;
  struct tpacket_req req = {
      .tp_block_size = 4096,
      .tp_block_nr = (unsigned)((count * frame + 4095) / 4096),
      .tp_frame_size = (unsigned)frame,
  };
  req.tp_frame_nr = req.tp_block_nr * (4096 / (unsigned)frame);
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = ifindex;
  sll.sll_protocol = 0;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v2, sizeof v2) < 0 ||
      (vnet && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) ||
      setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0 ||
      setsockopt(fd, SOL_PACKET, PACKET_LOSS, &one, sizeof one) < 0 ||
      setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof req) < 0 ||
      bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    int e = errno;
    close(fd);
    return num(env, -e);
  }
  /* Every frame in flight (queued behind a busy queue, or on a NIC until TX completion) holds
   * its skb against the socket's send buffer; the default (~200 KiB) stalls the ring at a
   * couple of hundred frames with EAGAIN. Room for the whole ring: */
  int sndbuf = (int)(req.tp_frame_nr * (unsigned)(frame + 1024));
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  size_t len = (size_t)req.tp_block_size * req.tp_block_nr;
  void *ring = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (ring == MAP_FAILED) {
    int e = errno;
    close(fd);
    return num(env, -e);
  }
  napi_value ab, obj;
  if (napi_create_external_arraybuffer(env, ring, len, unmap, (void *)len, &ab) != napi_ok) {
    munmap(ring, len);
    close(fd);
    return num(env, -ENOMEM);
  }
  napi_create_object(env, &obj);
  napi_set_named_property(env, obj, "fd", num(env, fd));
  napi_set_named_property(env, obj, "ring", ab);
  napi_set_named_property(env, obj, "frames", num(env, (int32_t)req.tp_frame_nr));
  return obj;
}

static napi_value Flush(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1) return num(env, -EINVAL);
  int fd = arg_i32(env, argv[0]);
  for (;;) {
    ssize_t r = send(fd, NULL, 0, MSG_DONTWAIT);
    if (r >= 0) return num(env, r > 0x7fffffff ? 0x7fffffff : (int32_t)r);
    if (errno != EINTR) return num(env, -errno);
  }
}

static napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc > 0) close(arg_i32(env, argv[0]));
  return num(env, 0);
}

NAPI_MODULE_INIT() {
  napi_value f;
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, Open, NULL, &f);
  napi_set_named_property(env, exports, "open", f);
  napi_create_function(env, "flush", NAPI_AUTO_LENGTH, Flush, NULL, &f);
  napi_set_named_property(env, exports, "flush", f);
  napi_create_function(env, "close", NAPI_AUTO_LENGTH, Close, NULL, &f);
  napi_set_named_property(env, exports, "close", f);
  return exports;
}
