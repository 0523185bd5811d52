// For operator tests: a Collector that keeps every row as a JSON line (as
// the file sink writes it) and every watermark, in order.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/records/row_json.h"
#include "worker/operators/operator.h"

namespace sluice {

class JsonCollector final : public Collector {
 public:
  explicit JsonCollector(Schema schema) : schema_(std::move(schema)) {}
  void Collect(const RowView& row) override {
    std::string line;
    AppendRowJson(row, schema_, &line);
    rows.push_back(std::move(line));
  }
  void EmitWatermark(int64_t watermark) override { watermarks.push_back(watermark); }
  // The rows so far, forgotten.
  std::vector<std::string> Take() { return std::exchange(rows, {}); }

  std::vector<std::string> rows;
  std::vector<int64_t> watermarks;

 private:
  Schema schema_;
};

}  // namespace sluice
