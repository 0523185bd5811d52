#include "worker/record_writer.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "common/catalog/datagen_spec.h"
#include "worker/network/key_groups.h"
#include "worker/network/record_span.h"

namespace sluice {
namespace {

// A partition of `n` subpartitions over a small pool, and a writer into it.
struct Fixture {
  Fixture(int n, RecordWriter::Options options, size_t buffers = 256)
      : global(256, 256 * 1024), pool(*LocalBufferPool::Create(&global, buffers, "test")) {
    partition = std::make_shared<ResultPartition>(ResultPartitionId{"job", 1, "v", 0, 0}, n, pool, nullptr);
    writer = std::make_unique<RecordWriter>(partition, options, DatagenSchema(), &cancelled, &backpressured);
  }

  // Every row queued in subpartition i, as (id), in order; and the events.
  std::vector<int64_t> Drain(int i, std::vector<Event>* events = nullptr) {
    std::vector<int64_t> ids;
    RecordSpanReader reader(1 << 20);
    BufferOrEvent entry;
    while (partition->subpartition(i).Poll(&entry, nullptr)) {
      if (entry.is_event) {
        if (events) events->push_back(entry.event);
        continue;
      }
      reader.SetBuffer(entry.buffer.get().data, entry.buffer.get().size);
      const uint8_t* record;
      uint32_t size;
      while (*reader.Next(&record, &size)) ids.push_back(RowView(record).GetInt64(0));
    }
    EXPECT_FALSE(reader.has_partial());
    return ids;
  }

  NetworkBufferPool global;
  std::shared_ptr<LocalBufferPool> pool;
  std::shared_ptr<ResultPartition> partition;
  std::atomic<bool> cancelled{false};
  std::atomic<int64_t> backpressured{0};
  std::unique_ptr<RecordWriter> writer;
};

// Rows shaped like datagen's: id, key = id % 10, value, name, ts.
void WriteRows(RecordWriter& writer, int64_t n, const std::string& name = "x") {
  RowBuilder b(5);
  for (int64_t id = 0; id < n; ++id) {
    b.Reset();
    b.SetInt64(0, id);
    b.SetInt64(1, id % 10);
    b.SetInt64(2, id);
    b.SetString(3, name);
    b.SetTimestampMillis(4, id);
    writer.Collect(b.Finish());
  }
}

TEST(RecordWriterTest, ForwardKeepsOrderAcrossManySmallBuffers) {
  Fixture f(1, {});
  WriteRows(*f.writer, 500);
  f.writer->BroadcastEvent(Event::EndOfPartition());
  std::vector<Event> events;
  auto ids = f.Drain(0, &events);
  ASSERT_EQ(ids.size(), 500u);
  for (int64_t i = 0; i < 500; ++i) EXPECT_EQ(ids[i], i);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, EventType::kEndOfPartition);
}

TEST(RecordWriterTest, HashSendsEachKeyToTheSubtaskOwningItsKeyGroup) {
  RecordWriter::Options o;
  o.partitioning = proto::HASH;
  o.key_fields = {1};
  o.max_parallelism = 128;
  Fixture f(3, o);
  WriteRows(*f.writer, 300);
  f.writer->Flush();
  std::map<int64_t, int> owner;  // key -> subpartition
  size_t total = 0;
  RowBuilder b(5);
  for (int i = 0; i < 3; ++i) {
    for (int64_t id : f.Drain(i)) {
      ++total;
      int64_t key = id % 10;
      auto [it, fresh] = owner.emplace(key, i);
      EXPECT_EQ(it->second, i) << "key " << key << " went to two subtasks";
      b.Reset();
      b.SetInt64(1, key);
      int group = KeyGroupOf(HashKeyFields(b.Finish(), {1}, DatagenSchema()), 128);
      EXPECT_EQ(OperatorIndexForKeyGroup(group, 128, 3), i);
    }
  }
  EXPECT_EQ(total, 300u);
  EXPECT_EQ(owner.size(), 10u);
}

TEST(RecordWriterTest, RebalanceRoundRobinsStartingAtTheSubtaskIndex) {
  RecordWriter::Options o;
  o.partitioning = proto::REBALANCE;
  o.subtask = 1;
  Fixture f(3, o);
  WriteRows(*f.writer, 7);
  f.writer->Flush();
  EXPECT_EQ(f.Drain(0), (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(f.Drain(1), (std::vector<int64_t>{0, 3, 6}));
  EXPECT_EQ(f.Drain(2), (std::vector<int64_t>{1, 4}));
}

TEST(RecordWriterTest, RebalanceFromAProducerIndexBeyondTheConsumers) {
  RecordWriter::Options o;
  o.partitioning = proto::REBALANCE;
  o.subtask = 3;  // producer 3 of 4, two consumers
  Fixture f(2, o);
  WriteRows(*f.writer, 4);
  f.writer->Flush();
  EXPECT_EQ(f.Drain(1), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(f.Drain(0), (std::vector<int64_t>{1, 3}));
}

TEST(RecordWriterTest, BroadcastDeliversEveryRowToEverySubpartition) {
  RecordWriter::Options o;
  o.partitioning = proto::BROADCAST;
  Fixture f(4, o);
  WriteRows(*f.writer, 50);
  f.writer->BroadcastEvent(Event::Watermark(99));
  for (int i = 0; i < 4; ++i) {
    std::vector<Event> events;
    auto ids = f.Drain(i, &events);
    EXPECT_EQ(ids.size(), 50u);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].watermark_ms, 99);
  }
}

TEST(RecordWriterTest, RowsLargerThanABufferSpanBuffers) {
  Fixture f(1, {});
  WriteRows(*f.writer, 20, std::string(1000, 'y'));  // each row spans ~4 buffers of 256 bytes
  f.writer->Flush();
  auto ids = f.Drain(0);
  ASSERT_EQ(ids.size(), 20u);
  EXPECT_EQ(ids.back(), 19);
}

TEST(RecordWriterTest, AFullPoolBlocksUntilCancelledAndCountsBackpressure) {
  Fixture f(1, {}, /*buffers=*/2);
  std::thread cancel([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    f.cancelled = true;
  });
  WriteRows(*f.writer, 1000);  // needs far more than two buffers; nobody drains
  cancel.join();
  EXPECT_EQ(f.writer->failure().code(), StatusCode::kCancelled);
  EXPECT_GE(f.backpressured.load(), 50'000'000) << "at least 50 ms blocked";
  EXPECT_LE(f.partition->queued_buffers(), 2u) << "never more than the pool";
}

TEST(RecordWriterTest, FlushEveryRecordHandsOverEachRowAtOnce) {
  RecordWriter::Options o;
  o.flush_every_record = true;
  Fixture f(1, o);
  WriteRows(*f.writer, 3);
  EXPECT_EQ(f.partition->queued_buffers(), 3u);
}

}  // namespace
}  // namespace sluice
