/* The C floor for a checkpassword program: read fd 3, check nothing, exec prog. */
#include <unistd.h>

int main(int argc, char **argv) {
  char buf[513];
  (void)argc;
  while (read(3, buf, sizeof buf) > 0) {
  }
  close(3);
  execvp(argv[1], argv + 1);
  return 111;
}
