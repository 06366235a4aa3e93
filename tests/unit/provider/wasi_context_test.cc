// The WASI layer against a fake linear memory: what a guest sees through each function.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <vector>

#include "provider/wasi/abi.h"
#include "provider/wasi/context.h"

namespace wasimoff::wasi {
namespace {

using u32 = std::uint32_t;
using u64 = std::uint64_t;

class WasiTest : public ::testing::Test {
 protected:
  static constexpr u32 kPages = 2;
  // Scratch areas inside the fake memory.
  static constexpr u32 kPath = 1024, kIov = 2048, kOut = 4096, kBuf = 8192, kBig = 65536;

  WasiTest() : memory_(kPages * 65536, 0) {
    mem_.data = memory_.data();
    mem_.pages = kPages;
    mem_.max_pages = kPages;
    mem_.size = static_cast<u32>(memory_.size());
  }

  Context& make(ContextOptions options = {}) {
    ctx_ = std::make_unique<Context>(fs_, std::move(options));
    ctx_->bind_memory(&mem_);
    return *ctx_;
  }
  Context& ctx() {
    if (!ctx_) make();
    return *ctx_;
  }

  u32 put(u32 at, std::string_view s) {
    std::memcpy(memory_.data() + at, s.data(), s.size());
    return static_cast<u32>(s.size());
  }
  template <typename T>
  T get(u32 at) const {
    T v;
    std::memcpy(&v, memory_.data() + at, sizeof v);
    return v;
  }
  template <typename T>
  void set(u32 at, T v) {
    std::memcpy(memory_.data() + at, &v, sizeof v);
  }
  std::string str(u32 at, u32 len) const {
    return std::string(reinterpret_cast<const char*>(memory_.data()) + at, len);
  }

  // path_open relative to `dirfd`; returns errno, the fd in *fd.
  Errno open(std::string_view path, u32* fd = nullptr, u32 oflags = 0, u32 dirfd = 3,
             u64 rights = rights::kFdRead | rights::kFdWrite, u32 fdflags = 0) {
    u32 len = put(kPath, path);
    Errno e = ctx().path_open(dirfd, 0, kPath, len, oflags, rights, 0, fdflags, kOut);
    if (fd) *fd = get<u32>(kOut);
    return e;
  }
  Errno write(u32 fd, std::string_view data, u32* written = nullptr) {
    put(kBuf, data);
    set<u32>(kIov, kBuf);
    set<u32>(kIov + 4, static_cast<u32>(data.size()));
    Errno e = ctx().fd_write(fd, kIov, 1, kOut);
    if (written) *written = get<u32>(kOut);
    return e;
  }
  std::string read(u32 fd, u32 max = 256, Errno* err = nullptr) {
    set<u32>(kIov, kBuf);
    set<u32>(kIov + 4, max);
    Errno e = ctx().fd_read(fd, kIov, 1, kOut);
    if (err) *err = e;
    return e == err::kSuccess ? str(kBuf, get<u32>(kOut)) : std::string();
  }
  Errno mkdir(std::string_view path, u32 dirfd = 3) {
    return ctx().path_create_directory(dirfd, kPath, put(kPath, path));
  }
  Errno create(std::string_view path, std::string_view content = "") {
    u32 fd;
    Errno e = open(path, &fd, oflags::kCreat | oflags::kTrunc);
    if (e != err::kSuccess) return e;
    if (!content.empty()) write(fd, content);
    return ctx().fd_close(fd);
  }

