#include "worker/operators/nexmark/generator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/catalog/nexmark_spec.h"
#include "common/records/row_json.h"
#include "worker/operators/testing/json_collector.h"
#include "worker/operators/nexmark_source.h"
#include "worker/operators/operator_registry.h"

namespace sluice::nexmark {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Describe(const Person& p) {
  return std::to_string(p.id) + "|" + p.name + "|" + p.email_address + "|" + p.credit_card + "|" +
         std::string(p.city) + "|" + std::string(p.state) + "|" + std::to_string(p.date_time) + "|" +
         std::string(p.extra);
}

std::string Describe(const Auction& a) {
  return std::to_string(a.id) + "|" + a.item_name + "|" + a.description + "|" + std::to_string(a.initial_bid) +
         "|" + std::to_string(a.reserve) + "|" + std::to_string(a.date_time) + "|" + std::to_string(a.expires) +
         "|" + std::to_string(a.seller) + "|" + std::to_string(a.category) + "|" + std::string(a.extra);
}

std::string Describe(const Bid& b) {
  return std::to_string(b.auction) + "|" + std::to_string(b.bidder) + "|" + std::to_string(b.price) + "|" +
         std::string(b.channel) + "|" + std::string(b.url) + "|" + std::to_string(b.date_time) + "|" +
         std::string(b.extra);
}

// Event n as text, whatever its kind.
std::string DescribeEvent(const NexmarkGenerator& gen, int64_t n) {
  switch (NexmarkGenerator::KindOf(n)) {
    case EventKind::kPerson: {
      Person p;
      gen.MakePerson(n, &p);
      return "P" + Describe(p);
    }
    case EventKind::kAuction: {
      Auction a;
      gen.MakeAuction(n, &a);
      return "A" + Describe(a);
    }
    case EventKind::kBid: {
      Bid b;
      gen.MakeBid(n, &b);
      return "B" + Describe(b);
    }
  }
  return "";
}

// ---------------------------------------------------------------------------
// Determinism

TEST(NexmarkGeneratorTest, EventNIsTheSameEveryTimeAndInEveryGenerator) {
  NexmarkGenerator a{NexmarkConfig{}};
  NexmarkGenerator b{NexmarkConfig{}};
  // Reused structs must not carry anything from the previous event over.
  Person person;
  Auction auction;
  Bid bid;
  for (int64_t n = 0; n < 3000; ++n) {
    std::string reused;
    switch (NexmarkGenerator::KindOf(n)) {
      case EventKind::kPerson: a.MakePerson(n, &person); reused = "P" + Describe(person); break;
      case EventKind::kAuction: a.MakeAuction(n, &auction); reused = "A" + Describe(auction); break;
      case EventKind::kBid: a.MakeBid(n, &bid); reused = "B" + Describe(bid); break;
    }
    EXPECT_EQ(reused, DescribeEvent(a, n)) << n;
    EXPECT_EQ(reused, DescribeEvent(b, n)) << n;
  }
  // Out of order, far ahead, and after others: still the same.
  const std::string far = DescribeEvent(a, 987'654'321);
  for (int64_t n = 5; n < 60; ++n) DescribeEvent(a, n);
  EXPECT_EQ(far, DescribeEvent(b, 987'654'321));
  EXPECT_EQ(far, DescribeEvent(a, 987'654'321));
  EXPECT_NE(DescribeEvent(a, 10), DescribeEvent(a, 11));  // seeded by n, not constant
}

TEST(NexmarkGeneratorTest, FixedStream) {
  // Event n is part of the format: a change here changes every benchmark
  // input, and must be deliberate.
  NexmarkGenerator gen{NexmarkConfig{}};
  Person p;
  gen.MakePerson(0, &p);
  EXPECT_EQ(p.id, 1000);
  EXPECT_EQ(p.date_time, kDefaultBaseTimeMs);
  Auction a;
  gen.MakeAuction(3, &a);
  EXPECT_EQ(a.id, 1002);
  Bid b;
  gen.MakeBid(50 * 1234 + 17, &b);
  EXPECT_EQ(b.date_time, kDefaultBaseTimeMs + 6);
  EXPECT_EQ(DescribeEvent(gen, 50 * 1234 + 17),
            "B4657|2026|27212|Facebook|https://www.nexmark.com/kxjj/iwp/vu_n/item.htm?query=1|1436918400006|"
            "tnyqtaanqmkxnxstbhjdsiqzxwmyzlbbzfjnzpizhkhtwwtsjoggznwa");
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

OperatorSetup SourceSetup(OperatorOptions::Map options, int subtask = 0, int parallelism = 1) {
  OperatorSetup s;
  s.id = "nx";
  s.type = "nexmark";
  std::string kind = options.count("kind") ? options["kind"][0] : "";
  s.options = OperatorOptions("nx", std::move(options));
  s.output = NexmarkSchema(kind);
  s.subtask = subtask;
  s.parallelism = parallelism;
  return s;
}

std::unique_ptr<SourceOperator> MakeSource(OperatorOptions::Map options, int subtask = 0, int parallelism = 1) {
  auto source = OperatorRegistry::Builtin().CreateSource(SourceSetup(std::move(options), subtask, parallelism));
  EXPECT_TRUE(source.ok()) << source.status().ToString();
  return source.ok() ? std::move(*source) : nullptr;
}

std::vector<std::string> Drain(SourceOperator& source, const std::string& kind, size_t batch = 7) {
  JsonCollector out(NexmarkSchema(kind));
  EXPECT_TRUE(source.Open().ok());
  bool done = false;
  while (!done) EXPECT_TRUE(source.Emit(out, batch, &done).ok());
  return out.rows;
}

TEST(NexmarkSourceTest, SubtasksTogetherEmitTheSameRowsAtAnyParallelism) {
  const int64_t events = 3001;
  for (std::string kind : {"bid", "auction", "person"}) {
    std::vector<std::string> expected;
    for (int p = 1; p <= 3; ++p) {
      std::vector<std::string> all;
      for (int i = 0; i < p; ++i) {
        auto source = MakeSource({{"kind", {kind}}, {"events", {std::to_string(events)}}}, i, p);
        auto rows = Drain(*source, kind);
        all.insert(all.end(), rows.begin(), rows.end());
      }
      all = Sorted(std::move(all));
      if (p == 1) {
        expected = all;
        size_t count = 0;
        for (int64_t n = 0; n < events; ++n) count += EventKindName(NexmarkGenerator::KindOf(n)) == kind;
        EXPECT_EQ(expected.size(), count) << kind;
        EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), all.size()) << kind;
      } else {
        EXPECT_EQ(all, expected) << kind << " at parallelism " << p;
      }
    }
  }
}

