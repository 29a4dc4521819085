/*
 * Live capture straight from libpcap for `run --interface`: a capture thread fills buffers the
 * JS side lent us with records in pcap file layout (u32 ts_sec, u32 ts_usec, u32 caplen,
 * u32 len, bytes; host byte order) and hands each full buffer, or a partial one after
 * `flushMs`, to JS through a thread-safe function; JS parses it with the offline pcap record
 * parser and gives the buffer back. One JS call per batch instead of one per packet, and the
 * kernel timestamp and wire length survive (the `cap` binding drops both). When JS falls
 * behind, every buffer is out, the thread stops reading and the kernel ring drops, which
 * pcap_stats counts. Compiled lazily by ../pcap-addon.ts; plain N-API, linked with -lpcap.
 *
 *   devices() -> string[]
 *   open(device, filter, snaplen, promisc, kernelBufferBytes, timeoutMs, flushMs, buffers[], onBatch)
 *       -> handle; throws Error with code ENODEV | EPERM | EBPF | EPCAP
 *       onBatch(index, length): buffers[index][0, length) holds records; index -1: capture
 *       error (error(handle) says what), the thread has ended
 *   linkType(handle) -> DLT number
 *   release(handle, index)   the buffer may be filled again
 *   stats(handle) -> [ps_recv, ps_drop, ps_ifdrop]   (refreshed by the thread every 100 ms)
 *   error(handle) -> string
 *   close(handle)            stops and joins the thread, closes pcap; idempotent
 *   pending(handle) -> [index, length, ...]   after close: batches not yet delivered, oldest
 *       first (the tail a stop would otherwise lose); deliveries still queued are to be ignored
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* hand_off packs (index, length) into the tsfn's data pointer */
_Static_assert(sizeof(uintptr_t) >= 8, "64-bit only");

#define MAX_BUFS 64
#define REC_HDR 16

typedef struct {
  pcap_t *p;
  int pfd;
  int stopfd;
  int flush_ms;
  int timeout_ms;
  int nbufs;
  uint8_t *bufs[MAX_BUFS];
  size_t caps[MAX_BUFS];
  napi_ref refs[MAX_BUFS];
  /* guarded by mu: busy[i] 0 free, 1 being filled, 2 handed to JS (len, seq say what and when) */
  int busy[MAX_BUFS];
  size_t lens[MAX_BUFS];
  uint64_t seqs[MAX_BUFS];
  uint64_t seq;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  volatile int stop;
  /* capture thread only */
  int cur;          /* buffer being filled, -1 none */
  size_t used;      /* bytes in cur */
  int64_t first_ms; /* monotonic time of the first record in cur */
  int64_t stats_ms;
  /* under mu */
  uint64_t recv, drop, ifdrop;
  char err[PCAP_ERRBUF_SIZE + 64];
  pthread_t thread;
  int running;
  int closed;
  napi_threadsafe_function tsfn;
  int dlt;
} cap_t;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Data passed through the tsfn: index + 1 in the high bits, length in the low 32 (0 = error). */
static void hand_off(cap_t *c, int idx, size_t len) {
  if (idx >= 0) {
    pthread_mutex_lock(&c->mu);
    c->busy[idx] = 2;
    c->lens[idx] = len;
    c->seqs[idx] = ++c->seq;
    pthread_mutex_unlock(&c->mu);
  }
  uintptr_t v = ((uintptr_t)(idx + 1) << 32) | (uintptr_t)len;
  napi_call_threadsafe_function(c->tsfn, (void *)v, napi_tsfn_nonblocking);
}

static void refresh_stats(cap_t *c) {
  struct pcap_stat st;
  if (pcap_stats(c->p, &st) == 0) {
    pthread_mutex_lock(&c->mu);
    c->recv = st.ps_recv;
    c->drop = st.ps_drop;
    c->ifdrop = st.ps_ifdrop;
    pthread_mutex_unlock(&c->mu);
  }
  c->stats_ms = now_ms();
}

static void flush_cur(cap_t *c) {
  if (c->cur < 0 || c->used == 0) return;
  hand_off(c, c->cur, c->used);
  c->cur = -1;
  c->used = 0;
}

