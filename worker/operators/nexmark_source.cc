#include "worker/operators/nexmark_source.h"

#include <charconv>
#include <chrono>
#include <numeric>
#include <thread>

namespace sluice {
namespace {

using nexmark::EventKind;
using nexmark::NexmarkGenerator;

int64_t MonotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Field indexes of NexmarkSchema(kind).
namespace person_field {
enum { kId, kName, kEmailAddress, kCreditCard, kCity, kState, kDateTime, kExtra };
}
namespace auction_field {
enum { kId, kItemName, kDescription, kInitialBid, kReserve, kDateTime, kExpires, kSeller, kCategory, kExtra };
}
namespace bid_field {
enum { kAuction, kBidder, kPrice, kChannel, kUrl, kDateTime, kExtra };
}

}  // namespace

Result<std::unique_ptr<SourceOperator>> NexmarkSource::Create(const OperatorSetup& setup) {
  auto error = [&](const std::string& problem) {
    return Status::InvalidArgument("operator '" + setup.id + "': " + problem);
  };
  SLUICE_ASSIGN_OR_RETURN(NexmarkSpec spec, BindSpec(setup, ParseNexmark(setup.options)));
  auto kind = nexmark::ParseEventKind(spec.kind);
  if (!kind) return error("no generator for event kind '" + spec.kind + "'");  // NexmarkSchema knows it
  nexmark::NexmarkConfig config;
  config.events = spec.events;
  config.events_per_second = spec.events_per_second;
  config.base_time_ms = spec.base_time_ms;
  if (setup.parallelism < 1 || setup.subtask < 0 || setup.subtask >= setup.parallelism) {
    return error("bad subtask " + std::to_string(setup.subtask) + " of " + std::to_string(setup.parallelism));
  }
  return std::unique_ptr<SourceOperator>(
      new NexmarkSource(*kind, config, spec.rate, setup.subtask, setup.parallelism));
}

NexmarkSource::NexmarkSource(EventKind kind, nexmark::NexmarkConfig config, double rate, int subtask,
                             int parallelism)
    : kind_(kind),
      generator_(config),
      end_(config.events < 0 ? std::numeric_limits<int64_t>::max() : config.events),
      events_per_ms_(rate / 1000.0 / parallelism),
      subtask_(subtask),
      parallelism_(parallelism),
      next_event_(subtask),
      builder_(NexmarkSchema(nexmark::EventKindName(kind)).size()) {
  // The event numbers of this subtask cover exactly the positions r of the
  // 50-event cycle with r = subtask (mod gcd(p, 50)); if none of those is of
  // this kind, the subtask has nothing to emit.
  const int64_t g = std::gcd(parallelism_, nexmark::kTotalProportion);
  reachable_ = false;
  for (int64_t r = subtask_ % g; r < nexmark::kTotalProportion; r += g) {
    reachable_ = reachable_ || NexmarkGenerator::KindOf(r) == kind_;
  }
}

// A position is the next event number, as SnapshotPosition wrote it; it
// must belong to this subtask (same parallelism as when it was taken).
Status NexmarkSource::RestorePosition(std::string_view position) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(position.data(), position.data() + position.size(), n);
  if (ec != std::errc() || end != position.data() + position.size() || n < 0 || n % parallelism_ != subtask_) {
    return Status::InvalidArgument("nexmark source: position '" + std::string(position) + "' is not one of subtask " +
                                   std::to_string(subtask_) + " of " + std::to_string(parallelism_));
  }
  next_event_ = n;
  paced_from_ = (n - subtask_) / parallelism_;
  return Status::Ok();
}

Status NexmarkSource::RestoreRescaled(const std::vector<std::string>& positions) {
  auto parsed = RescaledPositions::Parse(positions);
  if (!parsed.ok()) return parsed.status().WithPrefix("nexmark source");
  rescaled_ = std::move(*parsed);
  next_event_ = rescaled_->Start(subtask_, parallelism_);
  paced_from_ = (next_event_ - subtask_) / parallelism_;
  return Status::Ok();
}

