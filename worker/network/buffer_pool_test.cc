#include "worker/network/buffer_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <vector>

namespace sluice {
namespace {

using Clock = std::chrono::steady_clock;

int64_t MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

// ---- NetworkBufferPool ------------------------------------------------------

TEST(NetworkBufferPoolTest, CutsTheBudgetIntoSegments) {
  NetworkBufferPool pool(1024, 64 * 1024 + 100);  // a partial segment is not a segment
  EXPECT_EQ(pool.buffer_size(), 1024u);
  EXPECT_EQ(pool.total_buffers(), 64u);
  EXPECT_EQ(pool.available_buffers(), 64u);

  auto all = pool.Take(64, "everything");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 64u);
  EXPECT_EQ(pool.available_buffers(), 0u);
  // Distinct, non-overlapping segments of buffer_size bytes.
  std::vector<uint8_t*> sorted = *all;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 1; i < sorted.size(); ++i) EXPECT_GE(sorted[i] - sorted[i - 1], 1024);
  EXPECT_EQ(sorted.back() - sorted.front(), 63 * 1024);
  pool.Return(*all);
  EXPECT_EQ(pool.available_buffers(), 64u);
}

TEST(NetworkBufferPoolTest, TakeBeyondWhatIsFreeFailsAndTakesNothing) {
  NetworkBufferPool pool(32 * 1024, 4ull << 20);  // 128 segments of 32 KiB
  auto first = pool.Take(96, "gate of task a");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(pool.available_buffers(), 32u);

  auto second = pool.Take(48, "output of task 'map#1'");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(second.status().message(),
            "output of task 'map#1' needs 48 network buffers (1.5 MiB), but only 32 (1.0 MiB) of network.memory "
            "(4.0 MiB) are free");
  EXPECT_EQ(pool.available_buffers(), 32u) << "a failed Take must take nothing";

  auto exact = pool.Take(32, "the rest");
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(pool.available_buffers(), 0u);
  auto none = pool.Take(1, "one more");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(none.status().message().find("one more needs 1 network buffers"), std::string::npos)
      << none.status().message();
  EXPECT_NE(none.status().message().find("but only 0 (0.0 MiB)"), std::string::npos) << none.status().message();

  pool.Return(*first);
  pool.Return(*exact);
  EXPECT_EQ(pool.available_buffers(), 128u);
}

TEST(NetworkBufferPoolTest, TakeOfZeroSucceeds) {
  NetworkBufferPool pool(1024, 16 * 1024);
  auto none = pool.Take(0, "nothing");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(pool.available_buffers(), 16u);
}

// Local pools come and go at random, some outlived by their buffers; their
// reservations always add up to exactly what the budget has lent out, and
// every segment is handed to one holder only.
TEST(NetworkBufferPoolTest, BudgetIsNeverExceeded) {
  NetworkBufferPool global(1024, 100 * 1024);
  std::mt19937 rng(7);
  std::vector<std::shared_ptr<LocalBufferPool>> live;
  std::vector<std::weak_ptr<LocalBufferPool>> created;
  std::vector<PooledBuffer> held;
  size_t refused = 0;
  for (int step = 0; step < 2000; ++step) {
    int action = static_cast<int>(rng() % 4);
    if (action <= 1) {
      size_t count = 1 + rng() % 20;
      size_t free_before = global.available_buffers();
      auto pool = LocalBufferPool::Create(&global, count, "pool " + std::to_string(step));
      if (count > free_before) {
        ASSERT_FALSE(pool.ok()) << "step " << step;
        EXPECT_EQ(pool.status().code(), StatusCode::kResourceExhausted);
        EXPECT_EQ(global.available_buffers(), free_before);
        ++refused;
      } else {
        ASSERT_TRUE(pool.ok()) << pool.status().ToString();
        EXPECT_EQ((*pool)->capacity(), count);
        EXPECT_EQ((*pool)->available(), count);
        // Hold a few of its buffers, possibly beyond the pool's own lifetime.
        for (size_t i = 0; i < count && rng() % 3 == 0; ++i) held.push_back((*pool)->Take(0));
        created.push_back(*pool);
        live.push_back(std::move(*pool));
      }
    } else if (action == 2 && !live.empty()) {
      live.erase(live.begin() + static_cast<long>(rng() % live.size()));
    } else if (!held.empty()) {
      held.erase(held.begin() + static_cast<long>(rng() % held.size()));
    }

    size_t reserved = 0;
    for (auto& weak : created) {
      if (auto p = weak.lock()) reserved += p->capacity();
    }
    ASSERT_EQ(reserved + global.available_buffers(), global.total_buffers()) << "step " << step;
    std::set<uint8_t*> segments;
    for (auto& b : held) {
      ASSERT_TRUE(b.valid());
      ASSERT_TRUE(segments.insert(b.get().data).second) << "segment handed out twice";
    }
  }
  EXPECT_GT(refused, 0u) << "the test should have hit the budget";
  held.clear();
  live.clear();
  EXPECT_EQ(global.available_buffers(), global.total_buffers());
}

