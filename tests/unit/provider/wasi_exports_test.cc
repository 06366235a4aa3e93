// The C functions the compiled modules import: they forward to the Context, and the two that
// end a run (proc_exit, an overflowing fd_write) leave through wasm_rt_trap like a trap would.
#include <gtest/gtest.h>
#include <wasm-rt-impl.h>

#include <cstring>
#include <vector>

#include "provider/wasi/context.h"
#include "provider/wasi/instance.h"

extern "C" {
std::uint32_t Z_wasi_snapshot_preview1Z_fd_write(Z_wasi_snapshot_preview1_instance_t*,
                                                 std::uint32_t, std::uint32_t, std::uint32_t,
                                                 std::uint32_t);
void Z_wasi_snapshot_preview1Z_proc_exit(Z_wasi_snapshot_preview1_instance_t*, std::uint32_t);
std::uint32_t Z_wasi_snapshot_preview1Z_args_sizes_get(Z_wasi_snapshot_preview1_instance_t*,
                                                       std::uint32_t, std::uint32_t);
std::uint32_t Z_wasi_snapshot_preview1Z_fd_seek(Z_wasi_snapshot_preview1_instance_t*, std::uint32_t,
                                                std::uint64_t, std::uint32_t, std::uint32_t);
std::uint32_t Z_wasi_unstableZ_fd_seek(Z_wasi_unstable_instance_t*, std::uint32_t, std::uint64_t,
                                       std::uint32_t, std::uint32_t);
std::uint32_t Z_wasi_unstableZ_fd_filestat_get(Z_wasi_unstable_instance_t*, std::uint32_t,
                                               std::uint32_t);
std::uint32_t Z_wasi_unstableZ_path_filestat_get(Z_wasi_unstable_instance_t*, std::uint32_t,
                                                 std::uint32_t, std::uint32_t, std::uint32_t,
                                                 std::uint32_t);
std::uint32_t Z_wasi_unstableZ_poll_oneoff(Z_wasi_unstable_instance_t*, std::uint32_t,
                                           std::uint32_t, std::uint32_t, std::uint32_t);
void Z_wasi_unstableZ_proc_exit(Z_wasi_unstable_instance_t*, std::uint32_t);
}

