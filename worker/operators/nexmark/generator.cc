#include "worker/operators/nexmark/generator.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

namespace sluice::nexmark {

// ---------------------------------------------------------------------------
// Parameters of the reference generator (Flink nexmark's defaults).

namespace {

// A bid goes to the hot auction with probability 1 - 1/2; an auction's seller
// is the hot seller, and a bid's bidder the hot bidder, with 1 - 1/4.
constexpr uint64_t kHotAuctionRatio = 2;
constexpr uint64_t kHotSellerRatio = 4;
constexpr uint64_t kHotBidderRatio = 4;
// The hot person / auction is the first of each block of this many ids.
constexpr int64_t kHotBlock = 100;
// Random persons come from the newest kActivePeople, random auctions from the
// newest kInFlightAuctions; both may run up to kIdLead ids ahead of the
// newest one generated (so a bid can precede its auction a little).
constexpr int64_t kActivePeople = 1000;
constexpr int64_t kInFlightAuctions = 100;
constexpr int64_t kIdLead = 10;
// An auction lasts on average until kInFlightAuctions more auctions have
// been created, i.e. this many events later.
constexpr int64_t kAuctionHorizonEvents = kInFlightAuctions * kTotalProportion / kAuctionProportion;

// Average event sizes `extra` pads to, and its spread (+-20%).
constexpr int kAvgPersonBytes = 200;
constexpr int kAvgAuctionBytes = 500;
constexpr int kAvgBidBytes = 100;

// Half of the bids come from one of the hot channels, the others from
// channel-<i>, i < kChannels; 9 in 10 of those carry their id in the url.
constexpr uint64_t kHotChannelRatio = 2;
constexpr std::array<std::string_view, 4> kHotChannels = {"Google", "Facebook", "Baidu", "Apple"};
constexpr int kChannels = 10'000;

constexpr std::array<std::string_view, 11> kFirstNames = {"Peter", "Paul", "Luke", "John", "Saul", "Vicky",
                                                          "Kate", "Julie", "Sarah", "Deiter", "Walter"};
constexpr std::array<std::string_view, 9> kLastNames = {"Shultz", "Abrams", "Spencer", "White", "Bartels",
                                                        "Walton", "Smith", "Jones", "Noris"};
constexpr std::array<std::string_view, 10> kCities = {"Phoenix", "Los Angeles", "San Francisco", "Boise",
                                                      "Portland", "Bend", "Redmond", "Seattle", "Kent",
                                                      "Cheyenne"};
constexpr std::array<std::string_view, 6> kStates = {"AZ", "CA", "ID", "OR", "WA", "WY"};

// `extra` strings are windows of one fixed pseudo-random letter pool: a
// random offset and length, no per-event text to produce.
constexpr size_t kExtraPoolSpan = size_t{1} << 16;  // possible offsets
constexpr size_t kMaxExtra = 1024;                   // longest window

// Salts keep the PRNG streams of events, channels and hot urls apart.
constexpr uint64_t kEventSalt = 0x6e65786d61726b31ULL;
constexpr uint64_t kChannelSalt = 0x6368616e6e656c32ULL;
constexpr uint64_t kHotUrlSalt = 0x686f7475726c3333ULL;
constexpr uint64_t kPoolSalt = 0x706f6f6c65787434ULL;

// ---------------------------------------------------------------------------
// Randomness: splitmix64, seeded per event.

uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(Mix64(seed)) {}

  uint64_t Next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return Mix64(state_);
  }
  // Uniform in [0, bound), bound > 0 (multiply-shift; the bias is below
  // bound / 2^64, far under anything measurable here).
  uint64_t Below(uint64_t bound) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * bound) >> 64);
  }
  int64_t Below(int64_t bound) { return static_cast<int64_t>(Below(static_cast<uint64_t>(bound))); }
  // Uniform in [0, 1).
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