Status NexmarkSource::Open() {
  start_ms_ = MonotonicMs();
  return Status::Ok();
}

void NexmarkSource::EmitOne(int64_t n, Collector& out) {
  builder_.Reset();
  switch (kind_) {
    case EventKind::kPerson: {
      generator_.MakePerson(n, &person_);
      const auto& p = person_;
      builder_.SetInt64(person_field::kId, p.id);
      builder_.SetString(person_field::kName, p.name);
      builder_.SetString(person_field::kEmailAddress, p.email_address);
      builder_.SetString(person_field::kCreditCard, p.credit_card);
      builder_.SetString(person_field::kCity, p.city);
      builder_.SetString(person_field::kState, p.state);
      builder_.SetTimestampMillis(person_field::kDateTime, p.date_time);
      builder_.SetString(person_field::kExtra, p.extra);
      last_event_time_ = p.date_time;
      break;
    }
    case EventKind::kAuction: {
      generator_.MakeAuction(n, &auction_);
      const auto& a = auction_;
      builder_.SetInt64(auction_field::kId, a.id);
      builder_.SetString(auction_field::kItemName, a.item_name);
      builder_.SetString(auction_field::kDescription, a.description);
      builder_.SetInt64(auction_field::kInitialBid, a.initial_bid);
      builder_.SetInt64(auction_field::kReserve, a.reserve);
      builder_.SetTimestampMillis(auction_field::kDateTime, a.date_time);
      builder_.SetTimestampMillis(auction_field::kExpires, a.expires);
      builder_.SetInt64(auction_field::kSeller, a.seller);
      builder_.SetInt64(auction_field::kCategory, a.category);
      builder_.SetString(auction_field::kExtra, a.extra);
      last_event_time_ = a.date_time;
      break;
    }
    case EventKind::kBid: {
      generator_.MakeBid(n, &bid_);
      const auto& b = bid_;
      builder_.SetInt64(bid_field::kAuction, b.auction);
      builder_.SetInt64(bid_field::kBidder, b.bidder);
      builder_.SetInt64(bid_field::kPrice, b.price);
      builder_.SetString(bid_field::kChannel, b.channel);
      builder_.SetString(bid_field::kUrl, b.url);
      builder_.SetTimestampMillis(bid_field::kDateTime, b.date_time);
      builder_.SetString(bid_field::kExtra, b.extra);
      last_event_time_ = b.date_time;
      break;
    }
  }
  out.Collect(builder_.Finish());
}

Status NexmarkSource::Emit(Collector& out, size_t max_rows, bool* done) {
  if (!reachable_) {
    *done = true;
    return Status::Ok();
  }
  // Event numbers below `limit` may be read in this call.
  int64_t limit = end_;
  if (events_per_ms_ > 0 && next_event_ < end_) {
    // `rate` paces the events this subtask passes over, of every kind, so
    // sources of different kinds move through event time together.
    const int64_t allowed = static_cast<int64_t>((MonotonicMs() - start_ms_) * events_per_ms_) + 1;
    const int64_t passed = (next_event_ - subtask_) / parallelism_ - paced_from_;
    if (allowed <= passed) {
      // Sleep a little, never long, so the task sees a cancel promptly.
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      *done = false;
      return Status::Ok();
    }
    if (allowed + paced_from_ < (end_ - subtask_) / parallelism_) {
      limit = subtask_ + (allowed + paced_from_) * parallelism_;
    }
  }
  for (size_t rows = 0; rows < max_rows; ++rows) {
    // Skip other kinds; at most 50 steps since the kind is reachable.
    while (next_event_ < limit && (NexmarkGenerator::KindOf(next_event_) != kind_ ||
                                   (rescaled_ && rescaled_->Read(next_event_)))) {
      next_event_ += parallelism_;
    }
    if (next_event_ >= limit) break;
    if (rescaled_ && next_event_ >= rescaled_->end()) rescaled_.reset();
    EmitOne(next_event_, out);
    next_event_ += parallelism_;
  }
  *done = next_event_ >= end_;
  return Status::Ok();
}

}  // namespace sluice
