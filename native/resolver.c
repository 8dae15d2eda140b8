// The files helper: serves file operations on a target container's root over
// stdin/stdout (an exec stream of the Engine API). It runs in a helper
// container that shares the target's pid namespace, where the target's root is
// /proc/1/root.
//
// Confinement is the kernel's, not ours: every path is resolved with
// openat2(root, path, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so absolute
// links and `..` stay inside the target's root and no /proc magic link
// (root, cwd, fd/N, exe of any process, the helper's own included) is ever
// followed. Operations then act on the fds they resolved (fstat, *at calls on
// the parent's fd), so nothing is checked by path and used by path.
//
// Protocol (little-endian u32 lengths, names are bytes, any byte but NUL):
//   request: argc, then per argument its length and bytes, then a payload
//            length and the payload (the data of a write).
//   reply:   frames of a type byte and a u32: 'D' + n bytes of data,
//            'Z' n zero bytes (a hole of a sparse file), 'S' the size a read
//            will have at most, 'E' + n bytes "CODE detail" (ends the reply),
//            'K' 0 (ends the reply).
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINKS 40
#define CHUNK (1 << 20)

static int root_fd = -1;
static char *out;
static size_t out_len, out_cap;

static void die(void) { _exit(2); }

static void write_all(const void *b, size_t n) {
  const char *p = b;
  while (n) {
    ssize_t w = write(1, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) die(); // the stream is gone: nothing left to serve
    p += w;
    n -= (size_t)w;
  }
}

static void flush(void) {
  write_all(out, out_len);
  out_len = 0;
}

static void put(const void *b, size_t n) {
  if (out_len + n > out_cap) {
    if (out_len) flush();
    if (n > out_cap) {
      write_all(b, n);
      return;
    }
  }
  memcpy(out + out_len, b, n);
  out_len += n;
}

static void frame(char type, const void *b, uint32_t n) {
  char h[5];
  h[0] = type;
  memcpy(h + 1, &n, 4);
  put(h, 5);
  if (b && n) put(b, n);
}

static void data(const void *b, size_t n) { frame('D', b, (uint32_t)n); }

static void datatext(const char *s) { data(s, strlen(s)); }

static int fail(const char *code, const char *detail) {
  char m[512];
  snprintf(m, sizeof m, "%s %s", code, detail ? detail : "");
  frame('E', m, (uint32_t)strlen(m));
  return -1;
}

static int fail_errno(int e) {
  switch (e) {
  case ENOENT: return fail("ENOENT", NULL);
  case ENOTDIR: return fail("ENOTDIR", NULL);
  case EISDIR: return fail("EISDIR", NULL);
  case EEXIST: return fail("EEXIST", NULL);
  case ENOTEMPTY: return fail("ENOTEMPTY", NULL);
  case ELOOP: return fail("ELOOP", NULL);
  case EXDEV: return fail("EXDEV", NULL);
  case EACCES: case EPERM: case EROFS: return fail("EACCES", strerror(e));
  case ENAMETOOLONG: return fail("ENAMETOOLONG", NULL);
  default: return fail("EIO", strerror(e));
  }
}

