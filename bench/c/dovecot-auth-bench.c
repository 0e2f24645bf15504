/* Load generator for the Dovecot auth-client protocol: AUTH PLAIN logins
 * from N threads for a time window, either over one connection per thread
 * kept open (as Postfix keeps it) or a new connection per login (as Exim
 * does). Users come from a file of "user:password" lines, used round robin.
 * Prints one line:
 *   RESULT label=L rps=R p50_us= p90_us= p99_us= max_us= ok= no= err= mismatch=0 conc=N secs=S
 * usage: dovecot-auth-bench -s SOCKET -u USERS -c CONC -d SECONDS -W WARMUP -m persist|perconn -L LABEL */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *sock_path, *users_path, *label = "dovecot", *mode = "persist";
static int with_rip;
static int conc = 1;
static double secs = 5, warm = 1;
static char **logins;
static int nlogins;
static volatile int phase; /* 0 warm-up, 1 measuring, 2 done */

typedef struct {
  long ok, no, err, n, cap;
  unsigned *lat;
} stats;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static void b64(const unsigned char *in, int len, char *out) {
  int o = 0;
  for (int i = 0; i < len; i += 3) {
    unsigned v = in[i] << 16 | (i + 1 < len ? in[i + 1] << 8 : 0) | (i + 2 < len ? in[i + 2] : 0);
    out[o++] = B64[v >> 18 & 63];
    out[o++] = B64[v >> 12 & 63];
    out[o++] = i + 1 < len ? B64[v >> 6 & 63] : '=';
    out[o++] = i + 2 < len ? B64[v & 63] : '=';
  }
  out[o] = 0;
}

/* One line from the socket into buf (without LF); buffered per connection. */
typedef struct { int fd; char buf[65536]; int len, off; } conn;
static int read_line(conn *c, char *line, int max) {
  for (;;) {
    for (int i = c->off; i < c->len; i++) {
      if (c->buf[i] == '\n') {
        int n = i - c->off < max - 1 ? i - c->off : max - 1;
        memcpy(line, c->buf + c->off, n);
        line[n] = 0;
        c->off = i + 1;
        return n;
      }
    }
    if (c->off > 0) { memmove(c->buf, c->buf + c->off, c->len - c->off); c->len -= c->off; c->off = 0; }
    ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
    if (r <= 0) return -1;
    c->len += r;
  }
}

static int open_conn(conn *c) {
  c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
  c->len = c->off = 0;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
  if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) return -1;
  char line[1024];
  const char *hello = "VERSION\t1\t2\nCPID\t4242\n";
  if (write(c->fd, hello, strlen(hello)) < 0) return -1;
  while (read_line(c, line, sizeof line) >= 0) if (strcmp(line, "DONE") == 0) return 0;
  return -1;
}

static void *worker(void *arg) {
  stats *st = arg;
  conn c;
  int open = 0;
  unsigned id = 0;
  for (long i = (long)pthread_self() % nlogins;; i++) {
    if (phase == 2) break;
    if (!open) {
      if (open_conn(&c) < 0) { close(c.fd); st->err++; usleep(1000); continue; }
      open = 1;
    }
    const char *up = logins[i % nlogins];
    const char *colon = strchr(up, ':');
    unsigned char plain[600];
    int ul = colon - up, pl = strlen(colon + 1);
    plain[0] = 0;
    memcpy(plain + 1, up, ul);
    plain[1 + ul] = 0;
    memcpy(plain + 2 + ul, colon + 1, pl);
    char enc[900], req[1200], line[2048];
    b64(plain, 2 + ul + pl, enc);
    /* -a: each login from one of 250 addresses, so the daemon's per-address penalty looks each up. */
    char rip[40] = "";
    if (with_rip) snprintf(rip, sizeof rip, "\trip=203.0.113.%ld", 1 + (i % 250));
    int n = snprintf(req, sizeof req, "AUTH\t%u\tPLAIN\tservice=smtp\tnologin%s\tresp=%s\n", ++id, rip, enc);
    double t0 = now();
    if (write(c.fd, req, n) != n || read_line(&c, line, sizeof line) < 0) {
      close(c.fd); open = 0; if (phase == 1) st->err++; continue;
    }
    double t1 = now();
    if (phase == 1) {
      if (strncmp(line, "OK\t", 3) == 0) st->ok++; else st->no++;
      if (st->n == st->cap) { st->cap = st->cap ? st->cap * 2 : 65536; st->lat = realloc(st->lat, st->cap * sizeof *st->lat); }
      st->lat[st->n++] = (unsigned)((t1 - t0) * 1e6);
    }
    if (strcmp(mode, "perconn") == 0) { close(c.fd); open = 0; }
  }
  if (open) close(c.fd);
  return NULL;
}

