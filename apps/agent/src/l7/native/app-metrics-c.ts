/**
 * The per-second application metrics aggregator of the native HTTP/1 row path, in C: the same
 * rows, bytes and order as ../app-metrics.ts (AppMetrics, the specification; differential test
 * in ./app-metrics-c.test.ts). Concatenated after ROWS_COMMON_C (./rows-common-c.ts) into one
 * translation unit, hence static fp_am_ names only. String.raw: the backslashes are C's.
 */
export const APP_METRICS_C = String.raw`
/* ---- application metrics (fp_am_) ----
 * A row counts in the second of its end time; a row of a later second flushes first; a row of
 * an earlier second goes into that second's late table, flushed with the next flush as a
 * correction. Past max_keys keys since the last flush, a new endpoint folds into "" of its
 * server. Output order per flush: tables by second ascending (the current second, the largest,
 * last), servers in first-seen order within a table, endpoints likewise.
 *
 * Storage is reused across seconds: tables, servers and entries live in arrays reset at each
 * flush, endpoint and server bytes in one arena reset likewise, and the two hash tables mark
 * live slots with the flush generation, so a flush forgets them in O(1). Arrays grown by a
 * spike shrink back (decided every FP_AM_TRIM_EVERY flushes) once several times larger than
 * the busiest of those flushes needed.
 */
enum { FP_OK = 0, FP_CLIENT_ERROR = 1, FP_SERVER_ERROR = 2, FP_TIMEOUT = 3, FP_UNKNOWN = 4 };

#define FP_AM_BUCKETS 14
#define FP_AM_SEC 1000000
/* LATENCY_BUCKET_BOUNDS_US of packages/query/src/rows/application-metrics.ts. */
static const int64_t fp_am_bounds[FP_AM_BUCKETS - 1] = {
  1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000, 1000000, 2000000, 5000000, 10000000};

typedef struct {
  uint64_t h;
  uint32_t gen; /* live when equal to the aggregator's generation */
  int32_t idx;
} fp_am_slot_t;

typedef struct {
  fp_am_slot_t *s;
  uint32_t mask;
  uint32_t n;
} fp_am_ht_t;

/* A table (one second) or a server within a table: the node hash holds both, tables with
   is_table set (their srv 0). */
typedef struct {
  int64_t sec;
  uint32_t srv;
  uint32_t is_table;
  uint32_t json_off, json_len; /* server: its srv_json in the arena */
  int32_t first, last;         /* table: its servers; server: its entries */
  int32_t next;                /* server: the next of its table */
  uint32_t ep_wtf8;            /* server: its endpoints are WTF-8 (PostgreSQL's SQL), not latin1 */
} fp_am_node_t;

typedef struct {
  int32_t node; /* its server */
  int32_t next; /* the next entry of its server */
  uint32_t ep_off, ep_len;
  uint32_t requests, errors_client, errors_server, timeouts;
  int64_t dur_sum, dur_max;
  uint32_t buckets[FP_AM_BUCKETS];
} fp_am_entry_t;

#define FP_AM_SRVC 64
typedef struct {
  int64_t sec;
  uint32_t srv;
  uint32_t gen;
  int32_t node;
} fp_am_srvc_t;

struct fp_am {
  uint8_t *ids;
  size_t ids_len;
  int64_t max_keys;
  int64_t second; /* -1 before the first row, then a multiple of FP_AM_SEC */
  int64_t keys;   /* entries made since the last flush */
  uint64_t rows, folded, late_rows;
  /* Per instance (from ASLR'd addresses): endpoints are the network's bytes, and colliding
     ones made for an unseeded hash would turn each lookup into a scan of the second's table. */
  uint64_t seed;
  uint32_t gen;
  fp_am_node_t *nodes;
  int32_t nnodes, cap_nodes;
  fp_am_entry_t *ents;
  int32_t nents, cap_ents;
  int32_t *tabs; /* table nodes in creation order, sorted by second at flush */
  int32_t ntabs, cap_tabs;
  uint8_t *arena;
  size_t alen, acap;
  fp_am_ht_t node_ht, ent_ht;
  /* Server nodes by srv (direct-mapped, live in this generation only): the rows of a flow come
     in runs, and a capture has few busy servers, so most rows skip the node hash. */
  fp_am_srvc_t srvc[FP_AM_SRVC];
  /* Largest use over the flushes since the last trim. */
  uint64_t flushes;
  uint32_t peak_nodes, peak_ents, peak_tabs;
  size_t peak_arena;
};
typedef struct fp_am fp_am_t;

#define FP_AM_MIN_NODES 64
#define FP_AM_MIN_ENTS 256
#define FP_AM_MIN_TABS 8
#define FP_AM_MIN_ARENA 16384
#define FP_AM_MIN_SLOTS 512

static inline uint64_t fp_am_mix(uint64_t x) {
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ULL;
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ULL;
  x ^= x >> 32;
  return x;
}

/* Eight bytes at a time: endpoints are tens of bytes, hashed once per row. */
static inline uint64_t fp_am_hash(const uint8_t *p, size_t n, uint64_t seed) {
  uint64_t h = (seed + 1) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)n;
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h ^= w * 0x9E3779B97F4A7C15ULL;
    h = ((h << 27) | (h >> 37)) * 0xC2B2AE3D27D4EB4FULL;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    /* The last bytes as a little-endian word, byte by byte: a memcpy of a variable length is a
       libc call. */
    uint64_t w = 0;
    for (size_t i = n; i-- > 0;) w = w << 8 | p[i];
    h ^= w * 0x9E3779B97F4A7C15ULL;
    h = ((h << 27) | (h >> 37)) * 0xC2B2AE3D27D4EB4FULL;
  }
  return fp_am_mix(h);
}

static inline uint64_t fp_am_node_hash(uint64_t seed, int64_t sec, uint32_t srv, uint32_t is_table) {
  return fp_am_mix(((uint64_t)sec * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)srv << 1 | is_table)) + seed);
}

static int fp_am_ht_init(fp_am_ht_t *t, uint32_t cap) {
  t->s = calloc(cap, sizeof(fp_am_slot_t));
  t->mask = cap - 1;
  t->n = 0;
  return t->s != NULL;
}

/* Doubles the table, moving the live slots (their hash is kept in the slot). */
static int fp_am_ht_grow(fp_am_ht_t *t, uint32_t gen) {
  uint32_t cap = (t->mask + 1) * 2;
  if (cap == 0) return 0;
  fp_am_slot_t *s = calloc(cap, sizeof(fp_am_slot_t));
  if (s == NULL) return 0;
  for (uint32_t i = 0; i <= t->mask; i++) {
    fp_am_slot_t *o = &t->s[i];
    if (o->gen != gen) continue;
    uint32_t j = (uint32_t)o->h & (cap - 1);
    while (s[j].gen == gen) j = (j + 1) & (cap - 1);
    s[j] = *o;
  }
  free(t->s);
  t->s = s;
  t->mask = cap - 1;
  return 1;
}

/* Room for one more item at load <= 1/2. */
static inline int fp_am_ht_room(fp_am_ht_t *t, uint32_t gen) {
  return (t->n + 1) * 2 <= t->mask + 1 || fp_am_ht_grow(t, gen);
}

static inline void fp_am_ht_put(fp_am_ht_t *t, uint32_t gen, uint64_t h, int32_t idx) {
  uint32_t j = (uint32_t)h & t->mask;
  while (t->s[j].gen == gen) j = (j + 1) & t->mask;
  t->s[j].h = h;
  t->s[j].gen = gen;
  t->s[j].idx = idx;
  t->n++;
}

/* The array p of *cap items of size sz, doubled (NULL when it cannot be). */
static void *fp_am_more(void *p, int32_t *cap, size_t sz) {
  int64_t c = (int64_t)*cap * 2;
  if (c > INT32_MAX) return NULL;
  void *q = realloc(p, (size_t)c * sz);
  if (q != NULL) *cap = (int32_t)c;
  return q;
}

/* Offset of a copy of these bytes in the arena, or -1. */
static int64_t fp_am_keep(fp_am_t *am, const uint8_t *s, size_t n) {
  if (am->alen + n > am->acap) {
    size_t c = am->acap;
    while (c < am->alen + n) c *= 2;
    if (c > UINT32_MAX) return -1;
    uint8_t *q = realloc(am->arena, c);
    if (q == NULL) return -1;
    am->arena = q;
    am->acap = c;
  }
  int64_t off = (int64_t)am->alen;
  if (n > 0) memcpy(am->arena + am->alen, s, n);
  am->alen += n;
  return off;
}

static void fp_am_free(fp_am_t *am) {
  if (am == NULL) return;
  free(am->ids);
  free(am->nodes);
  free(am->ents);
  free(am->tabs);
  free(am->arena);
  free(am->node_ht.s);
  free(am->ent_ht.s);
  free(am);
}

static fp_am_t *fp_am_new(const uint8_t *ids, size_t ids_len, int max_keys) {
  fp_am_t *am = calloc(1, sizeof(fp_am_t));
  if (am == NULL) return NULL;
  am->ids = malloc(ids_len > 0 ? ids_len : 1);
  am->nodes = malloc(FP_AM_MIN_NODES * sizeof(fp_am_node_t));
  am->ents = malloc(FP_AM_MIN_ENTS * sizeof(fp_am_entry_t));
  am->tabs = malloc(FP_AM_MIN_TABS * sizeof(int32_t));
  am->arena = malloc(FP_AM_MIN_ARENA);
  int ok = am->ids && am->nodes && am->ents && am->tabs && am->arena;
  ok = ok && fp_am_ht_init(&am->node_ht, FP_AM_MIN_SLOTS);
  ok = ok && fp_am_ht_init(&am->ent_ht, FP_AM_MIN_SLOTS);
  if (!ok) {
    fp_am_free(am);
    return NULL;
  }
  if (ids_len > 0) memcpy(am->ids, ids, ids_len);
  am->ids_len = ids_len;
  am->max_keys = max_keys;
  am->second = -1;
  am->seed = fp_am_mix((uint64_t)(uintptr_t)am ^ (uint64_t)(uintptr_t)&am << 20 ^ (uint64_t)(uintptr_t)ids << 40);
  am->gen = 1;
  am->cap_nodes = FP_AM_MIN_NODES;
  am->cap_ents = FP_AM_MIN_ENTS;
  am->cap_tabs = FP_AM_MIN_TABS;
  am->acap = FP_AM_MIN_ARENA;
  return am;
}

/* The node of (sec, srv) or of table sec, made (and linked into its table) when missing; -1 on
   allocation failure. */
static int32_t fp_am_node(fp_am_t *am, int64_t sec, uint32_t srv, uint32_t is_table, const uint8_t *json,
                          size_t json_len) {
  uint64_t h = fp_am_node_hash(am->seed, sec, srv, is_table);
  fp_am_ht_t *t = &am->node_ht;
  for (uint32_t j = (uint32_t)h & t->mask; t->s[j].gen == am->gen; j = (j + 1) & t->mask) {
    if (t->s[j].h != h) continue;
    fp_am_node_t *n = &am->nodes[t->s[j].idx];
    if (n->sec == sec && n->srv == srv && n->is_table == is_table) return t->s[j].idx;
  }
  int32_t tab = -1;
  if (!is_table) {
    tab = fp_am_node(am, sec, 0, 1, NULL, 0);
    if (tab < 0) return -1;
  } else if (am->ntabs == am->cap_tabs) {
    int32_t *q = fp_am_more(am->tabs, &am->cap_tabs, sizeof(int32_t));
    if (q == NULL) return -1;
    am->tabs = q;
  }
  if (am->nnodes == am->cap_nodes) {
    fp_am_node_t *q = fp_am_more(am->nodes, &am->cap_nodes, sizeof(fp_am_node_t));
    if (q == NULL) return -1;
    am->nodes = q;
  }
  int64_t off = is_table ? 0 : fp_am_keep(am, json, json_len);
  if (off < 0 || !fp_am_ht_room(t, am->gen)) return -1;
  int32_t idx = am->nnodes++;
  fp_am_node_t *n = &am->nodes[idx];
  n->sec = sec;
  n->srv = srv;
  n->is_table = is_table;
  n->json_off = (uint32_t)off;
  n->json_len = is_table ? 0 : (uint32_t)json_len;
  n->first = n->last = n->next = -1;
  n->ep_wtf8 = 0;
  fp_am_ht_put(t, am->gen, h, idx);
  if (is_table) {
    am->tabs[am->ntabs++] = idx;
  } else {
    fp_am_node_t *tn = &am->nodes[tab];
    if (tn->last < 0) tn->first = idx;
    else am->nodes[tn->last].next = idx;
    tn->last = idx;
  }
  return idx;
}

/* Inline, 8 bytes a step: a hash match is almost always equal, so the whole length is compared. */
static inline int fp_am_eq(const uint8_t *a, const uint8_t *b, size_t n) {
  uint64_t d = 0;
  while (n >= 8) {
    uint64_t x, y;
    memcpy(&x, a, 8);
    memcpy(&y, b, 8);
    d |= x ^ y;
    a += 8;
    b += 8;
    n -= 8;
  }
  while (n > 0) {
    d |= (uint64_t)(*a++ ^ *b++);
    n--;
  }
  return d == 0;
}

/* The entry of (server node, endpoint), or -1 when there is none. */
static inline int32_t fp_am_find(const fp_am_t *am, int32_t node, uint64_t h, const uint8_t *ep, size_t ep_len) {
  const fp_am_ht_t *t = &am->ent_ht;
  for (uint32_t j = (uint32_t)h & t->mask; t->s[j].gen == am->gen; j = (j + 1) & t->mask) {
    if (t->s[j].h != h) continue;
    const fp_am_entry_t *e = &am->ents[t->s[j].idx];
    if (e->node == node && e->ep_len == ep_len && fp_am_eq(am->arena + e->ep_off, ep, ep_len))
      return t->s[j].idx;
  }
  return -1;
}

static int32_t fp_am_make(fp_am_t *am, int32_t node, uint64_t h, const uint8_t *ep, size_t ep_len) {
  if (am->nents == am->cap_ents) {
    fp_am_entry_t *q = fp_am_more(am->ents, &am->cap_ents, sizeof(fp_am_entry_t));
    if (q == NULL) return -1;
    am->ents = q;
  }
  int64_t off = fp_am_keep(am, ep, ep_len);
  if (off < 0 || !fp_am_ht_room(&am->ent_ht, am->gen)) return -1;
  int32_t idx = am->nents++;
  fp_am_entry_t *e = &am->ents[idx];
  memset(e, 0, sizeof(*e));
  e->node = node;
  e->next = -1;
  e->ep_off = (uint32_t)off;
  e->ep_len = (uint32_t)ep_len;
  fp_am_ht_put(&am->ent_ht, am->gen, h, idx);
  fp_am_node_t *sn = &am->nodes[node];
  if (sn->last < 0) sn->first = idx;
  else am->ents[sn->last].next = idx;
  sn->last = idx;
  am->keys++;
  return idx;
}

/* One row, as JSON.stringify makes it of the JS row object (its keys in that order). One
   reservation for all of it: the fixed text (under 256 bytes), 7 numbers and 14 buckets of at
   most 20 digits and a sign each, the ids, the server and the endpoint's escape worst case. */
static void fp_am_row(fp_am_t *am, fp_buf_t *out, const fp_am_node_t *sn, const fp_am_entry_t *e) {
  size_t fixed = 256 + 21 * 21;
  if (!fp_reserve(out, fixed + am->ids_len + sn->json_len + (size_t)e->ep_len * 6 + 2)) return;
  uint8_t *o = out->p + out->len;
  FP_W_LIT(o, "{\"time\":");
  o = fp_w_i64(o, sn->sec);
  *o++ = ',';
  memcpy(o, am->ids, am->ids_len);
  o += am->ids_len;
  *o++ = ',';
  memcpy(o, am->arena + sn->json_off, sn->json_len);
  o += sn->json_len;
  FP_W_LIT(o, ",\"endpoint\":");
  o = sn->ep_wtf8 ? fp_w_jstr_wtf8(o, am->arena + e->ep_off, e->ep_len) : fp_w_jstr(o, am->arena + e->ep_off, e->ep_len);
  FP_W_LIT(o, ",\"requests\":");
  o = fp_w_u64(o, e->requests);
  FP_W_LIT(o, ",\"errors_client\":");
  o = fp_w_u64(o, e->errors_client);
  FP_W_LIT(o, ",\"errors_server\":");
  o = fp_w_u64(o, e->errors_server);
  FP_W_LIT(o, ",\"timeouts\":");
  o = fp_w_u64(o, e->timeouts);
  FP_W_LIT(o, ",\"duration_sum_us\":");
  o = fp_w_i64(o, e->dur_sum);
  FP_W_LIT(o, ",\"duration_max_us\":");
  o = fp_w_i64(o, e->dur_max);
  FP_W_LIT(o, ",\"latency_buckets\":[");
  for (int i = 0; i < FP_AM_BUCKETS; i++) {
    o = fp_w_u64(o, e->buckets[i]);
    *o++ = ',';
  }
  o[-1] = ']';
  FP_W_LIT(o, "}\n");
  out->len = (size_t)(o - out->p);
  am->rows++;
}

/* A smaller (fresh: everything in it is stale now) hash table when this one is over 4x what
   "used" items need. */
static void fp_am_ht_trim(fp_am_ht_t *t, uint32_t used) {
  uint32_t c = FP_AM_MIN_SLOTS;
  while (c < used * 4) c *= 2;
  if (c * 4 > t->mask + 1) return;
  fp_am_slot_t *s = calloc(c, sizeof(fp_am_slot_t));
  if (s == NULL) return;
  free(t->s);
  t->s = s;
  t->mask = c - 1;
}

/* The array p of *cap items, cut to what "used" items need when over 8x that. */
static void *fp_am_trim(void *p, int32_t *cap, uint32_t used, size_t sz, int32_t min) {
  int64_t c = min;
  while (c < (int64_t)used * 2) c *= 2;
  if (c * 8 > *cap) return p;
  void *q = realloc(p, (size_t)c * sz);
  if (q == NULL) return p;
  *cap = (int32_t)c;
  return q;
}

/* Flushes per trim decision: a tick's flush followed by the next second's first row flushes an
   empty second, so one flush's use says little; the largest over the window does. */
#define FP_AM_TRIM_EVERY 64

static void fp_am_flush(fp_am_t *am, fp_buf_t *out) {
  /* Corrections first, oldest second first; the current second is the largest, so last. */
  for (int32_t i = 1; i < am->ntabs; i++) {
    int32_t t = am->tabs[i];
    int64_t s = am->nodes[t].sec;
    int32_t j = i;
    for (; j > 0 && am->nodes[am->tabs[j - 1]].sec > s; j--) am->tabs[j] = am->tabs[j - 1];
    am->tabs[j] = t;
  }
  for (int32_t i = 0; i < am->ntabs; i++) {
    for (int32_t s = am->nodes[am->tabs[i]].first; s >= 0; s = am->nodes[s].next) {
      const fp_am_node_t *sn = &am->nodes[s];
      for (int32_t e = sn->first; e >= 0; e = am->ents[e].next) fp_am_row(am, out, sn, &am->ents[e]);
    }
  }
  if ((uint32_t)am->nnodes > am->peak_nodes) am->peak_nodes = (uint32_t)am->nnodes;
  if ((uint32_t)am->nents > am->peak_ents) am->peak_ents = (uint32_t)am->nents;
  if ((uint32_t)am->ntabs > am->peak_tabs) am->peak_tabs = (uint32_t)am->ntabs;
  if (am->alen > am->peak_arena) am->peak_arena = am->alen;
  am->ntabs = am->nnodes = am->nents = 0;
  am->alen = 0;
  am->node_ht.n = am->ent_ht.n = 0;
  am->keys = 0;
  if (++am->gen == 0) {
    /* Wrapped (after 2^32 flushes): stale slots could look live. */
    memset(am->node_ht.s, 0, (size_t)(am->node_ht.mask + 1) * sizeof(fp_am_slot_t));
    memset(am->ent_ht.s, 0, (size_t)(am->ent_ht.mask + 1) * sizeof(fp_am_slot_t));
    am->gen = 1;
  }
  if (++am->flushes % FP_AM_TRIM_EVERY != 0) return;
  fp_am_ht_trim(&am->node_ht, am->peak_nodes);
  fp_am_ht_trim(&am->ent_ht, am->peak_ents);
  am->nodes = fp_am_trim(am->nodes, &am->cap_nodes, am->peak_nodes, sizeof(fp_am_node_t), FP_AM_MIN_NODES);
  am->ents = fp_am_trim(am->ents, &am->cap_ents, am->peak_ents, sizeof(fp_am_entry_t), FP_AM_MIN_ENTS);
  am->tabs = fp_am_trim(am->tabs, &am->cap_tabs, am->peak_tabs, sizeof(int32_t), FP_AM_MIN_TABS);
  size_t c = FP_AM_MIN_ARENA;
  while (c < am->peak_arena * 2) c *= 2;
  if (c * 8 <= am->acap) {
    uint8_t *q = realloc(am->arena, c);
    if (q != NULL) {
      am->arena = q;
      am->acap = c;
    }
  }
  am->peak_nodes = am->peak_ents = am->peak_tabs = 0;
  am->peak_arena = 0;
}

static void fp_am_add(fp_am_t *am, fp_buf_t *out, int64_t end_time_us, uint32_t srv, const uint8_t *srv_json,
                      size_t srv_len, const uint8_t *ep, size_t ep_len, int ep_wtf8, int status, int has_req,
                      int64_t dur_us) {
  int64_t sec;
  if (am->second >= 0 && end_time_us >= am->second && end_time_us - am->second < FP_AM_SEC) {
    sec = am->second;
  } else {
    /* Floor division: JS's Math.floor(end / 1e6) * 1e6 for every safe integer end. */
    int64_t q = end_time_us / FP_AM_SEC;
    if (end_time_us % FP_AM_SEC < 0) q--;
    sec = q * FP_AM_SEC;
    if (sec > am->second) {
      fp_am_flush(am, out);
      am->second = sec;
    } else if (sec < am->second) {
      am->late_rows++;
    }
  }
  int32_t node;
  fp_am_srvc_t *c = &am->srvc[srv & (FP_AM_SRVC - 1)];
  if (c->gen == am->gen && c->srv == srv && c->sec == sec) {
    node = c->node;
  } else {
    node = fp_am_node(am, sec, srv, 0, srv_json, srv_len);
    if (node < 0) goto oom;
    am->nodes[node].ep_wtf8 = (uint32_t)ep_wtf8;
    c->gen = am->gen;
    c->srv = srv;
    c->sec = sec;
    c->node = node;
  }
  uint64_t h = fp_am_hash(ep, ep_len, am->seed ^ (uint64_t)node);
  int32_t ei = fp_am_find(am, node, h, ep, ep_len);
  if (ei < 0) {
    if (am->keys >= am->max_keys) {
      am->folded++;
      ep_len = 0;
      h = fp_am_hash(ep, 0, am->seed ^ (uint64_t)node);
      ei = fp_am_find(am, node, h, ep, 0);
    }
    if (ei < 0) {
      ei = fp_am_make(am, node, h, ep, ep_len);
      if (ei < 0) goto oom;
    }
  }
  fp_am_entry_t *e = &am->ents[ei];
  /* A response without a captured request still counts: it is a served request seen late. */
  if (has_req || status != FP_UNKNOWN) e->requests++;
  if (status == FP_TIMEOUT) {
    e->timeouts++;
    return;
  }
  if (status == FP_CLIENT_ERROR) e->errors_client++;
  else if (status == FP_SERVER_ERROR) e->errors_server++;
  if (has_req && dur_us > 0) {
    e->dur_sum += dur_us;
    if (dur_us > e->dur_max) e->dur_max = dur_us;
    /* latencyBucketOf: the first bound >= d, i.e. how many bounds are below d (branch-free). */
    int b = 0;
    for (int i = 0; i < FP_AM_BUCKETS - 1; i++) b += dur_us > fp_am_bounds[i];
    e->buckets[b]++;
  }
  return;
oom:
  /* The row is lost: say so through the output buffer, whose failure the caller reports. */
  out->failed = 1;
}

/* Cache warming for a row about to be added (fp_emit calls these while it formats the row, so
   the misses overlap that work): the endpoint table is a few hundred KB touched once a row,
   and its slot and entry were the two slowest loads of the row path. Only hints: nothing is
   written, and a row of another second or server node not cached yet is not warmed. */
typedef struct {
  uint64_t h;
  int32_t node; /* -1: no slot to warm */
  int32_t ei;   /* -1: no entry's key to warm */
} fp_am_warm_t;

static inline void fp_am_warm_slot(const fp_am_t *am, fp_am_warm_t *w, int64_t end_time_us, uint32_t srv,
                                   const uint8_t *ep, size_t ep_len) {
  w->node = w->ei = -1;
  int64_t sec = am->second;
  if (sec < 0 || end_time_us < sec || end_time_us - sec >= FP_AM_SEC) return;
  const fp_am_srvc_t *c = &am->srvc[srv & (FP_AM_SRVC - 1)];
  if (c->gen != am->gen || c->srv != srv || c->sec != sec) return;
  w->node = c->node;
  w->h = fp_am_hash(ep, ep_len, am->seed ^ (uint64_t)c->node);
  __builtin_prefetch(&am->ent_ht.s[(uint32_t)w->h & am->ent_ht.mask]);
}

/* The entry behind the slot warmed above, when that slot holds it (the usual case). Each warm_
   writes *w on purpose: GCC takes a function whose only effect is a prefetch for a const one
   and drops the call before inlining it. */
static inline void fp_am_warm_entry(const fp_am_t *am, fp_am_warm_t *w) {
  if (w->node < 0) return;
  const fp_am_slot_t *sl = &am->ent_ht.s[(uint32_t)w->h & am->ent_ht.mask];
  w->node = -1;
  if (sl->gen != am->gen || sl->h != w->h) return;
  w->ei = sl->idx;
  const fp_am_entry_t *e = &am->ents[sl->idx];
  __builtin_prefetch(e);
  __builtin_prefetch((const uint8_t *)(e + 1) - 1);
}

/* The endpoint bytes of the entry warmed above, compared on lookup (called once that entry is
   in, a little later). */
static inline void fp_am_warm_key(const fp_am_t *am, fp_am_warm_t *w) {
  if (w->ei < 0) return;
  __builtin_prefetch(am->arena + am->ents[w->ei].ep_off);
  w->ei = -1;
}

/* Emits the current second once now is past it. The second is kept: a row of an earlier second
   arriving later is a correction, and one of this second another row for it (rows are summed
   by key downstream). */
static void fp_am_tick(fp_am_t *am, fp_buf_t *out, int64_t now_us) {
  if (am->second >= 0 && now_us >= am->second + FP_AM_SEC) fp_am_flush(am, out);
}

static uint64_t fp_am_rows(const fp_am_t *am) { return am->rows; }
static uint64_t fp_am_folded(const fp_am_t *am) { return am->folded; }
static uint64_t fp_am_late_rows(const fp_am_t *am) { return am->late_rows; }
`;
