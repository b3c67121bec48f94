// An LD_PRELOAD library for the disk-fault tests (tests/node/disk_test.cc): once the file
// named by CIVIC_EIO_TRIGGER exists, every write and sync of a file under CIVIC_EIO_DIR fails
// with EIO, as a failing drive answers. Nothing else changes: other files, reads, and every
// call before the trigger go to the C library as usual. A test creates the trigger while
// civicd runs, and removes it before civicd starts again.
//
// Built without the sanitizers (it runs inside civicd, ahead of their runtime).
#include <dlfcn.h>
#include <limits.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

// Whether writes to `fd` fail now.
bool Failing(int fd) {
  const int saved = errno;
  const char* trigger = std::getenv("CIVIC_EIO_TRIGGER");
  const char* dir = std::getenv("CIVIC_EIO_DIR");
  bool failing = false;
  if (trigger != nullptr && dir != nullptr && ::access(trigger, F_OK) == 0) {
    char link[64];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    char target[PATH_MAX];
    const ssize_t n = ::readlink(link, target, sizeof target - 1);
    if (n > 0) {
      target[n] = '\0';
      failing = std::strncmp(target, dir, std::strlen(dir)) == 0;
    }
  }
  errno = saved;
  return failing;
}

template <class Function>
Function Next(const char* name) {
  return reinterpret_cast<Function>(::dlsym(RTLD_NEXT, name));
}

}  // namespace

#define CIVIC_FAIL_IF_FAILING(fd) \
  if (Failing(fd)) {              \
    errno = EIO;                  \
    return -1;                    \
  }

extern "C" {

ssize_t write(int fd, const void* buffer, size_t count) {
  static const auto next = Next<ssize_t (*)(int, const void*, size_t)>("write");
  CIVIC_FAIL_IF_FAILING(fd);
  return next(fd, buffer, count);
}

ssize_t pwrite(int fd, const void* buffer, size_t count, off_t offset) {
  static const auto next = Next<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite");
  CIVIC_FAIL_IF_FAILING(fd);
  return next(fd, buffer, count, offset);
}

ssize_t pwrite64(int fd, const void* buffer, size_t count, off64_t offset) {
  static const auto next = Next<ssize_t (*)(int, const void*, size_t, off64_t)>("pwrite64");
  CIVIC_FAIL_IF_FAILING(fd);
  return next(fd, buffer, count, offset);
}

ssize_t writev(int fd, const struct iovec* vectors, int count) {
  static const auto next = Next<ssize_t (*)(int, const struct iovec*, int)>("writev");
  CIVIC_FAIL_IF_FAILING(fd);
  return next(fd, vectors, count);
}

ssize_t pwritev(int fd, const struct iovec* vectors, int count, off_t offset) {
  static const auto next = Next<ssize_t (*)(int, const struct iovec*, int, off_t)>("pwritev");
  CIVIC_FAIL_IF_FAILING(fd);
  return next(fd, vectors, count, offset);
}

int fsync(int fd) {
  static const auto next = Next<int (*)(int)>("fsync");
  CIVIC_FAIL_IF_FAILING(fd);
  return next(fd);
}

int fdatasync(int fd) {
  static const auto next = Next<int (*)(int)>("fdatasync");
  CIVIC_FAIL_IF_FAILING(fd);
  return next(fd);
}

}  // extern "C"
