/**
 * The C of the native HTTP/1 row path (see ./http1-rows.ts, which compiles it after
 * ROWS_COMMON_C, HTTP1_SCAN_C and APP_METRICS_C). It is a port of what the JS path does for an
 * HTTP/1 flow, with the same results: the processor's stream handling (../processor.ts:
 * sequence tracking, out-of-order hold, gaps and resync, buffering, errors, pairing, timeouts,
 * row building), the parser (../protocols/http1.ts) and the header policy's trace extraction
 * (../trace-context.ts). Rows are formatted here as JSONL bytes identical to JSON.stringify of
 * the JS row, and counted into the application metrics here, so no JS object is made per row.
 * DNS over UDP (./dns-rows-c.ts) and Redis (./redis-rows-c.ts) flows share this file's flows,
 * queue, output and metrics. JS keeps detection, flow ids and everything of other protocols. In
 * own-thread mode (create's `fds`) the N-API calls enqueue commands into a ring and
 * fp_thread_main runs them, writing the rows to the files itself; segments in pinned blocks are
 * passed by pointer (see BlockFence), segments of a capture file the thread reads itself by
 * offset (readFile(), fp_file_at).
 */
export const HTTP1_ROWS_C = String.raw`
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#include <sys/stat.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#define FP_MAX_HELD 8
/* Header policy names (the processor keeps flows in JS beyond this: MAX_NATIVE_NAMES). */
#define FP_MAX_NAMES 256
#define FP_POOL_MAX 1024
#define FP_MAX_RESYNC 32
#define FP_PATH_MAX 1024
#define FP_HOST_MAX 256
#define FP_EXC_MAX 128
#define FP_ID_MAX 128
#define FP_VALUE_MAX 256
#define FP_FIELD_MAX 512
#define FP_FLUSH_AT (1 << 20)
#define FP_OUT_CAP (FP_FLUSH_AT + (64 << 10))
/* pinned blocks: the reader's 16 (chunked-source.ts), and its next 16 when a record outgrows them */
#define FP_MAX_PINS 64
/* Own-thread mode: command ring bytes, and the backlog at which a sleeping thread is woken. The
   block fence keeps the thread within 16 blocks (~2 000 segments, ~100 KB of commands); a small
   ring stays in the caches (8 MiB: 746-805 ms on web-1m, 1 MiB: 725-775, 6 alternated rounds).
   It must hold one copied segment (MAX_PACKET, 256 KiB) with its header. */
#define FP_RING (1u << 20)
/* wchunk(): the JS JSONL writers' chunks the thread writes (slots of this many bytes; a longer
   chunk goes as several commands), and the failed writes kept for failure(fd). */
#define FP_WSLOTS 4
#define FP_WSLOT_BYTES ((1u << 20) + (64u << 10))
#define FP_WFAILS 8
/* segs(): numbers per segment in args, and segments per call at most. */
#define FP_SEG_ARGS 8
/* segs(): a queued flow end has this in its direction's place (SEG_END in http1-rows.ts), a
   flow's opening FP_SEG_OPEN (SEG_OPEN, two records: see fp_open_one). */
#define FP_SEG_END 2
#define FP_SEG_OPEN 3
/* Flow ids (the JS's, dense from 0) at most. */
#define FP_MAX_FLOW_ID (1 << 24)
#define FP_SEG_BATCH 256
#define FP_WAKE (32u << 10)
/* The row thread, out of commands within FP_BUSY_NS of its last ones, sleeps FP_POLL_NS on its
   own core's timer instead of waiting to be woken: the JS thread's wake-ups (~2000 on web-1m,
   each an interrupt sent to the other core, which a VM makes dear) cost it ~11 ms a run. Past
   FP_BUSY_NS idle (a live capture gone quiet) it waits to be woken as before. perf, 3 runs
   each: the JS thread's time in those wake-ups 3.5 against 10.5 ms; alternated runs, 10 each:
   its wait for a core 50.5 against 70.5 ms, 849.5 against 860.5 ms median. */
#define FP_POLL_NS 300000L
#define FP_BUSY_NS 20000000LL

static const char *const FP_METHODS[] = {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE"};
static const int FP_METHOD_LEN[] = {3, 4, 3, 6, 4, 7, 5, 7, 5};
#define FP_HEAD 4

/* Trace context of one request (trace-context.ts's TraceContext), bytes of latin1 strings. */
typedef struct {
  uint8_t tid[FP_ID_MAX], sid[FP_ID_MAX], pid[FP_ID_MAX], xid[FP_ID_MAX];
  int tid_len, sid_len, pid_len, xid_len;
} fp_trace_t;

typedef struct {
  int64_t ts;
  int64_t length;
  uint32_t seq;
  int method;
  int ver_len, host_len, path_len, ep_len;
  uint8_t ver[8];
  uint8_t host[FP_HOST_MAX];
  uint8_t path[FP_PATH_MAX];
  fp_trace_t trace;
  /* DNS (dns-rows-c.ts): the transaction id and the question's type; the name is in path */
  int key, dtype_len;
  uint8_t dtype[8];
  /* PostgreSQL (pg-rows-c.ts): the resource when longer than path holds (malloc'd, freed with
     the request's row) */
  uint8_t *big;
} fp_req_t;

typedef struct {
  uint8_t *data;
  int32_t len;
  uint32_t seq;
  int64_t ts;
} fp_held_t;

/* What a flow's segments are: HTTP/1 (this file), DNS datagrams (dns-rows-c.ts), a Redis
   stream (redis-rows-c.ts) or a PostgreSQL one (pg-rows-c.ts). */
enum { FP_KIND_HTTP, FP_KIND_DNS, FP_KIND_REDIS, FP_KIND_PG };
/* each kind's l7_protocol */
static const char *const FP_KIND_NAME[] = {"http", "dns", "redis", "postgresql"};
struct fp_redis;
struct fp_pg;

typedef struct fp_flow {
  int kind;
  int failed, errors;
  uint8_t *p1, *p2, *srvj;
  size_t p1_len, p2_len, srvj_len, fixed_cap;
  uint32_t srv;
  int resync_fails[2];
  uint32_t next[2];
  int has_next[2];
  uint8_t *buf[2];
  int32_t buf_cap[2], buf_len[2];
  uint32_t buf_seq[2];
  int64_t skip[2];
  int resync[2];
  fp_held_t held[2][FP_MAX_HELD];
  int nheld[2];
  fp_req_t *pend;
  int pcap, phead, pcount;
  int64_t last_ts;
  int listed;
  struct fp_flow *lprev, *lnext;
  /* the parser (Http1Parser) */
  int chunk[2], to_close[2];
  /* the Redis tokenizer's state (FP_KIND_REDIS) */
  struct fp_redis *redis;
  /* the PostgreSQL parser's state (FP_KIND_PG) */
  struct fp_pg *pg;
} fp_flow_t;

/* One header name of the policy: kind 1-7 the standard names in trace-context.ts's switch order, 0 other. */
typedef struct {
  uint8_t name[64];
  int len, kind, reqid, custom;
} fp_name_t;

/* Direct output (own-thread mode): the thread's two large files, l7_flow_log and
   application_metrics, go through the page cache until their writes turn out slow, and are then
   written with O_DIRECT where the file system takes it: whole aligned buffers, reused, go to the
   device instead of their bytes being copied into new page-cache pages.
   Why: on the VMs this runs on, a page-cache page that the host had taken back cost up to
   ~10 µs to fill. web-1m's L7 run writes 345 MB: its row thread's system time was 0.11 s in some
   benches and 0.36-0.55 s in others, and the run took ~1 s instead of ~0.6; in session 12 most
   runs found ~100 MB of fast pages and then 1.8-2.3 ms of CPU a MiB. Not direct from the start:
   where the page cache is fast and the device slow (a disk, a network file system), direct
   writes would hold the analysis to the device's speed, which the page cache hides.
   A file switches once its buffered writes cost more than FP_DIO_SLOW_NS of CPU a MiB (fast:
   ~0.2-0.3 ms, slow: 1-2.3 ms) in two windows of FP_DIO_WINDOW bytes in a row (one alone may be a
   passing hiccup), and the other file with it: both meet the same memory. Windows of 1 MiB (one
   write each) keep the cost of noticing to ~4 ms; session 11's 8 MiB windows, per file, cost the
   thread ~50 ms of system time in every run of session 12. Alternated runs against direct from
   the start: 755 against 702 ms median with 8 MiB windows, 645 against 655 with 1 MiB.
   A writer thread does the direct writes: the row thread waits for the device only when all of
   a file's buffers are in flight. At flush the aligned part goes this way, then O_DIRECT is
   cleared and the unaligned tail written through the page cache. */
#define FP_DIO_SLOW_NS 700000
#define FP_DIO_WINDOW (1u << 20)
#define FP_DIO_BUFS 4
#define FP_DIO_ALIGN 4096u
#define FP_DIO_BUF FP_OUT_CAP
/* Once direct, l7_flow_log's rows are still formatted in 'out', drained into the direct buffers
   every FP_DIO_STAGE bytes with streaming stores (fp_copy_out): 'out' stays in the row thread's
   cache, and the buffers, which the CPU never reads again, do not take the capture's place in
   the shared cache nor make the memory read them first. Formatting straight into the buffers
   (session 11) wrote 345 MB of lines that had to be read from memory first, beside the JS
   thread's ~3.5 GB of capture reads, which slow down when the other core loads the memory.
   perf, direct output, 4 runs each: the JS thread's kernel copy of the capture 607 against 646
   samples (2 kHz), this thread 619 against 690. */
#define FP_DIO_STAGE (256u << 10)

typedef struct {
  int fd;
  /* O_DIRECT is set on fd and the buffers exist; 0: plain writes */
  int on;
  /* may go direct (a regular file this thread alone appends to); wants to, at the next write */
  int can, want;
  /* the file's size: every byte of it went through this thread */
  uint64_t eof;
  /* plain writes' bytes and thread CPU time (ns) in the current window; slow windows in a row */
  uint64_t win_bytes, win_ns;
  int slow_windows;
  /* FP_DIO_SLOW_NS and FP_DIO_WINDOW, unless create's directSlow changed them (tests) */
  uint64_t slow_ns, window;
  uint8_t *buf[FP_DIO_BUFS];
  int cur;
  /* bytes in buf[cur] */
  size_t fill;
  /* buffers handed to the writer (row thread) and written (writer thread, under the mutex) */
  uint64_t submitted, written;
} fp_dio_t;

typedef struct {
  fp_dio_t *d;
  const uint8_t *p;
  size_t n;
} fp_dio_job_t;

typedef struct {
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv_job, cv_done;
  /* jobs in order, under mu: at most FP_DIO_BUFS in flight per file */
  fp_dio_job_t q[2 * FP_DIO_BUFS];
  uint64_t qh, qt;
  int inited, started, stop, err;
  /* the writer started: some output went or goes direct */
  int used;
} fp_dio_w_t;

/* A metrics server: address words, port and kind; id never reused. */
typedef struct {
  uint32_t w[4];
  uint32_t port_kind_ver; /* port << 16 | ver << 8 | kind */
  uint32_t used;
  uint32_t id;
} fp_srv_key_t;

/* Three groups of fields, each starting a cache line (the struct is allocated aligned): with the
   row thread on, the other core writes its fields (parse scratch, buffers) for every message,
   and a JS-thread field on one of their lines cost every call a cache miss. */
typedef struct {
  /* Set before the thread starts, then only read (by both). */
  _Alignas(64) int threaded;
  uint8_t *ring;
  uint64_t ring_cap;
  /* The JS thread's. */
  _Alignas(64) napi_env env;
  const uint8_t *seg_data;
  size_t seg_len;
  /* The capture file read by offset (readFile()): its descriptor (-1: none), its size, and
     seg_file: the records segs() takes next give file offsets, not offsets into seg_data.
     Touched by the JS thread until the thread's first FSEG; then fw_* are the thread's. */
  int file_fd;
  uint64_t file_size;
  int seg_file;
  /* The thread's window of the file, [fw_lo, fw_hi) mapped at fw_p; FSEGs since the lease was
     last looked at; file_pread: the lease is gone, segments are read with pread into fbuf
     (fbuf_cap bytes); segments that could not be read */
  const uint8_t *fw_p;
  uint64_t fw_lo, fw_hi;
  uint32_t fw_since_check;
  int file_pread;
  /* for stats(): 1 once readFile() held, 2 once the thread fell back to pread */
  int file_state;
  uint8_t *fbuf;
  size_t fbuf_cap;
  double file_lost;
  double *args;
  /* Commands enqueued (published as 'head'), the last 'tail' read and the last wake check. */
  uint64_t phead, ptail, wake_checked;
  /* the buf() array is a pinned block (segments point into it, not copied) */
  int seg_stable;
  const uint8_t *pin_lo[FP_MAX_PINS], *pin_hi[FP_MAX_PINS];
  napi_ref pin_ref[FP_MAX_PINS];
  int npin;
  /* flow ids opened so far are below m_next (the thread's flows array follows them) */
  int m_next;
  /* the metrics' server ids (fp_server_id), and flows not opened for want of memory */
  fp_srv_key_t *srv_keys;
  uint32_t srv_cap, srv_used, srv_seq;
  double open_failed;
  napi_ref seg_ref;
  /* wchunk()'s copies, each free once 'tail' reaches its free_at */
  uint8_t *wslot[FP_WSLOTS];
  uint64_t wslot_free_at[FP_WSLOTS];
  /* The rest is the row thread's (or, without one, the JS thread's), except the ring's atomics. */
  _Alignas(64) napi_ref sink_l7, sink_am, out_ref, am_xfer_ref, args_ref;
  uint8_t *am_xfer;
  fp_flow_t **flows;
  int nflows, flows_cap;
  fp_flow_t *pool[FP_POOL_MAX];
  int npool;
  fp_flow_t *lhead, *ltail;
  fp_am_t *am;
  /* "org_id":…,"agent_id":… for the rows */
  uint8_t *ids;
  size_t ids_len;
  fp_buf_t out, am_out;
  uint64_t out_rows, am_rows_sent;
  int64_t timeout_us;
  int max_pending, max_buf, max_errors;
  fp_name_t names[FP_MAX_NAMES];
  int nnames;
  int16_t by_first[256][FP_MAX_NAMES];
  uint16_t by_first_n[256];
  double st[24];
  int32_t pos[OUT_LEN];
  fp_trace_t scratch;
  /* scratch header facts of the message being parsed */
  const uint8_t *h_host;
  int h_host_len;
  int64_t h_cl;
  int h_chunked;
  int64_t cur_ts;
  uint32_t cur_seq;
  int traced;
  /* Own-thread mode (fp_thread_main): the JS calls only enqueue commands into 'ring'; the
     thread owns the fields from sink_l7 on and writes rows to the files itself. */
  int fd_l7, fd_am, write_errno;
  fp_dio_t dio_l7, dio_am;
  fp_dio_w_t dio;
  /* Failed writes of wchunk()'s chunks: (fd, errno), read by the JS thread once past them. */
  int wfail_fd[FP_WFAILS], wfail_errno[FP_WFAILS];
  _Atomic int nwfail;
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv_cons, cv_prod;
  /* Commands published ('head', by the JS thread) and consumed ('tail', by the row thread):
     each written by one thread, on a cache line of its own. */
  _Alignas(64) _Atomic uint64_t head;
  _Alignas(64) _Atomic uint64_t tail;
  _Alignas(64) _Atomic uint64_t prod_target;
  _Atomic int cons_sleeping, prod_waiting, stop;
  char pad_[64];
} fp_l7_t;

enum { S_ROWS, S_TIMEOUTS, S_ORPHANS, S_PARSE_ERRORS, S_GAPS, S_REORDERED, S_BUF_OVERFLOWS, S_PENDING_OVERFLOWS, S_FLOWS_FAILED };

/* ---- output ---------------------------------------------------------------------------- */

static void fp_call_sink(fp_l7_t *s, napi_ref fn_ref, napi_ref view_ref, size_t len, uint64_t rows) {
  napi_env env = s->env;
  napi_value fn, view, argv[3], undef, res;
  if (napi_get_reference_value(env, fn_ref, &fn) != napi_ok || fn == NULL) return;
  if (napi_get_reference_value(env, view_ref, &view) != napi_ok) return;
  argv[0] = view;
  napi_create_double(env, (double)len, &argv[1]);
  napi_create_double(env, (double)rows, &argv[2]);
  napi_get_undefined(env, &undef);
  napi_call_function(env, undef, fn, 3, argv, &res);
}

/* Sets or clears O_DIRECT on fd; 0 when done. */
static int fp_set_direct(int fd, int on) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return -1;
  int want = on ? fl | O_DIRECT : fl & ~O_DIRECT;
  return want == fl ? 0 : fcntl(fd, F_SETFL, want);
}

/* write(2) of a whole buffer: 0 or the errno. A direct write the file system refuses (EINVAL:
   alignment) clears O_DIRECT and goes through the page cache, as later ones then do. */
static int fp_write_fd(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      int e = errno, fl = e == EINVAL ? fcntl(fd, F_GETFL) : -1;
      if (fl >= 0 && (fl & O_DIRECT) && fp_set_direct(fd, 0) == 0) continue;
      return e;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Own-thread mode: the thread writes its rows to the file itself (the JsonlWriter's descriptor,
   opened with O_APPEND: its own chunks and these land whole, in either order). The first error
   stops the writing and is reported by flush(). */
static void fp_write_all(fp_l7_t *s, int fd, const uint8_t *p, size_t n) {
  if (s->write_errno == 0) s->write_errno = fp_write_fd(fd, p, n);
}

static void *fp_dio_main(void *arg) {
  fp_dio_w_t *w = arg;
  pthread_setname_np(pthread_self(), "fp-l7-direct");
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (w->qh == w->qt && !w->stop) pthread_cond_wait(&w->cv_job, &w->mu);
    if (w->qh == w->qt) break;
    fp_dio_job_t j = w->q[w->qt % (2 * FP_DIO_BUFS)];
    pthread_mutex_unlock(&w->mu);
    int e = fp_write_fd(j.d->fd, j.p, j.n);
    pthread_mutex_lock(&w->mu);
    if (e != 0 && w->err == 0) w->err = e;
    w->qt++;
    j.d->written++;
    pthread_cond_broadcast(&w->cv_done);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

/* At create: whether fd may go direct later (a regular file, empty so far; the JSONL writers
   hand this thread their chunks of it, so it alone appends to it). */
static void fp_dio_check(fp_dio_t *d, int fd) {
  d->fd = fd;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size % FP_DIO_ALIGN != 0) return;
  d->eof = (uint64_t)st.st_size;
  d->can = 1;
}

/* direct: 1 from the start, -1 never, 0 once slow (NativeRowsConfig.direct). */
static void fp_dio_setup(fp_l7_t *s, int direct, double slow_ns, double window) {
  fp_dio_w_t *w = &s->dio;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv_job, NULL);
  pthread_cond_init(&w->cv_done, NULL);
  w->inited = 1;
  s->dio_l7.fd = s->fd_l7;
  s->dio_am.fd = s->fd_am;
  s->dio_l7.slow_ns = s->dio_am.slow_ns = slow_ns > 0 ? (uint64_t)slow_ns : FP_DIO_SLOW_NS;
  s->dio_l7.window = s->dio_am.window = window > 0 ? (uint64_t)window : FP_DIO_WINDOW;
  if (direct < 0) return;
  fp_dio_check(&s->dio_l7, s->fd_l7);
  if (s->fd_am != s->fd_l7) fp_dio_check(&s->dio_am, s->fd_am);
  s->dio_l7.want = s->dio_am.want = direct > 0;
}

/* Turns direct writes on for d (its size aligned): buffers, O_DIRECT, the writer thread; 0 (and
   never again) when any of them cannot be had. */
static int fp_dio_start(fp_l7_t *s, fp_dio_t *d) {
  fp_dio_w_t *w = &s->dio;
  d->can = 0;
  d->want = 0;
  struct stat st;
  if (d->eof % FP_DIO_ALIGN != 0 || fstat(d->fd, &st) != 0 || (uint64_t)st.st_size != d->eof) return 0;
  int ok = 1;
  for (int i = 0; i < FP_DIO_BUFS; i++)
    if (posix_memalign((void **)&d->buf[i], FP_DIO_ALIGN, FP_DIO_BUF) != 0) {
      d->buf[i] = NULL;
      ok = 0;
    }
  ok = ok && fp_set_direct(d->fd, 1) == 0;
  if (ok && !w->started) {
    ok = pthread_create(&w->th, NULL, fp_dio_main, w) == 0;
    w->started = ok;
    if (!ok) fp_set_direct(d->fd, 0);
  }
  if (!ok) {
    for (int i = 0; i < FP_DIO_BUFS; i++) {
      free(d->buf[i]);
      d->buf[i] = NULL;
    }
    return 0;
  }
  w->used = 1;
  d->on = 1;
  d->cur = 0;
  d->fill = 0;
  return 1;
}

/* A plain write of fd's bytes, timed: a file whose writes cost more than FP_DIO_SLOW_NS a MiB
   of this thread's CPU over a window wants to go direct. */
static void fp_write_file(fp_l7_t *s, fp_dio_t *d, const uint8_t *p, size_t n) {
  struct timespec a, b;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
  fp_write_all(s, d->fd, p, n);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
  d->eof += n;
  if (!d->can) return;
  d->win_bytes += n;
  d->win_ns += (uint64_t)((b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
  if (d->win_bytes < d->window) return;
  /* two windows in a row: one alone may be a passing hiccup (reclaim, compaction) */
  if ((double)d->win_ns > (double)d->slow_ns * (double)d->win_bytes / (1 << 20)) d->want = ++d->slow_windows >= 2;
  else d->slow_windows = 0;
  if (d->want) {
    /* The other file meets the same memory: it goes too, without its own slow windows. */
    fp_dio_t *o = d == &s->dio_l7 ? &s->dio_am : &s->dio_l7;
    if (o->can && !o->on) o->want = 1;
  }
  d->win_bytes = 0;
  d->win_ns = 0;
}

/* The bytes of a plain write that bring d's size to alignment (so that direct writes can
   append), or -1 when d does not want to go direct. */
static int64_t fp_dio_lead(const fp_dio_t *d) {
  if (!d->want || d->on) return -1;
  return (int64_t)((FP_DIO_ALIGN - d->eof % FP_DIO_ALIGN) % FP_DIO_ALIGN);
}

/* Undoes fp_dio_setup (what is still queued is written first): at the finalizer, or when the
   row thread could not start. */
static void fp_dio_close(fp_l7_t *s) {
  fp_dio_w_t *w = &s->dio;
  if (!w->inited) return;
  if (w->started) {
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv_job);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    w->started = 0;
  }
  fp_dio_t *ds[2] = {&s->dio_l7, &s->dio_am};
  for (int k = 0; k < 2; k++) {
    if (ds[k]->on) {
      fp_set_direct(ds[k]->fd, 0);
      ds[k]->on = 0;
    }
    for (int i = 0; i < FP_DIO_BUFS; i++) {
      free(ds[k]->buf[i]);
      ds[k]->buf[i] = NULL;
    }
  }
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv_job);
  pthread_cond_destroy(&w->cv_done);
  w->inited = 0;
}

/* Queues buf[cur]'s first n bytes for the writer (its mutex held). */
static void fp_dio_enqueue(fp_dio_w_t *w, fp_dio_t *d, size_t n) {
#if defined(__x86_64__)
  /* fp_copy_out's streaming stores are weakly ordered: done before the writer may read */
  _mm_sfence();
#endif
  w->q[w->qh % (2 * FP_DIO_BUFS)] = (fp_dio_job_t){d, d->buf[d->cur], n};
  w->qh++;
  d->submitted++;
  pthread_cond_signal(&w->cv_job);
}

/* Hands buf[cur]'s first n bytes to the writer and moves to the next buffer, once it is free. */
static void fp_dio_submit(fp_l7_t *s, fp_dio_t *d, size_t n) {
  fp_dio_w_t *w = &s->dio;
  pthread_mutex_lock(&w->mu);
  fp_dio_enqueue(w, d, n);
  /* the next buffer went out FP_DIO_BUFS submissions ago */
  while (d->submitted - d->written >= FP_DIO_BUFS) pthread_cond_wait(&w->cv_done, &w->mu);
  pthread_mutex_unlock(&w->mu);
  d->cur = (d->cur + 1) % FP_DIO_BUFS;
  d->fill = 0;
}

/* memcpy into a direct buffer, past its first 16-byte boundary with streaming stores (see
   FP_DIO_STAGE). */
static void fp_copy_out(uint8_t *dst, const uint8_t *src, size_t n) {
#if defined(__x86_64__)
  if (n >= 256) {
    size_t head = (16 - ((uintptr_t)dst & 15)) & 15, body;
    memcpy(dst, src, head);
    dst += head;
    src += head;
    n -= head;
    body = n & ~(size_t)63;
    for (size_t i = 0; i < body; i += 64) {
      __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
      __m128i b = _mm_loadu_si128((const __m128i *)(src + i + 16));
      __m128i c = _mm_loadu_si128((const __m128i *)(src + i + 32));
      __m128i e = _mm_loadu_si128((const __m128i *)(src + i + 48));
      _mm_stream_si128((__m128i *)(dst + i), a);
      _mm_stream_si128((__m128i *)(dst + i + 16), b);
      _mm_stream_si128((__m128i *)(dst + i + 32), c);
      _mm_stream_si128((__m128i *)(dst + i + 48), e);
    }
    dst += body;
    src += body;
    n -= body;
  }
#endif
  memcpy(dst, src, n);
}

static void fp_dio_put(fp_l7_t *s, fp_dio_t *d, const uint8_t *p, size_t n) {
  while (n > 0) {
    size_t k = FP_DIO_BUF - d->fill;
    if (k > n) k = n;
    fp_copy_out(d->buf[d->cur] + d->fill, p, k);
    d->fill += k;
    p += k;
    n -= k;
    if (d->fill == FP_DIO_BUF) fp_dio_submit(s, d, FP_DIO_BUF);
  }
}

/* The plain-write side of p[0..n) for d, not yet direct: all of it (then -1), or, when d wants
   to go direct and these bytes reach alignment, the k that do (then k, and d is direct). */
static int64_t fp_dio_begin(fp_l7_t *s, fp_dio_t *d, const uint8_t *p, size_t n) {
  int64_t k = fp_dio_lead(d);
  if (k < 0 || (size_t)k > n) {
    fp_write_file(s, d, p, n);
    return -1;
  }
  fp_write_file(s, d, p, (size_t)k);
  if (!fp_dio_start(s, d)) {
    fp_write_file(s, d, p + k, n - (size_t)k);
    return -1;
  }
  return k;
}

/* Bytes for one of the thread's two files: through the page cache, then direct once it wants
   to be. */
static void fp_file_put(fp_l7_t *s, fp_dio_t *d, const uint8_t *p, size_t n) {
  if (!d->on) {
    int64_t k = fp_dio_begin(s, d, p, n);
    if (k < 0) return;
    p += k;
    n -= (size_t)k;
  }
  fp_dio_put(s, d, p, n);
}

/* End of the direct writes of d: its aligned part through the writer, everything written, then
   O_DIRECT cleared and the tail written here. */
static void fp_dio_finish(fp_l7_t *s, fp_dio_t *d) {
  if (!d->on) return;
  fp_dio_w_t *w = &s->dio;
  size_t tail = d->fill % FP_DIO_ALIGN, a = d->fill - tail;
  const uint8_t *tp = d->buf[d->cur] + a;
  pthread_mutex_lock(&w->mu);
  if (a > 0) fp_dio_enqueue(w, d, a);
  while (d->written != d->submitted) pthread_cond_wait(&w->cv_done, &w->mu);
  if (w->err != 0 && s->write_errno == 0) s->write_errno = w->err;
  pthread_mutex_unlock(&w->mu);
  fp_set_direct(d->fd, 0);
  d->on = 0;
  d->fill = 0;
  fp_write_all(s, d->fd, tp, tail);
}

static void fp_drain_l7(fp_l7_t *s) {
  if (s->out.len == 0) return;
  if (s->threaded) {
    s->out_rows = 0;
    fp_file_put(s, &s->dio_l7, s->out.p, s->out.len);
    s->out.len = 0;
    return;
  } else fp_call_sink(s, s->sink_l7, s->out_ref, s->out.len, s->out_rows);
  s->out.len = 0;
  s->out_rows = 0;
}

/* Application-metrics rows are few: they grow in a malloc'd buffer and go to JS through a
   1 MiB transfer array in whole lines. */
static void fp_drain_am(fp_l7_t *s) {
  fp_buf_t *b = &s->am_out;
  uint64_t total = fp_am_rows(s->am);
  if (s->threaded) {
    fp_file_put(s, &s->dio_am, b->p, b->len);
    b->len = 0;
    s->am_rows_sent = total;
    return;
  }
  size_t at = 0;
  while (at < b->len) {
    size_t n = b->len - at;
    if (n > FP_FLUSH_AT) {
      n = FP_FLUSH_AT;
      while (n > 0 && b->p[at + n - 1] != '\n') n--;
      if (n == 0) break; /* a line longer than the transfer array: cannot happen (rows < 16 KiB) */
    }
    memcpy(s->am_xfer, b->p + at, n);
    uint64_t rows = 0;
    for (const uint8_t *q = b->p + at, *e = q + n; (q = memchr(q, '\n', (size_t)(e - q))) != NULL; q++) rows++;
    fp_call_sink(s, s->sink_am, s->am_xfer_ref, n, rows);
    at += n;
  }
  b->len = 0;
  s->am_rows_sent = total;
}

static void fp_drain(fp_l7_t *s) {
  fp_drain_l7(s);
  fp_drain_am(s);
}

/* ---- trace context (trace-context.ts) -------------------------------------------------- */

static int fp_ws(uint8_t c) { return c == 32 || (c >= 9 && c <= 13) || c == 0xA0; }

static void fp_trim(const uint8_t **p, int *n) {
  const uint8_t *s = *p;
  int l = *n;
  while (l > 0 && fp_ws(s[0])) s++, l--;
  while (l > 0 && fp_ws(s[l - 1])) l--;
  *p = s;
  *n = l;
}

/* clip(): trimmed, at most FP_ID_MAX. */
static int fp_clip(uint8_t *dst, const uint8_t *s, int n) {
  fp_trim(&s, &n);
  if (n > FP_ID_MAX) n = FP_ID_MAX;
  memcpy(dst, s, (size_t)n);
  return n;
}

/* The parts of s split at sep (String.prototype.split): up to max, returns the count of all. */
static int fp_split(const uint8_t *s, int n, uint8_t sep, const uint8_t **ps, int *pl, int max) {
  int k = 0, start = 0;
  for (int i = 0; i <= n; i++) {
    if (i == n || s[i] == sep) {
      if (k < max) {
        ps[k] = s + start;
        pl[k] = i - start;
      }
      k++;
      start = i + 1;
    }
  }
  return k;
}

static int fp_unb64(uint8_t c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

/* trace-context.ts b64(): Node's Buffer.from(s, "base64") (illegal characters skipped, stops at
   '='), then clip() when every byte is printable ASCII, else empty. */
static int fp_b64(uint8_t *dst, const uint8_t *s, int n) {
  uint8_t out[FP_VALUE_MAX];
  int k = 0, q = 0, hi = 0;
  if (n >= 2) {
    for (int i = 0; i < n; i++) {
      int v = fp_unb64(s[i]);
      if (v < 0) {
        if (s[i] == '=') break;
        continue;
      }
      if (q == 1) out[k++] = (uint8_t)(hi << 2 | v >> 4);
      else if (q == 2) out[k++] = (uint8_t)((hi << 4) | v >> 2);
      else if (q == 3) out[k++] = (uint8_t)((hi << 6) | v);
      hi = v;
      q = (q + 1) & 3;
    }
  }
  for (int i = 0; i < k; i++)
    if (out[i] < 0x20 || out[i] > 0x7e) return 0;
  return fp_clip(dst, out, k);
}

/* HeaderPolicyImpl.offer for a policy name; v = the value's bytes (at most FP_VALUE_MAX). */
static int fp_offer(fp_trace_t *t, const fp_name_t *nm, const uint8_t *v, int vn) {
  const uint8_t *ps[5];
  int pl[5];
  switch (nm->kind) {
    case 1: { /* traceparent */
      const uint8_t *w = v;
      int wn = vn;
      fp_trim(&w, &wn);
      if (wn >= 55 && w[2] == '-' && w[35] == '-' && w[52] == '-') {
        memcpy(t->tid, w + 3, 32), t->tid_len = 32;
        memcpy(t->sid, w + 36, 16), t->sid_len = 16;
        t->pid_len = 0;
        return 1;
      }
      int k = fp_split(w, wn, '-', ps, pl, 5);
      if (k >= 4 && pl[1] == 32 && pl[2] == 16) {
        memcpy(t->tid, ps[1], 32), t->tid_len = 32;
        memcpy(t->sid, ps[2], 16), t->sid_len = 16;
        t->pid_len = 0;
        return 1;
      }
      return 0;
    }
    case 2: { /* b3 */
      if (t->tid_len) return 0;
      const uint8_t *w = v;
      int wn = vn;
      fp_trim(&w, &wn);
      int k = fp_split(w, wn, '-', ps, pl, 5);
      if (k < 2) return 0;
      t->tid_len = fp_clip(t->tid, ps[0], pl[0]);
      t->sid_len = fp_clip(t->sid, ps[1], pl[1]);
      t->pid_len = k >= 4 ? fp_clip(t->pid, ps[3], pl[3]) : 0;
      return 1;
    }
    case 3:
      if (!t->tid_len) t->tid_len = fp_clip(t->tid, v, vn);
      return 1;
    case 4:
      if (!t->sid_len) t->sid_len = fp_clip(t->sid, v, vn);
      return 1;
    case 5:
      if (!t->pid_len) t->pid_len = fp_clip(t->pid, v, vn);
      return 1;
    case 6: { /* sw8 */
      if (t->tid_len) return 0;
      const uint8_t *w = v;
      int wn = vn;
      fp_trim(&w, &wn);
      int k = fp_split(w, wn, '-', ps, pl, 5);
      if (k < 4) return 0;
      t->tid_len = fp_b64(t->tid, ps[1], pl[1]);
      uint8_t span[FP_ID_MAX * 2 + FP_VALUE_MAX + 1];
      int sn = fp_b64(span, ps[2], pl[2]);
      span[sn++] = '-';
      memcpy(span + sn, ps[3], (size_t)pl[3]);
      sn += pl[3];
      if (sn > FP_ID_MAX) sn = FP_ID_MAX;
      memcpy(t->sid, span, (size_t)sn);
      t->sid_len = sn;
      return 1;
    }
    case 7: { /* uber-trace-id */
      if (t->tid_len) return 0;
      uint8_t u[FP_VALUE_MAX];
      int un = 0;
      for (int i = 0; i < vn; i++) {
        if (v[i] == '%' && i + 2 < vn && v[i + 1] == '3' && (v[i + 2] | 32) == 'a') {
          u[un++] = ':';
          i += 2;
        } else u[un++] = v[i];
      }
      const uint8_t *w = u;
      int wn = un;
      fp_trim(&w, &wn);
      int k = fp_split(w, wn, ':', ps, pl, 5);
      if (k < 3) return 0;
      t->tid_len = fp_clip(t->tid, ps[0], pl[0]);
      t->sid_len = fp_clip(t->sid, ps[1], pl[1]);
      t->pid_len = pl[2] == 1 && ps[2][0] == '0' ? 0 : fp_clip(t->pid, ps[2], pl[2]);
      return 1;
    }
  }
  if (nm->reqid) {
    if (!t->xid_len) t->xid_len = fp_clip(t->xid, v, vn);
    return 1;
  }
  if (nm->custom) {
    if (!t->tid_len) t->tid_len = fp_clip(t->tid, v, vn);
    return 1;
  }
  return 0;
}

/* HeaderPolicyImpl.offerLine: the first candidate whose name ends at a colon decides. */
static int fp_offer_line(fp_l7_t *s, fp_trace_t *t, const uint8_t *b, int32_t p, int32_t eol) {
  int n = s->by_first_n[b[p]];
  for (int c = 0; c < n; c++) {
    const fp_name_t *nm = &s->names[s->by_first[b[p]][c]];
    int32_t colon = p + nm->len;
    if (colon >= eol || b[colon] != ':') continue;
    int i = 0;
    for (; i < nm->len; i++) {
      uint8_t ch = b[p + i];
      if (ch >= 'A' && ch <= 'Z') ch |= 32;
      if (ch != nm->name[i]) break;
    }
    if (i == nm->len) {
      int32_t vs = colon + 1;
      while (vs < eol && (b[vs] == ' ' || b[vs] == '\t')) vs++;
      int32_t ve = eol - vs > FP_VALUE_MAX ? vs + FP_VALUE_MAX : eol;
      return fp_offer(t, nm, b + vs, ve - vs);
    }
  }
  return 0;
}

/* ---- rows (processor.ts emit) ---------------------------------------------------------- */

typedef struct {
  int ver_len;
  uint8_t ver[8];
  int status, code;
  int exc_len;
  uint8_t exc[FP_EXC_MAX];
  int64_t length;
} fp_resp_t;

/* DNS flows (dns-rows-c.ts, compiled after this file). */
struct fp_dns_resp;
static void fp_emit_dns(fp_l7_t *s, fp_flow_t *f, const fp_req_t *q, int64_t qts, const struct fp_dns_resp *r,
                        int64_t rts, int status);
static void fp_dns_datagram(fp_l7_t *s, fp_flow_t *f, const uint8_t *b, int32_t o, int32_t end, int64_t ts);

/* Redis flows (redis-rows-c.ts, compiled after this file). */
struct fp_redis_resp;
static void fp_emit_redis(fp_l7_t *s, fp_flow_t *f, const fp_req_t *q, int64_t qts, uint32_t qseq,
                          const struct fp_redis_resp *r, int64_t rts, uint32_t rseq, int status);
static int fp_redis_parse(fp_l7_t *s, fp_flow_t *f, int d, const uint8_t *b, int32_t off, int32_t end, int64_t *n_out);
static void fp_redis_gap(fp_flow_t *f, int d);
static int fp_redis_open(fp_flow_t *f);

/* PostgreSQL flows (pg-rows-c.ts, compiled after this file). */
struct fp_pg_resp;
static void fp_emit_pg(fp_l7_t *s, fp_flow_t *f, fp_req_t *q, int64_t qts, uint32_t qseq, const struct fp_pg_resp *r,
                       int64_t rts, uint32_t rseq, int status);
static int fp_pg_parse(fp_l7_t *s, fp_flow_t *f, int d, const uint8_t *b, int32_t off, int32_t end, int64_t *n_out);
static void fp_pg_gap(fp_flow_t *f, int d);
static int fp_pg_open(fp_flow_t *f);
static void fp_pg_free(fp_flow_t *f);

/* The most a row's variable part can take: every string at its cap, escaped (6 bytes a byte),
   numbers and keys. */
#define FP_ROW_MAX (6 * (8 + 7 + FP_HOST_MAX + 2 * FP_PATH_MAX + FP_EXC_MAX + 4 * FP_ID_MAX) + 1024)

/* A flow's fixed row bytes (p1 or p2, ~150 bytes each) in whole 32-byte blocks: vector moves
   instead of a libc memcpy call, two a row (~3 % of the row thread). Up to 31 bytes past n are
   read, which the bytes after p1 and p2 in fp_flow_new's block hold (p2, then srvj: each is
   longer than that), and written, which the row's own room (FP_ROW_MAX) holds. */
typedef uint8_t fp_v32 __attribute__((vector_size(32), aligned(1)));
static inline uint8_t *fp_copy_fixed(uint8_t *o, const uint8_t *src, size_t n) {
  for (size_t i = 0; i < n; i += 32) *(fp_v32 *)(o + i) = *(const fp_v32 *)(src + i);
  return o + n;
}

/* A row's bytes up to its version's value: the flow's fixed bytes and the times; NULL when the
   out buffer (a fixed JS array, never realloc'd, drained when a row might not fit) has no room. */
static uint8_t *fp_row_head(fp_l7_t *s, fp_flow_t *f, int64_t start, int64_t end) {
  fp_buf_t *b = &s->out;
  if (b->len + f->p1_len + f->p2_len + FP_ROW_MAX > b->cap) fp_drain_l7(s);
  if (b->len + f->p1_len + f->p2_len + FP_ROW_MAX > b->cap) {
    b->failed = 1;
    return NULL;
  }
  uint8_t *o = fp_copy_fixed(b->p + b->len, f->p1, f->p1_len);
  o = fp_w_i64(o, start);
  FP_W_LIT(o, ",\"end_time\":");
  o = fp_w_i64(o, end);
  return fp_copy_fixed(o, f->p2, f->p2_len);
}

/* ,"response_length":…,"response_status":"…","response_code":… (the columns every row kind has) */
static uint8_t *fp_w_response(uint8_t *o, int64_t length, int status, int64_t code) {
  FP_W_LIT(o, ",\"response_length\":");
  o = fp_w_i64(o, length);
  FP_W_LIT(o, ",\"response_status\":");
  switch (status) {
    case FP_OK: FP_W_LIT(o, "\"ok\""); break;
    case FP_CLIENT_ERROR: FP_W_LIT(o, "\"client_error\""); break;
    case FP_SERVER_ERROR: FP_W_LIT(o, "\"server_error\""); break;
    case FP_TIMEOUT: FP_W_LIT(o, "\"timeout\""); break;
    default: FP_W_LIT(o, "\"unknown\"");
  }
  FP_W_LIT(o, ",\"response_code\":");
  return fp_w_i64(o, code);
}

/* processor.ts emit's times of a row: its start, its end (a timeout ends where expire() says:
   the caller's rts), its duration (request and response both seen). */
static void fp_row_times(int has_q, int64_t qts, int has_r, int64_t rts, int status, int64_t *start, int64_t *end,
                         int64_t *dur) {
  *start = has_q ? qts : rts;
  *end = (has_r || status == FP_TIMEOUT) ? (rts > qts ? rts : qts) : has_q ? qts : rts;
  *dur = has_q && has_r ? (rts - qts > 0 ? rts - qts : 0) : 0;
}

/* A row's last columns (its TCP sequence numbers) and end, counted, into the application
   metrics (ep: its endpoint; has_req: app-metrics.ts's hasReq), the output drained once full. */
static void fp_row_end(fp_l7_t *s, fp_flow_t *f, uint8_t *o, uint32_t qseq, uint32_t rseq, int64_t end, int status,
                       const uint8_t *ep, size_t ep_len, int has_req, int64_t dur) {
  FP_W_LIT(o, ",\"req_tcp_seq\":");
  o = fp_w_u64(o, qseq);
  FP_W_LIT(o, ",\"resp_tcp_seq\":");
  o = fp_w_u64(o, rseq);
  FP_W_LIT(o, "}\n");
  fp_buf_t *b = &s->out;
  b->len = (size_t)(o - b->p);
  s->out_rows++;
  s->st[S_ROWS]++;
  if (status == FP_TIMEOUT) s->st[S_TIMEOUTS]++;
  fp_am_add(s->am, &s->am_out, end, f->srv, f->srvj, f->srvj_len, ep, ep_len, f->kind == FP_KIND_PG, status, has_req,
            dur);
  if (b->len >= (s->dio_l7.on ? FP_DIO_STAGE : FP_FLUSH_AT)) fp_drain_l7(s);
}

static void fp_emit(fp_l7_t *s, fp_flow_t *f, const fp_req_t *q, int64_t qts, uint32_t qseq, const fp_resp_t *r,
                    int64_t rts, uint32_t rseq, int status) {
  int64_t start, end, dur;
  fp_row_times(q != NULL, qts, r != NULL, rts, status, &start, &end, &dur);
  fp_am_warm_t warm;
  fp_am_warm_slot(s->am, &warm, end, f->srv, q ? q->path : NULL, q ? (size_t)q->ep_len : 0);
  uint8_t *o = fp_row_head(s, f, start, end);
  if (o == NULL) return;
  if (q) {
    o = fp_w_jstr(o, q->ver, (size_t)q->ver_len);
    FP_W_LIT(o, ",\"request_type\":\"");
    memcpy(o, FP_METHODS[q->method], (size_t)FP_METHOD_LEN[q->method]);
    o += FP_METHOD_LEN[q->method];
    FP_W_LIT(o, "\",\"request_domain\":");
    o = fp_w_jstr(o, q->host, (size_t)q->host_len);
    FP_W_LIT(o, ",\"request_resource\":");
    o = fp_w_jstr(o, q->path, (size_t)q->path_len);
    FP_W_LIT(o, ",\"endpoint\":");
    o = fp_w_jstr(o, q->path, (size_t)q->ep_len);
    FP_W_LIT(o, ",\"request_length\":");
    o = fp_w_i64(o, q->length);
  } else {
    o = fp_w_jstr(o, r->ver, (size_t)r->ver_len);
    FP_W_LIT(o, ",\"request_type\":\"\",\"request_domain\":\"\",\"request_resource\":\"\",\"endpoint\":\"\",\"request_length\":0");
  }
  fp_am_warm_entry(s->am, &warm);
  o = fp_w_response(o, r ? r->length : 0, status, r ? r->code : 0);
  FP_W_LIT(o, ",\"response_exception\":");
  if (r && r->exc_len) o = fp_w_jstr(o, r->exc, (size_t)r->exc_len);
  else FP_W_LIT(o, "\"\"");
  FP_W_LIT(o, ",\"response_duration_us\":");
  o = fp_w_i64(o, dur);
  const fp_trace_t *t = q ? &q->trace : NULL;
  if (t == NULL || (t->tid_len | t->sid_len | t->pid_len | t->xid_len) == 0)
    FP_W_LIT(o, ",\"trace_id\":\"\",\"span_id\":\"\",\"parent_span_id\":\"\",\"x_request_id\":\"\"");
  else {
    FP_W_LIT(o, ",\"trace_id\":");
    o = fp_w_jstr(o, t->tid, (size_t)t->tid_len);
    FP_W_LIT(o, ",\"span_id\":");
    o = fp_w_jstr(o, t->sid, (size_t)t->sid_len);
    FP_W_LIT(o, ",\"parent_span_id\":");
    o = fp_w_jstr(o, t->pid, (size_t)t->pid_len);
    FP_W_LIT(o, ",\"x_request_id\":");
    o = fp_w_jstr(o, t->xid, (size_t)t->xid_len);
  }
  fp_am_warm_key(s->am, &warm);
  /* hasReq: a request's method is never empty. */
  fp_row_end(s, f, o, q ? qseq : 0, r ? rseq : 0, end, status, q ? q->path : NULL, q ? (size_t)q->ep_len : 0,
             q != NULL, dur);
}

/* ---- pending requests ------------------------------------------------------------------ */

static void fp_list(fp_l7_t *s, fp_flow_t *f) {
  if (f->listed) return;
  f->listed = 1;
  f->lprev = s->ltail;
  f->lnext = NULL;
  if (s->ltail) s->ltail->lnext = f;
  else s->lhead = f;
  s->ltail = f;
}

static void fp_unlist(fp_l7_t *s, fp_flow_t *f) {
  if (!f->listed) return;
  f->listed = 0;
  if (f->lprev) f->lprev->lnext = f->lnext;
  else s->lhead = f->lnext;
  if (f->lnext) f->lnext->lprev = f->lprev;
  else s->ltail = f->lprev;
  f->lprev = f->lnext = NULL;
}

/* 0 <= i < pcap and phead < pcap: one wrap at most, no division (a row takes several). */
static fp_req_t *fp_pend_at(fp_flow_t *f, int i) {
  int j = f->phead + i;
  return &f->pend[j >= f->pcap ? j - f->pcap : j];
}

static void fp_pend_shift(fp_flow_t *f) {
  f->phead = f->phead + 1 == f->pcap ? 0 : f->phead + 1;
  f->pcount--;
}

/* A slot for one more pending request (the caller has made room under max_pending); NULL on OOM. */
static fp_req_t *fp_pend_push(fp_flow_t *f) {
  if (f->pcount == f->pcap) {
    int cap = f->pcap ? f->pcap * 2 : 2;
    fp_req_t *p = malloc(sizeof(fp_req_t) * (size_t)cap);
    if (p == NULL) return NULL;
    for (int i = 0; i < f->pcount; i++) memcpy(&p[i], fp_pend_at(f, i), sizeof(fp_req_t));
    free(f->pend);
    f->pend = p;
    f->pcap = cap;
    f->phead = 0;
  }
  f->pcount++;
  return fp_pend_at(f, f->pcount - 1);
}

/* A request's row without its response (timed out, or pushed out of a full queue), in its
   flow's kind. */
static void fp_emit_alone(fp_l7_t *s, fp_flow_t *f, fp_req_t *q, int64_t end, int status) {
  if (f->kind == FP_KIND_DNS) fp_emit_dns(s, f, q, q->ts, NULL, end, status);
  else if (f->kind == FP_KIND_REDIS) fp_emit_redis(s, f, q, q->ts, q->seq, NULL, end, 0, status);
  else if (f->kind == FP_KIND_PG) fp_emit_pg(s, f, q, q->ts, q->seq, NULL, end, 0, status);
  else fp_emit(s, f, q, q->ts, q->seq, NULL, end, 0, status);
}

/* processor.response() with FIFO pairing (HTTP/1, Redis and PostgreSQL messages carry no key):
   the answer r (the flow kind's response) with the queue's head, shifted out, or alone, an
   orphan counted. rts/rseq: the answer's. */
static void fp_answer(fp_l7_t *s, fp_flow_t *f, const void *r, int64_t rts, uint32_t rseq, int status) {
  fp_req_t *q = f->pcount > 0 ? fp_pend_at(f, 0) : NULL;
  int64_t qts = q != NULL ? q->ts : rts;
  uint32_t qseq = q != NULL ? q->seq : 0;
  if (q == NULL) s->st[S_ORPHANS]++;
  if (f->kind == FP_KIND_REDIS) fp_emit_redis(s, f, q, qts, qseq, r, rts, rseq, status);
  else if (f->kind == FP_KIND_PG) fp_emit_pg(s, f, q, qts, qseq, r, rts, rseq, status);
  else fp_emit(s, f, q, qts, qseq, r, rts, rseq, status);
  if (q != NULL) fp_pend_shift(f);
}

/* processor.request(): a slot for one more pending request, a full queue reporting its oldest
   as unknown first; NULL on OOM. */
static fp_req_t *fp_pend_add(fp_l7_t *s, fp_flow_t *f) {
  if (f->pcount >= s->max_pending) {
    fp_req_t *old = fp_pend_at(f, 0);
    s->st[S_PENDING_OVERFLOWS]++;
    fp_emit_alone(s, f, old, old->ts, FP_UNKNOWN);
    fp_pend_shift(f);
  }
  return fp_pend_push(f);
}

/* ---- the parser (http1.ts) ------------------------------------------------------------- */

static int32_t fp_find_crlf(const uint8_t *b, int32_t s, int32_t e) {
  for (int32_t i = s; i + 1 < e; i++) {
    const uint8_t *cr = memchr(b + i, '\r', (size_t)(e - 1 - i));
    if (cr == NULL) return -1;
    i = (int32_t)(cr - b);
    if (b[i + 1] == '\n') return i;
  }
  return -1;
}

static int64_t fp_parse_dec(const uint8_t *b, int32_t s, int32_t e) {
  if (e <= s || e - s > 15) return -1;
  int64_t n = 0;
  for (int32_t i = s; i < e; i++) {
    int c = b[i] - '0';
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

static int fp_starts(const uint8_t *b, int32_t o, int32_t e, const char *a, int32_t n) {
  return o + n <= e && memcmp(b + o, a, (size_t)n) == 0;
}

static int fp_has_folded(const uint8_t *b, int32_t s, int32_t e, const char *lc, int32_t n) {
  if (e - s > FP_FIELD_MAX) e = s + FP_FIELD_MAX;
  for (int32_t o = s; o + n <= e; o++)
    if (name_is(b, o, lc, n)) return 1;
  return 0;
}

static int fp_method_at(const uint8_t *b, int32_t o, int32_t e, int32_t blen) {
  if (o >= e) return -1;
  uint8_t c = b[o];
  if (c != 'G' && c != 'P' && c != 'D' && c != 'H' && c != 'O' && c != 'C' && c != 'T') return -1;
  for (int i = 0; i < 9; i++) {
    int32_t n = FP_METHOD_LEN[i];
    /* The JS reads the byte after the method even past the window (in the same buffer). */
    if (fp_starts(b, o, e, FP_METHODS[i], n) && o + n < blen && b[o + n] == ' ') return i;
  }
  return -1;
}

static int fp_response_start(const uint8_t *b, int32_t o, int32_t e) {
  return fp_starts(b, o, e, "HTTP/1.", 7) && (e - o < 9 || b[o + 8] == ' ');
}

/* versionAt: "HTTP/1.x" at [s, e) -> "1.x"; else what follows "HTTP/" (8 at most) or "1.0". */
static int fp_version(const uint8_t *b, int32_t s, int32_t e, uint8_t *dst) {
  if (e - s == 8 && fp_starts(b, s, e, "HTTP/1.", 7) && (b[s + 7] == '1' || b[s + 7] == '0')) {
    memcpy(dst, "1.", 2);
    dst[2] = b[s + 7];
    return 3;
  }
  if (e - s > 5 && fp_starts(b, s, e, "HTTP/", 5)) {
    int32_t n = e - (s + 5);
    if (n > 8) n = 8;
    memcpy(dst, b + s + 5, (size_t)n);
    return n;
  }
  memcpy(dst, "1.0", 3);
  return 3;
}

/* latin1 (bytes.ts): at most max bytes of [s, e), copied; their count. */
static int32_t fp_copy_cut(uint8_t *dst, const uint8_t *b, int32_t s, int32_t e, int32_t max) {
  if (e - s > max) e = s + max;
  if (e <= s) return 0;
  memcpy(dst, b + s, (size_t)(e - s));
  return e - s;
}

static int32_t fp_chunked(fp_flow_t *f, int d, const uint8_t *b, int32_t off, int32_t end, int64_t *n_out) {
  int32_t eol = fp_find_crlf(b, off, end);
  if (eol < 0) return end - off > 1024 ? -1 : 0;
  if (f->chunk[d] == 2) {
    if (eol == off) f->chunk[d] = 0;
    *n_out = eol + 2 - off;
    return 1;
  }
  int64_t n = 0;
  int32_t i = off;
  for (; i < eol; i++) {
    uint8_t c = b[i];
    int v = c >= '0' && c <= '9' ? c - '0' : ((c | 32) >= 'a' && (c | 32) <= 'f') ? (c | 32) - 87 : -1;
    if (v < 0) break;
    n = n * 16 + v;
    if (n > ((int64_t)1 << 40)) return -1;
  }
  if (i == off) return -1;
  if (n == 0) {
    f->chunk[d] = 2;
    *n_out = eol + 2 - off;
    return 1;
  }
  *n_out = eol + 2 - off + n + 2;
  return 1;
}

/* headers(): the scan's own-header facts and, for requests, the policy's trace lines. */
static int32_t fp_headers(fp_l7_t *s, const uint8_t *b, int32_t n, int request) {
  if (n < 0) return n;
  int32_t *pos = s->pos;
  int32_t vs = pos[2];
  if (vs < 0) s->h_host_len = 0;
  else {
    int32_t e = pos[3];
    if (e - vs > FP_HOST_MAX) e = vs + FP_HOST_MAX;
    s->h_host = b + vs;
    s->h_host_len = e > vs ? e - vs : 0;
  }
  vs = pos[4];
  s->h_cl = vs < 0 ? -1 : fp_parse_dec(b, vs, pos[5]);
  vs = pos[6];
  s->h_chunked = vs >= 0 && fp_has_folded(b, vs, pos[7], "chunked", 7);
  if (request) {
    for (int32_t k = LINES, last = LINES + 2 * n; k < last; k += 2) {
      int32_t p = pos[k];
      if (s->by_first_n[b[p]] != 0 && fp_offer_line(s, &s->scratch, b, p, pos[k + 1])) s->traced = 1;
    }
  }
  return pos[1];
}

/* Returns 1 with *n set (bytes consumed, possibly past end), 0 for more bytes, -1 error. */
static int fp_request(fp_l7_t *s, fp_flow_t *f, const uint8_t *b, int32_t off, int32_t end, int32_t blen, int64_t *n_out) {
  int m = fp_method_at(b, off, end, blen);
  if (m < 0) return end - off >= 8 ? -1 : 0;
  int32_t n = scan_block(b, off, end, s->pos);
  if (n == -3) return end - off > MAX_HEADER ? -1 : 0;
  int32_t line = s->pos[0];
  s->traced = 0;
  s->scratch.tid_len = s->scratch.sid_len = s->scratch.pid_len = s->scratch.xid_len = 0;
  int32_t he = fp_headers(s, b, n, 1);
  if (he == -1) return 0;
  if (he < 0) return -1;
  int32_t t = off + FP_METHOD_LEN[m] + 1;
  int32_t sp2 = s->pos[TARGET_END];
  int64_t body = 0;
  if (s->h_chunked) f->chunk[0] = 1;
  else if (s->h_cl > 0) body = s->h_cl;
  fp_req_t *q = fp_pend_add(s, f);
  if (q != NULL) {
    q->ts = s->cur_ts;
    q->seq = s->cur_seq;
    q->method = m;
    q->path_len = fp_copy_cut(q->path, b, t, sp2, FP_PATH_MAX);
    int32_t qi = s->pos[QUERY] - t;
    q->ep_len = qi >= 0 && qi < q->path_len ? qi : q->path_len;
    q->ver_len = fp_version(b, sp2 + 1, line, q->ver);
    q->host_len = s->h_host_len;
    if (s->h_host_len) memcpy(q->host, s->h_host, (size_t)s->h_host_len);
    q->length = he - off + body;
    if (s->traced) q->trace = s->scratch;
    else q->trace.tid_len = q->trace.sid_len = q->trace.pid_len = q->trace.xid_len = 0;
    fp_list(s, f);
  }
  *n_out = he - off + body;
  return 1;
}

static int fp_response(fp_l7_t *s, fp_flow_t *f, const uint8_t *b, int32_t off, int32_t end, int64_t *n_out) {
  if (!fp_response_start(b, off, end)) return end - off >= 9 ? -1 : 0;
  if (f->pcount > 0) {
    /* The row this response likely completes: its metrics slot loads while the block is parsed. */
    const fp_req_t *q0 = fp_pend_at(f, 0);
    fp_am_warm_t w;
    fp_am_warm_slot(s->am, &w, s->cur_ts > q0->ts ? s->cur_ts : q0->ts, f->srv, q0->path, (size_t)q0->ep_len);
    __builtin_prefetch(&q0->trace.tid_len);
  }
  int32_t n = scan_block(b, off, end, s->pos);
  if (n == -3) return end - off > MAX_HEADER ? -1 : 0;
  int32_t line = s->pos[0];
  int64_t code = fp_parse_dec(b, off + 9, off + 12);
  if (code < 100 || code > 999) return -1;
  int32_t he = fp_headers(s, b, n, 0);
  if (he == -1) return 0;
  if (he < 0) return -1;
  if (code < 200 && code != 101) {
    *n_out = he - off;
    return 1;
  }
  fp_resp_t r;
  r.ver_len = fp_version(b, off, off + 8, r.ver);
  int head = f->pcount > 0 && fp_pend_at(f, 0)->method == FP_HEAD;
  int64_t body = 0;
  if (head || code == 204 || code == 304) body = 0;
  else if (s->h_chunked) f->chunk[1] = 1;
  else if (s->h_cl >= 0) body = s->h_cl;
  else if (code != 101) f->to_close[1] = 1;
  r.status = code >= 500 ? FP_SERVER_ERROR : code >= 400 ? FP_CLIENT_ERROR : FP_OK;
  r.code = (int)code;
  r.exc_len = code >= 400 ? fp_copy_cut(r.exc, b, off + 13, line, FP_EXC_MAX) : 0;
  r.length = he - off + body;
  fp_answer(s, f, &r, s->cur_ts, s->cur_seq, r.status);
  if (code == 101) f->to_close[0] = f->to_close[1] = 1;
  *n_out = he - off + body;
  return 1;
}

static int fp_parse(fp_l7_t *s, fp_flow_t *f, int d, const uint8_t *b, int32_t off, int32_t end, int32_t blen, int64_t *n) {
  if (f->kind == FP_KIND_REDIS) return fp_redis_parse(s, f, d, b, off, end, n);
  if (f->kind == FP_KIND_PG) return fp_pg_parse(s, f, d, b, off, end, n);
  if (f->to_close[d]) {
    *n = (int64_t)(end - off) + 1000000000;
    return 1;
  }
  if (f->chunk[d] != 0) return fp_chunked(f, d, b, off, end, n);
  if (d == 0) return fp_request(s, f, b, off, end, blen, n);
  return fp_response(s, f, b, off, end, n);
}

/* ---- stream handling (processor.ts) ---------------------------------------------------- */

static void fp_on_gap(fp_flow_t *f, int d) {
  f->chunk[d] = 0;
  f->to_close[d] = 0;
  if (f->redis != NULL) fp_redis_gap(f, d);
  if (f->pg != NULL) fp_pg_gap(f, d);
}

static void fp_gap(fp_l7_t *s, fp_flow_t *f, int d) {
  s->st[S_GAPS]++;
  f->buf_len[d] = 0;
  f->skip[d] = 0;
  f->resync[d] = 1;
  if (!f->failed) fp_on_gap(f, d);
}

static void fp_fail(fp_l7_t *s, fp_flow_t *f) {
  if (f->failed) return;
  f->failed = 1;
  for (int d = 0; d < 2; d++) {
    free(f->buf[d]);
    f->buf[d] = NULL;
    f->buf_cap[d] = f->buf_len[d] = 0;
  }
  s->st[S_FLOWS_FAILED]++;
}

static void fp_error(fp_l7_t *s, fp_flow_t *f) {
  s->st[S_PARSE_ERRORS]++;
  if (++f->errors > s->max_errors) fp_fail(s, f);
}

static int fp_buf_room(fp_flow_t *f, int d, int32_t need, int32_t max) {
  if (f->buf_cap[d] >= need) return 1;
  int32_t cap = f->buf_cap[d] * 2;
  if (cap < need) cap = need;
  if (cap < 1024) cap = 1024;
  if (cap > max) cap = max;
  uint8_t *p = realloc(f->buf[d], (size_t)cap);
  if (p == NULL) return 0;
  f->buf[d] = p;
  f->buf_cap[d] = cap;
  return 1;
}

static void fp_feed(fp_l7_t *s, fp_flow_t *f, int d, const uint8_t *b, int32_t off, int32_t len, int32_t blen, uint32_t seq) {
  int64_t skip = f->skip[d];
  if (skip > 0) {
    int32_t k = skip < len ? (int32_t)skip : len;
    f->skip[d] = skip - k;
    off += k;
    len -= k;
    seq += (uint32_t)k;
    if (len == 0) return;
  }
  const uint8_t *win = b;
  int32_t pos = off, end = off + len, wlen = blen;
  uint32_t wseq = seq;
  if (f->buf_len[d] > 0) {
    int32_t have = f->buf_len[d];
    if (have + len > s->max_buf) {
      s->st[S_BUF_OVERFLOWS]++;
      fp_gap(s, f, d);
    } else if (!fp_buf_room(f, d, have + len, s->max_buf)) {
      s->st[S_BUF_OVERFLOWS]++;
      fp_gap(s, f, d);
    } else {
      memcpy(f->buf[d] + have, b + off, (size_t)len);
      win = f->buf[d];
      pos = 0;
      end = have + len;
      wlen = end;
      wseq = f->buf_seq[d];
    }
  }
  while (pos < end) {
    s->cur_seq = wseq;
    int64_t n = 0;
    int r = fp_parse(s, f, d, win, pos, end, wlen, &n);
    if (r == 0) break;
    if (r < 0) {
      if (!f->resync[d] || ++f->resync_fails[d] > FP_MAX_RESYNC) fp_error(s, f);
      pos = end;
      if (f->failed) return;
      f->resync[d] = 1;
      fp_on_gap(f, d);
      break;
    }
    f->resync[d] = 0;
    f->resync_fails[d] = 0;
    int32_t avail = end - pos;
    if (n >= avail) {
      f->skip[d] = n - avail;
      pos = end;
      break;
    }
    pos += (int32_t)n;
    wseq += (uint32_t)n;
  }
  if (f->failed) return;
  int32_t rest = end - pos;
  if (rest == 0) {
    f->buf_len[d] = 0;
    if (win == f->buf[d] && f->buf_cap[d] > 4096) {
      free(f->buf[d]);
      f->buf[d] = NULL;
      f->buf_cap[d] = 0;
    }
    return;
  }
  if (rest > s->max_buf) {
    s->st[S_BUF_OVERFLOWS]++;
    fp_gap(s, f, d);
    return;
  }
  if (win == f->buf[d]) {
    if (pos > 0) memmove(f->buf[d], f->buf[d] + pos, (size_t)rest);
  } else {
    if (!fp_buf_room(f, d, rest, s->max_buf)) {
      s->st[S_BUF_OVERFLOWS]++;
      fp_gap(s, f, d);
      return;
    }
    memcpy(f->buf[d], win + pos, (size_t)rest);
  }
  f->buf_len[d] = rest;
  f->buf_seq[d] = wseq;
}

static void fp_segment(fp_l7_t *s, fp_flow_t *f, int d, const uint8_t *b, int32_t off, int32_t len, int32_t wire,
                       int32_t blen, uint32_t seq, int64_t ts) {
  if (f->failed) return;
  s->cur_ts = ts;
  if (f->has_next[d]) {
    int32_t delta = (int32_t)(seq - f->next[d]);
    if (delta < 0) {
      if ((int64_t)delta + wire <= 0) return;
      off -= delta;
      len += delta;
      wire += delta;
      seq = f->next[d];
      if (len <= 0) {
        f->next[d] = seq + (uint32_t)wire;
        fp_gap(s, f, d);
        return;
      }
    } else if (delta > 0) fp_gap(s, f, d);
  }
  f->has_next[d] = 1;
  f->next[d] = seq + (uint32_t)wire;
  if (len > 0) fp_feed(s, f, d, b, off, len, blen, seq);
  if (len < wire) fp_gap(s, f, d);
}

static int fp_hold(fp_l7_t *s, fp_flow_t *f, int d, const uint8_t *b, int32_t off, int32_t len, uint32_t seq, int64_t ts) {
  int64_t bytes = len;
  for (int i = 0; i < f->nheld[d]; i++) bytes += f->held[d][i].len;
  if (f->nheld[d] >= FP_MAX_HELD || bytes > s->max_buf) return 0;
  uint8_t *data = malloc(len > 0 ? (size_t)len : 1);
  if (data == NULL) return 0;
  memcpy(data, b + off, (size_t)len);
  fp_held_t *h = &f->held[d][f->nheld[d]++];
  h->data = data;
  h->len = len;
  h->seq = seq;
  h->ts = ts;
  s->st[S_REORDERED]++;
  return 1;
}

static void fp_drain_held(fp_l7_t *s, fp_flow_t *f, int d) {
  for (int again = 1; again && f->nheld[d] > 0;) {
    again = 0;
    for (int i = 0; i < f->nheld[d]; i++) {
      fp_held_t x = f->held[d][i];
      if ((int32_t)(x.seq - f->next[d]) <= 0) {
        memmove(&f->held[d][i], &f->held[d][i + 1], sizeof(fp_held_t) * (size_t)(f->nheld[d] - i - 1));
        f->nheld[d]--;
        fp_segment(s, f, d, x.data, 0, x.len, x.len, x.len, x.seq, x.ts);
        free(x.data);
        again = 1;
        break;
      }
    }
  }
}

static void fp_flush_held(fp_l7_t *s, fp_flow_t *f, int d) {
  int n = f->nheld[d];
  if (n == 0) return;
  fp_held_t h[FP_MAX_HELD];
  memcpy(h, f->held[d], sizeof(fp_held_t) * (size_t)n);
  /* stable insertion sort by (a.seq - b.seq) | 0, as the JS sort */
  for (int i = 1; i < n; i++) {
    fp_held_t x = h[i];
    int j = i - 1;
    while (j >= 0 && (int32_t)(h[j].seq - x.seq) > 0) {
      h[j + 1] = h[j];
      j--;
    }
    h[j + 1] = x;
  }
  f->nheld[d] = 0;
  for (int i = 0; i < n; i++) {
    fp_segment(s, f, d, h[i].data, 0, h[i].len, h[i].len, h[i].len, h[i].seq, h[i].ts);
    free(h[i].data);
  }
}

static void fp_on_payload(fp_l7_t *s, fp_flow_t *f, int d, const uint8_t *b, int32_t off, int32_t len, int32_t wire,
                          int32_t blen, uint32_t seq, int64_t ts) {
  if (f->kind == FP_KIND_DNS) {
    fp_dns_datagram(s, f, b, off, off + len, ts);
    return;
  }
  if (f->failed) return;
  f->last_ts = ts;
  s->cur_ts = ts;
  if (f->has_next[d] && len == wire) {
    int32_t delta = (int32_t)(seq - f->next[d]);
    if (delta > 0 && fp_hold(s, f, d, b, off, len, seq, ts)) return;
    if (delta > 0) fp_flush_held(s, f, d);
  }
  fp_segment(s, f, d, b, off, len, wire, blen, seq, ts);
  if (f->nheld[d] > 0) fp_drain_held(s, f, d);
}

static void fp_expire(fp_l7_t *s, fp_flow_t *f, int64_t now, int all) {
  while (f->pcount > 0 && (all || now - fp_pend_at(f, 0)->ts >= s->timeout_us)) {
    fp_req_t *q = fp_pend_at(f, 0);
    int64_t cap = q->ts + s->timeout_us;
    int64_t e = f->last_ts < cap ? f->last_ts : cap;
    if (e < q->ts) e = q->ts;
    fp_emit_alone(s, f, q, e, FP_TIMEOUT);
    fp_pend_shift(f);
  }
  if (f->pcount == 0) fp_unlist(s, f);
}

static void fp_flow_free(fp_flow_t *f) {
  free(f->p1); /* p2 and srvj live in the same block */
  for (int d = 0; d < 2; d++) {
    free(f->buf[d]);
    for (int i = 0; i < f->nheld[d]; i++) free(f->held[d][i].data);
  }
  fp_pg_free(f);
  free(f->pend);
  free(f->redis);
  free(f);
}

/* Ended flows are kept for reuse (with their pending ring and small buffers), up to
   FP_POOL_MAX: a flow's allocations and frees cost more than its parsing on short connections. */

static void fp_flow_release(fp_l7_t *s, fp_flow_t *f) {
  if (s->npool >= FP_POOL_MAX || f->pcap > 8) {
    fp_flow_free(f);
    return;
  }
  uint8_t *bufs[2];
  int32_t caps[2];
  for (int d = 0; d < 2; d++) {
    for (int i = 0; i < f->nheld[d]; i++) free(f->held[d][i].data);
    if (f->buf_cap[d] > 4096) {
      free(f->buf[d]);
      f->buf[d] = NULL;
      f->buf_cap[d] = 0;
    }
    bufs[d] = f->buf[d];
    caps[d] = f->buf_cap[d];
  }
  free(f->redis);
  fp_pg_free(f);
  fp_req_t *pend = f->pend;
  int pcap = f->pcap;
  uint8_t *fixed = f->p1;
  size_t fixed_cap = f->fixed_cap;
  memset(f, 0, sizeof(fp_flow_t));
  for (int d = 0; d < 2; d++) {
    f->buf[d] = bufs[d];
    f->buf_cap[d] = caps[d];
  }
  f->pend = pend;
  f->pcap = pcap;
  f->p1 = fixed;
  f->fixed_cap = fixed_cap;
  s->pool[s->npool++] = f;
}

/* ---- flow strings ---------------------------------------------------------------------- */

static fp_flow_t *fp_flow_of(fp_l7_t *s, double id) {
  int i = (int)id;
  if (i < 0 || i >= s->nflows) return NULL;
  return s->flows[i];
}

static char *fp_str(napi_env env, napi_value v, size_t *len) {
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) return NULL;
  char *p = malloc(n + 1);
  if (p == NULL) return NULL;
  napi_get_value_string_utf8(env, v, p, n + 1, &n);
  *len = n;
  return p;
}

/* A string argument into buf (at most cap - 1 bytes); its length, or -1. */
static int fp_arg_str(napi_env env, napi_value v, char *buf, size_t cap) {
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, buf, cap, &n) != napi_ok || n >= cap - 1) return -1;
  return (int)n;
}

/* ---- a flow's strings from its numbers (its opening, FP_SEG_OPEN) ------------------------- */

/* A flow's numbers (KEY in flow-key.ts): the flow id's decimal digits above and below the last
   nine, the IP version and protocol, client and server address words (an IPv4 address in the
   first) and ports, as the rows name the two sides. */
enum { FP_KEY_ID_HI, FP_KEY_ID_LO, FP_KEY_VER, FP_KEY_PROTO, FP_KEY_CIP, FP_KEY_SIP = FP_KEY_CIP + 4,
       FP_KEY_CPORT = FP_KEY_SIP + 4, FP_KEY_SPORT, FP_KEY_N };

#define FP_SRV_FORGET 100000u

/* A server key's hash: its address words and port/kind/version. */
static uint32_t fp_srv_hash(const uint32_t *w, uint32_t pkv) {
  uint32_t h = w[0] * 0x9e3779b1u ^ w[1] * 0x85ebca6bu ^ w[2] * 0xc2b2ae35u ^ w[3] * 0x27d4eb2fu ^ pkv * 0x165667b1u;
  return h ^ h >> 15;
}

/* The metrics' id of a server (ver, words, port, kind): unique per server, never reused. The
   table forgets everything at FP_SRV_FORGET servers (ids only tell servers apart within a
   second's metrics); UINT32_MAX when it cannot grow. */
static uint32_t fp_server_id(fp_l7_t *s, int ver, const uint32_t *w, int32_t port, int kind) {
  if (s->srv_used >= FP_SRV_FORGET) {
    memset(s->srv_keys, 0, sizeof(fp_srv_key_t) * s->srv_cap);
    s->srv_used = 0;
  }
  if (s->srv_used * 2 >= s->srv_cap) {
    uint32_t cap = s->srv_cap ? s->srv_cap * 2 : 1024;
    fp_srv_key_t *t = calloc(cap, sizeof *t);
    if (t == NULL) return UINT32_MAX;
    for (uint32_t i = 0; i < s->srv_cap; i++) {
      fp_srv_key_t *e = &s->srv_keys[i];
      if (!e->used) continue;
      for (uint32_t j = fp_srv_hash(e->w, e->port_kind_ver) & (cap - 1);; j = (j + 1) & (cap - 1))
        if (!t[j].used) {
          t[j] = *e;
          break;
        }
    }
    free(s->srv_keys);
    s->srv_keys = t;
    s->srv_cap = cap;
  }
  uint32_t pkv = (uint32_t)port << 16 | (uint32_t)(ver & 0xff) << 8 | (uint32_t)(kind & 0xff);
  for (uint32_t j = fp_srv_hash(w, pkv) & (s->srv_cap - 1);; j = (j + 1) & (s->srv_cap - 1)) {
    fp_srv_key_t *e = &s->srv_keys[j];
    if (!e->used) {
      e->used = 1;
      memcpy(e->w, w, sizeof e->w);
      e->port_kind_ver = pkv;
      e->id = s->srv_seq++;
      s->srv_used++;
      return e->id;
    }
    if (e->port_kind_ver == pkv && memcmp(e->w, w, sizeof e->w) == 0) return e->id;
  }
}

/* The flow id's text from its two parts (FlowIdText.of: the digits above the last nine, then
   those nine zero-padded; the low part alone when there is no high one). */
static int fp_flow_id_text(char *o, double hi, double lo) {
  uint8_t *p = (uint8_t *)o;
  if (!(hi >= 0 && hi < 1e11 && lo >= 0 && lo < 1e9)) return -1;
  uint64_t h = (uint64_t)hi, l = (uint64_t)lo;
  if (h == 0) p = fp_w_u64(p, l);
  else {
    p = fp_w_u64(p, h);
    *p++ = (uint8_t)('0' + l / 100000000);
    p = fp_w_8digits(p, (uint32_t)(l % 100000000));
  }
  return (int)(p - (uint8_t *)o);
}

/* An address's text as the engine's ipText makes it: dotted IPv4; IPv6 in RFC 5952 form (lower
   case, no leading zeros, the longest run of two or more zero groups, the first on a tie, as
   "::"), an IPv4-mapped one as ::ffff:a.b.c.d; "" for another version. */
static int fp_ip_text(char *o, int ver, const uint32_t *w) {
  char *p = o;
  if (ver == 4 || (ver == 6 && w[0] == 0 && w[1] == 0 && w[2] == 0xffff)) {
    uint32_t a = ver == 4 ? w[0] : w[3];
    if (ver == 6) {
      memcpy(p, "::ffff:", 7);
      p += 7;
    }
    for (int i = 3; i >= 0; i--) {
      p = (char *)fp_w_u32((uint8_t *)p, a >> (8 * i) & 255);
      if (i > 0) *p++ = '.';
    }
    return (int)(p - o);
  }
  if (ver != 6) return 0;
  uint32_t g[8];
  for (int i = 0; i < 4; i++) {
    g[2 * i] = w[i] >> 16;
    g[2 * i + 1] = w[i] & 0xffff;
  }
  int best = -1, best_len = 1;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      i++;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) j++;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 8; i++) {
    if (i == best) {
      *p++ = ':';
      *p++ = ':';
      i += best_len - 1;
      continue;
    }
    if (i > 0 && i != best + best_len) *p++ = ':';
    int started = 0;
    for (int k = 12; k >= 0; k -= 4) {
      uint32_t d = g[i] >> k & 15;
      if (d || started || k == 0) {
        *p++ = hex[d];
        started = 1;
      }
    }
  }
  return (int)(p - o);
}

/* Address words from key[at..at+4) (IPv4: the first); 0 when one is not a u32. */
static int fp_key_words(const double *key, int at, uint32_t *w) {
  for (int i = 0; i < 4; i++) {
    double d = key[at + i];
    if (!(d >= 0 && d <= 4294967295.0)) return 0;
    w[i] = (uint32_t)d;
  }
  return 1;
}

/* ---- own-thread mode: the command ring ----------------------------------------------- */

enum { FP_OP_PAD, FP_OP_SEG, FP_OP_OPEN, FP_OP_END, FP_OP_TICK, FP_OP_FLUSH, FP_OP_WRITE, FP_OP_FSEG };

/* A command in the ring: 'size' bytes (8-aligned) with what follows it. SEG: a segment at
   data[off..off+len) of a pinned block, or (data NULL) its bytes copied after the header.
   FSEG: a segment of the capture file at offset (uintptr_t)data, blen bytes readable there.
   WRITE: data[0..len) (a wchunk() slot) to descriptor 'off'. */
typedef struct {
  uint32_t size;
  uint8_t op, dir;
  int32_t id;
  int32_t off, len, wire, blen;
  uint32_t seq;
  int64_t ts;
  const uint8_t *data;
} fp_cmd_t;

/* OPEN: the flow's strings (flow id, client ip, server ip) follow the header. */
typedef struct {
  uint32_t size;
  uint8_t op;
  int32_t id;
  int32_t nf, nc, ns, cport, sport, proto, kind;
  uint32_t srv;
} fp_cmd_open_t;

static inline void fp_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/* Nanoseconds since t (CLOCK_MONOTONIC). */
static int64_t fp_since_ns(const struct timespec *t) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)(now.tv_sec - t->tv_sec) * 1000000000LL + (now.tv_nsec - t->tv_nsec);
}

static void fp_deadline(struct timespec *ts, long ms) {
  clock_gettime(CLOCK_REALTIME, ts);
  ts->tv_nsec += ms * 1000000L;
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec += ts->tv_nsec / 1000000000L;
    ts->tv_nsec %= 1000000000L;
  }
}

/* The JS thread: returns once the thread has consumed up to 'target'. Spins a little (the
   thread is usually right behind), then sleeps; waking the thread if it sleeps. */
static void fp_wait_tail(fp_l7_t *s, uint64_t target) {
  for (int i = 0; i < 512; i++) {
    if (atomic_load(&s->tail) >= target) return;
    fp_pause();
  }
  pthread_mutex_lock(&s->mu);
  atomic_store(&s->prod_target, target);
  atomic_store(&s->prod_waiting, 1);
  while (atomic_load(&s->tail) < target) {
    if (atomic_load(&s->cons_sleeping)) pthread_cond_signal(&s->cv_cons);
    struct timespec ts;
    fp_deadline(&ts, 10);
    pthread_cond_timedwait(&s->cv_prod, &s->mu, &ts);
  }
  atomic_store(&s->prod_waiting, 0);
  pthread_mutex_unlock(&s->mu);
}

/* The JS thread: the ring has room up to 'end'. The row thread's 'tail' is read only when the
   last value read says the ring may be full: its cache line is written after every command. */
static inline void fp_room_for(fp_l7_t *s, uint64_t end) {
  if (end - s->ptail <= s->ring_cap) return;
  uint64_t t = atomic_load_explicit(&s->tail, memory_order_acquire);
  if (end - t > s->ring_cap) {
    /* The commands of a segs() batch so far go out first: the thread may need them to get there. */
    atomic_store_explicit(&s->head, s->phead, memory_order_release);
    fp_wait_tail(s, end - s->ring_cap);
    t = atomic_load_explicit(&s->tail, memory_order_acquire);
  }
  s->ptail = t;
}

/* The JS thread: room for a command of 'size' bytes at the ring's head (a PAD command skips
   what is left before the ring's end). */
static uint8_t *fp_cmd_room(fp_l7_t *s, uint32_t size) {
  uint64_t cap = s->ring_cap, h = s->phead, pos = h & (cap - 1);
  if (cap - pos < size) {
    uint32_t pad = (uint32_t)(cap - pos);
    fp_room_for(s, h + pad + size);
    fp_cmd_t *c = (fp_cmd_t *)(s->ring + pos);
    c->size = pad;
    c->op = FP_OP_PAD;
    h += pad;
    s->phead = h;
    pos = 0;
  }
  fp_room_for(s, h + size);
  return s->ring + pos;
}

/* The JS thread: the commands enqueued so far go out; a sleeping thread is woken once a
   backlog is worth it (it also wakes itself every 20 ms and whenever the JS thread waits). */
static void fp_publish(fp_l7_t *s) {
  atomic_store_explicit(&s->head, s->phead, memory_order_release);
  /* Looked at every few KiB only: the thread's flags and tail are other cores' cache lines. */
  if (s->phead - s->wake_checked < FP_WAKE / 4) return;
  s->wake_checked = s->phead;
  atomic_thread_fence(memory_order_seq_cst);
  if (atomic_load_explicit(&s->cons_sleeping, memory_order_relaxed) &&
      s->phead - atomic_load_explicit(&s->tail, memory_order_relaxed) >= FP_WAKE) {
    pthread_mutex_lock(&s->mu);
    pthread_cond_signal(&s->cv_cons);
    pthread_mutex_unlock(&s->mu);
  }
}

/* The JS thread: the command just written at the ring's head goes out. */
static void fp_cmd_publish(fp_l7_t *s, uint32_t size) {
  s->phead += size;
  fp_publish(s);
}

static void fp_cmd_simple(fp_l7_t *s, int op, int32_t id, int64_t ts) {
  uint32_t size = (sizeof(fp_cmd_t) + 7) & ~7u;
  fp_cmd_t *c = (fp_cmd_t *)fp_cmd_room(s, size);
  c->size = size;
  c->op = (uint8_t)op;
  c->id = id;
  c->ts = ts;
  fp_cmd_publish(s, size);
}

/* The JS thread: everything enqueued so far is done (rows written). */
static void fp_sync(fp_l7_t *s) {
  if (s->threaded) fp_wait_tail(s, s->phead);
}

/* ---- flows, ticks, flush: run by the JS call itself, or by the thread ------------------- */

static int fp_flows_fit(fp_l7_t *s, int id) {
  if (id < s->flows_cap) return 1;
  int cap = s->flows_cap ? s->flows_cap : 1024;
  while (cap <= id) cap *= 2;
  fp_flow_t **fl = realloc(s->flows, sizeof(fp_flow_t *) * (size_t)cap);
  if (fl == NULL) return 0;
  memset(fl + s->flows_cap, 0, sizeof(fp_flow_t *) * (size_t)(cap - s->flows_cap));
  s->flows = fl;
  s->flows_cap = cap;
  return 1;
}

/* A flow with its fixed row bytes ({"flow_id":…,"start_time":, ,"client_ip":…,"version": and
   the metrics' server JSON), or NULL (out of memory). */
static fp_flow_t *fp_flow_new(fp_l7_t *s, const char *fid, int nf, const char *cip, int nc, int32_t cport,
                              const char *sip, int ns, int32_t sport, int32_t proto, uint32_t srv, int kind) {
  size_t need = 512 + s->ids_len + 6 * ((size_t)nf + 2 * (size_t)nc + 2 * (size_t)ns);
  fp_flow_t *f = s->npool > 0 ? s->pool[--s->npool] : calloc(1, sizeof(fp_flow_t));
  if (f == NULL) return NULL;
  if (f->fixed_cap < need) {
    uint8_t *p = realloc(f->p1, need);
    if (p == NULL) {
      fp_flow_free(f);
      return NULL;
    }
    f->p1 = p;
    f->fixed_cap = need;
  }
  uint8_t *o = f->p1;
  FP_W_LIT(o, "{\"flow_id\":");
  o = fp_w_jstr_wtf8(o, (const uint8_t *)fid, (size_t)nf);
  *o++ = ',';
  memcpy(o, s->ids, s->ids_len);
  o += s->ids_len;
  FP_W_LIT(o, ",\"start_time\":");
  f->p1_len = (size_t)(o - f->p1);
  f->p2 = o;
  FP_W_LIT(o, ",\"client_ip\":");
  o = fp_w_jstr_wtf8(o, (const uint8_t *)cip, (size_t)nc);
  FP_W_LIT(o, ",\"client_port\":");
  o = fp_w_i64(o, cport);
  FP_W_LIT(o, ",\"server_ip\":");
  o = fp_w_jstr_wtf8(o, (const uint8_t *)sip, (size_t)ns);
  FP_W_LIT(o, ",\"server_port\":");
  o = fp_w_i64(o, sport);
  FP_W_LIT(o, ",\"ip_protocol\":");
  o = fp_w_i64(o, proto);
  const char *pname = FP_KIND_NAME[kind];
  size_t pname_len = strlen(pname);
  FP_W_LIT(o, ",\"l7_protocol\":\"");
  memcpy(o, pname, pname_len);
  o += pname_len;
  FP_W_LIT(o, "\",\"version\":");
  f->p2_len = (size_t)(o - f->p2);
  f->srvj = o;
  FP_W_LIT(o, "\"server_ip\":");
  o = fp_w_jstr_wtf8(o, (const uint8_t *)sip, (size_t)ns);
  FP_W_LIT(o, ",\"server_port\":");
  o = fp_w_i64(o, sport);
  FP_W_LIT(o, ",\"l7_protocol\":\"");
  memcpy(o, pname, pname_len);
  o += pname_len;
  *o++ = '"';
  f->srvj_len = (size_t)(o - f->srvj);
  f->srv = srv;
  f->kind = kind;
  if ((kind == FP_KIND_REDIS && !fp_redis_open(f)) || (kind == FP_KIND_PG && !fp_pg_open(f))) {
    fp_flow_free(f);
    return NULL;
  }
  return f;
}

/* The flow ended: held segments go through, unanswered requests time out. */
static void fp_flow_end(fp_l7_t *s, int id, int64_t ts) {
  fp_flow_t *f = fp_flow_of(s, id);
  if (f == NULL) return;
  if (f->nheld[0] || f->nheld[1]) {
    fp_flush_held(s, f, 0);
    fp_flush_held(s, f, 1);
  }
  fp_expire(s, f, ts, 1);
  fp_unlist(s, f);
  s->flows[id] = NULL;
  fp_flow_release(s, f);
}

/* Request timeouts and finished metric seconds. */
static void fp_tick(fp_l7_t *s, int64_t now) {
  for (fp_flow_t *f = s->lhead; f != NULL;) {
    fp_flow_t *next = f->lnext;
    fp_expire(s, f, now, 0);
    f = next;
  }
  fp_am_tick(s->am, &s->am_out, now);
  fp_drain(s);
}

/* Metrics written (every flow has been ended by the caller). */
static void fp_file_release(fp_l7_t *s);

static void fp_flush(fp_l7_t *s) {
  fp_am_flush(s->am, &s->am_out);
  fp_drain(s);
  if (s->threaded) {
    /* every segment has been read: the file and its lease go back */
    fp_file_release(s);
    fp_dio_finish(s, &s->dio_l7);
    fp_dio_finish(s, &s->dio_am);
  }
}

/* A JS writer's chunk (wchunk()): written whole, or its failure noted for that descriptor (once
   FP_WFAILS are noted, later ones are dropped: the writer has already seen one). Chunks of the
   thread's own two files (the rows and metrics of other protocols) join that file's stream,
   which may be direct; their failures are the thread's, reported by flush(). */
static void fp_write_chunk(fp_l7_t *s, int fd, const uint8_t *p, size_t n) {
  if (fd == s->dio_l7.fd) {
    fp_file_put(s, &s->dio_l7, p, n);
    return;
  }
  if (fd == s->dio_am.fd && s->fd_am != s->fd_l7) {
    fp_file_put(s, &s->dio_am, p, n);
    return;
  }
  int e = fp_write_fd(fd, p, n);
  if (e == 0) return;
  int k = atomic_load_explicit(&s->nwfail, memory_order_relaxed);
  if (k < FP_WFAILS) {
    s->wfail_fd[k] = fd;
    s->wfail_errno[k] = e;
    atomic_store_explicit(&s->nwfail, k + 1, memory_order_release);
  }
}


/* ---- own-thread mode: the capture file read by offset ---------------------------------- */

/* The capture file, read by the thread through a window of it mapped read-only, instead of
   through the JS thread's blocks (readFile()). Why: with the blocks, the JS thread's read()
   refilled memory the thread had just read on the other core, and the blocks had to rotate
   (a fence) rather than stay one buffer in the JS thread's cache: web-1m's JS thread ran
   ~80-110 ms longer than with one buffer and no sharing (session 16). The window moves with
   the segments (they come in file order) and is unmapped behind them, so the mapping costs
   page-table work on this thread (little when the page cache holds the file in large folios,
   as after a read from disk; 0.25-0.45 s for web-1m's 3.5 GB in 4 KiB pages) and the process's
   resident size stays about one window.
   A file shrunk under a mapping faults (SIGBUS) where it is read: readFile() takes a read
   lease first (none: no file reading), which makes another process's truncate or open for
   writing wait until the lease is given back (or lease-break-time passes, 45 s by default).
   The thread looks at the lease every FP_FW_CHECK commands, at every window and whenever it
   has nothing to do (at least every 20 ms then): the lease-break time is far off, even for a
   capture whose L7 segments are few. Once it is being broken, the map and the lease go, and
   the rest of the segments are read with pread, which a shorter file answers with fewer bytes,
   not a fault (those segments count as gaps). */
#define FP_FWIN (32u << 20)
/* A segment starting in a window may end past it: a window maps this much more. */
#define FP_FWIN_OVER (256u << 10)
#define FP_FW_CHECK 256

/* The map and the lease go (the descriptor stays, for pread). */
static void fp_file_unmap(fp_l7_t *s) {
  if (s->fw_p != NULL) munmap((void *)s->fw_p, (size_t)(s->fw_hi - s->fw_lo));
  s->fw_p = NULL;
  s->fw_lo = s->fw_hi = 0;
  if (s->file_fd >= 0 && !s->file_pread) fcntl(s->file_fd, F_SETLEASE, F_UNLCK);
  s->file_pread = 1;
}

static void fp_file_release(fp_l7_t *s) {
  fp_file_unmap(s);
  if (s->file_fd >= 0) close(s->file_fd);
  s->file_fd = -1;
  free(s->fbuf);
  s->fbuf = NULL;
  s->fbuf_cap = 0;
}

/* [o, o + need) read with pread into fbuf, or NULL (fewer bytes: the file shrank). */
static const uint8_t *fp_file_pread(fp_l7_t *s, uint64_t o, uint32_t need) {
  if (need > s->fbuf_cap) {
    uint8_t *b = realloc(s->fbuf, need);
    if (b == NULL) return NULL;
    s->fbuf = b;
    s->fbuf_cap = need;
  }
  size_t got = 0;
  while (got < need) {
    ssize_t r = pread(s->file_fd, s->fbuf + got, need - got, (off_t)(o + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return NULL;
    got += (size_t)r;
  }
  return s->fbuf;
}

/* Whether the read lease still holds (a break pending shows as another type). */
static int fp_file_leased(fp_l7_t *s) {
  return fcntl(s->file_fd, F_GETLEASE) == F_RDLCK;
}

/* The map and the lease go once the lease is being broken: pread from then on. Only while a
   window is mapped (none before the first FSEG: file_fd and the rest are the JS thread's until
   then, and with nothing mapped nothing can fault). */
static void fp_file_check(fp_l7_t *s) {
  s->fw_since_check = 0;
  if (s->fw_p == NULL || fp_file_leased(s)) return;
  fp_file_unmap(s);
  s->file_state = 2;
}

/* [o, o + need) of the file, or NULL (the file given up, or past its size). */
static const uint8_t *fp_file_at(fp_l7_t *s, uint64_t o, uint32_t need) {
  if (s->file_fd < 0) return NULL;
  if (s->file_pread) return fp_file_pread(s, o, need);
  if (s->fw_p != NULL && o >= s->fw_lo && o + need <= s->fw_hi) return s->fw_p + (o - s->fw_lo);
  fp_file_check(s);
  if (s->file_pread) return fp_file_pread(s, o, need);
  uint64_t lo = o & ~(uint64_t)(FP_FWIN - 1), hi = lo + FP_FWIN + FP_FWIN_OVER;
  /* a segment longer than FP_FWIN_OVER (a capture limit past 256 KiB) widens its window */
  if (hi < o + need) hi = o + need;
  if (hi > s->file_size) hi = s->file_size;
  if (o + need > hi) return NULL;
  if (s->fw_p != NULL) munmap((void *)s->fw_p, (size_t)(s->fw_hi - s->fw_lo));
  s->fw_p = NULL;
  void *m = mmap(NULL, (size_t)(hi - lo), PROT_READ, MAP_SHARED, s->file_fd, (off_t)lo);
  if (m == MAP_FAILED) {
    fp_file_unmap(s);
    s->file_state = 2;
    return fp_file_pread(s, o, need);
  }
  /* Its page tables at once: cheap in the large folios file reading needs (fp_file_cheap), and
     a prefetch of an address without them is dropped. */
  madvise(m, (size_t)(hi - lo), MADV_POPULATE_READ);
  s->fw_p = m;
  s->fw_lo = lo;
  s->fw_hi = hi;
  return s->fw_p + (o - lo);
}

/* The first FP_PF_LINES cache lines of a segment the thread will read soon, where its window
   is mapped: read from the file, a segment's bytes are no longer in a cache the JS thread has
   just filled, and the header scan waited for them. FP_PF_AHEAD commands ahead, 8 lines each:
   the thread's CPU on web-1m 452 -> 390 ms (median of 8; 8 commands and 4 lines: 412). */
#define FP_PF_AHEAD 16
#define FP_PF_LINES 8
static void fp_file_prefetch(fp_l7_t *s, uint64_t o, int32_t len) {
  if (s->fw_p == NULL || o < s->fw_lo || o >= s->fw_hi) return;
  const uint8_t *p = s->fw_p + (o - s->fw_lo);
  uint64_t room = s->fw_hi - o;
  for (int i = 0; i < FP_PF_LINES && (uint64_t)i * 64 < room && i * 64 < len; i++) __builtin_prefetch(p + i * 64, 0, 3);
}

static void fp_run_cmd(fp_l7_t *s, const fp_cmd_t *c) {
  switch (c->op) {
  case FP_OP_SEG: {
    fp_flow_t *f = fp_flow_of(s, c->id);
    if (f == NULL) break;
    const uint8_t *data = c->data != NULL ? c->data : (const uint8_t *)(c + 1);
    fp_on_payload(s, f, c->dir, data, c->off, c->len, c->wire, c->blen, c->seq, c->ts);
    if (s->am_out.len >= FP_FLUSH_AT) fp_drain_am(s);
    break;
  }
  case FP_OP_FSEG: {
    fp_flow_t *f = fp_flow_of(s, c->id);
    if (f == NULL) break;
    const uint8_t *data = fp_file_at(s, (uint64_t)(uintptr_t)c->data, (uint32_t)c->blen);
    if (data == NULL) {
      s->file_lost++;
      break;
    }
    fp_on_payload(s, f, c->dir, data, 0, c->len, c->wire, c->blen, c->seq, c->ts);
    if (s->am_out.len >= FP_FLUSH_AT) fp_drain_am(s);
    break;
  }
  case FP_OP_OPEN: {
    const fp_cmd_open_t *o = (const fp_cmd_open_t *)c;
    const char *str = (const char *)(o + 1);
    if (!fp_flows_fit(s, o->id)) break;
    if (o->id >= s->nflows) s->nflows = o->id + 1;
    s->flows[o->id] = fp_flow_new(s, str, o->nf, str + o->nf, o->nc, o->cport, str + o->nf + o->nc, o->ns, o->sport,
                                  o->proto, o->srv, o->kind);
    break;
  }
  case FP_OP_END:
    fp_flow_end(s, c->id, c->ts);
    break;
  case FP_OP_TICK:
    fp_tick(s, c->ts);
    break;
  case FP_OP_FLUSH:
    fp_flush(s);
    break;
  case FP_OP_WRITE:
    fp_write_chunk(s, c->off, c->data, (size_t)c->len);
    break;
  default:
    break;
  }
}

/* The thread: runs commands as they come; with none, spins briefly, then sleeps until the JS
   thread has a backlog for it, waits for it, or 20 ms pass. */
static void *fp_thread_main(void *arg) {
  fp_l7_t *s = arg;
  /* Named for perf, top and /proc (15 characters at most). */
  pthread_setname_np(pthread_self(), "fp-l7-rows");
  uint64_t t = 0, cap = s->ring_cap;
  const uint8_t *ring = s->ring;
  struct timespec busy = {0, 0};
  /* pf: the next command to prefetch for, 'ahead' commands past t (see fp_file_prefetch) */
  uint64_t pf = 0;
  int ahead = 0;
  for (;;) {
    /* Stopped by the finalizer: what is still queued is dropped. Every caller flushes first;
       a processor dropped without flush may have had its descriptors closed (or reused). */
    if (atomic_load_explicit(&s->stop, memory_order_relaxed)) break;
    uint64_t h = atomic_load_explicit(&s->head, memory_order_acquire);
    if (h == t) {
      fp_file_check(s);
      for (int i = 0; i < 256 && h == t; i++) {
        fp_pause();
        h = atomic_load_explicit(&s->head, memory_order_acquire);
      }
      if (h != t) continue;
      if (fp_since_ns(&busy) < FP_BUSY_NS) {
        struct timespec d = {0, FP_POLL_NS};
        nanosleep(&d, NULL);
        continue;
      }
      pthread_mutex_lock(&s->mu);
      atomic_store(&s->cons_sleeping, 1);
      /* A JS thread waiting may have missed the last tail (see below): it is reached now. */
      if (atomic_load(&s->prod_waiting)) pthread_cond_signal(&s->cv_prod);
      while (atomic_load(&s->head) == t && !atomic_load(&s->stop)) {
        struct timespec ts;
        fp_deadline(&ts, 20);
        pthread_cond_timedwait(&s->cv_cons, &s->mu, &ts);
      }
      atomic_store(&s->cons_sleeping, 0);
      pthread_mutex_unlock(&s->mu);
      continue;
    }
    clock_gettime(CLOCK_MONOTONIC, &busy);
    while (t != h) {
      for (; ahead < FP_PF_AHEAD && pf != h; ahead++) {
        const fp_cmd_t *q = (const fp_cmd_t *)(ring + (pf & (cap - 1)));
        if (q->op == FP_OP_FSEG) fp_file_prefetch(s, (uint64_t)(uintptr_t)q->data, q->len);
        pf += q->size;
      }
      const fp_cmd_t *c = (const fp_cmd_t *)(ring + (t & (cap - 1)));
      if (++s->fw_since_check >= FP_FW_CHECK) fp_file_check(s);
      fp_run_cmd(s, c);
      t += c->size;
      if (ahead > 0) ahead--;
      else pf = t;
      /* No full fence per command: a waiting JS thread missed here is seen after the next
         command, or when the ring is empty (above), or by its own 10 ms timed wait. */
      atomic_store_explicit(&s->tail, t, memory_order_release);
      if (atomic_load_explicit(&s->prod_waiting, memory_order_relaxed) &&
          t >= atomic_load_explicit(&s->prod_target, memory_order_relaxed)) {
        pthread_mutex_lock(&s->mu);
        pthread_cond_signal(&s->cv_prod);
        pthread_mutex_unlock(&s->mu);
      }
    }
  }
  return NULL;
}

/* ---- N-API ----------------------------------------------------------------------------- */

static fp_l7_t *fp_self(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  fp_l7_t *s = NULL;
  napi_get_cb_info(env, info, argc, argv, NULL, (void **)&s);
  s->env = env;
  return s;
}

/* Whether the buf() array lies in a pinned block. */
static void fp_seg_stable(fp_l7_t *s) {
  const uint8_t *d = s->seg_data;
  s->seg_stable = 0;
  for (int i = 0; d != NULL && i < s->npin; i++)
    if (s->pin_ref[i] != NULL && d >= s->pin_lo[i] && d + s->seg_len <= s->pin_hi[i]) s->seg_stable = 1;
}

/* A Uint8Array argument's bytes; 0 if v is not one (or is over 2 GiB). */
static int fp_u8_arg(napi_env env, napi_value v, void **data, size_t *len) {
  napi_typedarray_type type;
  size_t bo;
  napi_value ab;
  *data = NULL;
  *len = 0;
  return napi_get_typedarray_info(env, v, &type, len, data, &ab, &bo) == napi_ok && type == napi_uint8_array &&
         *len <= 0x7fffffff;
}

/* A probe of the page cache's mapping cost: FP_FPROBE bytes at three places; one that takes
   longer than FP_FPROBE_NS to map is dear. */
#define FP_FPROBE (2u << 20)
#define FP_FPROBE_NS 40000

/* Whether mapping the file is cheap, which depends on how the page cache holds it. Measured on
   web-1m (3.5 GB), 32 MiB mapped and unmapped: 0.03 ms in 2 MiB folios (readahead makes them
   for a file read from disk, but not always: parts in 8-16 page folios were seen too), 2-5 ms
   in smaller ones or 4 KiB pages (small writes leave a file just written so): the row thread
   then spent ~0.4 s more on page tables than the blocks cost, and the analysis ran ~9 %
   longer, where in 2 MiB folios it ran 8-12 % shorter. So three places of 2 MiB are mapped and
   timed; any not all in the page cache, or dear, keeps the blocks. (Reading a part first, to
   time it, would put it in the page cache in the small folios of a read out of sequence, and
   every later probe there would find it dear.) */
static int fp_file_cheap(int fd, uint64_t size) {
  if (size < 4 * (uint64_t)FP_FPROBE) return 1;
  unsigned char vec[FP_FPROBE / 4096];
  for (int k = 1; k <= 3; k++) {
    uint64_t off = (size / 4 * (uint64_t)k) & ~(uint64_t)(FP_FPROBE - 1);
    void *m = mmap(NULL, FP_FPROBE, PROT_READ, MAP_SHARED, fd, (off_t)off);
    if (m == MAP_FAILED) return 0;
    int resident = mincore(m, FP_FPROBE, vec) == 0;
    for (size_t i = 0; resident && i < sizeof vec; i++) resident = vec[i] & 1;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int ok = resident && madvise(m, FP_FPROBE, MADV_POPULATE_READ) == 0;
    int64_t dt = fp_since_ns(&t0);
    munmap(m, FP_FPROBE);
    if (!ok || dt > FP_FPROBE_NS) return 0;
  }
  return 1;
}

/* readFile(fd, size): the thread reads the capture file fd (size bytes) itself, by offset (see
   fp_file_at), under a read lease; false (nothing changes) without the thread, when the lease
   cannot be had (another process has the file open for writing, the file is not this user's,
   or its file system has no leases), or when the file is dear to map (fp_file_cheap). Lease
   breaks are signalled with SIGURG, ignored by default: the thread polls the lease instead
   (SIGIO, the default, would end the process). */
static napi_value fp_js_read_file(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2], res;
  fp_l7_t *s = fp_self(env, info, &argc, a);
  int32_t fd = -1;
  int64_t n = 0;
  bool ok = false;
  if (argc >= 2 && s->threaded && s->file_fd < 0 && !s->file_pread && napi_get_value_int32(env, a[0], &fd) == napi_ok &&
      napi_get_value_int64(env, a[1], &n) == napi_ok && n > 0) {
    int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (d >= 0 && fcntl(d, F_SETSIG, SIGURG) == 0 && fcntl(d, F_SETLEASE, F_RDLCK) == 0) {
      if (fp_file_cheap(d, (uint64_t)n)) {
        s->file_fd = d;
        s->file_size = (uint64_t)n;
        s->file_state = 1;
        ok = true;
      } else {
        fcntl(d, F_SETLEASE, F_UNLCK);
        close(d);
      }
    } else if (d >= 0)
      close(d);
  }
  napi_get_boolean(env, ok, &res);
  return res;
}

/* bufFile(): the records segs() takes next give offsets in readFile()'s file (until buf()). */
static napi_value fp_js_buf_file(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  fp_l7_t *s = fp_self(env, info, &argc, NULL);
  s->seg_file = s->file_fd >= 0;
  return NULL;
}

/* buf(b): the Uint8Array the next segments are in (held until the next buf()): JS calls it only
   when the array changes, so segs() decodes no array. Returns whether b lies in a pinned block:
   only then may JS queue its segments for a later segs() (else the bytes may change first). */
static napi_value fp_js_buf(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1], res;
  fp_l7_t *s = fp_self(env, info, &argc, a);
  size_t blen = 0;
  void *data = NULL;
  s->seg_file = 0;
  s->seg_data = NULL;
  s->seg_len = 0;
  if (s->seg_ref != NULL) {
    napi_delete_reference(env, s->seg_ref);
    s->seg_ref = NULL;
  }
  if (argc < 1 || !fp_u8_arg(env, a[0], &data, &blen) || napi_create_reference(env, a[0], 1, &s->seg_ref) != napi_ok) {
    napi_throw_error(env, NULL, "http1-rows: buf() needs a Uint8Array");
    return NULL;
  }
  s->seg_data = data;
  s->seg_len = blen;
  fp_seg_stable(s);
  napi_get_boolean(env, s->seg_stable != 0, &res);
  return res;
}

/* A flow's end (queued in segs()): its pending requests become rows. Its id (the JS's) may
   open another flow after it. */
static void fp_end_one(fp_l7_t *s, double id, double ts) {
  if (!s->threaded) {
    fp_flow_end(s, (int)id, (int64_t)ts);
    return;
  }
  if (!(id >= 0 && id < s->m_next)) return;
  fp_cmd_simple(s, FP_OP_END, (int32_t)id, (int64_t)ts);
}

/* A flow's opening, queued in two records (SEG_OPEN in http1-rows.ts): g[0] its id (the JS's,
   free again once its end is queued), g[1] FP_SEG_OPEN, g[2] its kind (FP_KIND_*), g[3..15]
   its numbers in FP_KEY_* order with the two ports as client * 65536 + server. Its strings and
   the metrics' server id are made here, its fixed row bytes once (fp_flow_new). Numbers that
   are not a flow's, or no memory, leave it unopened: its segments are then dropped. */
static void fp_open_one(fp_l7_t *s, const double *g) {
  double k[FP_KEY_N], ports = g[15];
  memcpy(k, g + 3, sizeof(double) * FP_KEY_CPORT);
  k[FP_KEY_CPORT] = ports >= 0 && ports < 4294967296.0 ? (double)((uint32_t)ports >> 16) : -1;
  k[FP_KEY_SPORT] = ports >= 0 && ports < 4294967296.0 ? (double)((uint32_t)ports & 0xffff) : -1;
  double id_d = g[0], kind_d = g[2];
  char fid[32], cip[64], sip[64];
  uint32_t cw[4], sw[4];
  double ver_d = k[FP_KEY_VER], proto_d = k[FP_KEY_PROTO];
  int nf = fp_flow_id_text(fid, k[FP_KEY_ID_HI], k[FP_KEY_ID_LO]);
  if (nf < 0 || !fp_key_words(k, FP_KEY_CIP, cw) || !fp_key_words(k, FP_KEY_SIP, sw) || !(ver_d >= 0 && ver_d <= 255) ||
      !(proto_d >= 0 && proto_d <= 255) || k[FP_KEY_CPORT] < 0 || !(id_d >= 0 && id_d < FP_MAX_FLOW_ID)) {
    s->open_failed++;
    return;
  }
  int32_t id = (int32_t)id_d, kind = (int32_t)kind_d;
  kind = kind == FP_KIND_DNS || kind == FP_KIND_REDIS || kind == FP_KIND_PG ? kind : FP_KIND_HTTP;
  int ver = (int)ver_d;
  int32_t proto = (int32_t)proto_d, cport = (int32_t)k[FP_KEY_CPORT], sport = (int32_t)k[FP_KEY_SPORT];
  /* Words the text does not show are not the server's either (its id is keyed on them). */
  for (int i = ver == 4 ? 1 : ver == 6 ? 4 : 0; i < 4; i++) cw[i] = sw[i] = 0;
  int nc = fp_ip_text(cip, ver, cw), ns = fp_ip_text(sip, ver, sw);
  uint32_t srv = fp_server_id(s, ver, sw, sport, kind);
  if (srv == UINT32_MAX) {
    s->open_failed++;
    return;
  }
  if (s->threaded) {
    /* The thread runs the END of an id's last flow before this OPEN (the ring keeps their order). */
    uint32_t size = (uint32_t)((sizeof(fp_cmd_open_t) + (size_t)(nf + nc + ns) + 7) & ~(size_t)7);
    fp_cmd_open_t *c = (fp_cmd_open_t *)fp_cmd_room(s, size);
    char *str = (char *)(c + 1);
    c->size = size;
    c->op = FP_OP_OPEN;
    c->id = id;
    c->nf = nf;
    c->nc = nc;
    c->ns = ns;
    c->cport = cport;
    c->sport = sport;
    c->proto = proto;
    c->kind = kind;
    c->srv = srv;
    memcpy(str, fid, (size_t)nf);
    memcpy(str + nf, cip, (size_t)nc);
    memcpy(str + nf + nc, sip, (size_t)ns);
    s->phead += size;
    if (id >= s->m_next) s->m_next = id + 1;
    return;
  }
  if (!fp_flows_fit(s, id)) {
    s->open_failed++;
    return;
  }
  if (id >= s->nflows) s->nflows = id + 1;
  if (s->flows[id] != NULL) fp_flow_end(s, id, 0);
  s->flows[id] = fp_flow_new(s, fid, nf, cip, nc, cport, sip, ns, sport, proto, srv, kind);
  if (s->flows[id] == NULL) s->open_failed++;
}

/* Room for a segment's command of 'size' bytes at the ring's head, its header written from the
   record g (direction, sequence, time) and the checked numbers. */
static fp_cmd_t *fp_seg_cmd(fp_l7_t *s, const double *g, uint32_t size, uint8_t op, int32_t id, int32_t len,
                            int32_t wire) {
  fp_cmd_t *c = (fp_cmd_t *)fp_cmd_room(s, size);
  c->size = size;
  c->op = op;
  c->dir = (uint8_t)((int)g[1] & 1);
  c->id = id;
  c->len = len;
  c->wire = wire;
  c->seq = (uint32_t)(int64_t)g[5];
  c->ts = (int64_t)g[6];
  return c;
}

/* One payload segment of the buf() array; g[0..6] = flow id, direction (already oriented),
   offset, captured length, wire length, TCP sequence, timestamp (µs). Or a flow's end
   (FP_SEG_END in g[1]). */
static int fp_seg_one(fp_l7_t *s, const double *g, int32_t left) {
  if (g[1] == FP_SEG_END) {
    fp_end_one(s, g[0], g[6]);
    return 1;
  }
  if (g[1] == FP_SEG_OPEN) {
    if (left < 2) return 1;
    fp_open_one(s, g);
    return 2;
  }
  const uint8_t *data = s->seg_data;
  size_t blen = s->seg_len;
  if (s->seg_file) {
    /* g[2]: the segment's offset in the file */
    double fo = g[2];
    int32_t len = (int32_t)g[3], wire = (int32_t)g[4], id = (int32_t)g[0];
    if (!(fo >= 0 && fo < (double)s->file_size) || len < 0 || wire < len || (uint64_t)fo + (uint64_t)len > s->file_size)
      return 1;
    if (id < 0 || id >= s->m_next) return 1;
    uint64_t o = (uint64_t)fo;
    fp_cmd_t *c = fp_seg_cmd(s, g, (uint32_t)sizeof(fp_cmd_t), FP_OP_FSEG, id, len, wire);
    c->data = (const uint8_t *)(uintptr_t)o;
    c->off = 0;
    /* with the byte after it when there is one, as in a block (the method check looks at it) */
    c->blen = o + (uint64_t)len < s->file_size ? len + 1 : len;
    s->phead += sizeof(fp_cmd_t);
    return 1;
  }
  int32_t off = (int32_t)g[2], len = (int32_t)g[3], wire = (int32_t)g[4];
  if (data == NULL || off < 0 || len < 0 || (size_t)off + (size_t)len > blen || wire < len) return 1;
  if (s->threaded) {
    int32_t id = (int32_t)g[0];
    if (id < 0 || id >= s->m_next) return 1;
    /* Not in a pinned block: the bytes are copied, with the one after them when there is one
       (the method check looks at it, as the JS does in the whole array). */
    int32_t copy = s->seg_stable ? 0 : ((size_t)off + (size_t)len < blen ? len + 1 : len);
    uint32_t size = (uint32_t)((sizeof(fp_cmd_t) + (size_t)copy + 7) & ~(size_t)7);
    fp_cmd_t *c = fp_seg_cmd(s, g, size, FP_OP_SEG, id, len, wire);
    if (copy == 0) {
      c->data = data;
      c->off = off;
      c->blen = (int32_t)blen;
    } else {
      memcpy((uint8_t *)(c + 1), data + off, (size_t)copy);
      c->data = NULL;
      c->off = 0;
      c->blen = copy;
    }
    /* Enqueued; segs() publishes the batch. */
    s->phead += size;
    return 1;
  }
  fp_flow_t *f = fp_flow_of(s, g[0]);
  if (f == NULL) return 1;
  fp_on_payload(s, f, (int)g[1] & 1, data, off, len, wire, (int32_t)blen, (uint32_t)(int64_t)g[5], (int64_t)g[6]);
  if (s->am_out.len >= FP_FLUSH_AT) fp_drain_am(s);
  return 1;
}

/* segs(n): the first n records queued in args (FP_SEG_ARGS numbers each: segments, flow ends and
   openings, see fp_seg_one), in order; one call for a batch, since the call itself costs as much as enqueueing
   one. */
static napi_value fp_js_segs(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  fp_l7_t *s = fp_self(env, info, &argc, a);
  int32_t n = 0;
  if (argc < 1 || napi_get_value_int32(env, a[0], &n) != napi_ok) return NULL;
  if (n > FP_SEG_BATCH) n = FP_SEG_BATCH;
  uint64_t h0 = s->phead;
  for (int32_t i = 0; i < n;) i += fp_seg_one(s, s->args + (size_t)i * FP_SEG_ARGS, n - i);
  if (s->phead != h0) fp_publish(s);
  return NULL;
}

/* tick(now): request timeouts and finished metric seconds. */
static napi_value fp_js_tick(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  fp_l7_t *s = fp_self(env, info, &argc, a);
  double now = 0;
  if (argc < 1) return NULL;
  napi_get_value_double(env, a[0], &now);
  if (s->threaded) fp_cmd_simple(s, FP_OP_TICK, -1, (int64_t)now);
  else fp_tick(s, (int64_t)now);
  return NULL;
}

/* flush(): metrics written (every flow has been ended by the caller); in own-thread mode,
   returns once the thread has written everything. */
static napi_value fp_js_flush(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  fp_l7_t *s = fp_self(env, info, &argc, NULL);
  if (s->threaded) {
    fp_cmd_simple(s, FP_OP_FLUSH, -1, 0);
    fp_sync(s);
  } else fp_flush(s);
  return NULL;
}

/* pin(b): a block the JS thread keeps unchanged until mark()/waitFor() say the thread is past
   it: segments in it are passed by pointer, not copied (own-thread mode; else a no-op). */
static napi_value fp_js_pin(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  fp_l7_t *s = fp_self(env, info, &argc, a);
  size_t blen = 0;
  void *data = NULL;
  if (!s->threaded || argc < 1 || !fp_u8_arg(env, a[0], &data, &blen) || data == NULL) return NULL;
  int i = s->npin < FP_MAX_PINS ? s->npin++ : 0;
  /* past FP_MAX_PINS the oldest is replaced: only once everything has been consumed */
  if (s->npin == FP_MAX_PINS && s->pin_ref[i] != NULL) {
    fp_sync(s);
    napi_delete_reference(env, s->pin_ref[i]);
    s->pin_ref[i] = NULL;
  }
  if (napi_create_reference(env, a[0], 1, &s->pin_ref[i]) != napi_ok) return NULL;
  s->pin_lo[i] = data;
  s->pin_hi[i] = (const uint8_t *)data + blen;
  fp_seg_stable(s);
  return NULL;
}

/* The capture blocks' memory (region()): its mapping, and the thread that makes its pages. */
typedef struct {
  uint8_t *p;
  size_t bytes;
  pthread_t th;
  int started;
} fp_region_t;

static void fp_region_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  fp_region_t *r = hint;
  if (r->started) pthread_join(r->th, NULL);
  munmap(r->p, r->bytes);
  free(r);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* The first pages the reader fills first: the rest follow on their own thread. */
#define FP_REGION_NOW (2u << 20)

static void *fp_region_populate(void *arg) {
  fp_region_t *r = arg;
  pthread_setname_np(pthread_self(), "fp-l7-blocks");
  madvise(r->p + FP_REGION_NOW, r->bytes - FP_REGION_NOW, MADV_POPULATE_WRITE);
  return NULL;
}

/* region(bytes) -> ArrayBuffer: memory for the capture blocks (ChunkedSource), 2 MiB-aligned,
   in huge pages where the kernel gives them (madvise), its pages made now. The JS thread's
   reads otherwise fault in 16 fresh MiB page by page (~4000 faults, ~10 ms on the VMs here)
   and walk them with 4 KiB pages. Alternated runs: 832.5 against 862.5 ms median (12 each, the
   JS thread's running time 775.5 against 808), 814 against 825.5 (10 each, 740.5 against
   756.5). No huge pages, or a kernel without MADV_POPULATE_WRITE (5.14): the same memory,
   faulted in as it is used.
   Only the first 2 MiB (the reader's first blocks) are made on the calling thread, the rest on
   a thread of their own: on these VMs making the 16 MiB took the JS thread 1 to 37 ms from run
   to run (fresh memory of the guest is slow to make when the host has not backed it yet). */
static napi_value fp_js_region(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1], res;
  fp_self(env, info, &argc, a);
  int64_t n = 0;
  if (argc < 1 || napi_get_value_int64(env, a[0], &n) != napi_ok || n <= 0) return NULL;
  size_t huge = 2u << 20, bytes = ((size_t)n + huge - 1) & ~(huge - 1);
  fp_region_t *r = calloc(1, sizeof *r);
  if (r == NULL) return NULL;
  uint8_t *m = mmap(NULL, bytes + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    free(r);
    return NULL;
  }
  uint8_t *p = (uint8_t *)(((uintptr_t)m + huge - 1) & ~(uintptr_t)(huge - 1));
  if (p > m) munmap(m, (size_t)(p - m));
  if (m + huge > p) munmap(p + bytes, (size_t)(m + huge - p));
  r->p = p;
  r->bytes = bytes;
  madvise(p, bytes, MADV_HUGEPAGE);
  madvise(p, bytes < FP_REGION_NOW ? bytes : FP_REGION_NOW, MADV_POPULATE_WRITE);
  if (bytes > FP_REGION_NOW) r->started = pthread_create(&r->th, NULL, fp_region_populate, r) == 0;
  if (napi_create_external_arraybuffer(env, p, (size_t)n, fp_region_free, r, &res) != napi_ok) {
    /* a runtime without external buffers (V8's sandbox): the reader allocates its own */
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
    fp_region_free(env, p, r);
    return NULL;
  }
  return res;
}

/* mark() -> a position: waitFor(position) returns once the thread has run what was enqueued
   before it (0 when not in own-thread mode). */
static napi_value fp_js_mark(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value res;
  fp_l7_t *s = fp_self(env, info, &argc, NULL);
  napi_create_double(env, (double)s->phead, &res);
  return res;
}

/* The ring position a passed()/waitFor() argument names: 0 (nothing to wait for) when not in
   own-thread mode or not a positive number, at most what has been enqueued. */
static uint64_t fp_mark_arg(napi_env env, fp_l7_t *s, size_t argc, napi_value v) {
  double m = 0;
  if (!s->threaded || argc < 1 || napi_get_value_double(env, v, &m) != napi_ok || m <= 0) return 0;
  uint64_t target = (uint64_t)m;
  return target > s->phead ? s->phead : target;
}

/* passed(position): whether the thread has run what was enqueued before it (without waiting). */
static napi_value fp_js_passed(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1], res;
  fp_l7_t *s = fp_self(env, info, &argc, a);
  uint64_t target = fp_mark_arg(env, s, argc, a[0]);
  napi_get_boolean(env, target == 0 || atomic_load(&s->tail) >= target, &res);
  return res;
}

static napi_value fp_js_wait_for(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  fp_l7_t *s = fp_self(env, info, &argc, a);
  uint64_t target = fp_mark_arg(env, s, argc, a[0]);
  if (target > 0) fp_wait_tail(s, target);
  return NULL;
}

/* A wchunk() slot to copy into: a free one, a new one, else the oldest once the thread is past
   its chunk; -1 when out of memory. */
static int fp_wslot(fp_l7_t *s) {
  uint64_t t = atomic_load_explicit(&s->tail, memory_order_acquire);
  for (int i = 0; i < FP_WSLOTS; i++)
    if (s->wslot[i] != NULL && s->wslot_free_at[i] <= t) return i;
  for (int i = 0; i < FP_WSLOTS; i++)
    if (s->wslot[i] == NULL) {
      s->wslot[i] = malloc(FP_WSLOT_BYTES);
      s->wslot_free_at[i] = 0;
      return s->wslot[i] != NULL ? i : -1;
    }
  int o = 0;
  for (int i = 1; i < FP_WSLOTS; i++)
    if (s->wslot_free_at[i] < s->wslot_free_at[o]) o = i;
  fp_wait_tail(s, s->wslot_free_at[o]);
  return o;
}

/* wchunk(fd, bytes, len) -> mark: the thread writes bytes[0..len) to fd after everything
   enqueued so far (a JSONL writer's chunk, copied here: the caller may reuse its array at once). */
static napi_value fp_js_wchunk(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value a[3], res;
  fp_l7_t *s = fp_self(env, info, &argc, a);
  int32_t fd = -1;
  double dlen = -1;
  void *data = NULL;
  size_t blen = 0;
  if (!s->threaded || argc < 3 || napi_get_value_int32(env, a[0], &fd) != napi_ok || fd < 0 ||
      !fp_u8_arg(env, a[1], &data, &blen) || napi_get_value_double(env, a[2], &dlen) != napi_ok || !(dlen >= 0) ||
      dlen > (double)blen) {
    napi_throw_error(env, NULL, "http1-rows: wchunk(fd, bytes, len) needs the row thread, a descriptor and a length within the array");
    return NULL;
  }
  const uint8_t *p = data;
  size_t n = (size_t)dlen;
  while (n > 0) {
    size_t k = n < FP_WSLOT_BYTES ? n : FP_WSLOT_BYTES;
    int i = fp_wslot(s);
    if (i < 0) {
      napi_throw_error(env, NULL, "http1-rows: out of memory for a chunk to write");
      return NULL;
    }
    memcpy(s->wslot[i], p, k);
    uint32_t size = (sizeof(fp_cmd_t) + 7) & ~7u;
    fp_cmd_t *c = (fp_cmd_t *)fp_cmd_room(s, size);
    c->size = size;
    c->op = FP_OP_WRITE;
    c->off = fd;
    c->len = (int32_t)k;
    c->data = s->wslot[i];
    fp_cmd_publish(s, size);
    s->wslot_free_at[i] = s->phead;
    p += k;
    n -= k;
  }
  napi_create_double(env, (double)s->phead, &res);
  return res;
}

/* wfail(fd) -> errno of the first failed wchunk() write to fd not yet reported (then forgotten),
   or 0; complete for the chunks before a mark once waitFor(mark) has returned. */
static napi_value fp_js_wfail(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1], res;
  fp_l7_t *s = fp_self(env, info, &argc, a);
  int32_t fd = -1;
  int e = 0;
  if (argc >= 1 && napi_get_value_int32(env, a[0], &fd) == napi_ok) {
    int k = atomic_load_explicit(&s->nwfail, memory_order_acquire);
    for (int i = 0; i < k; i++)
      if (s->wfail_fd[i] == fd && s->wfail_errno[i] != 0) {
        e = s->wfail_errno[i];
        s->wfail_errno[i] = 0;
        break;
      }
  }
  napi_create_int32(env, e, &res);
  return res;
}

/* stats() -> the counters (S_*), then buffered bytes, held bytes, pending, max pending per
   flow, flows, metrics folded, metrics late rows, output failed, application-metrics rows, the
   thread's write errno, direct writes (STAT in http1-rows.ts). */
static napi_value fp_js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  fp_l7_t *s = fp_self(env, info, &argc, NULL);
  fp_sync(s);
  double buffered = 0, held = 0, pending = 0, maxp = 0, flows = 0;
  for (int i = 0; i < s->nflows; i++) {
    fp_flow_t *f = s->flows[i];
    if (f == NULL) continue;
    flows++;
    buffered += f->buf_cap[0] + f->buf_cap[1];
    for (int d = 0; d < 2; d++)
      for (int k = 0; k < f->nheld[d]; k++) held += f->held[d][k].len;
    pending += f->pcount;
    if (f->pcount > maxp) maxp = f->pcount;
  }
  s->st[9] = buffered;
  s->st[10] = held;
  s->st[11] = pending;
  s->st[12] = maxp;
  s->st[13] = flows;
  s->st[14] = (double)fp_am_folded(s->am);
  s->st[15] = (double)fp_am_late_rows(s->am);
  s->st[16] = s->out.failed || s->am_out.failed;
  s->st[17] = (double)fp_am_rows(s->am);
  s->st[18] = s->write_errno;
  s->st[19] = s->dio.used;
  s->st[20] = s->file_state;
  napi_value arr, ab;
  void *data;
  napi_create_arraybuffer(env, sizeof(double) * 21, &data, &ab);
  memcpy(data, s->st, sizeof(double) * 21);
  ((double *)data)[S_FLOWS_FAILED] += s->open_failed;
  ((double *)data)[S_GAPS] += s->file_lost;
  napi_create_typedarray(env, napi_float64_array, 21, ab, 0, &arr);
  return arr;
}

static void fp_l7_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  fp_l7_t *s = data;
  if (s->threaded) {
    pthread_mutex_lock(&s->mu);
    atomic_store(&s->stop, 1);
    pthread_cond_signal(&s->cv_cons);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv_cons);
    pthread_cond_destroy(&s->cv_prod);
    fp_dio_close(s);
    free(s->ring);
    for (int i = 0; i < FP_WSLOTS; i++) free(s->wslot[i]);
  }
  for (int i = 0; i < s->npin; i++)
    if (s->pin_ref[i]) napi_delete_reference(env, s->pin_ref[i]);
  fp_file_release(s);
  for (int i = 0; i < s->nflows; i++)
    if (s->flows[i]) fp_flow_free(s->flows[i]);
  for (int i = 0; i < s->npool; i++) fp_flow_free(s->pool[i]);
  free(s->flows);
  free(s->srv_keys);
  free(s->am_out.p);
  free(s->ids);
  fp_am_free(s->am);
  napi_delete_reference(env, s->sink_l7);
  napi_delete_reference(env, s->sink_am);
  napi_delete_reference(env, s->out_ref);
  napi_delete_reference(env, s->am_xfer_ref);
  napi_delete_reference(env, s->args_ref);
  if (s->seg_ref) napi_delete_reference(env, s->seg_ref);
  free(s);
}

static napi_value fp_u8(napi_env env, size_t cap, void **data, napi_ref *ref) {
  napi_value ab, arr;
  if (napi_create_arraybuffer(env, cap, data, &ab) != napi_ok) return NULL;
  if (napi_create_typedarray(env, napi_uint8_array, cap, ab, 0, &arr) != napi_ok) return NULL;
  if (napi_create_reference(env, arr, 1, ref) != napi_ok) return NULL;
  return arr;
}

/* create(cfg) -> { args, seg, open, end, tick, flush, stats }. cfg: ids (the "org_id"/"agent_id"
   JSON pair), timeoutUs, maxPending, maxBuf, maxErrors, maxKeys, names ([name, kind, reqId,
   custom] in the policy's order), l7 and am (sinks: (bytes, len, rows)). */
static napi_value fp_js_create(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value cfg;
  napi_get_cb_info(env, info, &argc, &cfg, NULL, NULL);
  /* Aligned as its type is, so that the fields of the two threads start cache lines of their own. */
  fp_l7_t *s = aligned_alloc(_Alignof(fp_l7_t), sizeof(fp_l7_t));
  if (s != NULL) memset(s, 0, sizeof(fp_l7_t));
  if (s == NULL || argc < 1) {
    free(s);
    napi_throw_error(env, NULL, "http1-rows: cannot create");
    return NULL;
  }
  s->env = env;
  s->file_fd = -1;
  napi_value v;
  double d;
/* Limits as JS numbers (Infinity and huge values allowed): clamped where the C types end, far
   beyond anything a capture reaches. */
#define CFG_NUM(key, dst, max)                                                        \
  napi_get_named_property(env, cfg, key, &v);                                          \
  if (napi_get_value_double(env, v, &d) == napi_ok && d == d) dst = d >= (double)(max) ? (max) : d;
  s->timeout_us = 30000000;
  s->max_pending = 64;
  s->max_buf = 64 * 1024;
  s->max_errors = 8;
  double max_keys = 10000;
  CFG_NUM("timeoutUs", s->timeout_us, (INT64_MAX / 4));
  CFG_NUM("maxPending", s->max_pending, (INT32_MAX / 4));
  CFG_NUM("maxBuf", s->max_buf, (INT32_MAX / 4));
  CFG_NUM("maxErrors", s->max_errors, (INT32_MAX / 4));
  CFG_NUM("maxKeys", max_keys, (INT32_MAX / 4));
  if (s->max_pending < 1) s->max_pending = 1;
  napi_get_named_property(env, cfg, "ids", &v);
  size_t ids_len = 0;
  char *ids = fp_str(env, v, &ids_len);
  s->am = ids ? fp_am_new((const uint8_t *)ids, ids_len, (int)max_keys) : NULL;
  s->ids = (uint8_t *)ids;
  s->ids_len = ids_len;
  napi_value names;
  uint32_t nn = 0;
  napi_get_named_property(env, cfg, "names", &names);
  napi_get_array_length(env, names, &nn);
  for (uint32_t i = 0; i < nn && s->nnames < FP_MAX_NAMES; i++) {
    napi_value e, x;
    napi_get_element(env, names, i, &e);
    fp_name_t *nm = &s->names[s->nnames];
    size_t n = 0;
    napi_get_element(env, e, 0, &x);
    char tmp[80];
    if (napi_get_value_string_latin1(env, x, tmp, sizeof tmp, &n) != napi_ok || n > 64) continue;
    memcpy(nm->name, tmp, n);
    nm->len = (int)n;
    int32_t k = 0;
    napi_get_element(env, e, 1, &x);
    napi_get_value_int32(env, x, &k);
    nm->kind = k;
    napi_get_element(env, e, 2, &x);
    napi_get_value_int32(env, x, &k);
    nm->reqid = k;
    napi_get_element(env, e, 3, &x);
    napi_get_value_int32(env, x, &k);
    nm->custom = k;
    int idx = s->nnames++;
    /* by first byte, either case for a-z; an empty name matches a line starting with its colon */
    int c = n == 0 ? ':' : nm->name[0];
    int firsts[2] = {c, -1};
    if (c >= 'a' && c <= 'z') firsts[1] = c - 32;
    for (int j = 0; j < 2; j++) {
      int fc = firsts[j];
      if (fc < 0 || s->by_first_n[fc] >= FP_MAX_NAMES) continue;
      s->by_first[fc][s->by_first_n[fc]++] = (int16_t)idx;
    }
  }
  napi_value l7fn, amfn;
  napi_get_named_property(env, cfg, "l7", &l7fn);
  napi_get_named_property(env, cfg, "am", &amfn);
  napi_create_reference(env, l7fn, 1, &s->sink_l7);
  napi_create_reference(env, amfn, 1, &s->sink_am);
  void *p;
  if (s->am == NULL || fp_u8(env, FP_OUT_CAP, &p, &s->out_ref) == NULL) {
    napi_throw_error(env, NULL, "http1-rows: out of memory");
    return NULL;
  }
  s->out.p = p;
  s->out.cap = FP_OUT_CAP;
  if (fp_u8(env, FP_FLUSH_AT, &p, &s->am_xfer_ref) == NULL) return NULL;
  s->am_xfer = p;
  napi_value obj, ab, args, fn;
  napi_create_object(env, &obj);
  if (napi_create_arraybuffer(env, sizeof(double) * FP_SEG_ARGS * FP_SEG_BATCH, &p, &ab) != napi_ok) return NULL;
  s->args = p;
  napi_create_typedarray(env, napi_float64_array, FP_SEG_ARGS * FP_SEG_BATCH, ab, 0, &args);
  napi_create_reference(env, args, 1, &s->args_ref);
  napi_set_named_property(env, obj, "args", args);
#define FP_FN(name, cb)                                          \
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, s, &fn); \
  napi_set_named_property(env, obj, name, fn);
  FP_FN("buf", fp_js_buf);
  FP_FN("segs", fp_js_segs);
  FP_FN("readFile", fp_js_read_file);
  FP_FN("bufFile", fp_js_buf_file);
  FP_FN("tick", fp_js_tick);
  FP_FN("flush", fp_js_flush);
  FP_FN("stats", fp_js_stats);
  FP_FN("pin", fp_js_pin);
  FP_FN("region", fp_js_region);
  FP_FN("mark", fp_js_mark);
  FP_FN("waitFor", fp_js_wait_for);
  FP_FN("passed", fp_js_passed);
  FP_FN("wchunk", fp_js_wchunk);
  FP_FN("wfail", fp_js_wfail);
  /* fds: [l7, am] descriptors (O_APPEND) turn on own-thread mode */
  napi_value fds;
  bool has_fds = false;
  napi_has_named_property(env, cfg, "fds", &has_fds);
  if (has_fds && napi_get_named_property(env, cfg, "fds", &fds) == napi_ok) {
    napi_value x;
    int32_t f0 = -1, f1 = -1;
    if (napi_get_element(env, fds, 0, &x) == napi_ok) napi_get_value_int32(env, x, &f0);
    if (napi_get_element(env, fds, 1, &x) == napi_ok) napi_get_value_int32(env, x, &f1);
    if (f0 >= 0 && f1 >= 0) {
      s->ring_cap = FP_RING;
      s->ring = malloc(FP_RING);
      if (s->ring == NULL) {
        napi_throw_error(env, NULL, "http1-rows: out of memory");
        return NULL;
      }
      s->fd_l7 = f0;
      s->fd_am = f1;
      pthread_mutex_init(&s->mu, NULL);
      pthread_cond_init(&s->cv_cons, NULL);
      pthread_cond_init(&s->cv_prod, NULL);
      s->threaded = 1;
      /* before the thread: it owns these from its start */
      int32_t direct = 0;
      napi_value dv;
      bool has_direct = false;
      napi_has_named_property(env, cfg, "direct", &has_direct);
      if (has_direct && napi_get_named_property(env, cfg, "direct", &dv) == napi_ok) napi_get_value_int32(env, dv, &direct);
      double slow[2] = {0, 0};
      bool has_slow = false;
      napi_has_named_property(env, cfg, "directSlow", &has_slow);
      if (has_slow && napi_get_named_property(env, cfg, "directSlow", &dv) == napi_ok)
        for (uint32_t k = 0; k < 2; k++) {
          napi_value x;
          if (napi_get_element(env, dv, k, &x) == napi_ok) napi_get_value_double(env, x, &slow[k]);
        }
      fp_dio_setup(s, direct, slow[0], slow[1]);
      if (pthread_create(&s->th, NULL, fp_thread_main, s) != 0) {
        fp_dio_close(s);
        s->threaded = 0;
        free(s->ring);
        s->ring = NULL;
      }
    }
  }
  napi_value thr;
  napi_get_boolean(env, s->threaded != 0, &thr);
  napi_set_named_property(env, obj, "threaded", thr);
  napi_add_finalizer(env, obj, s, fp_l7_finalize, NULL, NULL);
  return obj;
}

static napi_value fp_init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "create", NAPI_AUTO_LENGTH, fp_js_create, NULL, &fn);
  napi_set_named_property(env, exports, "create", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, fp_init)
`;