// ---- LocalBufferPool --------------------------------------------------------

TEST(LocalBufferPoolTest, CreateFailsWhenTheBudgetIsShort) {
  NetworkBufferPool global(1024, 16 * 1024);
  auto a = LocalBufferPool::Create(&global, 10, "first");
  ASSERT_TRUE(a.ok());
  auto b = LocalBufferPool::Create(&global, 7, "input gate of 'sink#0'");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(b.status().message().find("input gate of 'sink#0' needs 7 network buffers"), std::string::npos)
      << b.status().message();
  EXPECT_NE(b.status().message().find("but only 6 "), std::string::npos) << b.status().message();
  EXPECT_EQ(global.available_buffers(), 6u);
}

TEST(LocalBufferPoolTest, TakeAndRecycle) {
  NetworkBufferPool global(1024, 16 * 1024);
  auto pool = LocalBufferPool::Create(&global, 3, "p");
  ASSERT_TRUE(pool.ok());
  auto& p = **pool;
  EXPECT_EQ(p.capacity(), 3u);
  EXPECT_EQ(p.buffer_size(), 1024u);
  std::vector<PooledBuffer> taken;
  for (int i = 0; i < 3; ++i) {
    taken.push_back(p.Take(0));
    ASSERT_TRUE(taken.back().valid());
    EXPECT_EQ(taken.back().get().capacity, 1024u);
    EXPECT_EQ(taken.back().get().size, 0u);
  }
  EXPECT_EQ(p.available(), 0u);
  EXPECT_FALSE(p.Take(0).valid());
  taken.pop_back();
  EXPECT_EQ(p.available(), 1u);
  PooledBuffer again = p.Take(0);
  ASSERT_TRUE(again.valid());
  EXPECT_EQ(again.get().size, 0u) << "a recycled buffer comes back empty";

  uint8_t* raw = p.TakeSegment();
  EXPECT_EQ(raw, nullptr);
  again.Release();
  raw = p.TakeSegment();
  ASSERT_NE(raw, nullptr);
  EXPECT_EQ(p.available(), 0u);
  p.Recycle(raw);
  EXPECT_EQ(p.available(), 1u);
}

TEST(LocalBufferPoolTest, SegmentsReturnToTheGlobalPoolWhenTheLastBufferIsGone) {
  NetworkBufferPool global(1024, 16 * 1024);
  auto created = LocalBufferPool::Create(&global, 4, "p");
  ASSERT_TRUE(created.ok());
  std::shared_ptr<LocalBufferPool> pool = std::move(*created);
  EXPECT_EQ(global.available_buffers(), 12u);
  PooledBuffer a = pool->Take(0);
  PooledBuffer b = pool->Take(0);
  ASSERT_TRUE(a.valid() && b.valid());

  pool.reset();  // the buffers keep it alive
  EXPECT_EQ(global.available_buffers(), 12u);
  a.Release();
  EXPECT_EQ(global.available_buffers(), 12u);
  {
    PooledBuffer moved = std::move(b);
    EXPECT_EQ(global.available_buffers(), 12u);
  }
  EXPECT_EQ(global.available_buffers(), 16u);

  // And without outstanding buffers, at once.
  auto other = LocalBufferPool::Create(&global, 16, "all");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(global.available_buffers(), 0u);
  other->reset();
  EXPECT_EQ(global.available_buffers(), 16u);
}

