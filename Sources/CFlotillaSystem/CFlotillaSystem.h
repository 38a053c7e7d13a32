/// libc for the Flotilla node agent, plus helpers for what Swift cannot express directly
/// (errno, variadic open, fixed-size struct arrays, signal handlers, locale-free number text).
#ifndef CFLOTILLA_SYSTEM_H
#define CFLOTILLA_SYSTEM_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline int flotilla_errno(void) { return errno; }

/// open(2) with an explicit mode (open is variadic).
static inline int flotilla_open(const char *path, int flags, mode_t mode) {
    return open(path, flags, mode);
}

/// Copies uname's release and machine fields. Returns 0 on success.
static inline int flotilla_uname(char *release, size_t release_size, char *machine, size_t machine_size) {
    struct utsname info;
    if (uname(&info) != 0) return -1;
    snprintf(release, release_size, "%s", info.release);
    snprintf(machine, machine_size, "%s", info.machine);
    return 0;
}

static inline const char *flotilla_dirent_name(const struct dirent *entry) { return entry->d_name; }

/// Shortest of %.15g/%.16g/%.17g that reads back as the same double. Returns the length.
static inline int flotilla_format_double(double value, char *buffer, size_t size) {
    for (int precision = 15; precision <= 17; precision++) {
        int length = snprintf(buffer, size, "%.*g", precision, value);
        if (length < 0 || (size_t)length >= size) return -1;
        if (strtod(buffer, NULL) == value) return length;
    }
    return (int)strlen(buffer);
}

/// Parses exactly `length` bytes as a decimal floating-point number. Returns 1 on success.
static inline int flotilla_parse_double(const char *text, size_t length, double *out) {
    char buffer[64];
    if (length == 0 || length >= sizeof buffer) return 0;
    memcpy(buffer, text, length);
    buffer[length] = 0;
    char *end = NULL;
    errno = 0;
    double value = strtod(buffer, &end);
    if (end != buffer + length) return 0;
    *out = value;
    return 1;
}

/// 64 random bits from the kernel (for jitter; not for keys, OpenSSL makes those).
static inline uint64_t flotilla_random_u64(void) {
    uint64_t value = 0;
    if (getrandom(&value, sizeof value, 0) != (ssize_t)sizeof value) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        value = (uint64_t)now.tv_nsec * 6364136223846793005ULL + (uint64_t)now.tv_sec;
    }
    return value;
}

static inline int64_t flotilla_monotonic_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static inline int64_t flotilla_unix_seconds(void) { return (int64_t)time(NULL); }

static inline void flotilla_sleep_ms(long milliseconds) {
    struct timespec duration;
    duration.tv_sec = milliseconds / 1000;
    duration.tv_nsec = (milliseconds % 1000) * 1000000L;
    nanosleep(&duration, NULL);
}

static inline volatile sig_atomic_t *flotilla_stop_flag(void) {
    static volatile sig_atomic_t flag = 0;
    return &flag;
}

static void flotilla_on_stop_signal(int signal_number) {
    (void)signal_number;
    *flotilla_stop_flag() = 1;
}

/// Installs SIGTERM/SIGINT handlers that only set a flag (no SA_RESTART, so sleeps wake up), and
/// unblocks both signals: a launcher may hand down a mask that blocks them (threads of a test
/// runner, some supervisors), which would leave the agent deaf to `stop`.
static inline void flotilla_install_stop_handlers(void) {
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigprocmask(SIG_UNBLOCK, &stop_signals, NULL);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = flotilla_on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static inline int flotilla_stop_requested(void) { return *flotilla_stop_flag() != 0; }

/// What lstat(2) says a path is, without following a final symlink.
#define FLOTILLA_PATH_MISSING 0
#define FLOTILLA_PATH_FILE 1
#define FLOTILLA_PATH_DIRECTORY 2
#define FLOTILLA_PATH_SYMLINK 3
#define FLOTILLA_PATH_OTHER 4

/// lstat(2) reduced to a kind, permission bits and size. Returns a FLOTILLA_PATH_* value, or -1
/// with errno set when lstat fails for another reason than a missing path.
static inline int flotilla_path_kind(const char *path, unsigned *mode, int64_t *size) {
    struct stat info;
    if (lstat(path, &info) != 0) return errno == ENOENT || errno == ENOTDIR ? FLOTILLA_PATH_MISSING : -1;
    *mode = (unsigned)(info.st_mode & 07777);
    *size = (int64_t)info.st_size;
    if (S_ISREG(info.st_mode)) return FLOTILLA_PATH_FILE;
    if (S_ISDIR(info.st_mode)) return FLOTILLA_PATH_DIRECTORY;
    if (S_ISLNK(info.st_mode)) return FLOTILLA_PATH_SYMLINK;
    return FLOTILLA_PATH_OTHER;
}

/// True when a process with this pid exists (kill(pid, 0) succeeds or is refused by permission).
static inline int flotilla_process_alive(long pid) {
    if (pid <= 0) return 0;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

extern char **environ;

/// Runs `/bin/sh -c command` in its own process group and waits up to `timeout_ms`. Returns the
/// exit status (0-255), 128+signal when killed by a signal, -1 when it could not be started and
/// -2 after a timeout or a stop signal (the whole group is then killed with SIGKILL).
static inline int flotilla_run_shell(const char *command, long timeout_ms) {
    posix_spawnattr_t attributes;
    if (posix_spawnattr_init(&attributes) != 0) return -1;
    sigset_t defaults, empty;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    posix_spawnattr_setsigmask(&attributes, &empty);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char *argv[] = {(char *)"sh", (char *)"-c", (char *)command, NULL};
    pid_t child = 0;
    int rc = posix_spawn(&child, "/bin/sh", NULL, &attributes, argv, environ);
    posix_spawnattr_destroy(&attributes);
    if (rc != 0) return -1;
    int64_t deadline = flotilla_monotonic_ms() + timeout_ms;
    for (;;) {
        int status = 0;
        pid_t done = waitpid(child, &status, WNOHANG);
        if (done == child) {
            if (WIFEXITED(status)) return WEXITSTATUS(status);
            if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
            return -1;
        }
        if (done < 0 && errno != EINTR) return -1;
        if (flotilla_monotonic_ms() >= deadline || flotilla_stop_requested()) {
            kill(-child, SIGKILL);
            waitpid(child, &status, 0);
            return -2;
        }
        flotilla_sleep_ms(20);
    }
}

#endif
