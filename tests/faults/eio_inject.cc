// An LD_PRELOAD library for the disk-fault tests (tests/node/disk_test.cc): once the file
// named by CIVIC_EIO_TRIGGER exists, every write and sync (write, pwrite, writev, pwritev,
// fsync, fdatasync) of CIVIC_EIO_DIR or a file under it fails with EIO, as a failing drive
// answers; with CIVIC_EIO_MODE=sync only the syncs fail (the usual Linux case: the write
// lands in the page cache, and the error comes at the sync); with CIVIC_EIO_MODE=read only
// the reads (read, pread, readv, preadv: RocksDB reads its table files with pread; the C
// library's own stdio reads, which RocksDB uses for its logs, are not reached). Nothing else
// changes: other files, and every call before the trigger go to the C library as usual. A
// test creates the trigger while civicd runs (or before it starts), and removes it before
// civicd starts again. (RocksDB writes its files through these calls: civicd sets no mmap
// writes and no sync_file_range.)
//
// Built without the sanitizers (it runs inside civicd, ahead of their runtime).
#undef _FILE_OFFSET_BITS  // pwrite and pwrite64 are separate symbols, both defined here
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

enum class Call { kWrite, kSync, kRead };

// Whether the mode fails this kind of call: unset (or "all") writes and syncs, "sync" syncs,
// "read" reads.
bool ModeFails(Call call) {
  const char* mode = std::getenv("CIVIC_EIO_MODE");
  if (mode != nullptr && std::strcmp(mode, "read") == 0) return call == Call::kRead;
  if (mode != nullptr && std::strcmp(mode, "sync") == 0) return call == Call::kSync;
  return call != Call::kRead;
}

// Whether this call on `fd` fails now.
bool Failing(int fd, Call call) {
  const int saved = errno;
  const char* trigger = std::getenv("CIVIC_EIO_TRIGGER");
  const char* dir = std::getenv("CIVIC_EIO_DIR");
  bool failing = false;
  if (trigger != nullptr && dir != nullptr && ModeFails(call) && ::access(trigger, F_OK) == 0) {
    char link[64];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    char target[PATH_MAX];
    const ssize_t n = ::readlink(link, target, sizeof target - 1);
    const std::size_t length = std::strlen(dir);
    if (n > 0) {
      target[n] = '\0';
      failing = std::strncmp(target, dir, length) == 0 && (target[length] == '\0' || target[length] == '/');
    }
  }
  errno = saved;
  return failing;
}

template <class Function>
Function Next(const char* name) {
  void* next = ::dlsym(RTLD_NEXT, name);
  if (next == nullptr) {
    std::fprintf(stderr, "eio_inject: no %s after this library\n", name);
    std::abort();
  }
  return reinterpret_cast<Function>(next);
}

}  // namespace

#define CIVIC_FAIL_IF_FAILING(fd, call) \
  if (Failing(fd, call)) {              \
    errno = EIO;                        \
    return -1;                          \
  }

extern "C" {

ssize_t write(int fd, const void* buffer, size_t count) {
  static const auto next = Next<ssize_t (*)(int, const void*, size_t)>("write");
  CIVIC_FAIL_IF_FAILING(fd, Call::kWrite);
  return next(fd, buffer, count);
}

ssize_t pwrite(int fd, const void* buffer, size_t count, off_t offset) {
  static const auto next = Next<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite");
  CIVIC_FAIL_IF_FAILING(fd, Call::kWrite);
  return next(fd, buffer, count, offset);
}

ssize_t pwrite64(int fd, const void* buffer, size_t count, off64_t offset) {
  static const auto next = Next<ssize_t (*)(int, const void*, size_t, off64_t)>("pwrite64");
  CIVIC_FAIL_IF_FAILING(fd, Call::kWrite);
  return next(fd, buffer, count, offset);
}

ssize_t writev(int fd, const struct iovec* vectors, int count) {
  static const auto next = Next<ssize_t (*)(int, const struct iovec*, int)>("writev");
  CIVIC_FAIL_IF_FAILING(fd, Call::kWrite);
  return next(fd, vectors, count);
}

ssize_t pwritev(int fd, const struct iovec* vectors, int count, off_t offset) {
  static const auto next = Next<ssize_t (*)(int, const struct iovec*, int, off_t)>("pwritev");
  CIVIC_FAIL_IF_FAILING(fd, Call::kWrite);
  return next(fd, vectors, count, offset);
}

ssize_t pwritev64(int fd, const struct iovec* vectors, int count, off64_t offset) {
  static const auto next = Next<ssize_t (*)(int, const struct iovec*, int, off64_t)>("pwritev64");
  CIVIC_FAIL_IF_FAILING(fd, Call::kWrite);
  return next(fd, vectors, count, offset);
}

int fsync(int fd) {
  static const auto next = Next<int (*)(int)>("fsync");
  CIVIC_FAIL_IF_FAILING(fd, Call::kSync);
  return next(fd);
}

int fdatasync(int fd) {
  static const auto next = Next<int (*)(int)>("fdatasync");
  CIVIC_FAIL_IF_FAILING(fd, Call::kSync);
  return next(fd);
}

ssize_t read(int fd, void* buffer, size_t count) {
  static const auto next = Next<ssize_t (*)(int, void*, size_t)>("read");
  CIVIC_FAIL_IF_FAILING(fd, Call::kRead);
  return next(fd, buffer, count);
}

ssize_t pread(int fd, void* buffer, size_t count, off_t offset) {
  static const auto next = Next<ssize_t (*)(int, void*, size_t, off_t)>("pread");
  CIVIC_FAIL_IF_FAILING(fd, Call::kRead);
  return next(fd, buffer, count, offset);
}

ssize_t pread64(int fd, void* buffer, size_t count, off64_t offset) {
  static const auto next = Next<ssize_t (*)(int, void*, size_t, off64_t)>("pread64");
  CIVIC_FAIL_IF_FAILING(fd, Call::kRead);
  return next(fd, buffer, count, offset);
}

ssize_t readv(int fd, const struct iovec* vectors, int count) {
  static const auto next = Next<ssize_t (*)(int, const struct iovec*, int)>("readv");
  CIVIC_FAIL_IF_FAILING(fd, Call::kRead);
  return next(fd, vectors, count);
}

ssize_t preadv(int fd, const struct iovec* vectors, int count, off_t offset) {
  static const auto next = Next<ssize_t (*)(int, const struct iovec*, int, off_t)>("preadv");
  CIVIC_FAIL_IF_FAILING(fd, Call::kRead);
  return next(fd, vectors, count, offset);
}

ssize_t preadv64(int fd, const struct iovec* vectors, int count, off64_t offset) {
  static const auto next = Next<ssize_t (*)(int, const struct iovec*, int, off64_t)>("preadv64");
  CIVIC_FAIL_IF_FAILING(fd, Call::kRead);
  return next(fd, vectors, count, offset);
}

}  // extern "C"