/* Takes a free buffer, waiting for JS to return one; false when stopping. */
static int acquire(cap_t *c) {
  pthread_mutex_lock(&c->mu);
  for (;;) {
    for (int i = 0; i < c->nbufs; i++) {
      if (!c->busy[i]) {
        c->busy[i] = 1;
        c->cur = i;
        c->used = 0;
        pthread_mutex_unlock(&c->mu);
        return 1;
      }
    }
    /* close() waits for this thread: while stopping, never wait for JS */
    if (c->stop) {
      pthread_mutex_unlock(&c->mu);
      return 0;
    }
    pthread_cond_wait(&c->cv, &c->mu);
  }
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes) {
  cap_t *c = (cap_t *)user;
  size_t need = REC_HDR + h->caplen;
  if (c->cur >= 0 && c->used + need > c->caps[c->cur]) flush_cur(c);
  if (c->cur < 0) {
    if (!acquire(c)) {
      pcap_breakloop(c->p);
      return;
    }
    c->first_ms = now_ms();
  }
  if (need > c->caps[c->cur]) return; /* cannot happen: buffers exceed snaplen */
  uint32_t hdr[4] = {(uint32_t)h->ts.tv_sec, (uint32_t)h->ts.tv_usec, h->caplen, h->len};
  uint8_t *d = c->bufs[c->cur] + c->used;
  memcpy(d, hdr, REC_HDR);
  memcpy(d + REC_HDR, bytes, h->caplen);
  c->used += need;
}

static void *run(void *arg) {
  cap_t *c = (cap_t *)arg;
  c->cur = -1;
  c->used = 0;
  c->stats_ms = 0;
  while (!c->stop) {
    int wait = 100;
    if (c->cur >= 0 && c->used > 0) {
      int64_t left = c->first_ms + c->flush_ms - now_ms();
      wait = left < 0 ? 0 : (int)left;
    }
    struct pollfd pf[2] = {{c->pfd, POLLIN, 0}, {c->stopfd, POLLIN, 0}};
    int r = poll(pf, 2, wait);
    if (r < 0 && errno != EINTR) {
      pthread_mutex_lock(&c->mu);
      snprintf(c->err, sizeof c->err, "poll: %s", strerror(errno));
      pthread_mutex_unlock(&c->mu);
      break;
    }
    if (c->stop) break;
    int n = pcap_dispatch(c->p, -1, on_packet, (u_char *)c);
    if (n == PCAP_ERROR) {
      pthread_mutex_lock(&c->mu);
      snprintf(c->err, sizeof c->err, "%s", pcap_geterr(c->p));
      pthread_mutex_unlock(&c->mu);
      flush_cur(c);
      hand_off(c, -1, 0);
      return NULL;
    }
    if (c->cur >= 0 && c->used > 0 && now_ms() - c->first_ms >= c->flush_ms) flush_cur(c);
    if (now_ms() - c->stats_ms >= 100) refresh_stats(c);
  }
  if (!c->stop) {
    hand_off(c, -1, 0);
    return NULL;
  }
  /* Stopping: the kernel hands over a TPACKET_V3 block only when it retires (timeout_ms), so
   * wait that long once and read what is left; pending() gives it to JS. */
  usleep((useconds_t)(c->timeout_ms + 2) * 1000);
  pcap_dispatch(c->p, -1, on_packet, (u_char *)c);
  return NULL;
}

static void call_js(napi_env env, napi_value cb, void *ctx, void *data) {
  (void)ctx;
  if (env == NULL || cb == NULL) return;
  uintptr_t v = (uintptr_t)data;
  napi_value args[2], undef;
  napi_create_int32(env, (int32_t)(v >> 32) - 1, &args[0]);
  napi_create_int32(env, (int32_t)(v & 0xffffffffu), &args[1]);
  napi_get_undefined(env, &undef);
  napi_call_function(env, undef, cb, 2, args, NULL);
}

static void stop_capture(napi_env env, cap_t *c) {
  if (c->closed) return;
  c->closed = 1;
  pthread_mutex_lock(&c->mu);
  c->stop = 1;
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
  uint64_t one = 1;
  if (write(c->stopfd, &one, sizeof one) < 0) { /* the stop flag alone ends the loop within 100 ms */
  }
  if (c->running) pthread_join(c->thread, NULL);
  c->running = 0;
  /* The partial buffer stays for pending(): JS drains it synchronously after close. */
  if (c->cur >= 0 && c->used > 0) {
    c->busy[c->cur] = 2;
    c->lens[c->cur] = c->used;
    c->seqs[c->cur] = ++c->seq;
  }
  c->cur = -1;
  if (c->p) {
    refresh_stats(c);
    pcap_close(c->p);
    c->p = NULL;
  }
  if (c->stopfd >= 0) close(c->stopfd);
  c->stopfd = -1;
  if (c->tsfn) napi_release_threadsafe_function(c->tsfn, napi_tsfn_release);
  c->tsfn = NULL;
  if (env) {
    for (int i = 0; i < c->nbufs; i++) {
      if (c->refs[i]) napi_delete_reference(env, c->refs[i]);
      c->refs[i] = NULL;
    }
  }
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  cap_t *c = (cap_t *)data;
  stop_capture(env, c);
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->cv);
  free(c);
}