TEST(NexmarkSourceTest, RowsAreTheGeneratorsEvents) {
  auto source = MakeSource({{"kind", {"auction"}}, {"events", {"60"}}, {"base-time", {"0"}},
                            {"events-per-second", {"1000"}}});
  auto rows = Drain(*source, "auction");
  ASSERT_EQ(rows.size(), 6u);  // events 1, 2, 3, 51, 52, 53
  NexmarkConfig config;
  config.base_time_ms = 0;
  config.events_per_second = 1000;
  NexmarkGenerator gen(config);
  Auction a;
  gen.MakeAuction(52, &a);
  EXPECT_THAT(rows[4], StartsWith(R"({"id":1004,"itemName":")" + a.item_name + R"(","description":")" +
                                  a.description + R"(","initialBid":)" + std::to_string(a.initial_bid) +
                                  R"(,"reserve":)" + std::to_string(a.reserve) +
                                  R"(,"dateTime":"1970-01-01 00:00:00.052","expires":")"));
  EXPECT_THAT(rows[4], HasSubstr(R"(,"seller":)" + std::to_string(a.seller) + R"(,"category":)" +
                                 std::to_string(a.category) + R"(,"extra":")" + std::string(a.extra) + "\"}"));
}

TEST(NexmarkSourceTest, ReadPositionAndWatermark) {
  auto made = MakeSource({{"kind", {"person"}}, {"events", {"120"}}}, 1, 2);
  auto* source = static_cast<NexmarkSource*>(made.get());
  EXPECT_EQ(source->next_event(), 1);
  EXPECT_EQ(source->CurrentWatermark(), std::numeric_limits<int64_t>::min());
  ASSERT_TRUE(source->Open().ok());
  JsonCollector out(NexmarkSchema("person"));
  bool done = false;
  ASSERT_TRUE(source->Emit(out, 100, &done).ok());
  // Subtask 1 of 2 reads the odd events, and persons (0, 50, 100) are even:
  // it has nothing to emit and says so at once.
  EXPECT_TRUE(out.rows.empty());
  EXPECT_TRUE(done);

  auto made0 = MakeSource({{"kind", {"person"}}, {"events", {"120"}}, {"events-per-second", {"1000"}}}, 0, 2);
  auto* even = static_cast<NexmarkSource*>(made0.get());
  ASSERT_TRUE(even->Open().ok());
  JsonCollector out0(NexmarkSchema("person"));
  ASSERT_TRUE(even->Emit(out0, 2, &done).ok());
  EXPECT_FALSE(done);
  ASSERT_EQ(out0.rows.size(), 2u);  // persons 0 and 50
  EXPECT_EQ(even->next_event(), 52);
  EXPECT_EQ(even->CurrentWatermark(), kDefaultBaseTimeMs + 50 - 4000);
  ASSERT_TRUE(even->Emit(out0, 100, &done).ok());
  EXPECT_TRUE(done);
  ASSERT_EQ(out0.rows.size(), 3u);  // and 100
  EXPECT_THAT(out0.rows[2], StartsWith(R"({"id":1002,)"));
  EXPECT_EQ(even->CurrentWatermark(), kDefaultBaseTimeMs + 100 - 4000);
}