// Log-uniform over [100, 10^8]: 100 * 10^(6u) rounded, computed as
// e^(6u ln 10) (exp is several times cheaper than pow).
int64_t Price(Rng& rng) {
  constexpr double kSixLn10 = 13.815510557964274;  // 6 * ln(10)
  return static_cast<int64_t>(std::exp(rng.Unit() * kSixLn10) * 100.0 + 0.5);
}

// A word of 3 .. max_len-1 characters: lowercase letters, each position being
// `special` instead with probability 1/13; with special ' ' the result is
// trimmed. Appends to *out.
void AppendWord(Rng& rng, int max_len, char special, std::string* out) {
  char buf[128];
  assert(max_len > 3 && max_len <= static_cast<int>(sizeof(buf)));
  const int len = 3 + static_cast<int>(rng.Below(static_cast<uint64_t>(max_len - 3)));
  for (int i = 0; i < len; ++i) {
    // One draw out of 13 * 26: the first 26 values are the special character
    // (1/13), the rest map evenly onto the 26 letters.
    const uint64_t v = rng.Below(uint64_t{13 * 26});
    buf[i] = v < 26 ? special : static_cast<char>('a' + (v - 26) % 26);
  }
  int begin = 0;
  int end = len;
  if (special == ' ') {
    while (begin < end && buf[begin] == ' ') ++begin;
    while (end > begin && buf[end - 1] == ' ') --end;
  }
  out->append(buf + begin, static_cast<size_t>(end - begin));
}

uint32_t ReverseBits(uint32_t x) {
  uint32_t r = 0;
  for (int b = 0; b < 32; ++b) {
    r = (r << 1) | (x & 1u);
    x >>= 1;
  }
  return r;
}

// "https://www.nexmark.com/<w>/<w>/<w>/item.htm?query=1", three short words
// that may contain '_'.
std::string MakeUrl(Rng& rng) {
  std::string url = "https://www.nexmark.com/";
  for (int i = 0; i < 3; ++i) {
    AppendWord(rng, 5, '_', &url);
    url += '/';
  }
  url += "item.htm?query=1";
  return url;
}

}  // namespace

namespace internal {

struct Tables {
  std::string extra_pool;  // kExtraPoolSpan + kMaxExtra letters
  std::vector<std::string> channel_names;
  std::vector<std::string> channel_urls;
  std::array<std::string, kHotChannels.size()> hot_urls;

  Tables() {
    Rng pool_rng(kPoolSalt);
    extra_pool.resize(kExtraPoolSpan + kMaxExtra);
    for (char& c : extra_pool) c = static_cast<char>('a' + pool_rng.Below(uint64_t{26}));

    channel_names.reserve(kChannels);
    channel_urls.reserve(kChannels);
    for (int i = 0; i < kChannels; ++i) {
      // Each channel always has the same url, as in the reference (which
      // caches the first url it draws for a channel).
      Rng rng(kChannelSalt + static_cast<uint64_t>(i));
      channel_names.push_back("channel-" + std::to_string(i));
      std::string url = MakeUrl(rng);
      if (rng.Below(uint64_t{10}) > 0) {
        const int64_t id = std::llabs(static_cast<int64_t>(static_cast<int32_t>(ReverseBits(static_cast<uint32_t>(i)))));
        url += "&channel_id=" + std::to_string(id);
      }
      channel_urls.push_back(std::move(url));
    }
    for (size_t i = 0; i < hot_urls.size(); ++i) {
      Rng rng(kHotUrlSalt + i);
      hot_urls[i] = MakeUrl(rng);
    }
  }
};

}  // namespace internal