static int read_full(void *b, size_t n) {
  char *p = b;
  while (n) {
    ssize_t r = read(0, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static uint32_t read_u32(void) {
  uint32_t v;
  if (read_full(&v, 4)) exit(0); // end of the stream: the extension closed it
  return v;
}

/** Resolves p inside the target's root; the kernel refuses escapes and magic links. */
static int resolve(const char *p, uint64_t flags) {
  struct open_how how = {.flags = flags | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  for (int i = 0; i < 100; i++) {
    int fd = (int)syscall(SYS_openat2, root_fd, *p ? p : "/", &how, sizeof how);
    // EAGAIN: a rename raced with `..`; the kernel asks to try again.
    if (fd >= 0 || errno != EAGAIN) return fd;
  }
  return -1;
}

/** Splits p into the fd of its parent directory and its last name; 0 when there is no last name (`/`, `.`, `..`). */
static int parent(const char *p, const char **base, char *buf, size_t cap) {
  size_t n = strlen(p);
  if (n >= cap) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(buf, p, n + 1);
  while (n > 1 && buf[n - 1] == '/') buf[--n] = 0;
  char *slash = strrchr(buf, '/');
  const char *b = slash ? slash + 1 : buf;
  if (!*b || !strcmp(b, ".") || !strcmp(b, "..")) return 0;
  // Copy the last name out before cutting buf down to the parent's path.
  static char last[4096];
  snprintf(last, sizeof last, "%s", b);
  *base = last;
  if (slash) {
    if (slash == buf) slash[1] = 0;
    else *slash = 0;
  } else {
    strcpy(buf, "/");
  }
  return resolve(buf, O_PATH | O_DIRECTORY);
}

static void stat_line(const struct stat *st) {
  char l[160];
  snprintf(l, sizeof l, "%x %lld %lld %lld %u %u\n", st->st_mode, (long long)st->st_size,
           (long long)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000,
           (long long)st->st_ctim.tv_sec * 1000 + st->st_ctim.tv_nsec / 1000000, st->st_uid, st->st_gid);
  datatext(l);
}

static const char *kind_name(mode_t m) {
  if (S_ISFIFO(m)) return "fifo";
  if (S_ISCHR(m)) return "character-device";
  if (S_ISBLK(m)) return "block-device";
  if (S_ISSOCK(m)) return "socket";
  return "special";
}

/** Pseudo file systems answer for whoever reads them, not for the container. */
static const char *pseudo(int fd) {
  struct statfs s;
  if (fstatfs(fd, &s)) return NULL;
  switch ((unsigned long)s.f_type) {
  case PROC_SUPER_MAGIC: return "procfs";
  case SYSFS_MAGIC: return "sysfs";
  case DEBUGFS_MAGIC: return "debugfs";
  case TRACEFS_MAGIC: return "tracefs";
  case SECURITYFS_MAGIC: return "securityfs";
  case CGROUP_SUPER_MAGIC: case CGROUP2_SUPER_MAGIC: return "cgroupfs";
  case BPF_FS_MAGIC: return "bpffs";
  default: return NULL;
  }
}

static int op_stat(const char *p) {
  char buf[4096];
  const char *base;
  struct stat st;
  int pfd = parent(p, &base, buf, sizeof buf);
  if (pfd < 0) return fail_errno(errno);
  if (pfd == 0) {
    int fd = resolve(p, O_PATH);
    if (fd < 0) return fail_errno(errno);
    fstat(fd, &st);
    close(fd);
    stat_line(&st);
    return 0;
  }
  int r = fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW);
  close(pfd);
  if (r) return fail_errno(errno);
  stat_line(&st);
  if (S_ISLNK(st.st_mode)) {
    int fd = resolve(p, O_PATH);
    if (fd < 0) {
      datatext("missing\n");
    } else {
      fstat(fd, &st);
      close(fd);
      stat_line(&st);
    }
  }
  return 0;
}

static char kind_of(mode_t m) { return S_ISREG(m) ? 'f' : S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : 'o'; }

static int op_readdir(const char *p) {
  int fd = resolve(p, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return fail_errno(errno);
  DIR *d = fdopendir(fd);
  if (!d) return fail_errno(errno);
  size_t plen = strlen(p);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char k = e->d_type == DT_REG ? 'f' : e->d_type == DT_DIR ? 'd' : e->d_type == DT_LNK ? 'l' : e->d_type == DT_UNKNOWN ? '?' : 'o';
    struct stat st;
    if (k == '?') k = fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) ? 'o' : kind_of(st.st_mode);
    char t = '-';
    if (k == 'l') {
      // What the link points to, resolved inside the root like any path.
      char full[8192];
      snprintf(full, sizeof full, "%s%s%s", p, plen && p[plen - 1] == '/' ? "" : "/", e->d_name);
      int tfd = resolve(full, O_PATH);
      t = 'm';
      if (tfd >= 0) {
        if (!fstat(tfd, &st)) t = kind_of(st.st_mode);
        close(tfd);
      }
    }
    uint32_t n = (uint32_t)strlen(e->d_name);
    char h[6] = {k, t};
    memcpy(h + 2, &n, 4);
    char rec[6 + 256];
    memcpy(rec, h, 6);
    memcpy(rec + 6, e->d_name, n);
    data(rec, 6 + n);
  }
  closedir(d);
  return 0;
}

/** Opens p for reading only if it is a regular file on a real file system; never opens anything else. */
static int op_read(const char *p, const char *maxs, long long here) {
  int path = resolve(p, O_PATH);
  if (path < 0) return fail_errno(errno);
  struct stat st;
  if (fstat(path, &st)) {
    close(path);
    return fail_errno(errno);
  }
  if (S_ISDIR(st.st_mode)) {
    close(path);
    return fail("EISDIR", NULL);
  }
  if (!S_ISREG(st.st_mode)) {
    close(path);
    return fail("ENOTREG", kind_name(st.st_mode));
  }
  const char *ps = pseudo(path);
  if (ps) {
    close(path);
    return fail("EPSEUDO", ps);
  }
  long long max = atoll(maxs);
  if (max > 0 && st.st_size > max) {
    char s[32];
    snprintf(s, sizeof s, "%lld", (long long)st.st_size);
    close(path);
    return fail("EFBIG", s);
  }
  // Large files go over an exec of their own (see "once" in main), which the engine streams faster.
  if (here > 0 && st.st_size > here) {
    close(path);
    return fail("EMOVE", NULL);
  }
  // Reopen the very inode we checked (the fd, not the path): no gap to swap it.
  char self[64];
  snprintf(self, sizeof self, "/proc/self/fd/%d", path);
  int fd = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  close(path);
  if (fd < 0) return fail_errno(errno);
  uint32_t size32 = st.st_size > 0xffffffffLL ? 0xffffffffu : (uint32_t)st.st_size;
  frame('S', NULL, size32);
  static char *chunk;
  if (!chunk) chunk = malloc(CHUNK);
  off_t off = 0, end = st.st_size;
  while (off < end) {
    off_t d = lseek(fd, off, SEEK_DATA);
    if (d < 0 || d > end) d = end; // ENXIO: a hole up to the end
    while (off < d) {
      off_t z = d - off > (1 << 30) ? (1 << 30) : d - off;
      frame('Z', NULL, (uint32_t)z);
      off += z;
    }
    if (off >= end) break;
    off_t h = lseek(fd, off, SEEK_HOLE);
    if (h < 0 || h > end) h = end;
    while (off < h) {
      size_t want = h - off > CHUNK ? CHUNK : (size_t)(h - off);
      ssize_t r = pread(fd, chunk, want, off);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        int e = errno;
        close(fd);
        return fail_errno(e);
      }
      if (r == 0) { end = off; break; } // the file shrank while we read it
      data(chunk, (size_t)r);
      off += r;
    }
  }
  close(fd);
  return 0;
}

static void drain(uint32_t n) {
  char b[65536];
  while (n) {
    uint32_t k = n > sizeof b ? sizeof b : n;
    if (read_full(b, k)) exit(0);
    n -= k;
  }
}

/** Follows links at the end of p ourselves (each resolved in the root), so a write replaces the target and keeps the link. */
static int final_path(char *p, size_t cap) {
  for (int n = 0;; n++) {
    char buf[4096], t[4096];
    const char *base;
    int pfd = parent(p, &base, buf, sizeof buf);
    if (pfd <= 0) return pfd;
    ssize_t l = readlinkat(pfd, base, t, sizeof t - 1);
    close(pfd);
    if (l < 0) return 0; // not a link (or absent): p is final
    if (n >= MAX_LINKS) {
      errno = ELOOP;
      return -1;
    }
    t[l] = 0;
    if (t[0] == '/') {
      snprintf(p, cap, "%s", t);
    } else {
      char dir[4096];
      snprintf(dir, sizeof dir, "%s", buf);
      if (snprintf(p, cap, "%s/%s", dir, t) >= (int)cap) {
        errno = ENAMETOOLONG;
        return -1;
      }
    }
  }
}

static int op_write(const char *arg, int create, int overwrite, uint32_t len) {
  char p[4096], buf[4096];
  snprintf(p, sizeof p, "%s", arg);
  if (final_path(p, sizeof p) < 0) {
    drain(len);
    return fail_errno(errno);
  }
  const char *base;
  int pfd = parent(p, &base, buf, sizeof buf);
  if (pfd <= 0) {
    drain(len);
    return pfd == 0 ? fail("EISDIR", NULL) : fail_errno(errno);
  }
  struct stat st, dst;
  uid_t uid;
  gid_t gid;
  mode_t mode;
  if (!fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW)) {
    const char *why = S_ISDIR(st.st_mode) ? "EISDIR" : !S_ISREG(st.st_mode) ? "ENOTREG" : !overwrite ? "EEXIST" : NULL;
    if (why) {
      close(pfd);
      drain(len);
      return fail(why, S_ISDIR(st.st_mode) || S_ISREG(st.st_mode) ? NULL : kind_name(st.st_mode));
    }
    uid = st.st_uid, gid = st.st_gid, mode = st.st_mode & 07777;
  } else {
    if (errno != ENOENT || !create) {
      int e = errno;
      close(pfd);
      drain(len);
      return fail_errno(e);
    }
    fstat(pfd, &dst);
    uid = dst.st_uid, gid = dst.st_gid, mode = 0644;
  }
  char tmp[512];
  snprintf(tmp, sizeof tmp, ".%.40s.sidecar-%d-%ld.tmp", base, getpid(), random());
  int fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    int e = errno;
    close(pfd);
    drain(len);
    return fail_errno(e);
  }
  static char *chunk;
  if (!chunk) chunk = malloc(CHUNK);
  int werr = 0;
  while (len) {
    uint32_t k = len > CHUNK ? CHUNK : len;
    if (read_full(chunk, k)) exit(0);
    len -= k;
    for (uint32_t o = 0; !werr && o < k;) {
      ssize_t w = write(fd, chunk + o, k - o);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) werr = errno;
      else o += (uint32_t)w;
    }
  }
  if (!werr && fsync(fd)) werr = errno;
  // Without CAP_CHOWN (a rootless engine) the owner stays ours: not fatal.
  if (fchown(fd, uid, gid)) {}
  if (!werr && fchmod(fd, mode)) werr = errno;
  close(fd);
  if (!werr && renameat(pfd, tmp, pfd, base)) werr = errno;
  if (werr) unlinkat(pfd, tmp, 0);
  close(pfd);
  return werr ? fail_errno(werr) : 0;
}

