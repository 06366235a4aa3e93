// Task: a job's parent params are shared by its tasks and applied only when a task is packed
// for a provider (docs/scheduling.md §9 inheritance).
#include "broker/tasks/task.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "common/clock.h"
#include "protocol/any_payload.h"

namespace wasimoff::broker {
namespace {

v1::Task::Wasip1::Request unpack(const Task& task) {
  google::protobuf::Any any;
  task.pack_request(&any);
  v1::Task::Wasip1::Request r;
  EXPECT_EQ(protocol::unpack_any(any, &r), protocol::UnpackStatus::kOk);
  return r;
}

TEST(Task, ParentParamsAreSharedAndAppliedWhenPacked) {
  asio::io_context io;
  auto parent = std::make_shared<v1::Task::Wasip1::Params>();
  parent->mutable_binary()->set_ref("sha256:" + std::string(64, 'a'));
  parent->set_stdin(std::string(1 << 20, 'p'));
  parent->add_args("parent.wasm");
  parent->add_envs("A=1");
  std::vector<std::unique_ptr<Task>> tasks;
  for (int i = 0; i < 3; ++i) {
    auto req = std::make_unique<v1::Task::Wasip1::Request>();
    req->mutable_info()->set_id("1/" + std::to_string(i));
    if (i == 1) {
      req->mutable_params()->set_stdin("own");
      req->mutable_params()->add_envs("B=2");
    }
    tasks.push_back(std::make_unique<Task>(io.get_executor(), std::move(*req), parent));
  }
  // Nothing is copied into the tasks: they hold their own (small) params only.
  EXPECT_EQ(parent.use_count(), 4);
  for (auto& t : tasks)
    EXPECT_LT(std::get<v1::Task::Wasip1::Request>(t->request()).ByteSizeLong(), 64u);

  auto inherited = unpack(*tasks[0]);
  EXPECT_EQ(inherited.info().id(), "1/0");
  EXPECT_EQ(inherited.params().binary().ref(), parent->binary().ref());
  EXPECT_EQ(inherited.params().stdin(), parent->stdin());
  ASSERT_EQ(inherited.params().args_size(), 1);
  ASSERT_EQ(inherited.params().envs_size(), 1);
  EXPECT_EQ(inherited.params().envs(0), "A=1");

  // Every unset field comes whole from the parent; set ones are the task's, never merged.
  auto own = unpack(*tasks[1]);
  EXPECT_EQ(own.params().stdin(), "own");
  ASSERT_EQ(own.params().envs_size(), 1);
  EXPECT_EQ(own.params().envs(0), "B=2");
  EXPECT_EQ(own.params().args(0), "parent.wasm");
  EXPECT_FALSE(own.params().has_rootfs());
}

TEST(Task, AcceptedIsDatedByTheClock) {
  asio::io_context io;
  ManualClock clock;
  clock.advance(std::chrono::seconds(3));
  Task t(io.get_executor(), v1::Task::Wasip1::Request(), nullptr, clock);
  EXPECT_EQ(t.accepted, clock.steady_now());
}

TEST(Task, WithoutParentTheRequestIsPackedAsIs) {
  asio::io_context io;
  auto req = std::make_unique<v1::Task::Wasip1::Request>();
  req->mutable_params()->add_args("x");
  Task t(io.get_executor(), std::move(*req));
  auto packed = unpack(t);
  ASSERT_EQ(packed.params().args_size(), 1);
  EXPECT_EQ(packed.params().args(0), "x");
  EXPECT_FALSE(packed.params().has_stdin());
}

}  // namespace
}  // namespace wasimoff::broker