TEST(NexmarkSourceTest, AKindNoSubtaskEventIsOfEndsAtOnceEvenUnbounded) {
  // At parallelism 50, subtask 7 only reads bids.
  for (std::string kind : {"person", "auction"}) {
    auto source = MakeSource({{"kind", {kind}}}, 7, 50);
    EXPECT_TRUE(Drain(*source, kind).empty());
  }
  auto bids = MakeSource({{"kind", {"bid"}}, {"events", {"1000"}}}, 7, 50);
  EXPECT_EQ(Drain(*bids, "bid").size(), 20u);
}

TEST(NexmarkSourceTest, CatalogSchemasAndOptionErrors) {
  auto catalog = OperatorCatalog::Builtin();
  auto bid = catalog.Resolve("nexmark", {}, OperatorOptions("nx", {{"kind", {"bid"}}}));
  ASSERT_TRUE(bid.ok()) << bid.status().ToString();
  EXPECT_EQ(bid->ToString(),
            "(auction INT64 NOT NULL, bidder INT64 NOT NULL, price INT64 NOT NULL, channel STRING NOT NULL, "
            "url STRING NOT NULL, dateTime TIMESTAMP NOT NULL, extra STRING NOT NULL)");
  auto auction = catalog.Resolve("nexmark", {}, OperatorOptions("nx", {{"kind", {"auction"}}, {"events", {"10"}}}));
  ASSERT_TRUE(auction.ok());
  EXPECT_EQ(auction->ToString(),
            "(id INT64 NOT NULL, itemName STRING NOT NULL, description STRING NOT NULL, initialBid INT64 NOT NULL, "
            "reserve INT64 NOT NULL, dateTime TIMESTAMP NOT NULL, expires TIMESTAMP NOT NULL, "
            "seller INT64 NOT NULL, category INT64 NOT NULL, extra STRING NOT NULL)");
  auto person = catalog.Resolve("nexmark", {}, OperatorOptions("nx", {{"kind", {"person"}}}));
  ASSERT_TRUE(person.ok());
  EXPECT_EQ(person->ToString(),
            "(id INT64 NOT NULL, name STRING NOT NULL, emailAddress STRING NOT NULL, creditCard STRING NOT NULL, "
            "city STRING NOT NULL, state STRING NOT NULL, dateTime TIMESTAMP NOT NULL, extra STRING NOT NULL)");

  auto r = catalog.Resolve("nexmark", {}, OperatorOptions("nx", {}));
  EXPECT_THAT(r.status().message(), HasSubstr("option 'kind' is required"));
  r = catalog.Resolve("nexmark", {}, OperatorOptions("nx", {{"kind", {"bids"}}}));
  EXPECT_THAT(r.status().message(), HasSubstr("option 'kind' must be bid, auction or person, got 'bids'"));
  r = catalog.Resolve("nexmark", {}, OperatorOptions("nx", {{"kind", {"bid"}}, {"events-per-second", {"0"}}}));
  EXPECT_THAT(r.status().message(), HasSubstr("'events-per-second' must be positive"));
  r = catalog.Resolve("nexmark", {}, OperatorOptions("nx", {{"kind", {"bid"}}, {"rate", {"-1"}}}));
  EXPECT_THAT(r.status().message(), HasSubstr("'rate' must be >= 0"));
  auto bad = OperatorRegistry::Builtin().CreateSource(SourceSetup({{"kind", {"auctions"}}}));
  EXPECT_FALSE(bad.ok());
}