static int op_mkdir(const char *p) {
  char buf[4096];
  const char *base;
  int pfd = parent(p, &base, buf, sizeof buf);
  if (pfd < 0) return fail_errno(errno);
  if (pfd == 0) return fail("EEXIST", NULL);
  struct stat dst;
  fstat(pfd, &dst);
  int r = mkdirat(pfd, base, 0755);
  int e = errno;
  if (!r && fchownat(pfd, base, dst.st_uid, dst.st_gid, AT_SYMLINK_NOFOLLOW)) {}
  close(pfd);
  return r ? fail_errno(e) : 0;
}

/** Removes name under dfd and everything below it, never following a link. */
static int rmtree(int dfd, const char *name) {
  int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return (errno == ENOTDIR || errno == ELOOP) ? unlinkat(dfd, name, 0) : -1;
  DIR *d = fdopendir(fd);
  if (!d) return -1;
  struct dirent *e;
  int err = 0;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    struct stat st;
    if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW)) continue;
    int r = S_ISDIR(st.st_mode) ? rmtree(fd, e->d_name) : unlinkat(fd, e->d_name, 0);
    if (r && !err) err = errno;
  }
  closedir(d);
  if (unlinkat(dfd, name, AT_REMOVEDIR) && !err) err = errno;
  errno = err;
  return err ? -1 : 0;
}

