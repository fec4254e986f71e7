/*
 * ipvs-read: the kernel's IPVS table with its traffic counters, read over generic netlink and
 * printed as `ipvsadm -Ln --stats --exact` (or `--rate --exact`) prints it, so the monitor's
 * tested ipvsadm parser reads it unchanged.
 *
 * Why: the monitor needs every real server's counters every kernel period (2 s). Starting
 * ipvsadm for that costs ~150 ms of CPU a run in a TCG guest (the dynamic loader, libnl,
 * popt) and a fork of node; this stays running and answers from one open netlink socket.
 *
 *   ipvs-read [--stats | --rate]   print one listing and exit (status 1 on error)
 *   ipvs-read --serve              read lines "stats" or "rate" on stdin; after each, print the
 *                                  listing, or "#error <errno> <text>", then a line "#end"; exit
 *                                  at end of input
 *
 * It only reads (IPVS_CMD_GET_*); it takes no other input. Like ipvsadm it needs CAP_NET_ADMIN.
 * Built static by scripts/build.mjs (libc only), so one binary runs on EL7 as on Debian 12.
 * Order: the kernel's (its hash table, a service's servers newest first, as /proc/net/ip_vs),
 * not ipvsadm's sorted one; the parser does not depend on order.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * Attribute numbers newer than some kernel headers (EL7's lack the STATS64 ones: 4.1, and
 * ADDR_FAMILY: 3.18). They are enum constants, not macros, so they are named here by their
 * fixed values, and the attribute tables are sized by SVC_TAB / DEST_TAB, not by the headers'
 * *_MAX (indexing past a table sized by old headers would read the stack).
 */
enum {
  SVC_STATS64 = 12,
  DEST_ADDR_FAMILY = 11,
  DEST_STATS64 = 12,
  SVC_TAB = 16,
  DEST_TAB = 16,
};
_Static_assert(IPVS_SVC_ATTR_MAX < SVC_TAB && IPVS_DEST_ATTR_MAX < DEST_TAB, "attribute tables");

/* ------------------------------------------------------------------ output buffer */

static char *out;
static size_t out_len, out_cap;

static void out_grow(size_t need) {
  if (out_len + need <= out_cap) return;
  size_t cap = out_cap ? out_cap : 1 << 16;
  while (cap < out_len + need) cap *= 2;
  char *p = realloc(out, cap);
  if (!p) {
    fputs("ipvs-read: out of memory\n", stderr);
    exit(2);
  }
  out = p;
  out_cap = cap;
}

static void outf(const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    size_t room = out_cap - out_len;
    int n = vsnprintf(out ? out + out_len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < room) {
      out_len += (size_t)n;
      return;
    }
    out_grow((size_t)n + 1);
  }
}

