#include "worker/network/event.h"

namespace sluice {
namespace {

void StoreI64(uint8_t* p, int64_t value) {
  auto v = static_cast<uint64_t>(value);
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
int64_t LoadI64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return static_cast<int64_t>(v);
}

}  // namespace

std::string Event::ToString() const {
  switch (type) {
    case EventType::kWatermark:
      return "Watermark(" + std::to_string(watermark_ms) + ")";
    case EventType::kCheckpointBarrier:
      return std::string(unaligned ? "UnalignedBarrier(" : "Barrier(") + std::to_string(checkpoint_id) + " @ " +
             std::to_string(checkpoint_timestamp_ms) + ")";
    case EventType::kEndOfPartition:
      return "EndOfPartition";
    case EventType::kWatermarkStatus:
      return idle ? "WatermarkStatus(idle)" : "WatermarkStatus(active)";
  }
  return "UnknownEvent(" + std::to_string(static_cast<int>(type)) + ")";
}

void EncodeEvent(const Event& event, uint8_t* out) {
  int64_t a = 0;
  int64_t b = 0;
  switch (event.type) {
    case EventType::kWatermark:
      a = event.watermark_ms;
      break;
    case EventType::kCheckpointBarrier:
      a = event.checkpoint_id;
      b = event.checkpoint_timestamp_ms;
      break;
    case EventType::kEndOfPartition:
      break;
    case EventType::kWatermarkStatus:
      a = event.idle ? 1 : 0;
      break;
  }
  out[0] = event.type == EventType::kCheckpointBarrier && event.unaligned ? kUnalignedBarrierCode
                                                                         : static_cast<uint8_t>(event.type);
  StoreI64(out + 1, a);
  StoreI64(out + 9, b);
}

Result<Event> DecodeEvent(const uint8_t* data, size_t size) {
  if (size != kEventBytes) {
    return Status::InvalidArgument("event of " + std::to_string(size) +
                                   " bytes, expected exactly " + std::to_string(kEventBytes));
  }
  int64_t a = LoadI64(data + 1);
  int64_t b = LoadI64(data + 9);
  auto unused_nonzero = [&](const char* what) {
    return Status::InvalidArgument(std::string(what) + " event has nonzero unused fields");
  };
  switch (data[0]) {
    case static_cast<uint8_t>(EventType::kWatermark):
      if (b != 0) return unused_nonzero("watermark");
      return Event::Watermark(a);
    case static_cast<uint8_t>(EventType::kCheckpointBarrier):
      return Event::Barrier(a, b);
    case kUnalignedBarrierCode:
      return Event::UnalignedBarrier(a, b);
    case static_cast<uint8_t>(EventType::kEndOfPartition):
      if (a != 0 || b != 0) return unused_nonzero("end-of-partition");
      return Event::EndOfPartition();
    case static_cast<uint8_t>(EventType::kWatermarkStatus):
      if ((a != 0 && a != 1) || b != 0) return Status::InvalidArgument("watermark status event is neither idle nor active");
      return Event::WatermarkStatus(a == 1);
    default:
      return Status::InvalidArgument("unknown event type " + std::to_string(data[0]));
  }
}

}  // namespace sluice