TEST(LocalBufferPoolTest, TakeWithTimeoutReturnsInvalidWhenEmpty) {
  NetworkBufferPool global(1024, 16 * 1024);
  auto pool = LocalBufferPool::Create(&global, 1, "p");
  ASSERT_TRUE(pool.ok());
  PooledBuffer only = (*pool)->Take(0);
  ASSERT_TRUE(only.valid());

  auto start = Clock::now();
  EXPECT_FALSE((*pool)->Take(0).valid());
  EXPECT_LT(MsSince(start), 500) << "timeout 0 must not wait";  // a loaded CI machine may preempt

  start = Clock::now();
  EXPECT_FALSE((*pool)->Take(60).valid());
  int64_t waited = MsSince(start);
  EXPECT_GE(waited, 55);
  EXPECT_LT(waited, 2000);
}

TEST(LocalBufferPoolTest, TakeIsWokenByRecycleFromAnotherThread) {
  NetworkBufferPool global(1024, 16 * 1024);
  auto pool = LocalBufferPool::Create(&global, 1, "p");
  ASSERT_TRUE(pool.ok());
  PooledBuffer only = (*pool)->Take(0);
  uint8_t* segment = only.get().data;

  std::atomic<bool> returned{false};
  PooledBuffer got;
  int64_t waited = -1;
  std::thread waiter([&] {
    auto start = Clock::now();
    got = (*pool)->Take(10000);
    waited = MsSince(start);
    returned = true;
  });
  // Whether or not the waiter is already asleep, it must get the buffer at
  // once; the short pause only makes the sleeping case the likely one.
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_FALSE(returned.load());
  std::thread recycler([&] { only.Release(); });
  recycler.join();
  waiter.join();
  ASSERT_TRUE(got.valid());
  EXPECT_EQ(got.get().data, segment);
  EXPECT_LT(waited, 5000);
}