/** Writes the whole buffer to stdout (one write for most tables) and empties it. */
static int out_flush(void) {
  size_t done = 0;
  while (done < out_len) {
    ssize_t n = write(STDOUT_FILENO, out + done, out_len - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    done += (size_t)n;
  }
  out_len = 0;
  return 0;
}

/* ------------------------------------------------------------------ netlink */

static int sock = -1;
static uint32_t seq;
static uint16_t ipvs_family;
static unsigned info_version, info_size;
static int info_known;
/* Dump replies are at most a page or two each; 256 KiB leaves room for the kernel's largest. */
static char rbuf[256 * 1024];

struct request {
  struct nlmsghdr n;
  struct genlmsghdr g;
  char attrs[512];
};

static void req_init(struct request *r, uint16_t type, uint16_t flags, uint8_t cmd,
                     uint8_t version) {
  memset(r, 0, sizeof *r);
  r->n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
  r->n.nlmsg_type = type;
  r->n.nlmsg_flags = NLM_F_REQUEST | flags;
  r->n.nlmsg_seq = ++seq;
  r->g.cmd = cmd;
  r->g.version = version;
}

static struct nlattr *attr_put(struct request *r, uint16_t type, const void *data, size_t len) {
  size_t at = NLMSG_ALIGN(r->n.nlmsg_len);
  size_t total = NLA_HDRLEN + len;
  if (at + NLA_ALIGN(total) > sizeof *r) return NULL;
  struct nlattr *a = (struct nlattr *)((char *)r + at);
  a->nla_type = type;
  a->nla_len = (uint16_t)total;
  if (len) memcpy((char *)a + NLA_HDRLEN, data, len);
  memset((char *)a + total, 0, NLA_ALIGN(total) - total);
  r->n.nlmsg_len = (uint32_t)(at + NLA_ALIGN(total));
  return a;
}

static void attr_end_nest(struct request *r, struct nlattr *nest) {
  nest->nla_len = (uint16_t)((char *)r + r->n.nlmsg_len - (char *)nest);
}

static int open_socket(void) {
  if (sock >= 0) close(sock);
  sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
  if (sock < 0) return -errno;
  struct sockaddr_nl local = {.nl_family = AF_NETLINK};
  if (bind(sock, (struct sockaddr *)&local, sizeof local) < 0) return -errno;
  return 0;
}

static int send_request(struct request *r) {
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  for (;;) {
    ssize_t n = sendto(sock, r, r->n.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel);
    if (n >= 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

/** Called with each reply's generic-netlink payload (attributes) and its length. */
typedef int (*on_reply)(const struct nlattr *attrs, int len, void *ctx);

/**
 * Receives the replies to request `want_seq` until the dump ends (dump) or the first reply
 * (not a dump). Returns 0, or -errno from the kernel's error message or from recv.
 */
static int receive(uint32_t want_seq, int dump, on_reply cb, void *ctx) {
  for (;;) {
    struct sockaddr_nl from;
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(sock, rbuf, sizeof rbuf, 0, (struct sockaddr *)&from, &fromlen);
    if (n >= 0 && from.nl_pid != 0) continue; /* only the kernel answers */
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (n == 0) return -EIO;
    int len = (int)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != want_seq) continue; /* a late answer to an earlier request */
      if (h->nlmsg_type == NLMSG_DONE) {
        /* A dump that failed part-way says so in its DONE message (an int, negative errno). */
        int err = 0;
        if (h->nlmsg_len >= NLMSG_LENGTH(sizeof err)) memcpy(&err, NLMSG_DATA(h), sizeof err);
        return err < 0 ? err : 0;
      }
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA(h);
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof *e)) return -EIO;
        if (e->error == 0) return 0; /* an acknowledgement */
        return e->error;
      }
      if (h->nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN)) continue;
      const struct nlattr *attrs =
          (const struct nlattr *)((const char *)NLMSG_DATA(h) + GENL_HDRLEN);
      int alen = (int)h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
      int rc = cb(attrs, alen, ctx);
      if (rc < 0) return rc;
      if (!dump) return 0;
    }
  }
}

/* Attribute walking: fills tab[type] with each attribute up to max (later ones win). */
static void attr_parse(const struct nlattr **tab, int max, const struct nlattr *a, int len) {
  memset(tab, 0, sizeof(*tab) * (size_t)(max + 1));
  while (len >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len) {
    int type = a->nla_type & NLA_TYPE_MASK;
    if (type <= max) tab[type] = a;
    int step = NLA_ALIGN(a->nla_len);
    len -= step;
    a = (const struct nlattr *)((const char *)a + step);
  }
}

static const void *attr_data(const struct nlattr *a) { return (const char *)a + NLA_HDRLEN; }
static int attr_len(const struct nlattr *a) { return a->nla_len - NLA_HDRLEN; }

/** An unsigned number of 1, 2, 4 or 8 bytes (host order), 0 when absent. */
static uint64_t attr_uint(const struct nlattr *a) {
  if (!a) return 0;
  const void *d = attr_data(a);
  switch (attr_len(a)) {
  case 1: return *(const uint8_t *)d;
  case 2: { uint16_t v; memcpy(&v, d, 2); return v; }
  case 4: { uint32_t v; memcpy(&v, d, 4); return v; }
  case 8: { uint64_t v; memcpy(&v, d, 8); return v; }
  default: return 0;
  }
}

static int nested(const struct nlattr *a, const struct nlattr **tab, int max) {
  if (!a) return 0;
  attr_parse(tab, max, (const struct nlattr *)attr_data(a), attr_len(a));
  return 1;
}

/* ------------------------------------------------------------------ IPVS */