namespace {

const internal::Tables& SharedTables() {
  static const internal::Tables tables;  // built once, thread-safe
  return tables;
}

// `extra` for an event whose other fields take current_size bytes: on average
// average - current_size letters, +-20%, none if the event is already larger.
std::string_view Extra(Rng& rng, const internal::Tables& tables, int current_size, int average) {
  if (current_size >= average) return {};
  const int want = average - current_size;
  const int delta = (want + 2) / 5;  // want / 5 rounded (it never ends in .5)
  int len = want - delta;
  if (delta > 0) len += static_cast<int>(rng.Below(static_cast<uint64_t>(2 * delta)));
  len = std::min(len, static_cast<int>(kMaxExtra));
  const size_t offset = rng.Below(uint64_t{kExtraPoolSpan});
  return std::string_view(tables.extra_pool).substr(offset, static_cast<size_t>(len));
}

// A random recent person (base 0): one of the newest kActivePeople, or up to
// kIdLead - 1 ids beyond the newest.
int64_t RandomPersonBase0(int64_t last_person_base0, Rng& rng) {
  const int64_t count = last_person_base0 + 1;
  const int64_t active = std::min(count, kActivePeople);
  return count - active + rng.Below(active + kIdLead);
}

// A random auction likely still open (base 0): in [last - 100, last + 10],
// clamped at 0.
int64_t RandomAuctionBase0(int64_t last_auction_base0, Rng& rng) {
  const int64_t low = std::max<int64_t>(last_auction_base0 - kInFlightAuctions, 0);
  return low + rng.Below(last_auction_base0 - low + 1 + kIdLead);
}

void AppendDigits4(int value, std::string* out) {
  char buf[4] = {'0', '0', '0', '0'};
  for (int i = 3; i >= 0 && value > 0; --i, value /= 10) buf[i] = static_cast<char>('0' + value % 10);
  out->append(buf, 4);
}

Rng EventRng(int64_t n) { return Rng(static_cast<uint64_t>(n) ^ kEventSalt); }

}  // namespace

const char* EventKindName(EventKind kind) {
  switch (kind) {
    case EventKind::kPerson: return "person";
    case EventKind::kAuction: return "auction";
    case EventKind::kBid: return "bid";
  }
  return "?";
}

std::optional<EventKind> ParseEventKind(std::string_view name) {
  if (name == "person") return EventKind::kPerson;
  if (name == "auction") return EventKind::kAuction;
  if (name == "bid") return EventKind::kBid;
  return std::nullopt;
}

NexmarkGenerator::NexmarkGenerator(NexmarkConfig config) : config_(config), tables_(&SharedTables()) {
  const double rate = config_.events_per_second;
  assert(rate > 0 && "events_per_second must be positive");
  if (rate >= 1 && rate <= 1e15 && std::floor(rate) == rate) integral_rate_ = static_cast<int64_t>(rate);
}

int64_t NexmarkGenerator::LastPersonBase0(int64_t n) {
  const int64_t epoch = n / kTotalProportion;
  const int64_t offset = std::min(n % kTotalProportion, kPersonProportion - 1);
  return epoch * kPersonProportion + offset;
}

int64_t NexmarkGenerator::LastAuctionBase0(int64_t n) {
  int64_t epoch = n / kTotalProportion;
  int64_t offset = n % kTotalProportion;
  if (offset < kPersonProportion) {
    // A person: the last auction is the last one of the previous cycle.
    --epoch;
    offset = kAuctionProportion - 1;
  } else if (offset >= kPersonProportion + kAuctionProportion) {
    offset = kAuctionProportion - 1;  // a bid: the last auction of this cycle
  } else {
    offset -= kPersonProportion;  // an auction: this one
  }
  return epoch * kAuctionProportion + offset;
}

int64_t NexmarkGenerator::EventTimeOf(int64_t n) const {
  if (integral_rate_ > 0) {
    constexpr int64_t kNarrow = std::numeric_limits<int64_t>::max() / 1000;  // n * 1000 fits in 64 bits
    if (n <= kNarrow) return config_.base_time_ms + n * 1000 / integral_rate_;
    return config_.base_time_ms + static_cast<int64_t>(static_cast<__int128>(n) * 1000 / integral_rate_);
  }
  return config_.base_time_ms +
         static_cast<int64_t>(std::floor(static_cast<long double>(n) * 1000.0L /
                                         static_cast<long double>(config_.events_per_second)));
}