static int cmp(const void *a, const void *b) { return (int)(*(unsigned *)a > *(unsigned *)b) - (int)(*(unsigned *)a < *(unsigned *)b); }

int main(int argc, char **argv) {
  int o;
  while ((o = getopt(argc, argv, "s:u:c:d:W:m:L:a")) != -1) {
    if (o == 's') sock_path = optarg;
    else if (o == 'u') users_path = optarg;
    else if (o == 'c') conc = atoi(optarg);
    else if (o == 'd') secs = atof(optarg);
    else if (o == 'W') warm = atof(optarg);
    else if (o == 'm') mode = optarg;
    else if (o == 'L') label = optarg;
    else if (o == 'a') with_rip = 1;
  }
  if (!sock_path || !users_path) { fprintf(stderr, "usage: dovecot-auth-bench -s SOCKET -u USERS [-c N] [-d S] [-W S] [-m persist|perconn] [-L LABEL] [-a]\n"); return 2; }
  FILE *f = fopen(users_path, "r");
  if (!f) { perror(users_path); return 2; }
  char buf[600];
  while (fgets(buf, sizeof buf, f)) {
    buf[strcspn(buf, "\n")] = 0;
    if (!strchr(buf, ':')) continue;
    logins = realloc(logins, (nlogins + 1) * sizeof *logins);
    logins[nlogins++] = strdup(buf);
  }
  fclose(f);
  if (nlogins == 0) { fprintf(stderr, "no users\n"); return 2; }
  stats *st = calloc(conc, sizeof *st);
  pthread_t *th = calloc(conc, sizeof *th);
  for (int i = 0; i < conc; i++) pthread_create(&th[i], NULL, worker, &st[i]);
  usleep((useconds_t)(warm * 1e6));
  double t0 = now();
  phase = 1;
  usleep((useconds_t)(secs * 1e6));
  phase = 2;
  double t1 = now();
  for (int i = 0; i < conc; i++) pthread_join(th[i], NULL);
  long ok = 0, no = 0, err = 0, n = 0;
  for (int i = 0; i < conc; i++) { ok += st[i].ok; no += st[i].no; err += st[i].err; n += st[i].n; }
  unsigned *all = malloc((n ? n : 1) * sizeof *all);
  long k = 0;
  for (int i = 0; i < conc; i++) { memcpy(all + k, st[i].lat, st[i].n * sizeof *all); k += st[i].n; }
  qsort(all, n, sizeof *all, cmp);
  unsigned p50 = n ? all[n / 2] : 0, p90 = n ? all[n * 9 / 10] : 0, p99 = n ? all[n * 99 / 100] : 0, mx = n ? all[n - 1] : 0;
  printf("RESULT label=%s rps=%.1f p50_us=%u p90_us=%u p99_us=%u max_us=%u ok=%ld no=%ld err=%ld mismatch=%ld conc=%d secs=%.3f\n",
         label, (ok + no) / (t1 - t0), p50, p90, p99, mx, ok, no, err, no, conc, t1 - t0);
  return 0;
}