static int family_cb(const struct nlattr *attrs, int len, void *ctx) {
  (void)ctx;
  const struct nlattr *tab[CTRL_ATTR_MAX + 1];
  attr_parse(tab, CTRL_ATTR_MAX, attrs, len);
  if (!tab[CTRL_ATTR_FAMILY_ID]) return -EPROTO;
  ipvs_family = (uint16_t)attr_uint(tab[CTRL_ATTR_FAMILY_ID]);
  return 0;
}

static int info_cb(const struct nlattr *attrs, int len, void *ctx) {
  (void)ctx;
  const struct nlattr *tab[IPVS_INFO_ATTR_MAX + 1];
  attr_parse(tab, IPVS_INFO_ATTR_MAX, attrs, len);
  info_version = (unsigned)attr_uint(tab[IPVS_INFO_ATTR_VERSION]);
  info_size = (unsigned)attr_uint(tab[IPVS_INFO_ATTR_CONN_TAB_SIZE]);
  info_known = 1;
  return 0;
}

/** Opens the socket and finds the IPVS family (once: both are kept for every reading). */
static int connect_ipvs(void) {
  if (sock >= 0 && ipvs_family) return 0;
  int rc = open_socket();
  if (rc < 0) return rc;
  struct request r;
  req_init(&r, GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY, 1);
  attr_put(&r, CTRL_ATTR_FAMILY_NAME, IPVS_GENL_NAME, sizeof IPVS_GENL_NAME);
  if ((rc = send_request(&r)) < 0) return rc;
  if ((rc = receive(r.n.nlmsg_seq, 0, family_cb, NULL)) < 0) return rc;
  if (!ipvs_family) return -ENOENT;
  req_init(&r, ipvs_family, 0, IPVS_CMD_GET_INFO, IPVS_GENL_VERSION);
  if ((rc = send_request(&r)) < 0) return rc;
  return receive(r.n.nlmsg_seq, 0, info_cb, NULL);
}

struct service {
  uint16_t af, protocol, port; /* port in network order, as the kernel sends it */
  uint32_t fwmark;
  unsigned char addr[16];
  uint64_t stats[IPVS_STATS_ATTR_MAX + 1];
};

struct table {
  struct service *svc;
  size_t n, cap;
};

/** Counters from a STATS64 nest (all 64-bit) or, on older kernels, a STATS nest (mixed). */
static void read_stats(const struct nlattr *s64, const struct nlattr *s32, uint64_t *into) {
  const struct nlattr *tab[IPVS_STATS_ATTR_MAX + 1];
  memset(into, 0, sizeof(uint64_t) * (IPVS_STATS_ATTR_MAX + 1));
  if (!nested(s64 ? s64 : s32, tab, IPVS_STATS_ATTR_MAX)) return;
  for (int i = IPVS_STATS_ATTR_CONNS; i <= IPVS_STATS_ATTR_OUTBPS; i++) into[i] = attr_uint(tab[i]);
}

static int service_cb(const struct nlattr *attrs, int len, void *ctx) {
  struct table *t = ctx;
  const struct nlattr *top[IPVS_CMD_ATTR_MAX + 1], *a[SVC_TAB];
  attr_parse(top, IPVS_CMD_ATTR_MAX, attrs, len);
  if (!nested(top[IPVS_CMD_ATTR_SERVICE], a, SVC_TAB - 1)) return 0;
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    struct service *p = realloc(t->svc, cap * sizeof *p);
    if (!p) return -ENOMEM;
    t->svc = p;
    t->cap = cap;
  }
  struct service *s = &t->svc[t->n++];
  memset(s, 0, sizeof *s);
  s->af = (uint16_t)attr_uint(a[IPVS_SVC_ATTR_AF]);
  s->protocol = (uint16_t)attr_uint(a[IPVS_SVC_ATTR_PROTOCOL]);
  s->fwmark = (uint32_t)attr_uint(a[IPVS_SVC_ATTR_FWMARK]);
  if (a[IPVS_SVC_ATTR_PORT] && attr_len(a[IPVS_SVC_ATTR_PORT]) == 2)
    memcpy(&s->port, attr_data(a[IPVS_SVC_ATTR_PORT]), 2);
  if (a[IPVS_SVC_ATTR_ADDR]) {
    int n = attr_len(a[IPVS_SVC_ATTR_ADDR]);
    memcpy(s->addr, attr_data(a[IPVS_SVC_ATTR_ADDR]), n > 16 ? 16 : (size_t)n);
  }
  read_stats(a[SVC_STATS64], a[IPVS_SVC_ATTR_STATS], s->stats);
  return 0;
}

