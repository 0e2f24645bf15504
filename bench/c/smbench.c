/* Load generator for a socketmap server: CONC threads, each one persistent
 * connection (as Postfix keeps it) doing lookups back to back for SECS
 * seconds; keys drawn from a file of addresses. Prints one RESULT line. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

static const char *sock_path;
static char **keys;
static int nkeys;
static double secs;
static volatile int stop_flag;

struct worker { double *lat; long n, cap, ok, notfound, other; unsigned seed; };

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void *run(void *arg) {
  struct worker *w = arg;
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  strncpy(a.sun_path, sock_path, sizeof a.sun_path - 1);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); exit(1); }
  char req[256], rep[512];
  while (!stop_flag) {
    const char *k = keys[rand_r(&w->seed) % nkeys];
    int body = 6 + (int)strlen(k);
    int len = snprintf(req, sizeof req, "%d:relay %s,", body, k);
    double t0 = now();
    if (write(fd, req, len) != len) { perror("write"); exit(1); }
    int got = 0;
    for (;;) {
      int r = read(fd, rep + got, sizeof rep - 1 - got);
      if (r <= 0) { fprintf(stderr, "connection closed\n"); exit(1); }
      got += r;
      rep[got] = 0;
      char *colon = strchr(rep, ':');
      if (colon && got >= (colon - rep) + 1 + atoi(rep) + 1) break;
    }
    double us = (now() - t0) * 1e6;
    if (w->n == w->cap) { w->cap = w->cap ? w->cap * 2 : 65536; w->lat = realloc(w->lat, w->cap * sizeof *w->lat); }
    w->lat[w->n++] = us;
    char *colon = strchr(rep, ':');
    if (!strncmp(colon + 1, "OK", 2)) w->ok++;
    else if (!strncmp(colon + 1, "NOTFOUND", 8)) w->notfound++;
    else w->other++;
  }
  close(fd);
  return NULL;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc != 6) { fprintf(stderr, "usage: smbench SOCKET KEYFILE CONC SECS LABEL\n"); return 2; }
  sock_path = argv[1];
  int conc = atoi(argv[3]);
  secs = atof(argv[4]);
  FILE *f = fopen(argv[2], "r");
  if (!f) { perror(argv[2]); return 2; }
  char line[128];
  int cap = 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    if (!*line) continue;
    if (nkeys == cap) { cap = cap ? cap * 2 : 1024; keys = realloc(keys, cap * sizeof *keys); }
    keys[nkeys++] = strdup(line);
  }
  fclose(f);
  pthread_t *t = calloc(conc, sizeof *t);
  struct worker *w = calloc(conc, sizeof *w);
  for (int i = 0; i < conc; i++) { w[i].seed = 12345 + i; pthread_create(&t[i], NULL, run, &w[i]); }
  double t0 = now();
  usleep((useconds_t)(secs * 1e6));
  stop_flag = 1;
  for (int i = 0; i < conc; i++) pthread_join(t[i], NULL);
  double el = now() - t0;
  long n = 0, ok = 0, nf = 0, other = 0;
  for (int i = 0; i < conc; i++) { n += w[i].n; ok += w[i].ok; nf += w[i].notfound; other += w[i].other; }
  double *all = malloc(n * sizeof *all);
  long k = 0;
  for (int i = 0; i < conc; i++) { memcpy(all + k, w[i].lat, w[i].n * sizeof *all); k += w[i].n; }
  qsort(all, n, sizeof *all, cmp);
  printf("RESULT label=%s conc=%d rps=%.0f p50_us=%.0f p99_us=%.0f max_us=%.0f ok=%ld notfound=%ld other=%ld\n", argv[5], conc,
         n / el, all[n / 2], all[(long)(n * 0.99)], all[n - 1], ok, nf, other);
  return other ? 1 : 0;
}