void NexmarkGenerator::MakePerson(int64_t n, Person* out) const {
  assert(KindOf(n) == EventKind::kPerson);
  Rng rng = EventRng(n);
  out->id = LastPersonId(n);
  out->name.assign(kFirstNames[rng.Below(kFirstNames.size())]);
  out->name += ' ';
  out->name.append(kLastNames[rng.Below(kLastNames.size())]);
  out->email_address.clear();
  AppendWord(rng, 7, ' ', &out->email_address);
  out->email_address += '@';
  AppendWord(rng, 5, ' ', &out->email_address);
  out->email_address += ".com";
  out->credit_card.clear();
  for (int i = 0; i < 4; ++i) {
    if (i > 0) out->credit_card += ' ';
    AppendDigits4(static_cast<int>(rng.Below(uint64_t{10000})), &out->credit_card);
  }
  out->city = kCities[rng.Below(kCities.size())];
  out->state = kStates[rng.Below(kStates.size())];
  out->date_time = EventTimeOf(n);
  const size_t size = 8 + out->name.size() + out->email_address.size() + out->credit_card.size() +
                      out->city.size() + out->state.size();
  out->extra = Extra(rng, *tables_, static_cast<int>(size), kAvgPersonBytes);
}

void NexmarkGenerator::MakeAuction(int64_t n, Auction* out) const {
  assert(KindOf(n) == EventKind::kAuction);
  Rng rng = EventRng(n);
  out->id = LastAuctionId(n);
  const int64_t last_person = LastPersonBase0(n);
  const int64_t seller = rng.Below(kHotSellerRatio) > 0 ? (last_person / kHotBlock) * kHotBlock
                                                        : RandomPersonBase0(last_person, rng);
  out->seller = kFirstPersonId + seller;
  out->category = kFirstCategoryId + rng.Below(kNumCategories);
  out->initial_bid = Price(rng);
  out->reserve = out->initial_bid + Price(rng);
  out->date_time = EventTimeOf(n);
  // Open for a random time averaging the span of the next kInFlightAuctions
  // auctions, at least 1 ms.
  const int64_t horizon = EventTimeOf(n + kAuctionHorizonEvents) - out->date_time;
  out->expires = out->date_time + 1 + rng.Below(std::max<int64_t>(2 * horizon, 1));
  out->item_name.clear();
  AppendWord(rng, 20, ' ', &out->item_name);
  out->description.clear();
  AppendWord(rng, 100, ' ', &out->description);
  const size_t size = 8 + out->item_name.size() + out->description.size() + 5 * 8;
  out->extra = Extra(rng, *tables_, static_cast<int>(size), kAvgAuctionBytes);
}

void NexmarkGenerator::MakeBid(int64_t n, Bid* out) const {
  assert(KindOf(n) == EventKind::kBid);
  Rng rng = EventRng(n);
  const int64_t last_auction = LastAuctionBase0(n);
  const int64_t auction = rng.Below(kHotAuctionRatio) > 0 ? (last_auction / kHotBlock) * kHotBlock
                                                          : RandomAuctionBase0(last_auction, rng);
  out->auction = kFirstAuctionId + auction;
  // The hot bidder is the second person of the block, so it is not the hot
  // seller.
  const int64_t last_person = LastPersonBase0(n);
  const int64_t bidder = rng.Below(kHotBidderRatio) > 0 ? (last_person / kHotBlock) * kHotBlock + 1
                                                        : RandomPersonBase0(last_person, rng);
  out->bidder = kFirstPersonId + bidder;
  out->price = Price(rng);
  if (rng.Below(kHotChannelRatio) > 0) {
    const uint64_t i = rng.Below(uint64_t{kHotChannels.size()});
    out->channel = kHotChannels[i];
    out->url = tables_->hot_urls[i];
  } else {
    const uint64_t i = rng.Below(uint64_t{kChannels});
    out->channel = tables_->channel_names[i];
    out->url = tables_->channel_urls[i];
  }
  out->date_time = EventTimeOf(n);
  out->extra = Extra(rng, *tables_, 4 * 8, kAvgBidBytes);
}

}  // namespace sluice::nexmark