static int op_delete(const char *p, int recursive) {
  char buf[4096];
  const char *base;
  int pfd = parent(p, &base, buf, sizeof buf);
  if (pfd < 0) return fail_errno(errno);
  if (pfd == 0) return fail("EPERM", NULL);
  struct stat st;
  int r;
  if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW)) r = -1;
  else if (S_ISDIR(st.st_mode)) r = recursive ? rmtree(pfd, base) : unlinkat(pfd, base, AT_REMOVEDIR);
  else r = unlinkat(pfd, base, 0);
  int e = errno;
  close(pfd);
  if (r && e == EEXIST) e = ENOTEMPTY;
  return r ? fail_errno(e) : 0;
}

static int copytree(int sfd, const char *sname, int dfd, const char *dname) {
  struct stat st;
  if (fstatat(sfd, sname, &st, AT_SYMLINK_NOFOLLOW)) return -1;
  int r = 0;
  if (S_ISLNK(st.st_mode)) {
    char t[4096];
    ssize_t l = readlinkat(sfd, sname, t, sizeof t - 1);
    if (l < 0) return -1;
    t[l] = 0;
    r = symlinkat(t, dfd, dname);
  } else if (S_ISDIR(st.st_mode)) {
    if (mkdirat(dfd, dname, 0700)) return -1;
    int s = openat(sfd, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int d = openat(dfd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0 || d < 0) return -1;
    DIR *dir = fdopendir(s);
    struct dirent *e;
    while (dir && (e = readdir(dir))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      if (copytree(s, e->d_name, d, e->d_name) && !r) r = -1;
    }
    if (dir) closedir(dir);
    if (fchown(d, st.st_uid, st.st_gid)) {}
    fchmod(d, st.st_mode & 07777);
    close(d);
  } else if (S_ISREG(st.st_mode)) {
    int s = openat(sfd, sname, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (s < 0) return -1;
    int d = openat(dfd, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (d < 0) {
      close(s);
      return -1;
    }
    static char *chunk;
    if (!chunk) chunk = malloc(CHUNK);
    ssize_t n;
    while ((n = read(s, chunk, CHUNK)) > 0) {
      for (ssize_t o = 0; o < n;) {
        ssize_t w = write(d, chunk + o, n - o);
        if (w < 0) { r = -1; break; }
        o += w;
      }
      if (r) break;
    }
    if (n < 0) r = -1;
    if (fchown(d, st.st_uid, st.st_gid)) {}
    fchmod(d, st.st_mode & 07777);
    close(s);
    close(d);
  }
  // FIFOs, sockets and devices are not copied: they are not files to read.
  if (!r) {
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    utimensat(dfd, dname, ts, AT_SYMLINK_NOFOLLOW);
  }
  return r;
}

static int op_move(int copy, const char *from, const char *to, int overwrite) {
  char b1[4096], b2[4096], sbase[4096];
  const char *base;
  int sfd = parent(from, &base, b1, sizeof b1);
  if (sfd < 0) return fail_errno(errno);
  if (sfd == 0) return fail("EPERM", NULL);
  snprintf(sbase, sizeof sbase, "%s", base); // parent() reuses its buffer for the last name
  int dfd = parent(to, &base, b2, sizeof b2);
  if (dfd <= 0) {
    int e = errno;
    close(sfd);
    return dfd == 0 ? fail("EEXIST", NULL) : fail_errno(e);
  }
  struct stat st;
  int r = 0, e = 0;
  if (fstatat(sfd, sbase, &st, AT_SYMLINK_NOFOLLOW)) r = -1, e = errno;
  else if (!fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW)) {
    if (!overwrite) r = -1, e = EEXIST;
    else if ((S_ISDIR(st.st_mode) ? rmtree(dfd, base) : unlinkat(dfd, base, 0))) r = -1, e = errno;
  }
  if (!r) {
    r = copy ? copytree(sfd, sbase, dfd, base) : renameat(sfd, sbase, dfd, base);
    e = errno;
  }
  close(sfd);
  close(dfd);
  return r ? fail_errno(e) : 0;
}

static int op_poll(int n, char **paths) {
  for (int i = 0; i < n; i++) {
    struct stat st;
    int fd = resolve(paths[i], O_PATH);
    if (fd < 0 || fstat(fd, &st)) {
      if (fd >= 0) close(fd);
      datatext("gone\n");
      continue;
    }
    close(fd);
    char l[256];
    int k = snprintf(l, sizeof l, "%lld.%ld %lld.%ld %lld %llu", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                     (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec, (long long)st.st_size, (unsigned long long)st.st_ino);
    if (S_ISDIR(st.st_mode)) {
      // A digest of the listing: names, types and times of the entries.
      uint64_t h = 1469598103934665603ull;
      int dfd = resolve(paths[i], O_RDONLY | O_DIRECTORY);
      DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
      struct dirent *e;
      while (d && (e = readdir(d))) {
        struct stat es;
        if (fstatat(dfd, e->d_name, &es, AT_SYMLINK_NOFOLLOW)) memset(&es, 0, sizeof es);
        uint64_t v[3] = {(uint64_t)es.st_mtim.tv_sec * 1000000000ull + es.st_mtim.tv_nsec, (uint64_t)es.st_size, es.st_mode};
        for (const char *c = e->d_name; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ull;
        for (size_t j = 0; j < sizeof v; j++) h = (h ^ ((unsigned char *)v)[j]) * 1099511628211ull;
      }
      if (d) closedir(d);
      snprintf(l + k, sizeof l - k, " %016llx", (unsigned long long)h);
    }
    strcat(l, "\n");
    datatext(l);
  }
  return 0;
}

/** Runs one request; the payload (len bytes on stdin) is consumed by a write or drained. */
static void dispatch(uint32_t n, char **a, uint32_t len) {
    // The target's root, opened afresh for each request.
    root_fd = open("/proc/1/root", O_PATH | O_DIRECTORY | O_CLOEXEC);
    const char *op = a[0];
    int r;
    if (root_fd < 0) r = fail_errno(errno);
    else if (!strcmp(op, "stat") && n == 2) r = op_stat(a[1]);
    else if (!strcmp(op, "readdir") && n == 2) r = op_readdir(a[1]);
    else if (!strcmp(op, "read") && (n == 3 || n == 4)) r = op_read(a[1], a[2], n == 4 ? atoll(a[3]) : 0);
    else if (!strcmp(op, "write") && n == 4) r = op_write(a[1], a[2][0] == '1', a[3][0] == '1', len), len = 0;
    else if (!strcmp(op, "mkdir") && n == 2) r = op_mkdir(a[1]);
    else if (!strcmp(op, "delete") && n == 3) r = op_delete(a[1], a[2][0] == '1');
    else if ((!strcmp(op, "rename") || !strcmp(op, "copy")) && n == 4) r = op_move(op[0] == 'c', a[1], a[2], a[3][0] == '1');
    else if (!strcmp(op, "poll")) r = op_poll((int)n - 1, a + 1);
    else r = fail("EINVAL", "unknown operation");
    drain(len);
    if (root_fd >= 0) close(root_fd);
    if (!r) frame('K', NULL, 0);
    flush();
}

// The namespace probe (src/procfs/nsProbe.ts): with --pid=host on an engine
// whose containers are not on our kernel, prints the namespace inodes of the
// engine host's processes. Per "<container id>:<pid>" argument, either
// "<id> <type> <inode>" for every type the kernel has, or one "<id> gone"
// (no such process, or its cgroup does not name the container: a reused PID)
// or "<id> error <CODE>". "host" lines come from PID 1, or kthreadd (PID 2)
// when PID 1 refuses, as on the host side (src/procfs/namespaces.ts).
static const char *const NS_NAMES[] = {"mnt", "pid", "net", "ipc", "uts", "user", "cgroup", "time"};

static const char *errno_code(int e) {
  switch (e) {
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    default: return "EIO";
  }
}

/** Appends the inode lines of `pid` to `buf`; returns 0, or an errno. */
static int ns_lines(const char *who, long pid, char *buf, size_t cap) {
  size_t k = 0;
  buf[0] = 0;
  for (size_t i = 0; i < sizeof NS_NAMES / sizeof *NS_NAMES; i++) {
    char path[64], link[128];
    snprintf(path, sizeof path, "/proc/%ld/ns/%s", pid, NS_NAMES[i]);
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n < 0) {
      // Kernels before 5.6 have no time namespace.
      if (errno == ENOENT && !strcmp(NS_NAMES[i], "time")) continue;
      return errno;
    }
    link[n] = 0;
    char *a = strchr(link, '['), *b = strchr(link, ']');
    if (!a || !b || b < a) return EIO;
    *b = 0;
    k += (size_t)snprintf(buf + k, cap - k, "%s %s %s\n", who, NS_NAMES[i], a + 1);
    if (k >= cap) return EIO;
  }
  return 0;
}

static int read_small(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t k = 0;
  ssize_t n;
  while (k < cap - 1 && (n = read(fd, buf + k, cap - 1 - k)) > 0) k += (size_t)n;
  close(fd);
  buf[k] = 0;
  return 0;
}

static int ns_probe(int argc, char **argv) {
  static char lines[4096], text[65536];
  if (ns_lines("host", 1, lines, sizeof lines) == 0 ||
      (read_small("/proc/2/comm", text, sizeof text) == 0 && !strncmp(text, "kthreadd", 8) && ns_lines("host", 2, lines, sizeof lines) == 0)) {
    fputs(lines, stdout);
  }
  for (int i = 0; i < argc; i++) {
    char *colon = strrchr(argv[i], ':');
    if (!colon) continue;
    *colon = 0;
    const char *id = argv[i];
    long pid = atol(colon + 1);
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/cgroup", pid);
    if (pid <= 0 || strlen(id) < 12 || read_small(path, text, sizeof text) || !strstr(text, id)) {
      printf("%s gone\n", id);
      continue;
    }
    int e = ns_lines(id, pid, lines, sizeof lines);
    if (e == ENOENT || e == ESRCH) printf("%s gone\n", id);
    else if (e) printf("%s error %s\n", id, errno_code(e));
    else fputs(lines, stdout);
  }
  return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "ns")) return ns_probe(argc - 2, argv + 2);
  if (argc > 1 && !strcmp(argv[1], "sleep")) {
    // The helper container's main process: keeps it up for exec'd servers.
    for (;;) pause();
  }
  umask(0);
  srandom((unsigned)getpid() ^ (unsigned)time(NULL));
  out_cap = 256 * 1024;
  out = malloc(out_cap);
  if (argc > 2 && !strcmp(argv[1], "once")) {
    // One request from argv, for an exec with no stdin: the engine streams
    // output faster when stdin is not attached (big reads use this).
    dispatch((uint32_t)(argc - 2), argv + 2, 0);
    return 0;
  }
  for (;;) {
    uint32_t n = read_u32();
    if (n == 0 || n > 100000) die();
    char **a = calloc(n + 1, sizeof *a);
    for (uint32_t i = 0; i < n; i++) {
      uint32_t l = read_u32();
      if (l > (1u << 20)) die();
      a[i] = malloc(l + 1);
      if (read_full(a[i], l)) exit(0);
      a[i][l] = 0;
    }
    uint32_t len = read_u32();
    dispatch(n, a, len);
    for (uint32_t i = 0; i < n; i++) free(a[i]);
    free(a);
  }
}
