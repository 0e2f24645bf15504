/* Times a checkpassword-interface program: N runs, each a fork, the login
 * on a pipe at fd 3, exec, wait. Prints each run's wall time in
 * microseconds, one per line ("LABEL us"); exit 1 if any run failed. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: cp-timer LABEL RUNS LOGIN PASSWORD prog [args...]\n");
    return 2;
  }
  const char *label = argv[1];
  int runs = atoi(argv[2]);
  char input[1024];
  int len = snprintf(input, sizeof input, "%s%c%s%c%c", argv[3], 0, argv[4], 0, 0);
  double *us = calloc(runs, sizeof *us);
  int bad = 0;
  for (int i = 0; i < runs; i++) {
    struct timespec t0, t1;
    int p[2];
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (pipe(p) < 0) return 111;
    pid_t pid = fork();
    if (pid == 0) {
      close(p[1]);
      if (p[0] != 3) { dup2(p[0], 3); close(p[0]); }
      execv(argv[5], argv + 5);
      _exit(127);
    }
    close(p[0]);
    if (write(p[1], input, len) != len) bad++;
    close(p[1]);
    int st;
    waitpid(pid, &st, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) bad++;
    us[i] = (t1.tv_sec - t0.tv_sec) * 1e6 + (t1.tv_nsec - t0.tv_nsec) / 1e3;
  }
  for (int i = 0; i < runs; i++) printf("%s %.0f\n", label, us[i]);
  if (bad) printf("%s failed %d\n", label, bad);
  return bad ? 1 : 0;
}