/** "10.0.0.1:80" or "[fd00::1]:80". */
static void host_port(char *buf, size_t size, int af, const void *addr, uint16_t port_be) {
  char text[INET6_ADDRSTRLEN];
  if (!inet_ntop(af == AF_INET6 ? AF_INET6 : AF_INET, addr, text, sizeof text))
    snprintf(text, sizeof text, "?");
  if (af == AF_INET6)
    snprintf(buf, size, "[%s]:%u", text, ntohs(port_be));
  else
    snprintf(buf, size, "%s:%u", text, ntohs(port_be));
}

static const char *protocol_name(uint16_t p) {
  switch (p) {
  case IPPROTO_TCP: return "TCP";
  case IPPROTO_UDP: return "UDP";
  case IPPROTO_SCTP: return "SCTP";
  default: return "???";
  }
}

/* The five columns of the listing: --stats (counters) or --rate (the kernel's estimates). */
static int rate_mode;

static void print_numbers(const uint64_t *st) {
  static const int counters[] = {IPVS_STATS_ATTR_CONNS, IPVS_STATS_ATTR_INPKTS,
                                 IPVS_STATS_ATTR_OUTPKTS, IPVS_STATS_ATTR_INBYTES,
                                 IPVS_STATS_ATTR_OUTBYTES};
  static const int rates[] = {IPVS_STATS_ATTR_CPS, IPVS_STATS_ATTR_INPPS, IPVS_STATS_ATTR_OUTPPS,
                              IPVS_STATS_ATTR_INBPS, IPVS_STATS_ATTR_OUTBPS};
  const int *cols = rate_mode ? rates : counters;
  for (int i = 0; i < 5; i++) outf(" %8" PRIu64, st[cols[i]]);
  outf("\n");
}

static int dest_cb(const struct nlattr *attrs, int len, void *ctx) {
  const struct service *s = ctx;
  const struct nlattr *top[IPVS_CMD_ATTR_MAX + 1], *a[DEST_TAB];
  attr_parse(top, IPVS_CMD_ATTR_MAX, attrs, len);
  if (!nested(top[IPVS_CMD_ATTR_DEST], a, DEST_TAB - 1)) return 0;
  /* A TUN server may be of the other family (kernel >= 4.x says so); else the service's. */
  int af = a[DEST_ADDR_FAMILY] ? (int)attr_uint(a[DEST_ADDR_FAMILY]) : s->af;
  unsigned char addr[16] = {0};
  uint16_t port = 0;
  if (a[IPVS_DEST_ATTR_ADDR]) {
    int n = attr_len(a[IPVS_DEST_ATTR_ADDR]);
    memcpy(addr, attr_data(a[IPVS_DEST_ATTR_ADDR]), n > 16 ? 16 : (size_t)n);
  }
  if (a[IPVS_DEST_ATTR_PORT] && attr_len(a[IPVS_DEST_ATTR_PORT]) == 2)
    memcpy(&port, attr_data(a[IPVS_DEST_ATTR_PORT]), 2);
  uint64_t st[IPVS_STATS_ATTR_MAX + 1];
  read_stats(a[DEST_STATS64], a[IPVS_DEST_ATTR_STATS], st);
  char name[64];
  host_port(name, sizeof name, af, addr, port);
  outf("  -> %-28s", name);
  print_numbers(st);
  return 0;
}

