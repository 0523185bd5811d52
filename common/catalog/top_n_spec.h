// Top-N and deduplication as written in job files, shared by the catalog and
// the runtime operator (Flink's ROW_NUMBER() OVER (PARTITION BY .. ORDER BY
// ..) with a filter rn <= N):
//
//   type: top-n
//   partition-by: [auction]          # the key; omitted = one global ranking
//   order-by: ["price DESC", "dateTime"]   # ASC unless DESC is given
//   n: 10
//   rank-field: rank_number          # optional: output the row number too
//
// The output is a changelog: `op`, then the input fields, then the rank
// field if asked for. Rows with equal sort keys keep their arrival order.
// Deduplication ("the last bid of each bidder on an auction", q18) is top-n
// with n: 1 and the time DESC.
#pragma once

#include <string>
#include <vector>

#include "common/catalog/operator_catalog.h"
#include "common/records/schema.h"
#include "common/status.h"

namespace sluice {

struct TopNSpec {
  std::vector<size_t> partition_by;  // field indexes of the input
  struct Order {
    size_t field = 0;
    bool descending = false;
  };
  std::vector<Order> order_by;
  int64_t n = 1;
  std::string rank_field;  // empty: no rank column
  Schema output;
};

Result<TopNSpec> ParseTopN(const OperatorOptions& options, const Schema& input);

OperatorSignature TopNSignature();

// True for the schema of an updating result: its first field is `op` STRING.
bool IsChangelogSchema(const Schema& schema);

}  // namespace sluice