TEST(LocalBufferPoolTest, WakeUpInterruptsAWaitingTake) {
  NetworkBufferPool global(1024, 16 * 1024);
  auto pool = LocalBufferPool::Create(&global, 1, "p");
  ASSERT_TRUE(pool.ok());
  PooledBuffer only = (*pool)->Take(0);

  std::atomic<bool> returned{false};
  bool valid = true;
  int64_t waited = -1;
  std::thread waiter([&] {
    auto start = Clock::now();
    valid = (*pool)->Take(10000).valid();
    waited = MsSince(start);
    returned = true;
  });
  // A WakeUp before the waiter sleeps is (rightly) not remembered, so keep
  // waking until it returns.
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (!returned.load() && Clock::now() < deadline) {
    (*pool)->WakeUp();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  waiter.join();
  EXPECT_FALSE(valid);
  EXPECT_LT(waited, 5000);
  EXPECT_EQ((*pool)->available(), 0u);
}

TEST(LocalBufferPoolTest, EarlierWakeUpDoesNotCutALaterTakeShort) {
  NetworkBufferPool global(1024, 16 * 1024);
  auto pool = LocalBufferPool::Create(&global, 1, "p");
  ASSERT_TRUE(pool.ok());
  PooledBuffer only = (*pool)->Take(0);
  (*pool)->WakeUp();
  auto start = Clock::now();
  EXPECT_FALSE((*pool)->Take(40).valid());
  EXPECT_GE(MsSince(start), 35);
}

TEST(LocalBufferPoolTest, ManyThreadsTakeAndRecycleWithoutLoss) {
  NetworkBufferPool global(1024, 64 * 1024);
  auto pool = LocalBufferPool::Create(&global, 4, "p");
  ASSERT_TRUE(pool.ok());
  std::shared_ptr<LocalBufferPool> p = *pool;
  std::atomic<int> in_use{0};
  std::atomic<int> max_in_use{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        PooledBuffer b = p->Take(5000);
        if (!b.valid()) {
          ++failures;
          continue;
        }
        int now = ++in_use;
        int seen = max_in_use.load();
        while (now > seen && !max_in_use.compare_exchange_weak(seen, now)) {
        }
        b.get().data[0] = static_cast<uint8_t>(i);
        --in_use;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(max_in_use.load(), 4);
  EXPECT_EQ(p->available(), 4u);
  p.reset();
  pool->reset();
  EXPECT_EQ(global.available_buffers(), 64u);
}

// ---- PooledBuffer -----------------------------------------------------------

class CountingRecycler final : public BufferRecycler {
 public:
  void Recycle(uint8_t* segment) override { ++recycled[segment]; }
  int count(uint8_t* segment) const {
    auto it = recycled.find(segment);
    return it == recycled.end() ? 0 : it->second;
  }
  int total() const {
    int n = 0;
    for (auto& [s, c] : recycled) n += c;
    return n;
  }
  std::map<uint8_t*, int> recycled;
};

TEST(PooledBufferTest, DefaultIsInvalidAndRecyclesNothing) {
  auto recycler = std::make_shared<CountingRecycler>();
  {
    PooledBuffer b;
    EXPECT_FALSE(b.valid());
    b.Release();
  }
  EXPECT_EQ(recycler->total(), 0);
}

TEST(PooledBufferTest, MoveConstructionRecyclesOnce) {
  auto recycler = std::make_shared<CountingRecycler>();
  uint8_t segment[16];
  {
    PooledBuffer a(Buffer{segment, 16, 5}, recycler);
    ASSERT_TRUE(a.valid());
    PooledBuffer b(std::move(a));
    EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): moved-from state is specified
    ASSERT_TRUE(b.valid());
    EXPECT_EQ(b.get().data, segment);
    EXPECT_EQ(b.get().size, 5u);
    EXPECT_EQ(b.get().capacity, 16u);
    a.Release();  // nothing to give back
    EXPECT_EQ(recycler->total(), 0);
  }
  EXPECT_EQ(recycler->count(segment), 1);
  EXPECT_EQ(recycler->total(), 1);
}

TEST(PooledBufferTest, MoveAssignmentRecyclesTheOverwrittenBuffer) {
  auto recycler = std::make_shared<CountingRecycler>();
  uint8_t one[16], two[16];
  {
    PooledBuffer a(Buffer{one, 16, 0}, recycler);
    PooledBuffer b(Buffer{two, 16, 0}, recycler);
    b = std::move(a);
    EXPECT_EQ(recycler->count(two), 1) << "the buffer b held goes back at once";
    EXPECT_EQ(recycler->count(one), 0);
    EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(b.get().data, one);

    // Self-move keeps the buffer.
    PooledBuffer& same = b;
    b = std::move(same);
    EXPECT_TRUE(b.valid());
    EXPECT_EQ(recycler->count(one), 0);

    // Moving an invalid buffer in releases the valid one.
    b = PooledBuffer();
    EXPECT_FALSE(b.valid());
    EXPECT_EQ(recycler->count(one), 1);
    b.Release();
  }
  EXPECT_EQ(recycler->count(one), 1);
  EXPECT_EQ(recycler->count(two), 1);
  EXPECT_EQ(recycler->total(), 2);
}

TEST(PooledBufferTest, ReleaseIsIdempotentAndDropsTheRecycler) {
  auto recycler = std::make_shared<CountingRecycler>();
  uint8_t segment[16];
  PooledBuffer a(Buffer{segment, 16, 0}, recycler);
  EXPECT_EQ(recycler.use_count(), 2);
  a.Release();
  a.Release();
  EXPECT_FALSE(a.valid());
  EXPECT_EQ(recycler->total(), 1);
  EXPECT_EQ(recycler.use_count(), 1) << "a released buffer no longer keeps its pool alive";
}

TEST(PooledBufferTest, ChainOfMovesInContainersRecyclesEachSegmentOnce) {
  NetworkBufferPool global(1024, 16 * 1024);
  auto pool = LocalBufferPool::Create(&global, 8, "p");
  ASSERT_TRUE(pool.ok());
  {
    std::vector<PooledBuffer> v;
    for (int i = 0; i < 8; ++i) v.push_back((*pool)->Take(0));  // reallocation moves them
    EXPECT_EQ((*pool)->available(), 0u);
    std::vector<PooledBuffer> w(std::make_move_iterator(v.begin()), std::make_move_iterator(v.end()));
    v.clear();
    EXPECT_EQ((*pool)->available(), 0u);
    w.erase(w.begin(), w.begin() + 3);
    EXPECT_EQ((*pool)->available(), 3u);
  }
  EXPECT_EQ((*pool)->available(), 8u);
  // Were any segment recycled twice, the pool would now hand out duplicates.
  std::set<uint8_t*> distinct;
  std::vector<PooledBuffer> all;
  while (true) {
    PooledBuffer b = (*pool)->Take(0);
    if (!b.valid()) break;
    distinct.insert(b.get().data);
    all.push_back(std::move(b));
  }
  EXPECT_EQ(all.size(), 8u);
  EXPECT_EQ(distinct.size(), 8u);
}

}  // namespace
}  // namespace sluice