namespace wasimoff::wasi {
namespace {

struct Call {
  Z_wasi_snapshot_preview1_instance_t* instance;
  std::uint32_t arg;
  std::uint32_t result;
};

// Runs `fn` the way the worker runs guest code; returns the trap code (0 = returned normally).
__attribute__((noinline)) int guarded(void (*fn)(Call*), Call* call) {
  int trap = wasm_rt_impl_try();
  if (trap != 0) return trap;
  fn(call);
  return 0;
}

class WasiExports : public ::testing::Test {
 protected:
  WasiExports() : memory_(65536, 0) {
    mem_.data = memory_.data();
    mem_.pages = mem_.max_pages = 1;
    mem_.size = 65536;
  }
  std::vector<std::uint8_t> memory_;
  wasm_rt_memory_t mem_{};
  memfs::Filesystem fs_;
};

TEST_F(WasiExports, ForwardToTheContext) {
  ContextOptions o;
  o.args = {"a", "bc"};
  Context ctx(fs_, o);
  ctx.bind_memory(&mem_);
  Z_wasi_snapshot_preview1_instance_t inst{&ctx};
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_args_sizes_get(&inst, 100, 104), 0u);
  std::uint32_t argc, size;
  std::memcpy(&argc, memory_.data() + 100, 4);
  std::memcpy(&size, memory_.data() + 104, 4);
  EXPECT_EQ(argc, 2u);
  EXPECT_EQ(size, 5u);
}

TEST_F(WasiExports, ProcExitLeavesThroughTheTrapPathWithTheCode) {
  Context ctx(fs_, {});
  ctx.bind_memory(&mem_);
  Z_wasi_snapshot_preview1_instance_t inst{&ctx};
  Call call{&inst, 7, 0};
  int trap =
      guarded([](Call* c) { Z_wasi_snapshot_preview1Z_proc_exit(c->instance, c->arg); }, &call);
  EXPECT_EQ(trap, WASM_RT_TRAP_UNREACHABLE);
  EXPECT_EQ(ctx.stop_reason(), StopReason::kExit);
  EXPECT_EQ(ctx.exit_code(), 7);
}

TEST_F(WasiExports, OverflowingWriteEndsTheRun) {
  ContextOptions o;
  o.output_limit = 4;
  Context ctx(fs_, o);
  ctx.bind_memory(&mem_);
  Z_wasi_snapshot_preview1_instance_t inst{&ctx};
  std::memcpy(memory_.data() + 200, "0123456789", 10);
  std::uint32_t iov[2] = {200, 3};
  std::memcpy(memory_.data() + 100, iov, 8);
  auto write = [](Call* c) {
    c->result = Z_wasi_snapshot_preview1Z_fd_write(c->instance, 1, 100, 1, 120);
  };
  Call call{&inst, 0, 99};
  EXPECT_EQ(guarded(write, &call), 0);
  EXPECT_EQ(call.result, 0u);
  EXPECT_EQ(guarded(write, &call), WASM_RT_TRAP_UNREACHABLE);
  EXPECT_EQ(ctx.stop_reason(), StopReason::kOutputTooLarge);
  EXPECT_EQ(ctx.stdout_data(), "012");
}

// The wasi_unstable exports pass the preview 0 ABI to the four functions whose data differ; the
// Context behind both names is the same.
TEST_F(WasiExports, UnstableExportsUsePreviewZeroData) {
  ASSERT_EQ(fs_.create_file(*fs_.root(), "f"), memfs::Errc::kOk);
  Context ctx(fs_, {});
  ctx.bind_memory(&mem_);
  Z_wasi_snapshot_preview1_instance_t p1{&ctx};
  Z_wasi_unstable_instance_t p0{&ctx};
  std::memcpy(memory_.data() + 1000, "f", 1);
  ASSERT_EQ(ctx.path_open(3, 0, 1000, 1, 0, rights::kRegularFile, 0, 0, 1100), err::kSuccess);
  std::uint32_t fd;
  std::memcpy(&fd, memory_.data() + 1100, 4);
  std::uint32_t iov[2] = {1200, 10};
  std::memcpy(memory_.data() + 1300, iov, 8);
  ASSERT_EQ(ctx.fd_write(fd, 1300, 1, 1104), err::kSuccess);  // 10 bytes, offset 10
  std::uint64_t off = 0;
  // whence 2: END in preview 1, SET in preview 0.
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_seek(&p1, fd, 0, 2, 1400), 0u);
  std::memcpy(&off, memory_.data() + 1400, 8);
  EXPECT_EQ(off, 10u);
  ASSERT_EQ(Z_wasi_unstableZ_fd_seek(&p0, fd, 3, 2, 1400), 0u);
  std::memcpy(&off, memory_.data() + 1400, 8);
  EXPECT_EQ(off, 3u);
  // filestat: size @24, 56 bytes.
  std::memset(memory_.data() + 2000, 0xee, 72);
  ASSERT_EQ(Z_wasi_unstableZ_fd_filestat_get(&p0, fd, 2000), 0u);
  std::uint64_t size = 0;
  std::memcpy(&size, memory_.data() + 2024, 8);
  EXPECT_EQ(size, 10u);
  EXPECT_EQ(memory_[2056], 0xee);
  std::memset(memory_.data() + 2000, 0xee, 72);
  ASSERT_EQ(Z_wasi_unstableZ_path_filestat_get(&p0, 3, 0, 1000, 1, 2000), 0u);
  std::memcpy(&size, memory_.data() + 2024, 8);
  EXPECT_EQ(size, 10u);
  EXPECT_EQ(memory_[2056], 0xee);
  // poll_oneoff: a 56-byte clock subscription, timeout @32 (the identifier @16 is an hour).
  std::memset(memory_.data() + 3000, 0, 56);
  std::uint64_t userdata = 42, hour = 3'600'000'000'000ull, ms = 1'000'000;
  std::uint32_t monotonic = clockid::kMonotonic;
  std::memcpy(memory_.data() + 3000, &userdata, 8);
  std::memcpy(memory_.data() + 3016, &hour, 8);
  std::memcpy(memory_.data() + 3024, &monotonic, 4);
  std::memcpy(memory_.data() + 3032, &ms, 8);
  ASSERT_EQ(Z_wasi_unstableZ_poll_oneoff(&p0, 3000, 3100, 1, 3200), 0u);
  std::memcpy(&userdata, memory_.data() + 3100, 8);
  EXPECT_EQ(userdata, 42u);
  // proc_exit leaves through the trap path like preview 1's.
  static Z_wasi_unstable_instance_t* unstable;  // guarded() takes a function without captures
  unstable = &p0;
  Call call{nullptr, 9, 0};
  int trap = guarded([](Call* c) { Z_wasi_unstableZ_proc_exit(unstable, c->arg); }, &call);
  EXPECT_EQ(trap, WASM_RT_TRAP_UNREACHABLE);
  EXPECT_EQ(ctx.exit_code(), 9);
}

}  // namespace
}  // namespace wasimoff::wasi