static int print_service(const struct service *s) {
  char name[80];
  if (s->fwmark) {
    snprintf(name, sizeof name, "FWM  %" PRIu32 "%s", s->fwmark, s->af == AF_INET6 ? " IPv6" : "");
  } else {
    char hp[64];
    host_port(hp, sizeof hp, s->af, s->addr, s->port);
    snprintf(name, sizeof name, "%s  %s", protocol_name(s->protocol), hp);
  }
  outf("%-33s", name);
  print_numbers(s->stats);

  /* Its servers: a dump of IPVS_CMD_GET_DEST for this service, named as the kernel needs it. */
  struct request r;
  req_init(&r, ipvs_family, NLM_F_DUMP, IPVS_CMD_GET_DEST, IPVS_GENL_VERSION);
  struct nlattr *nest = attr_put(&r, IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED, NULL, 0);
  attr_put(&r, IPVS_SVC_ATTR_AF, &s->af, sizeof s->af);
  if (s->fwmark) {
    attr_put(&r, IPVS_SVC_ATTR_FWMARK, &s->fwmark, sizeof s->fwmark);
  } else {
    attr_put(&r, IPVS_SVC_ATTR_PROTOCOL, &s->protocol, sizeof s->protocol);
    attr_put(&r, IPVS_SVC_ATTR_ADDR, s->addr, s->af == AF_INET6 ? 16 : 4);
    attr_put(&r, IPVS_SVC_ATTR_PORT, &s->port, sizeof s->port);
  }
  attr_end_nest(&r, nest);
  int rc = send_request(&r);
  if (rc < 0) return rc;
  rc = receive(r.n.nlmsg_seq, 1, dest_cb, (void *)s);
  /* Removed between the two dumps: the service line stands without servers, as ipvsadm's. */
  return rc == -ESRCH || rc == -ENOENT ? 0 : rc;
}

/** One listing into the output buffer; 0 or -errno (the buffer then holds a partial listing). */
static int listing(void) {
  int rc = connect_ipvs();
  if (rc < 0) return rc;
  static struct table t;
  t.n = 0;
  struct request r;
  req_init(&r, ipvs_family, NLM_F_DUMP, IPVS_CMD_GET_SERVICE, IPVS_GENL_VERSION);
  if ((rc = send_request(&r)) < 0) return rc;
  if ((rc = receive(r.n.nlmsg_seq, 1, service_cb, &t)) < 0) return rc;

  if (info_known)
    outf("IP Virtual Server version %u.%u.%u (size=%u)\n", (info_version >> 16) & 0xff,
         (info_version >> 8) & 0xff, info_version & 0xff, info_size);
  if (rate_mode)
    outf("Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n");
  else
    outf("Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n");
  outf("  -> RemoteAddress:Port\n");
  for (size_t i = 0; i < t.n; i++) {
    if ((rc = print_service(&t.svc[i])) < 0) return rc;
  }
  return 0;
}

static int one_listing(void) {
  out_len = 0;
  int rc = listing();
  if (rc < 0) {
    /* A broken socket is opened again at the next reading. */
    if (sock >= 0) close(sock);
    sock = -1;
    ipvs_family = 0;
  }
  return rc;
}

static const char *hint(int err) {
  switch (err) {
  case EPERM:
  case EACCES: return "reading IPVS needs root (CAP_NET_ADMIN)";
  case ENOENT: return "the kernel has no IPVS (the ip_vs module is not loaded)";
  default: return strerror(err);
  }
}

static int serve(void) {
  char line[64];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\r\n")] = 0;
    int rc;
    if (strcmp(line, "stats") == 0 || strcmp(line, "rate") == 0) {
      rate_mode = line[0] == 'r';
      rc = one_listing();
    } else {
      out_len = 0;
      rc = -EINVAL;
    }
    if (rc < 0) {
      out_len = 0;
      outf("#error %d %s\n", -rc, rc == -EINVAL ? "expected a line: stats or rate" : hint(-rc));
    }
    outf("#end\n");
    if (out_flush() < 0) return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "--stats";
  if (argc > 2 || (strcmp(mode, "--serve") != 0 && strcmp(mode, "--stats") != 0 &&
                   strcmp(mode, "--rate") != 0)) {
    fputs("usage: ipvs-read [--stats | --rate | --serve]\n"
          "  prints the IPVS table with counters as `ipvsadm -Ln --stats --exact` (or --rate)\n",
          stderr);
    return 2;
  }
  if (strcmp(mode, "--serve") == 0) return serve();
  rate_mode = strcmp(mode, "--rate") == 0;
  int rc = one_listing();
  if (rc < 0) {
    fprintf(stderr, "ipvs-read: %s\n", hint(-rc));
    return 1;
  }
  return out_flush() < 0 ? 1 : 0;
}