// ---------------------------------------------------------------------------
// Kinds and ids

TEST(NexmarkGeneratorTest, KindsFollowTheOneThreeFortySixCycle) {
  for (int64_t block = 0; block < 100; ++block) {
    std::map<EventKind, int> counts;
    for (int64_t r = 0; r < 50; ++r) {
      const int64_t n = block * 50 + r;
      const EventKind kind = NexmarkGenerator::KindOf(n);
      counts[kind]++;
      EXPECT_EQ(kind, r < 1 ? EventKind::kPerson : r < 4 ? EventKind::kAuction : EventKind::kBid) << n;
    }
    EXPECT_EQ(counts[EventKind::kPerson], 1);
    EXPECT_EQ(counts[EventKind::kAuction], 3);
    EXPECT_EQ(counts[EventKind::kBid], 46);
  }
  EXPECT_EQ(NexmarkGenerator::KindOf(1'000'000'000'000), EventKind::kPerson);
  EXPECT_EQ(NexmarkGenerator::KindOf(1'000'000'000'003), EventKind::kAuction);
  EXPECT_EQ(NexmarkGenerator::KindOf(1'000'000'000'049), EventKind::kBid);
}

TEST(NexmarkGeneratorTest, IdsAndReferences) {
  NexmarkGenerator gen{NexmarkConfig{}};
  Person person;
  Auction auction;
  Bid bid;
  int64_t next_person = 1000;
  int64_t next_auction = 1000;
  int64_t bids = 0, hot_auction_bids = 0, hot_bidder_bids = 0, auctions = 0, hot_seller_auctions = 0;
  std::set<int64_t> categories;
  for (int64_t n = 0; n < 200'000; ++n) {
    switch (NexmarkGenerator::KindOf(n)) {
      case EventKind::kPerson:
        gen.MakePerson(n, &person);
        ASSERT_EQ(person.id, next_person++) << n;
        ASSERT_EQ(person.id, NexmarkGenerator::LastPersonId(n));
        break;
      case EventKind::kAuction: {
        gen.MakeAuction(n, &auction);
        ASSERT_EQ(auction.id, next_auction++) << n;
        ASSERT_EQ(auction.id, NexmarkGenerator::LastAuctionId(n));
        // The seller exists, or is at most 10 ids ahead of the newest person.
        ASSERT_GE(auction.seller, 1000);
        ASSERT_LE(auction.seller, next_person - 1 + 10) << n;
        ASSERT_GE(auction.category, 10);
        ASSERT_LE(auction.category, 14);
        categories.insert(auction.category);
        ASSERT_GE(auction.reserve - auction.initial_bid, 100);
        ASSERT_GT(auction.expires, auction.date_time);
        ++auctions;
        hot_seller_auctions += auction.seller == ((next_person - 1 - 1000) / 100) * 100 + 1000;
        break;
      }
      case EventKind::kBid: {
        gen.MakeBid(n, &bid);
        const int64_t last_auction = next_auction - 1;
        const int64_t last_person = next_person - 1;
        ASSERT_EQ(last_auction, NexmarkGenerator::LastAuctionId(n));
        ASSERT_EQ(last_person, NexmarkGenerator::LastPersonId(n));
        ASSERT_GE(bid.auction, std::max<int64_t>(1000, last_auction - 100)) << n;
        ASSERT_LE(bid.auction, last_auction + 10) << n;
        ASSERT_GE(bid.bidder, std::max<int64_t>(1000, last_person - 1000)) << n;
        ASSERT_LE(bid.bidder, last_person + 10) << n;
        ++bids;
        hot_auction_bids += bid.auction == ((last_auction - 1000) / 100) * 100 + 1000;
        hot_bidder_bids += bid.bidder == ((last_person - 1000) / 100) * 100 + 1001;
        break;
      }
    }
  }
  EXPECT_EQ(categories.size(), 5u);
  // Hot auction with probability 1/2, hot bidder and seller with 3/4 (plus
  // the few random picks that land on them).
  EXPECT_NEAR(static_cast<double>(hot_auction_bids) / bids, 0.5, 0.02);
  EXPECT_NEAR(static_cast<double>(hot_bidder_bids) / bids, 0.75, 0.02);
  EXPECT_NEAR(static_cast<double>(hot_seller_auctions) / auctions, 0.75, 0.03);
}