/* A half-opened capture (no thread yet): undo what exists and throw. */
static napi_value fail_open(napi_env env, cap_t *c, const char *code, const char *msg) {
  if (c->p) pcap_close(c->p);
  if (c->stopfd >= 0) close(c->stopfd);
  if (c->tsfn) napi_release_threadsafe_function(c->tsfn, napi_tsfn_abort);
  for (int i = 0; i < c->nbufs; i++)
    if (c->refs[i]) napi_delete_reference(env, c->refs[i]);
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->cv);
  free(c);
  napi_throw_error(env, code, msg);
  return NULL;
}

static napi_value throw_code(napi_env env, const char *code, const char *msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

static cap_t *get_cap(napi_env env, napi_callback_info info, napi_value *argv, size_t *argc) {
  napi_get_cb_info(env, info, argc, argv, NULL, NULL);
  void *d = NULL;
  if (*argc < 1 || napi_get_value_external(env, argv[0], &d) != napi_ok) return NULL;
  return (cap_t *)d;
}

static napi_value Devices(napi_env env, napi_callback_info info) {
  (void)info;
  char eb[PCAP_ERRBUF_SIZE];
  pcap_if_t *all = NULL;
  if (pcap_findalldevs(&all, eb) != 0) return throw_code(env, "EPCAP", eb);
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t i = 0;
  for (pcap_if_t *d = all; d; d = d->next) {
    napi_value s;
    napi_create_string_utf8(env, d->name, NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, arr, i++, s);
  }
  pcap_freealldevs(all);
  return arr;
}

static napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 9) return throw_code(env, "EINVAL", "open: 9 arguments expected");
  char dev[256], filter[8192];
  size_t n;
  if (napi_get_value_string_utf8(env, argv[0], dev, sizeof dev, &n) != napi_ok)
    return throw_code(env, "EINVAL", "open: device must be a string");
  if (napi_get_value_string_utf8(env, argv[1], filter, sizeof filter, &n) != napi_ok)
    return throw_code(env, "EINVAL", "open: filter must be a string");
  int32_t snaplen = 0, promisc = 0, kbuf = 0, timeout = 0, flush = 0;
  napi_get_value_int32(env, argv[2], &snaplen);
  napi_get_value_int32(env, argv[3], &promisc);
  napi_get_value_int32(env, argv[4], &kbuf);
  napi_get_value_int32(env, argv[5], &timeout);
  napi_get_value_int32(env, argv[6], &flush);
  uint32_t nb = 0;
  napi_get_array_length(env, argv[7], &nb);
  if (nb < 2 || nb > MAX_BUFS) return throw_code(env, "EINVAL", "open: 2 to 64 buffers expected");

  cap_t *c = calloc(1, sizeof *c);
  if (!c) return throw_code(env, "ENOMEM", "open: out of memory");
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cv, NULL);
  c->flush_ms = flush > 0 ? flush : 15;
  c->nbufs = (int)nb;
  c->stopfd = -1;
  for (uint32_t i = 0; i < nb; i++) {
    napi_value b;
    napi_get_element(env, argv[7], i, &b);
    void *data = NULL;
    size_t len = 0;
    napi_typedarray_type t;
    if (napi_get_typedarray_info(env, b, &t, &len, &data, NULL, NULL) != napi_ok || t != napi_uint8_array ||
        len < (size_t)REC_HDR + (size_t)snaplen) {
      return fail_open(env, c, "EINVAL", "open: each buffer must be a Uint8Array larger than snaplen + 16");
    }
    c->bufs[i] = data;
    c->caps[i] = len;
    napi_create_reference(env, b, 1, &c->refs[i]);
  }

  char eb[PCAP_ERRBUF_SIZE] = "";
  c->p = pcap_create(dev, eb);
  if (!c->p) {
    return fail_open(env, c, "ENODEV", eb);
  }
  pcap_set_snaplen(c->p, snaplen);
  pcap_set_promisc(c->p, promisc);
  c->timeout_ms = timeout > 0 ? timeout : 10;
  pcap_set_timeout(c->p, c->timeout_ms);
  if (kbuf > 0) pcap_set_buffer_size(c->p, kbuf);
  int rc = pcap_activate(c->p);
  if (rc < 0) {
    char msg[PCAP_ERRBUF_SIZE + 64];
    const char *code = "EPCAP";
    if (rc == PCAP_ERROR_NO_SUCH_DEVICE) code = "ENODEV";
    else if (rc == PCAP_ERROR_PERM_DENIED || rc == PCAP_ERROR_PROMISC_PERM_DENIED) code = "EPERM";
    const char *status = pcap_statustostr(rc), *detail = pcap_geterr(c->p);
    if (!detail || !*detail || strcmp(detail, status) == 0) detail = NULL;
    snprintf(msg, sizeof msg, "%s%s%s", status, detail ? ": " : "", detail ? detail : "");
    return fail_open(env, c, code, msg);
  }
  if (filter[0]) {
    struct bpf_program prog;
    if (pcap_compile(c->p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0 || pcap_setfilter(c->p, &prog) != 0) {
      char msg[PCAP_ERRBUF_SIZE + 64];
      snprintf(msg, sizeof msg, "%s", pcap_geterr(c->p));
      return fail_open(env, c, "EBPF", msg);
    }
    pcap_freecode(&prog);
  }
  if (pcap_setnonblock(c->p, 1, eb) != 0) {
    return fail_open(env, c, "EPCAP", eb);
  }
  c->pfd = pcap_get_selectable_fd(c->p);
  c->dlt = pcap_datalink(c->p);
  c->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (c->pfd < 0 || c->stopfd < 0) {
    return fail_open(env, c, "EPCAP", "no selectable descriptor for this capture");
  }
  napi_value name;
  napi_create_string_utf8(env, "pcap-capture", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[8], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &c->tsfn) !=
      napi_ok) {
    return fail_open(env, c, "EPCAP", "cannot create the thread-safe callback");
  }
  if (pthread_create(&c->thread, NULL, run, c) != 0) {
    return fail_open(env, c, "EPCAP", "cannot start the capture thread");
  }
  /* from here on, close()/the finalizer (stop_capture) own the cleanup */
  c->running = 1;
  napi_value ext;
  napi_create_external(env, c, finalize, NULL, &ext);
  return ext;
}

