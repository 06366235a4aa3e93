// What the Broker learns about modules (common/wasm_summary.h) and providers
// (broker/providers/provider_caps.h) for capability-aware placement.
#include "broker/providers/provider_caps.h"

#include <gtest/gtest.h>

#include "../../support/wasm_builder.h"
#include "common/clock.h"
#include "common/wasm_summary.h"

namespace wasimoff::broker {
namespace {

using testing::WasmBuilder;

std::string module_importing(std::vector<std::string> modules, std::uint32_t pages) {
  WasmBuilder b;
  auto t = b.type("ii", "i");
  for (const auto& m : modules) b.import_func(m, "args_get", t);
  b.memory(pages);
  return b.bytes();
}

ModuleFacts facts(std::vector<std::string> modules, std::uint32_t pages) {
  auto bytes = module_importing(std::move(modules), pages);
  return ModuleFacts{"sha256:x", summarize_wasm(bytes)};
}

TEST(WasmSummary, ImportModulesAndInitialMemory) {
  auto s = summarize_wasm(module_importing({"wasi_unstable", "env", "wasi_unstable"}, 3));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->import_modules, (std::vector<std::string>{"env", "wasi_unstable"}));
  EXPECT_FALSE(s->more_imports);
  EXPECT_EQ(s->initial_memory, 3u * 65536);
}

TEST(WasmSummary, ImportedMemoryCounts) {
  WasmBuilder b;
  b.import_memory("env", "memory");
  auto s = summarize_wasm(b.bytes());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->import_modules, (std::vector<std::string>{"env"}));
  EXPECT_EQ(s->initial_memory, 65536u);
}

TEST(WasmSummary, ManyImportModulesAreBounded) {
  std::vector<std::string> names;
  for (int i = 0; i < 40; ++i) names.push_back("m" + std::to_string(i));
  auto s = summarize_wasm(module_importing(names, 0));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->import_modules.size(), WasmSummary::kMaxImportModules);
  EXPECT_TRUE(s->more_imports);
}

TEST(WasmSummary, GarbageAndTruncationGiveNothing) {
  EXPECT_FALSE(summarize_wasm(""));
  EXPECT_FALSE(summarize_wasm("not wasm at all"));
  auto bytes = module_importing({"wasi_snapshot_preview1"}, 1);
  for (std::size_t n = 9; n < bytes.size(); ++n) {
    // Every truncation either fails or yields a subset of what the whole module says; never
    // reads out of bounds (ASan builds check this).
    auto s = summarize_wasm(std::string_view(bytes).substr(0, n));
    if (s) {
      EXPECT_LE(s->import_modules.size(), 1u);
    }
  }
  std::string huge_count("\0asm\x01\0\0\0\x02\x05\xff\xff\xff\xff\x0f", 15);
  EXPECT_FALSE(summarize_wasm(huge_count));
}

TEST(ProviderCaps, NothingAnnouncedRunsEverything) {
  ProviderCaps c;
  EXPECT_TRUE(c.can_run(facts({"wasi_unstable", "env"}, 1000)));
  EXPECT_FALSE(c.mismatch(facts({"env"}, 1)));
}

TEST(ProviderCaps, AnnouncedImportsAndMemoryRuleModulesOut) {
  ProviderCaps c;
  v1::ProviderCapabilities a;
  a.add_wasi("wasi_snapshot_preview1");
  a.set_memory(2 * 65536);
  c.announce(a);
  EXPECT_TRUE(c.can_run(facts({"wasi_snapshot_preview1"}, 2)));
  EXPECT_TRUE(c.can_run(facts({}, 0)));
  EXPECT_FALSE(c.can_run(facts({"wasi_unstable"}, 1)));
  EXPECT_FALSE(c.can_run(facts({"wasi_snapshot_preview1"}, 3)));
  auto why = c.mismatch(facts({"wasi_unstable"}, 1));
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("wasi_unstable"), std::string::npos) << *why;
  // A module the Broker could not parse is never ruled out by an announcement.
  EXPECT_TRUE(c.can_run(ModuleFacts{"sha256:y", std::nullopt}));
}

TEST(ProviderCaps, RefusalsAreBoundedOldestFirst) {
  ProviderCaps c;
  for (std::size_t i = 0; i < ProviderCaps::kMaxRefusals + 10; ++i)
    c.remember_refusal("sha256:" + std::to_string(i), "unsupported module: " + std::to_string(i));
  EXPECT_EQ(c.refusal_count(), ProviderCaps::kMaxRefusals);
  EXPECT_EQ(c.refusal("sha256:0"), nullptr);
  ASSERT_NE(c.refusal("sha256:20"), nullptr);
  EXPECT_EQ(*c.refusal("sha256:20"), "unsupported module: 20");
  c.remember_refusal("sha256:long", std::string(10000, 'x'));
  EXPECT_LE(c.refusal("sha256:long")->size(), ProviderCaps::kMaxRefusalText);
}

TEST(ProviderCaps, ARefusalIsTrustedForItsLifetimeOnly) {
  using namespace std::chrono_literals;
  ManualClock clock;
  ProviderCaps c(clock);
  c.remember_refusal("sha256:a", "unsupported module: a");
  clock.advance(ProviderCaps::kRefusalLifetime);  // still trusted at exactly the lifetime
  ASSERT_NE(c.refusal("sha256:a"), nullptr);
  EXPECT_EQ(*c.refusal("sha256:a"), "unsupported module: a");
  clock.advance(1ns);
  EXPECT_EQ(c.refusal("sha256:a"), nullptr);
  // A new refusal of the same module starts its lifetime again.
  c.remember_refusal("sha256:a", "unsupported module: again");
  clock.advance(ProviderCaps::kRefusalLifetime - 1s);
  ASSERT_NE(c.refusal("sha256:a"), nullptr);
  EXPECT_EQ(*c.refusal("sha256:a"), "unsupported module: again");
  clock.advance(2s);
  EXPECT_EQ(c.refusal("sha256:a"), nullptr);
}

TEST(ProviderCaps, WhatCountsAsARefusal) {
  EXPECT_TRUE(is_module_refusal("unsupported module: no _start"));
  EXPECT_TRUE(is_module_refusal("CompileError: WebAssembly.compile(): bad magic"));
  EXPECT_TRUE(is_module_refusal("LinkError: WebAssembly.Instance(): Import #0"));
  EXPECT_FALSE(is_module_refusal("trap: unreachable executed"));
  EXPECT_FALSE(is_module_refusal("binary not found in storage: sha256:x"));
  EXPECT_FALSE(is_module_refusal("memory limit exceeded"));
}

}  // namespace
}  // namespace wasimoff::broker