// ---------------------------------------------------------------------------
// Distributions

TEST(NexmarkGeneratorTest, PricesAreLogUniformFromOneHundredToOneHundredMillion) {
  NexmarkGenerator gen{NexmarkConfig{}};
  Bid bid;
  std::vector<int> per_decade(7, 0);
  int64_t bids = 0;
  for (int64_t n = 0; n < 200'000; ++n) {
    if (NexmarkGenerator::KindOf(n) != EventKind::kBid) continue;
    gen.MakeBid(n, &bid);
    ASSERT_GE(bid.price, 100);
    ASSERT_LE(bid.price, 100'000'000);
    per_decade[std::min(6, static_cast<int>(std::log10(static_cast<double>(bid.price))) - 2)]++;
    ++bids;
  }
  // Each of the six decades 10^2 .. 10^8 gets about a sixth of the prices.
  for (int d = 0; d < 6; ++d) EXPECT_NEAR(static_cast<double>(per_decade[d]) / bids, 1.0 / 6, 0.01) << d;
}

TEST(NexmarkGeneratorTest, ChannelsAndUrls) {
  NexmarkGenerator gen{NexmarkConfig{}};
  Bid bid;
  int64_t bids = 0, hot = 0, with_id = 0;
  std::map<std::string, std::string> url_of;
  for (int64_t n = 0; n < 400'000; ++n) {
    if (NexmarkGenerator::KindOf(n) != EventKind::kBid) continue;
    gen.MakeBid(n, &bid);
    ++bids;
    std::string channel(bid.channel);
    std::string url(bid.url);
    ASSERT_THAT(url, StartsWith("https://www.nexmark.com/"));
    ASSERT_THAT(url, HasSubstr("/item.htm?query=1"));
    // url = https://www.nexmark.com/<a>/<b>/<c>/item.htm?query=1[&channel_id=<id>]
    ASSERT_EQ(std::count(url.begin(), url.end(), '/'), 6) << url;
    auto [it, inserted] = url_of.emplace(channel, url);
    ASSERT_EQ(it->second, url) << "a channel keeps its url: " << channel;
    if (channel == "Google" || channel == "Facebook" || channel == "Baidu" || channel == "Apple") {
      ++hot;
      ASSERT_THAT(url, ::testing::Not(HasSubstr("channel_id")));
    } else {
      ASSERT_THAT(channel, StartsWith("channel-"));
      const int index = std::stoi(channel.substr(8));
      ASSERT_GE(index, 0);
      ASSERT_LT(index, 10000);
      if (inserted) with_id += url.find("&channel_id=") != std::string::npos;
    }
  }
  EXPECT_NEAR(static_cast<double>(hot) / bids, 0.5, 0.01);
  const double channels_seen = static_cast<double>(url_of.size() - 4);
  EXPECT_GT(channels_seen, 9900);
  EXPECT_NEAR(with_id / channels_seen, 0.9, 0.02);
}

