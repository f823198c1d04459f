/*
 * fsync_delay.c: an LD_PRELOAD shim for `make bench` that makes every
 * fsync and fdatasync take at least 1 ms more (BENCH_FSYNC_US overrides),
 * as on a real disk: this machine's virtual disk syncs in microseconds,
 * which would flatter any write path. The real call still happens first.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void delay(void)
{
    const char *env = getenv("BENCH_FSYNC_US");
    long us = env ? atol(env) : 1000;
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int fsync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    int r = real(fd);
    delay();
    return r;
}

int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    int r = real(fd);
    delay();
    return r;
}
