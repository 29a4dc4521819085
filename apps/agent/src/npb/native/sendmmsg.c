/*
 * Batched datagram sends for the packet broker: one sendmmsg(2) per batch instead of one
 * syscall per copy (Node's dgram). Compiled lazily by ../fast-send.ts; plain N-API, no
 * node-addon-api, so it builds with the node headers alone.
 *
 *   open(kind)  -> fd      kind 0: UDP/IPv4, 1: raw IPv4 protocol 47 (GRE, root only); non-blocking
 *   send(fd, buf, offs, lens, addrs, ports, first, count) -> datagrams sent, or -errno
 *       buf: Uint8Array; offs/lens/addrs/ports: Int32Array (addr = IPv4 as int32, host order)
 *   close(fd)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <node_api.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_BATCH 1024

static struct mmsghdr msgs[MAX_BATCH];
static struct iovec iovs[MAX_BATCH];
static struct sockaddr_in addrs_[MAX_BATCH];

static int32_t arg_i32(napi_env env, napi_value v) {
  int32_t r = 0;
  napi_get_value_int32(env, v, &r);
  return r;
}

static void *typed(napi_env env, napi_value v, size_t *len) {
  napi_typedarray_type t;
  void *data = NULL;
  size_t n = 0;
  if (napi_get_typedarray_info(env, v, &t, &n, &data, NULL, NULL) != napi_ok) return NULL;
  if (len) *len = n;
  return data;
}

static napi_value num(napi_env env, int32_t v) {
  napi_value r;
  napi_create_int32(env, v, &r);
  return r;
}

static napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int kind = argc > 0 ? arg_i32(env, argv[0]) : 0;
  int fd = kind == 1 ? socket(AF_INET, SOCK_RAW, IPPROTO_GRE) : socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return num(env, -errno);
  int fl = fcntl(fd, F_GETFL, 0);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  int sz = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  return num(env, fd);
}

static napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  close(arg_i32(env, argv[0]));
  return num(env, 0);
}

static napi_value Send(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 8) return num(env, -EINVAL);
  int fd = arg_i32(env, argv[0]);
  size_t blen = 0;
  uint8_t *buf = typed(env, argv[1], &blen);
  int32_t *offs = typed(env, argv[2], NULL);
  int32_t *lens = typed(env, argv[3], NULL);
  int32_t *addrs = typed(env, argv[4], NULL);
  int32_t *ports = typed(env, argv[5], NULL);
  int first = arg_i32(env, argv[6]);
  int count = arg_i32(env, argv[7]);
  if (!buf || !offs || !lens || !addrs || !ports || count < 0) return num(env, -EINVAL);
  if (count > MAX_BATCH) count = MAX_BATCH;
  for (int i = 0; i < count; i++) {
    int k = first + i;
    if (offs[k] < 0 || lens[k] < 0 || (size_t)offs[k] + (size_t)lens[k] > blen) return num(env, -EINVAL);
    iovs[i].iov_base = buf + offs[k];
    iovs[i].iov_len = (size_t)lens[k];
    memset(&addrs_[i], 0, sizeof addrs_[i]);
    addrs_[i].sin_family = AF_INET;
    addrs_[i].sin_port = htons((uint16_t)ports[k]);
    addrs_[i].sin_addr.s_addr = htonl((uint32_t)addrs[k]);
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_name = &addrs_[i];
    msgs[i].msg_hdr.msg_namelen = sizeof addrs_[i];
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int sent = 0;
  while (sent < count) {
    int r = sendmmsg(fd, msgs + sent, (unsigned)(count - sent), 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (sent > 0) break;
      return num(env, -errno);
    }
    sent += r;
  }
  return num(env, sent);
}

NAPI_MODULE_INIT() {
  napi_value f;
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, Open, NULL, &f);
  napi_set_named_property(env, exports, "open", f);
  napi_create_function(env, "send", NAPI_AUTO_LENGTH, Send, NULL, &f);
  napi_set_named_property(env, exports, "send", f);
  napi_create_function(env, "close", NAPI_AUTO_LENGTH, Close, NULL, &f);
  napi_set_named_property(env, exports, "close", f);
  return exports;
}