  std::vector<std::uint8_t> memory_;
  wasm_rt_memory_t mem_{};
  memfs::Filesystem fs_{1 << 20};
  std::unique_ptr<Context> ctx_;
};

TEST_F(WasiTest, ArgsAndEnvironmentAreNulTerminatedWithPointers) {
  ContextOptions o;
  o.args = {"prog.wasm", "a b", ""};
  o.envs = {"K=V", "EMPTY="};
  make(std::move(o));
  ASSERT_EQ(ctx().args_sizes_get(kOut, kOut + 4), err::kSuccess);
  EXPECT_EQ(get<u32>(kOut), 3u);
  EXPECT_EQ(get<u32>(kOut + 4), 10u + 4u + 1u);
  ASSERT_EQ(ctx().args_get(kIov, kBuf), err::kSuccess);
  EXPECT_EQ(get<u32>(kIov), kBuf);
  EXPECT_EQ(str(get<u32>(kIov), 10), std::string("prog.wasm\0", 10));
  EXPECT_EQ(str(get<u32>(kIov + 4), 4), std::string("a b\0", 4));
  EXPECT_EQ(str(get<u32>(kIov + 8), 1), std::string("\0", 1));
  ASSERT_EQ(ctx().environ_sizes_get(kOut, kOut + 4), err::kSuccess);
  EXPECT_EQ(get<u32>(kOut), 2u);
  EXPECT_EQ(get<u32>(kOut + 4), 4u + 7u);
  ASSERT_EQ(ctx().environ_get(kIov, kBuf), err::kSuccess);
  EXPECT_EQ(str(get<u32>(kIov + 4), 7), std::string("EMPTY=\0", 7));
}

TEST_F(WasiTest, EmptyArgvHasCountZero) {
  make();
  ASSERT_EQ(ctx().args_sizes_get(kOut, kOut + 4), err::kSuccess);
  EXPECT_EQ(get<u32>(kOut), 0u);
  EXPECT_EQ(get<u32>(kOut + 4), 0u);
}

TEST_F(WasiTest, StdioCaptureAndStdinThenEof) {
  ContextOptions o;
  o.stdin_data = "input bytes";
  make(std::move(o));
  // Two iovecs in one write.
  put(kBuf, "hello ");
  put(kBuf + 100, "world");
  set<u32>(kIov, kBuf);
  set<u32>(kIov + 4, 6);
  set<u32>(kIov + 8, kBuf + 100);
  set<u32>(kIov + 12, 5);
  ASSERT_EQ(ctx().fd_write(1, kIov, 2, kOut), err::kSuccess);
  EXPECT_EQ(get<u32>(kOut), 11u);
  ASSERT_EQ(write(2, "oops"), err::kSuccess);
  EXPECT_EQ(ctx().stdout_data(), "hello world");
  EXPECT_EQ(ctx().stderr_data(), "oops");
  EXPECT_EQ(read(0, 5), "input");
  EXPECT_EQ(read(0, 100), " bytes");
  EXPECT_EQ(read(0, 100), "");  // EOF
  Errno e;
  read(1, 10, &e);
  EXPECT_EQ(e, err::kBadf);
  EXPECT_EQ(write(0, "x"), err::kBadf);
}

TEST_F(WasiTest, OutputLimitStopsTheRun) {
  ContextOptions o;
  o.output_limit = 10;
  make(std::move(o));
  ASSERT_EQ(write(1, "12345"), err::kSuccess);
  ASSERT_EQ(write(2, "12345"), err::kSuccess);
  EXPECT_EQ(ctx().stop_reason(), StopReason::kNone);
  write(1, "x");
  EXPECT_EQ(ctx().stop_reason(), StopReason::kOutputTooLarge);
  EXPECT_EQ(ctx().stdout_data(), "12345") << "the overflowing write is not captured";
}

TEST_F(WasiTest, GuestPointersAreBoundsChecked) {
  make();
  u32 end = mem_.size;
  // iovec array past the end, buffer past the end, wrap-around, result pointer past the end.
  EXPECT_EQ(ctx().fd_write(1, end - 4, 1, kOut), err::kFault);
  set<u32>(kIov, end - 2);
  set<u32>(kIov + 4, 3);
  EXPECT_EQ(ctx().fd_write(1, kIov, 1, kOut), err::kFault);
  set<u32>(kIov, 0xfffffff0u);
  set<u32>(kIov + 4, 0x20);
  EXPECT_EQ(ctx().fd_write(1, kIov, 1, kOut), err::kFault);
  set<u32>(kIov, end - 3);
  set<u32>(kIov + 4, 3);  // exactly up to the end is fine
  EXPECT_EQ(ctx().fd_write(1, kIov, 1, kOut), err::kSuccess);
  EXPECT_EQ(ctx().fd_write(1, kIov, 1, end - 3), err::kFault);
  EXPECT_EQ(ctx().path_open(3, 0, end - 2, 10, 0, 0, 0, 0, kOut), err::kFault);
  EXPECT_EQ(ctx().args_sizes_get(end, kOut), err::kFault);
  EXPECT_EQ(ctx().clock_time_get(0, 0, end - 7), err::kFault);
  EXPECT_EQ(ctx().random_get(end - 1, 2), err::kFault);
  EXPECT_EQ(ctx().fd_readdir(3, end - 10, 11, 0, kOut), err::kFault);
  EXPECT_EQ(ctx().fd_filestat_get(3, end - 63), err::kFault);
  EXPECT_EQ(ctx().poll_oneoff(end - 47, kOut, 1, kOut + 512), err::kFault);
  // Before any memory is bound (e.g. during instantiation), everything is a fault.
  Context unbound(fs_, {});
  EXPECT_EQ(unbound.fd_write(1, 0, 0, 0), err::kFault);
}

TEST_F(WasiTest, PathsCannotEscapeThePreopen) {
  ASSERT_EQ(mkdir("sub"), err::kSuccess);
  ASSERT_EQ(create("sub/f.txt", "inside"), err::kSuccess);
  ASSERT_EQ(create("top.txt", "top"), err::kSuccess);
  u32 fd;
  EXPECT_EQ(open("..", &fd), err::kNotcapable);
  EXPECT_EQ(open("../etc/passwd", &fd), err::kNotcapable);
  EXPECT_EQ(open("sub/../../etc/passwd", &fd), err::kNotcapable);
  EXPECT_EQ(open("sub/../..", &fd), err::kNotcapable);
  EXPECT_EQ(open("./../top.txt", &fd), err::kNotcapable);
  EXPECT_EQ(open("/etc/passwd", &fd), err::kNotcapable);
  EXPECT_EQ(open("/top.txt", &fd), err::kNotcapable);
  // Climbing inside the tree is fine.
  ASSERT_EQ(open("sub/../sub/./f.txt", &fd), err::kSuccess);
  EXPECT_EQ(read(fd), "inside");
  ASSERT_EQ(open("sub//f.txt", &fd), err::kSuccess);
  // A descriptor of a subdirectory is a capability for that subtree only.
  u32 sub;
  ASSERT_EQ(open("sub", &sub, oflags::kDirectory, 3, rights::kFdRead), err::kSuccess);
  EXPECT_EQ(open("f.txt", &fd, 0, sub), err::kSuccess);
  EXPECT_EQ(open("../top.txt", &fd, 0, sub), err::kNotcapable);
  EXPECT_EQ(open(".", &fd, oflags::kDirectory, sub, rights::kFdRead), err::kSuccess);
  // Other resolution errors.
  EXPECT_EQ(open("missing/x", &fd), err::kNoent);
  EXPECT_EQ(open("top.txt/x", &fd), err::kNotdir);
  EXPECT_EQ(open("top.txt/", &fd), err::kNotdir);
  EXPECT_EQ(open("", &fd), err::kNoent);
  EXPECT_EQ(open(std::string("a\0b", 3), &fd), err::kInval);
  EXPECT_EQ(open(std::string(256, 'x'), &fd), err::kNametoolong);
  EXPECT_EQ(open(std::string(5000, 'a'), &fd), err::kNametoolong);
  EXPECT_EQ(open("top.txt", &fd, 0, 1), err::kNotdir);  // stdout is not a directory
  EXPECT_EQ(open("top.txt", &fd, 0, 77), err::kBadf);
}

TEST_F(WasiTest, FileIoOffsetsSeekAndPositionalIo) {
  u32 fd;
  ASSERT_EQ(open("f", &fd, oflags::kCreat), err::kSuccess);
  EXPECT_GE(fd, 4u);
  ASSERT_EQ(write(fd, "0123456789"), err::kSuccess);
  ASSERT_EQ(ctx().fd_tell(fd, kOut), err::kSuccess);
  EXPECT_EQ(get<u64>(kOut), 10u);
  ASSERT_EQ(ctx().fd_seek(fd, static_cast<u64>(-4), whence::kCur, kOut), err::kSuccess);
  EXPECT_EQ(get<u64>(kOut), 6u);
  EXPECT_EQ(read(fd, 100), "6789");
  EXPECT_EQ(ctx().fd_seek(fd, static_cast<u64>(-11), whence::kEnd, kOut), err::kInval);
  EXPECT_EQ(ctx().fd_seek(fd, 0, 3, kOut), err::kInval);
  ASSERT_EQ(ctx().fd_seek(fd, 20, whence::kSet, kOut), err::kSuccess);  // past the end
  EXPECT_EQ(read(fd), "");
  // pread/pwrite leave the offset alone.
  put(kBuf, "AB");
  set<u32>(kIov, kBuf);
  set<u32>(kIov + 4, 2);
  ASSERT_EQ(ctx().fd_pwrite(fd, kIov, 1, 2, kOut), err::kSuccess);
  set<u32>(kIov, kBuf + 100);
  set<u32>(kIov + 4, 5);
  ASSERT_EQ(ctx().fd_pread(fd, kIov, 1, 0, kOut), err::kSuccess);
  EXPECT_EQ(str(kBuf + 100, get<u32>(kOut)), "01AB4");
  ASSERT_EQ(ctx().fd_tell(fd, kOut), err::kSuccess);
  EXPECT_EQ(get<u64>(kOut), 20u);
  // Stdio cannot seek.
  EXPECT_EQ(ctx().fd_seek(1, 0, whence::kSet, kOut), err::kSpipe);
  EXPECT_EQ(ctx().fd_tell(0, kOut), err::kSpipe);
  EXPECT_EQ(ctx().fd_pread(0, kIov, 1, 0, kOut), err::kSpipe);
  // Append mode always writes at the end.
  u32 app;
  ASSERT_EQ(open("f", &app, 0, 3, rights::kFdWrite, fdflags::kAppend), err::kSuccess);
  ASSERT_EQ(write(app, "Z"), err::kSuccess);
  EXPECT_EQ(fs_.lookup(*fs_.root(), "f")->data(), "01AB456789Z");
  // Truncate / extend / allocate.
  ASSERT_EQ(ctx().fd_filestat_set_size(fd, 3), err::kSuccess);
  ASSERT_EQ(ctx().fd_allocate(fd, 10, 5), err::kSuccess);
  EXPECT_EQ(fs_.lookup(*fs_.root(), "f")->size(), 15u);
  ASSERT_EQ(open("f", &fd, oflags::kTrunc), err::kSuccess);
  EXPECT_EQ(fs_.lookup(*fs_.root(), "f")->size(), 0u);
}

TEST_F(WasiTest, FilesystemLimitIsNospc) {
  memfs::Filesystem small(2048);
  Context c(small, {});
  c.bind_memory(&mem_);
  put(kPath, "f");
  ASSERT_EQ(c.path_open(3, 0, kPath, 1, oflags::kCreat, rights::kFdWrite, 0, 0, kOut),
            err::kSuccess);
  u32 fd = get<u32>(kOut);
  set<u32>(kIov, kBuf);
  set<u32>(kIov + 4, 4096);
  EXPECT_EQ(c.fd_write(fd, kIov, 1, kOut), err::kNospc);
  EXPECT_EQ(c.fd_filestat_set_size(fd, 1 << 20), err::kNospc);
}

TEST_F(WasiTest, ErrnoMapping) {
  EXPECT_EQ(to_errno(memfs::Errc::kOk), err::kSuccess);
  EXPECT_EQ(to_errno(memfs::Errc::kNotFound), 44);
  EXPECT_EQ(to_errno(memfs::Errc::kExists), 20);
  EXPECT_EQ(to_errno(memfs::Errc::kNotDirectory), 54);
  EXPECT_EQ(to_errno(memfs::Errc::kIsDirectory), 31);
  EXPECT_EQ(to_errno(memfs::Errc::kNotEmpty), 55);
  EXPECT_EQ(to_errno(memfs::Errc::kNoSpace), 51);
  EXPECT_EQ(to_errno(memfs::Errc::kInvalid), 28);
  EXPECT_EQ(to_errno(memfs::Errc::kNameTooLong), 37);

  ASSERT_EQ(mkdir("d"), err::kSuccess);
  ASSERT_EQ(create("d/f"), err::kSuccess);
  ASSERT_EQ(create("file"), err::kSuccess);
  u32 fd;
  EXPECT_EQ(mkdir("d"), err::kExist);
  EXPECT_EQ(mkdir("."), err::kExist);
  EXPECT_EQ(mkdir("nope/x"), err::kNoent);
  EXPECT_EQ(open("file", &fd, oflags::kCreat | oflags::kExcl), err::kExist);
  EXPECT_EQ(open("file", &fd, oflags::kDirectory), err::kNotdir);
  EXPECT_EQ(open("d", &fd, oflags::kTrunc), err::kIsdir);
  EXPECT_EQ(open("d", &fd, 0, 3, rights::kFdWrite), err::kIsdir);
  EXPECT_EQ(open("missing", &fd), err::kNoent);
  EXPECT_EQ(open("new/", &fd, oflags::kCreat), err::kIsdir);
  EXPECT_EQ(ctx().path_unlink_file(3, kPath, put(kPath, "d")), err::kIsdir);
  EXPECT_EQ(ctx().path_unlink_file(3, kPath, put(kPath, "missing")), err::kNoent);
  EXPECT_EQ(ctx().path_remove_directory(3, kPath, put(kPath, "file")), err::kNotdir);
  EXPECT_EQ(ctx().path_remove_directory(3, kPath, put(kPath, "d")), err::kNotempty);
  EXPECT_EQ(ctx().path_remove_directory(3, kPath, put(kPath, ".")), err::kInval);
  EXPECT_EQ(ctx().path_remove_directory(3, kPath, put(kPath, "d/..")), err::kNotempty);
  EXPECT_EQ(ctx().path_readlink(3, kPath, put(kPath, "file"), kBuf, 64, kOut), err::kInval);
  EXPECT_EQ(ctx().path_readlink(3, kPath, put(kPath, "missing"), kBuf, 64, kOut), err::kNoent);
  EXPECT_EQ(ctx().path_symlink(kPath, 4, 3, kPath, 4), err::kPerm);
  EXPECT_EQ(ctx().path_link(3, 0, kPath, 4, 3, kPath, 4), err::kNotsup);
  EXPECT_EQ(ctx().proc_raise(9), err::kNosys);
  EXPECT_EQ(ctx().sock_accept(3, 0, kOut), err::kNotsup);
  EXPECT_EQ(ctx().sock_recv(3, 0, 0, 0, kOut, kOut), err::kNotsup);
  EXPECT_EQ(ctx().sock_send(3, 0, 0, 0, kOut), err::kNotsup);
  EXPECT_EQ(ctx().sock_shutdown(3, 0), err::kNotsup);
  EXPECT_EQ(ctx().sched_yield(), err::kSuccess);
  EXPECT_EQ(ctx().fd_close(99), err::kBadf);
  EXPECT_EQ(ctx().fd_fdstat_set_flags(1, fdflags::kSync), err::kNotsup);
  EXPECT_EQ(ctx().fd_fdstat_set_flags(1, fdflags::kNonblock), err::kSuccess);
  EXPECT_EQ(ctx().fd_advise(3, 0, 0, 6), err::kInval);
  EXPECT_EQ(ctx().fd_filestat_set_times(3, 0, 0, fstflags::kAtim | fstflags::kAtimNow),
            err::kInval);
  EXPECT_EQ(ctx().clock_time_get(9, 0, kOut), err::kInval);
  EXPECT_EQ(ctx().poll_oneoff(kIov, kBuf, 0, kOut), err::kInval);
  // Renames.
  u32 len = put(kPath, "file");
  u32 len2 = put(kPath + 100, "d/f");
  EXPECT_EQ(ctx().path_rename(3, kPath, len, 3, kPath + 100, len2), err::kSuccess);
  EXPECT_EQ(ctx().path_rename(3, kPath, len, 3, kPath + 100, len2), err::kNoent);
  len = put(kPath, "d");
  len2 = put(kPath + 100, "d/sub");
  EXPECT_EQ(ctx().path_rename(3, kPath, len, 3, kPath + 100, len2), err::kInval);
  len2 = put(kPath + 100, "../x");
  EXPECT_EQ(ctx().path_rename(3, kPath, len, 3, kPath + 100, len2), err::kNotcapable);
}

TEST_F(WasiTest, StructLayoutsOfStatCalls) {
  ASSERT_EQ(create("f", "12345"), err::kSuccess);
  u32 fd;
  ASSERT_EQ(open("f", &fd), err::kSuccess);
  std::memset(memory_.data() + kOut, 0xee, 128);
  ASSERT_EQ(ctx().fd_filestat_get(fd, kOut), err::kSuccess);
  memfs::NodePtr node = fs_.lookup(*fs_.root(), "f");
  EXPECT_EQ(get<u64>(kOut + 8), node->ino());
  EXPECT_EQ(get<std::uint8_t>(kOut + 16), filetype::kRegularFile);
  EXPECT_EQ(get<u64>(kOut + 24), 1u);  // nlink
  EXPECT_EQ(get<u64>(kOut + 32), 5u);  // size
  EXPECT_EQ(get<u64>(kOut + 48), static_cast<u64>(node->times().mtim));
  EXPECT_GT(get<u64>(kOut + 56), 1'600'000'000'000'000'000ull) << "realtime nanoseconds";
  EXPECT_EQ(get<std::uint8_t>(kOut + 64), 0xee) << "filestat is exactly 64 bytes";

  std::memset(memory_.data() + kOut, 0xee, 64);
  ASSERT_EQ(ctx().fd_fdstat_get(fd, kOut), err::kSuccess);
  EXPECT_EQ(get<std::uint8_t>(kOut), filetype::kRegularFile);
  EXPECT_EQ(get<std::uint16_t>(kOut + 2), 0u);
  EXPECT_EQ(get<u64>(kOut + 8), rights::kRegularFile);
  EXPECT_EQ(get<std::uint8_t>(kOut + 24), 0xee) << "fdstat is exactly 24 bytes";
  ASSERT_EQ(ctx().fd_fdstat_get(3, kOut), err::kSuccess);
  EXPECT_EQ(get<std::uint8_t>(kOut), filetype::kDirectory);
  EXPECT_EQ(get<u64>(kOut + 16), rights::kDirectoryInheriting);
  ASSERT_EQ(ctx().fd_fdstat_get(1, kOut), err::kSuccess);
  EXPECT_EQ(get<std::uint8_t>(kOut), filetype::kCharacterDevice);
  EXPECT_EQ(get<u64>(kOut + 8) & (rights::kFdSeek | rights::kFdTell), 0u) << "isatty() is true";

  ASSERT_EQ(ctx().path_filestat_get(3, 0, kPath, put(kPath, "."), kOut), err::kSuccess);
  EXPECT_EQ(get<std::uint8_t>(kOut + 16), filetype::kDirectory);

  std::memset(memory_.data() + kOut, 0xee, 16);
  ASSERT_EQ(ctx().fd_prestat_get(3, kOut), err::kSuccess);
  EXPECT_EQ(get<std::uint8_t>(kOut), kPreopentypeDir);
  EXPECT_EQ(get<u32>(kOut + 4), 1u);
  EXPECT_EQ(get<std::uint8_t>(kOut + 8), 0xee) << "prestat is exactly 8 bytes";
  ASSERT_EQ(ctx().fd_prestat_dir_name(3, kBuf, 1), err::kSuccess);
  EXPECT_EQ(str(kBuf, 1), "/");
  EXPECT_EQ(ctx().fd_prestat_dir_name(3, kBuf, 0), err::kNametoolong);
  EXPECT_EQ(ctx().fd_prestat_get(fd, kOut), err::kBadf);
  EXPECT_EQ(ctx().fd_prestat_get(4 + 10, kOut), err::kBadf);
}

TEST_F(WasiTest, TimesCanBeSetExplicitlyOrToNow) {
  ASSERT_EQ(create("f"), err::kSuccess);
  u32 len = put(kPath, "f");
  ASSERT_EQ(
      ctx().path_filestat_set_times(3, 0, kPath, len, 111, 222, fstflags::kAtim | fstflags::kMtim),
      err::kSuccess);
  memfs::NodePtr node = fs_.lookup(*fs_.root(), "f");
  EXPECT_EQ(node->times().atim, 111);
  EXPECT_EQ(node->times().mtim, 222);
  ASSERT_EQ(ctx().path_filestat_set_times(3, 0, kPath, len, 0, 0, fstflags::kMtimNow),
            err::kSuccess);
  EXPECT_EQ(node->times().atim, 111);
  EXPECT_GT(node->times().mtim, 1'600'000'000'000'000'000);
}

TEST_F(WasiTest, ReaddirListsInNameOrderWithIndexCookies) {
  for (const char* n : {"b", "a", "c"}) ASSERT_EQ(create(n), err::kSuccess);
  ASSERT_EQ(mkdir("dir"), err::kSuccess);
  // Big buffer: all four entries, sorted, no "." or "..".
  ASSERT_EQ(ctx().fd_readdir(3, kBig, 4096, 0, kOut), err::kSuccess);
  u32 used = get<u32>(kOut);
  EXPECT_EQ(used, 4 * 24 + 1 + 1 + 1 + 3);
  std::vector<std::string> names;
  std::vector<u64> nexts;
  std::vector<std::uint8_t> types;
  for (u32 at = kBig; at < kBig + used;) {
    nexts.push_back(get<u64>(at));
    u32 namlen = get<u32>(at + 16);
    types.push_back(get<std::uint8_t>(at + 20));
    names.push_back(str(at + 24, namlen));
    at += 24 + namlen;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c", "dir"}));
  EXPECT_EQ(nexts, (std::vector<u64>{1, 2, 3, 4}));
  EXPECT_EQ(types[3], filetype::kDirectory);
  EXPECT_EQ(types[0], filetype::kRegularFile);
  // Cookie = index of the first entry to return.
  ASSERT_EQ(ctx().fd_readdir(3, kBig, 4096, 2, kOut), err::kSuccess);
  EXPECT_EQ(get<u32>(kOut), 24u + 1 + 24 + 3);
  EXPECT_EQ(str(kBig + 24, 1), "c");
  ASSERT_EQ(ctx().fd_readdir(3, kBig, 4096, 4, kOut), err::kSuccess);
  EXPECT_EQ(get<u32>(kOut), 0u);
  ASSERT_EQ(ctx().fd_readdir(3, kBig, 4096, 1000, kOut), err::kSuccess);
  EXPECT_EQ(get<u32>(kOut), 0u);
  // A small buffer is filled completely, the last entry cut off: bufused == buf_len.
  std::memset(memory_.data() + kBig, 0xee, 64);
  ASSERT_EQ(ctx().fd_readdir(3, kBig, 30, 0, kOut), err::kSuccess);
  EXPECT_EQ(get<u32>(kOut), 30u);
  EXPECT_EQ(str(kBig + 24, 1), "a");
  EXPECT_EQ(get<u32>(kBig + 25), 2u) << "the truncated second header starts right after";
  EXPECT_EQ(get<std::uint8_t>(kBig + 29), 0u);
  EXPECT_EQ(get<std::uint8_t>(kBig + 30), 0xee) << "nothing beyond buf_len";
  ASSERT_EQ(ctx().fd_readdir(3, kBig, 10, 0, kOut), err::kSuccess);
  EXPECT_EQ(get<u32>(kOut), 10u);
  // Not a directory.
  u32 fd;
  ASSERT_EQ(open("a", &fd), err::kSuccess);
  EXPECT_EQ(ctx().fd_readdir(fd, kBig, 100, 0, kOut), err::kNotdir);
}

TEST_F(WasiTest, FdTableNumbersRenumberAndLimits) {
  ASSERT_EQ(create("f"), err::kSuccess);
  u32 a, b;
  ASSERT_EQ(open("f", &a), err::kSuccess);
  ASSERT_EQ(open("f", &b), err::kSuccess);
  EXPECT_EQ(a, 4u);
  EXPECT_EQ(b, 5u);
  ASSERT_EQ(ctx().fd_close(a), err::kSuccess);
  ASSERT_EQ(open("f", &a), err::kSuccess);
  EXPECT_EQ(a, 4u) << "lowest free number first";
  // Renumbering moves the preopen too.
  ASSERT_EQ(ctx().fd_renumber(3, b), err::kSuccess);
  EXPECT_EQ(ctx().fd_prestat_get(3, kOut), err::kBadf);
  EXPECT_EQ(ctx().fd_prestat_get(b, kOut), err::kSuccess);
  EXPECT_EQ(ctx().fd_renumber(3, b), err::kBadf);
  EXPECT_EQ(ctx().fd_renumber(b, 77), err::kBadf);
  // Closing the preopen is allowed; then paths have no base.
  ASSERT_EQ(ctx().fd_close(b), err::kSuccess);
  EXPECT_EQ(open("f", &a, 0, 3), err::kBadf);
}

TEST_F(WasiTest, TooManyOpenFilesIsMfile) {
  ASSERT_EQ(create("f"), err::kSuccess);
  u32 fd = 0;
  Errno e = err::kSuccess;
  int opened = 0;
  while (e == err::kSuccess && opened < 5000) {
    e = open("f", &fd);
    if (e == err::kSuccess) ++opened;
  }
  EXPECT_EQ(e, err::kMfile);
  EXPECT_EQ(opened + 4, static_cast<int>(FdTable::kMaxFds));
}

TEST_F(WasiTest, RightsCanOnlyBeDropped) {
  ASSERT_EQ(ctx().fd_fdstat_set_rights(3, rights::kPathOpen, 0), err::kSuccess);
  ASSERT_EQ(ctx().fd_fdstat_get(3, kOut), err::kSuccess);
  EXPECT_EQ(get<u64>(kOut + 8), rights::kPathOpen);
  EXPECT_EQ(ctx().fd_fdstat_set_rights(3, rights::kPathOpen | rights::kFdReaddir, 0),
            err::kNotcapable);
}

TEST_F(WasiTest, PollOneoffClockAndFdSubscriptions) {
  ContextOptions o;
  o.stdin_data = "12345";
  make(std::move(o));
  // One relative monotonic clock subscription of 1 ms.
  std::memset(memory_.data() + kIov, 0, 96);
  set<u64>(kIov, 0xabcdef);
  memory_[kIov + 8] = eventtype::kClock;
  set<u32>(kIov + 16, clockid::kMonotonic);
  set<u64>(kIov + 24, 1'000'000);
  ASSERT_EQ(ctx().poll_oneoff(kIov, kBuf, 1, kOut), err::kSuccess);
  ASSERT_EQ(get<u32>(kOut), 1u);
  EXPECT_EQ(get<u64>(kBuf), 0xabcdefu);
  EXPECT_EQ(get<std::uint16_t>(kBuf + 8), err::kSuccess);
  EXPECT_EQ(get<std::uint8_t>(kBuf + 10), eventtype::kClock);
  // A clock plus an fd_read on stdin: the fd is ready at once, the long clock is not reported.
  set<u64>(kIov + 24, 3'600'000'000'000ull);
  set<u64>(kIov + 48, 7);
  memory_[kIov + 48 + 8] = eventtype::kFdRead;
  set<u32>(kIov + 48 + 16, 0);
  ASSERT_EQ(ctx().poll_oneoff(kIov, kBuf, 2, kOut), err::kSuccess);
  ASSERT_EQ(get<u32>(kOut), 1u);
  EXPECT_EQ(get<u64>(kBuf), 7u);
  EXPECT_EQ(get<std::uint8_t>(kBuf + 10), eventtype::kFdRead);
  EXPECT_EQ(get<u64>(kBuf + 16), 5u) << "bytes available on stdin";
  // An fd subscription for a closed fd reports EBADF in the event.
  set<u32>(kIov + 48 + 16, 99);
  ASSERT_EQ(ctx().poll_oneoff(kIov + 48, kBuf, 1, kOut), err::kSuccess);
  EXPECT_EQ(get<std::uint16_t>(kBuf + 8), err::kBadf);
  // An absolute realtime clock in the past fires immediately.
  set<u64>(kIov, 1);
  set<u32>(kIov + 16, clockid::kRealtime);
  set<u64>(kIov + 24, 1);
  set<std::uint16_t>(kIov + 40, kSubclockAbstime);
  ASSERT_EQ(ctx().poll_oneoff(kIov, kBuf, 1, kOut), err::kSuccess);
  EXPECT_EQ(get<u32>(kOut), 1u);
}

// --- preview 0 (wasi_unstable): the three data differences (wasi/abi.h, namespace preview0) -----

TEST_F(WasiTest, PreviewZeroSeekUsesItsOwnWhenceValues) {
  ASSERT_EQ(create("f", "0123456789"), err::kSuccess);
  u32 fd;
  ASSERT_EQ(open("f", &fd), err::kSuccess);
  // Preview 0: CUR = 0, END = 1, SET = 2 (preview 1: SET = 0, CUR = 1, END = 2).
  ASSERT_EQ(ctx().fd_seek(fd, 3, preview0::whence::kSet, kOut, Abi::kPreview0), err::kSuccess);
  EXPECT_EQ(get<u64>(kOut), 3u);
  ASSERT_EQ(ctx().fd_seek(fd, 2, preview0::whence::kCur, kOut, Abi::kPreview0), err::kSuccess);
  EXPECT_EQ(get<u64>(kOut), 5u);
  ASSERT_EQ(ctx().fd_seek(fd, static_cast<u64>(-1), preview0::whence::kEnd, kOut, Abi::kPreview0),
            err::kSuccess);
  EXPECT_EQ(get<u64>(kOut), 9u);
  EXPECT_EQ(read(fd, 10), "9");
  // The same numbers mean something else in preview 1: 2 is END there.
  ASSERT_EQ(ctx().fd_seek(fd, 0, 2, kOut), err::kSuccess);
  EXPECT_EQ(get<u64>(kOut), 10u);
  ASSERT_EQ(ctx().fd_seek(fd, 0, 2, kOut, Abi::kPreview0), err::kSuccess);
  EXPECT_EQ(get<u64>(kOut), 0u);
  // Invalid stays invalid, errors keep their order.
  EXPECT_EQ(ctx().fd_seek(fd, 0, 3, kOut, Abi::kPreview0), err::kInval);
  EXPECT_EQ(ctx().fd_seek(fd, 0, 0xffffffffu, kOut, Abi::kPreview0), err::kInval);
  EXPECT_EQ(ctx().fd_seek(fd, static_cast<u64>(-1), preview0::whence::kSet, kOut, Abi::kPreview0),
            err::kInval);
  EXPECT_EQ(ctx().fd_seek(1, 0, preview0::whence::kSet, kOut, Abi::kPreview0), err::kSpipe);
  EXPECT_EQ(ctx().fd_seek(99, 0, preview0::whence::kSet, kOut, Abi::kPreview0), err::kBadf);
}

TEST_F(WasiTest, PreviewZeroFilestatIs56BytesWithA32BitLinkCount) {
  ASSERT_EQ(create("f", "12345"), err::kSuccess);
  u32 fd;
  ASSERT_EQ(open("f", &fd), err::kSuccess);
  memfs::NodePtr node = fs_.lookup(*fs_.root(), "f");
  auto check = [&](const char* what) {
    SCOPED_TRACE(what);
    EXPECT_EQ(get<u64>(kOut + 0), 1u);  // dev
    EXPECT_EQ(get<u64>(kOut + 8), node->ino());
    EXPECT_EQ(get<std::uint8_t>(kOut + 16), filetype::kRegularFile);
    EXPECT_EQ(get<std::uint8_t>(kOut + 17), 0u);
    EXPECT_EQ(get<u32>(kOut + 20), 1u);  // nlink u32
    EXPECT_EQ(get<u64>(kOut + 24), 5u);  // size
    EXPECT_EQ(get<u64>(kOut + 32), static_cast<u64>(node->times().atim));
    EXPECT_EQ(get<u64>(kOut + 40), static_cast<u64>(node->times().mtim));
    EXPECT_EQ(get<u64>(kOut + 48), static_cast<u64>(node->times().ctim));
    EXPECT_EQ(get<std::uint8_t>(kOut + 56), 0xee) << "filestat is exactly 56 bytes";
  };
  std::memset(memory_.data() + kOut, 0xee, 128);
  ASSERT_EQ(ctx().fd_filestat_get(fd, kOut, Abi::kPreview0), err::kSuccess);
  check("fd_filestat_get");
  std::memset(memory_.data() + kOut, 0xee, 128);
  ASSERT_EQ(ctx().path_filestat_get(3, 0, kPath, put(kPath, "f"), kOut, Abi::kPreview0),
            err::kSuccess);
  check("path_filestat_get");
  // stdio: a character device with one link.
  std::memset(memory_.data() + kOut, 0xee, 128);
  ASSERT_EQ(ctx().fd_filestat_get(1, kOut, Abi::kPreview0), err::kSuccess);
  EXPECT_EQ(get<std::uint8_t>(kOut + 16), filetype::kCharacterDevice);
  EXPECT_EQ(get<u32>(kOut + 20), 1u);
  EXPECT_EQ(get<std::uint8_t>(kOut + 56), 0xee);
  // The bounds are those of 56 bytes: the last 56 bytes of memory are enough.
  const u32 end = kPages * 65536;
  EXPECT_EQ(ctx().fd_filestat_get(fd, end - 56, Abi::kPreview0), err::kSuccess);
  EXPECT_EQ(ctx().fd_filestat_get(fd, end - 55, Abi::kPreview0), err::kFault);
  EXPECT_EQ(ctx().path_filestat_get(3, 0, kPath, put(kPath, "f"), end - 56, Abi::kPreview0),
            err::kSuccess);
  EXPECT_EQ(ctx().path_filestat_get(3, 0, kPath, put(kPath, "f"), end - 55, Abi::kPreview0),
            err::kFault);
}

TEST_F(WasiTest, PreviewZeroPollOneoffSubscriptionsAre56Bytes) {
  ContextOptions o;
  o.stdin_data = "12345";
  make(std::move(o));
  // Two preview 0 subscriptions: a clock of one hour (identifier @16, id @24, timeout @32,
  // flags @48) and an fd_read on stdin (fd @16) at offset 56.
  std::memset(memory_.data() + kIov, 0, 2 * 56);
  set<u64>(kIov, 0x1111);
  memory_[kIov + 8] = eventtype::kClock;
  set<u64>(kIov + 16, 0x5555);  // identifier: ignored
  set<u32>(kIov + 24, clockid::kMonotonic);
  set<u64>(kIov + 32, 3'600'000'000'000ull);
  set<u64>(kIov + 56, 0x2222);
  memory_[kIov + 56 + 8] = eventtype::kFdRead;
  set<u32>(kIov + 56 + 16, 0);
  ASSERT_EQ(ctx().poll_oneoff(kIov, kBuf, 2, kOut, Abi::kPreview0), err::kSuccess);
  ASSERT_EQ(get<u32>(kOut), 1u) << "the fd is ready, the hour-long clock is not";
  EXPECT_EQ(get<u64>(kBuf), 0x2222u);
  EXPECT_EQ(get<std::uint8_t>(kBuf + 10), eventtype::kFdRead);
  EXPECT_EQ(get<u64>(kBuf + 16), 5u);
  // A relative 1 ms clock alone: read from @32, not from preview 1's @24 (the identifier there
  // is an hour in nanoseconds, which would block the test).
  set<u64>(kIov + 16, 3'600'000'000'000ull);
  set<u64>(kIov + 32, 1'000'000);
  ASSERT_EQ(ctx().poll_oneoff(kIov, kBuf, 1, kOut, Abi::kPreview0), err::kSuccess);
  ASSERT_EQ(get<u32>(kOut), 1u);
  EXPECT_EQ(get<u64>(kBuf), 0x1111u);
  EXPECT_EQ(get<std::uint16_t>(kBuf + 8), err::kSuccess);
  EXPECT_EQ(get<std::uint8_t>(kBuf + 10), eventtype::kClock);
  // Absolute realtime in the past, flags @48.
  set<u32>(kIov + 24, clockid::kRealtime);
  set<u64>(kIov + 32, 1);
  set<std::uint16_t>(kIov + 48, kSubclockAbstime);
  ASSERT_EQ(ctx().poll_oneoff(kIov, kBuf, 1, kOut, Abi::kPreview0), err::kSuccess);
  EXPECT_EQ(get<u32>(kOut), 1u);
  // An unknown clock id (@24) is reported in the event.
  set<u32>(kIov + 24, 9);
  ASSERT_EQ(ctx().poll_oneoff(kIov, kBuf, 1, kOut, Abi::kPreview0), err::kSuccess);
  EXPECT_EQ(get<std::uint16_t>(kBuf + 8), err::kInval);
  // Bounds: n * 56 bytes of subscriptions.
  const u32 end = kPages * 65536;
  EXPECT_EQ(ctx().poll_oneoff(end - 55, kBuf, 1, kOut, Abi::kPreview0), err::kFault);
  EXPECT_EQ(ctx().poll_oneoff(end - 56, kBuf, 1, kOut, Abi::kPreview0), err::kSuccess);
}

TEST_F(WasiTest, ClocksAndRandom) {
  ASSERT_EQ(ctx().clock_time_get(clockid::kRealtime, 0, kOut), err::kSuccess);
  EXPECT_GT(get<u64>(kOut), 1'600'000'000'000'000'000ull);
  for (u32 id = 0; id < 4; ++id) {
    ASSERT_EQ(ctx().clock_res_get(id, kOut), err::kSuccess) << id;
    EXPECT_GT(get<u64>(kOut), 0u);
    ASSERT_EQ(ctx().clock_time_get(id, 0, kOut), err::kSuccess) << id;
  }
  std::memset(memory_.data() + kBuf, 0, 64);
  ASSERT_EQ(ctx().random_get(kBuf, 64), err::kSuccess);
  EXPECT_NE(str(kBuf, 64), std::string(64, '\0'));
}

TEST_F(WasiTest, ProcExitRecordsTheFullStatus) {
  ctx().proc_exit(0xfffffffeu);
  EXPECT_EQ(ctx().stop_reason(), StopReason::kExit);
  EXPECT_EQ(ctx().exit_code(), -2);
}

}  // namespace
}  // namespace wasimoff::wasi