TEST(NexmarkGeneratorTest, ExtraPadsEventsToTheirAverageSize) {
  NexmarkGenerator gen{NexmarkConfig{}};
  Person person;
  Auction auction;
  Bid bid;
  // Event size as the reference counts it: 8 bytes per number or time plus
  // the strings (a bid's channel and url not counted), then `extra`.
  std::map<EventKind, std::pair<double, int64_t>> size_sum;  // sum, count
  std::map<EventKind, std::pair<double, double>> extra_ratio;  // min, max of extra / (avg - rest)
  auto add = [&](EventKind kind, size_t rest, size_t extra, int average) {
    size_sum[kind].first += static_cast<double>(rest + extra);
    size_sum[kind].second++;
    const double ratio = static_cast<double>(extra) / (average - static_cast<double>(rest));
    auto& [lo, hi] = extra_ratio.try_emplace(kind, 10.0, 0.0).first->second;
    lo = std::min(lo, ratio);
    hi = std::max(hi, ratio);
  };
  for (int64_t n = 0; n < 250'000; ++n) {
    switch (NexmarkGenerator::KindOf(n)) {
      case EventKind::kPerson:
        gen.MakePerson(n, &person);
        add(EventKind::kPerson,
            8 + person.name.size() + person.email_address.size() + person.credit_card.size() + person.city.size() +
                person.state.size(),
            person.extra.size(), 200);
        break;
      case EventKind::kAuction:
        gen.MakeAuction(n, &auction);
        add(EventKind::kAuction, 48 + auction.item_name.size() + auction.description.size(), auction.extra.size(),
            500);
        break;
      case EventKind::kBid:
        gen.MakeBid(n, &bid);
        add(EventKind::kBid, 32, bid.extra.size(), 100);
        break;
    }
    // `extra` is lowercase letters.
    ASSERT_TRUE(std::all_of(bid.extra.begin(), bid.extra.end(), [](char c) { return c >= 'a' && c <= 'z'; }));
  }
  EXPECT_NEAR(size_sum[EventKind::kPerson].first / size_sum[EventKind::kPerson].second, 200, 2);
  EXPECT_NEAR(size_sum[EventKind::kAuction].first / size_sum[EventKind::kAuction].second, 500, 3);
  EXPECT_NEAR(size_sum[EventKind::kBid].first / size_sum[EventKind::kBid].second, 100, 0.5);
  for (auto& [kind, range] : extra_ratio) {
    EXPECT_GE(range.first, 0.79) << EventKindName(kind);
    EXPECT_LE(range.second, 1.21) << EventKindName(kind);
    EXPECT_LT(range.first, 0.85) << EventKindName(kind);  // and the whole +-20% is used
    EXPECT_GT(range.second, 1.15) << EventKindName(kind);
  }
}

