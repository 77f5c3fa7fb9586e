/*
 * runrss.c - run one command and report its wall time and peak RSS, for
 * bench_import (tests/bench/README.md).
 *
 *   runrss OUT CMD [ARG...]
 *
 * Forks, execs CMD with stdin from /dev/null (stdout and stderr as
 * given), waits with wait4() and writes one line to the file OUT:
 *
 *   status=N wall_s=S cpu_s=C maxrss_kb=K
 *
 * status is the exit status, or 128 + the signal.  The wall time runs
 * from just before fork() to the return of wait4(), with CLOCK_MONOTONIC;
 * cpu_s is the command's user + system time.
 *
 * Linux keeps a process's peak RSS across exec (the new image starts at
 * the high-water mark of the one it replaced), so ru_maxrss is only the
 * command's own when the process it was forked from was small.  This
 * helper is that small process: exec'd by the driver, it touches little
 * more than libc before it forks.  Exit status: the command's, or 127
 * when it could not be run or OUT not written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
    struct rusage ru;
    double        t0, t1;
    pid_t         pid;
    int           status, fd, code;
    FILE         *out;

    if (argc < 3) {
        fprintf(stderr, "usage: runrss OUT CMD [ARG...]\n");
        return 127;
    }
    t0 = now();
    if ((pid = fork()) < 0) {
        fprintf(stderr, "runrss: fork: %s\n", strerror(errno));
        return 127;
    }
    if (pid == 0) {
        if ((fd = open("/dev/null", O_RDONLY)) < 0 ||
            dup2(fd, STDIN_FILENO) < 0)
            _exit(127);
        close(fd);
        execvp(argv[2], argv + 2);
        fprintf(stderr, "runrss: %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "runrss: wait4: %s\n", strerror(errno));
            return 127;
        }
    }
    t1 = now();
    code = WIFEXITED(status) ? WEXITSTATUS(status) :
        WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 127;
    if ((out = fopen(argv[1], "w")) == NULL) {
        fprintf(stderr, "runrss: %s: %s\n", argv[1], strerror(errno));
        return 127;
    }
    fprintf(out, "status=%d wall_s=%.6f cpu_s=%.6f maxrss_kb=%ld\n", code,
        t1 - t0, (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
        (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
        ru.ru_maxrss);
    if (fclose(out) != 0)
        return 127;
    return code;
}
