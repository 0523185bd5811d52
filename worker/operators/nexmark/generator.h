// The Nexmark event generator (docs/nexmark.md).
//
// Events are numbered n = 0, 1, 2, ... over one global timeline. Everything
// about event n is a pure function of n and the config: its kind (n % 50),
// its ids (from n's position in the 1 : 3 : 46 person/auction/bid cycle), its
// event time (base time + n * inter-event delay) and its random fields (from
// a small PRNG seeded by n). So event n is the same event at any parallelism,
// after any restart and whatever the wall clock, and a reader's position is
// just the next event number.
//
// The distributions follow the Flink nexmark suite's generator: hot sellers,
// bidders and auctions, log-uniform prices, 4 hot channels, `extra` padding
// events to 200 / 500 / 100 bytes on average. Only the random source differs
// (seeded per event instead of one unseeded stream), so the streams have the
// same shape but not the same values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::nexmark {

namespace internal {
struct Tables;  // the generator's shared, read-only string tables
}  // namespace internal

enum class EventKind : uint8_t { kPerson = 0, kAuction = 1, kBid = 2 };

// "person", "auction", "bid".
const char* EventKindName(EventKind kind);
std::optional<EventKind> ParseEventKind(std::string_view name);

// Proportions of the event cycle: in every 50 events, 1 person, 3 auctions,
// 46 bids, in that order.
inline constexpr int64_t kPersonProportion = 1;
inline constexpr int64_t kAuctionProportion = 3;
inline constexpr int64_t kBidProportion = 46;
inline constexpr int64_t kTotalProportion = kPersonProportion + kAuctionProportion + kBidProportion;

inline constexpr int64_t kFirstPersonId = 1000;
inline constexpr int64_t kFirstAuctionId = 1000;
inline constexpr int64_t kFirstCategoryId = 10;
inline constexpr int64_t kNumCategories = 5;

// 2015-07-15 00:00:00 UTC, as the `datagen` source.
inline constexpr int64_t kDefaultBaseTimeMs = 1436918400000;

struct NexmarkConfig {
  // Total events of all kinds over all readers; -1 = unbounded. The generator
  // itself does not use it; readers stop at it.
  int64_t events = -1;
  // Drives event time only (not the emission rate): event n happens at
  // base_time_ms + n * 1000 / events_per_second milliseconds (rounded down).
  // Must be positive.
  double events_per_second = 10'000'000;
  int64_t base_time_ms = kDefaultBaseTimeMs;
  // Bounded out-of-orderness of the watermark readers derive.
  int64_t watermark_delay_ms = 4000;
};

// String fields held as std::string are rebuilt in place by each Make* call
// (their capacity is reused, so steady state allocates nothing). Fields held
// as std::string_view point into tables the generator shares process-wide
// and stay valid for the life of the program.
struct Person {
  int64_t id = 0;
  std::string name;           // "<first> <last>" from fixed lists
  std::string email_address;  // "<word>@<word>.com"
  std::string credit_card;    // "dddd dddd dddd dddd"
  std::string_view city;
  std::string_view state;
  int64_t date_time = 0;      // ms since the epoch
  std::string_view extra;
};

struct Auction {
  int64_t id = 0;
  std::string item_name;
  std::string description;
  int64_t initial_bid = 0;
  int64_t reserve = 0;        // initial_bid + another price
  int64_t date_time = 0;
  int64_t expires = 0;        // > date_time
  int64_t seller = 0;         // a person id
  int64_t category = 0;       // 10 .. 14
  std::string_view extra;
};

struct Bid {
  int64_t auction = 0;
  int64_t bidder = 0;
  int64_t price = 0;
  std::string_view channel;
  std::string_view url;
  int64_t date_time = 0;
  std::string_view extra;
};

class NexmarkGenerator {
 public:
  explicit NexmarkGenerator(NexmarkConfig config);

  const NexmarkConfig& config() const { return config_; }

  // Person when n % 50 < 1, auction when < 4, else bid.
  static EventKind KindOf(int64_t n) {
    const int64_t r = n % kTotalProportion;
    if (r < kPersonProportion) return EventKind::kPerson;
    if (r < kPersonProportion + kAuctionProportion) return EventKind::kAuction;
    return EventKind::kBid;
  }

  // The newest person / auction id as of event n: the id event n gets if it
  // is of that kind, else the id of the last one before it. LastAuctionId is
  // kFirstAuctionId - 1 before the first auction.
  static int64_t LastPersonId(int64_t n) { return kFirstPersonId + LastPersonBase0(n); }
  static int64_t LastAuctionId(int64_t n) { return kFirstAuctionId + LastAuctionBase0(n); }

  // Event time of event n in ms: base_time_ms + floor(n * 1000 / events_per_second).
  int64_t EventTimeOf(int64_t n) const;

  // Fill *out with event n, which must be of the matching kind.
  void MakePerson(int64_t n, Person* out) const;
  void MakeAuction(int64_t n, Auction* out) const;
  void MakeBid(int64_t n, Bid* out) const;

 private:
  static int64_t LastPersonBase0(int64_t n);
  static int64_t LastAuctionBase0(int64_t n);

  NexmarkConfig config_;
  int64_t integral_rate_ = 0;  // events_per_second when it is a whole number, else 0
  const internal::Tables* tables_;
};

}  // namespace sluice::nexmark
