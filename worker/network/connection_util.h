// What both ends of a data connection share: the asio names, error text,
// and a rate-limited warning. Internal to the network component.
#pragma once

#include <spdlog/spdlog.h>

#include <boost/asio.hpp>

#include <cstdint>
#include <string>

namespace sluice {

namespace asio = boost::asio;
using asio::ip::tcp;


inline std::string ErrorText(const boost::system::error_code& ec) {
  return ec == asio::error::eof ? "connection closed by peer" : ec.message();
}

// A warning that can repeat thousands of times a second (a connection
// flood): logged at most once per interval, with how many were held back.
class RateLimitedLog {
 public:
  void Note(int64_t now_ms, const std::string& message, spdlog::logger& log) {
    if (now_ms - last_ms_ < kIntervalMs && last_ms_ != 0) {
      ++suppressed_;
      return;
    }
    if (suppressed_ > 0) {
      log.warn("{} ({} more like it in the last {} s)", message, suppressed_, kIntervalMs / 1000);
    } else {
      log.warn("{}", message);
    }
    last_ms_ = now_ms;
    suppressed_ = 0;
  }

 private:
  static constexpr int64_t kIntervalMs = 10000;
  int64_t last_ms_ = 0;
  int64_t suppressed_ = 0;
};


}  // namespace sluice