TEST(NexmarkGeneratorTest, PersonStringsComeFromTheFixedLists) {
  NexmarkGenerator gen{NexmarkConfig{}};
  const std::set<std::string> states = {"AZ", "CA", "ID", "OR", "WA", "WY"};
  std::set<std::string> cities;
  Person p;
  for (int64_t n = 0; n < 100'000; n += 50) {
    gen.MakePerson(n, &p);
    ASSERT_TRUE(states.count(std::string(p.state))) << p.state;
    cities.insert(std::string(p.city));
    ASSERT_EQ(std::count(p.name.begin(), p.name.end(), ' '), 1) << p.name;
    ASSERT_THAT(p.email_address, HasSubstr("@"));
    ASSERT_THAT(p.email_address, ::testing::EndsWith(".com"));
    ASSERT_EQ(p.credit_card.size(), 19u) << p.credit_card;
  }
  EXPECT_EQ(cities.size(), 10u);
}

// ---------------------------------------------------------------------------
// Event time

TEST(NexmarkGeneratorTest, EventTimeIsBaseTimePlusNTimesTheInterEventDelay) {
  NexmarkConfig slow;
  slow.events_per_second = 1000;  // 1 ms per event
  NexmarkGenerator one_per_ms(slow);
  EXPECT_EQ(one_per_ms.EventTimeOf(0), kDefaultBaseTimeMs);
  EXPECT_EQ(one_per_ms.EventTimeOf(1), kDefaultBaseTimeMs + 1);
  EXPECT_EQ(one_per_ms.EventTimeOf(12'345), kDefaultBaseTimeMs + 12'345);
  EXPECT_EQ(one_per_ms.EventTimeOf(1'000'000'000'000), kDefaultBaseTimeMs + 1'000'000'000'000);

  NexmarkGenerator fast{NexmarkConfig{}};  // 10M events/s: 0.1 us per event
  EXPECT_EQ(fast.EventTimeOf(0), kDefaultBaseTimeMs);
  EXPECT_EQ(fast.EventTimeOf(9'999), kDefaultBaseTimeMs);
  EXPECT_EQ(fast.EventTimeOf(10'000), kDefaultBaseTimeMs + 1);
  EXPECT_EQ(fast.EventTimeOf(29'999), kDefaultBaseTimeMs + 2);
  EXPECT_EQ(fast.EventTimeOf(30'000), kDefaultBaseTimeMs + 3);
  EXPECT_EQ(fast.EventTimeOf(123'456'789), kDefaultBaseTimeMs + 12'345);
  EXPECT_EQ(fast.EventTimeOf(100'000'000), kDefaultBaseTimeMs + 10'000);

  NexmarkConfig odd;
  odd.events_per_second = 3.5;
  odd.base_time_ms = 0;
  NexmarkGenerator fractional(odd);
  EXPECT_EQ(fractional.EventTimeOf(7), 2000);
  EXPECT_EQ(fractional.EventTimeOf(1), 285);

  // Every event carries its event time.
  Person p;
  Auction a;
  Bid b;
  one_per_ms.MakePerson(100, &p);
  one_per_ms.MakeAuction(102, &a);
  one_per_ms.MakeBid(149, &b);
  EXPECT_EQ(p.date_time, kDefaultBaseTimeMs + 100);
  EXPECT_EQ(a.date_time, kDefaultBaseTimeMs + 102);
  EXPECT_EQ(b.date_time, kDefaultBaseTimeMs + 149);
}

TEST(NexmarkGeneratorTest, AuctionsLastAboutTheSpanOfTheNextHundredAuctions) {
  NexmarkConfig config;
  config.events_per_second = 1000;
  NexmarkGenerator gen(config);
  Auction a;
  double sum = 0;
  int count = 0;
  for (int64_t n = 0; n < 100'000; ++n) {
    if (NexmarkGenerator::KindOf(n) != EventKind::kAuction) continue;
    gen.MakeAuction(n, &a);
    const int64_t length = a.expires - a.date_time;
    ASSERT_GE(length, 1);
    ASSERT_LE(length, 2 * 1666);  // 100 auctions = 1666 events = 1666 ms here
    sum += static_cast<double>(length);
    ++count;
  }
  EXPECT_NEAR(sum / count, 1666, 40);
}

}  // namespace
}  // namespace sluice::nexmark