static napi_value LinkType(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], r;
  cap_t *c = get_cap(env, info, argv, &argc);
  napi_create_int32(env, c ? c->dlt : -1, &r);
  return r;
}

static napi_value Release(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  cap_t *c = get_cap(env, info, argv, &argc);
  int32_t idx = -1;
  if (argc > 1) napi_get_value_int32(env, argv[1], &idx);
  if (c && idx >= 0 && idx < c->nbufs) {
    pthread_mutex_lock(&c->mu);
    c->busy[idx] = 0;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
  }
  return NULL;
}

static napi_value Stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], arr, v;
  cap_t *c = get_cap(env, info, argv, &argc);
  napi_create_array_with_length(env, 3, &arr);
  if (!c) return arr;
  pthread_mutex_lock(&c->mu);
  double s[3] = {(double)c->recv, (double)c->drop, (double)c->ifdrop};
  pthread_mutex_unlock(&c->mu);
  for (uint32_t i = 0; i < 3; i++) {
    napi_create_double(env, s[i], &v);
    napi_set_element(env, arr, i, v);
  }
  return arr;
}

static napi_value Error_(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], r;
  cap_t *c = get_cap(env, info, argv, &argc);
  char msg[sizeof c->err] = "";
  if (c) {
    pthread_mutex_lock(&c->mu);
    memcpy(msg, c->err, sizeof msg);
    pthread_mutex_unlock(&c->mu);
  }
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &r);
  return r;
}

/* After close: [index, length, ...] of the buffers JS has not processed yet, oldest first. */
static napi_value Pending(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], arr, v;
  cap_t *c = get_cap(env, info, argv, &argc);
  napi_create_array(env, &arr);
  if (!c || !c->closed) return arr;
  int order[MAX_BUFS], n = 0;
  for (int i = 0; i < c->nbufs; i++)
    if (c->busy[i] == 2) order[n++] = i;
  for (int a = 1; a < n; a++)
    for (int b = a; b > 0 && c->seqs[order[b]] < c->seqs[order[b - 1]]; b--) {
      int t = order[b];
      order[b] = order[b - 1];
      order[b - 1] = t;
    }
  for (int k = 0; k < n; k++) {
    napi_create_int32(env, order[k], &v);
    napi_set_element(env, arr, 2 * k, v);
    napi_create_int32(env, (int32_t)c->lens[order[k]], &v);
    napi_set_element(env, arr, 2 * k + 1, v);
    c->busy[order[k]] = 0;
  }
  return arr;
}

static napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  cap_t *c = get_cap(env, info, argv, &argc);
  if (c) stop_capture(env, c);
  return NULL;
}

NAPI_MODULE_INIT() {
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"devices", Devices}, {"open", Open},   {"linkType", LinkType}, {"release", Release},
             {"stats", Stats},     {"error", Error_}, {"close", Close}, {"pending", Pending}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  return exports;
}
