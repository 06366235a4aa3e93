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

}  // namespace
}  // namespace wasimoff::wasi
