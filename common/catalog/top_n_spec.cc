#include "common/catalog/top_n_spec.h"

#include <algorithm>
#include <cctype>

namespace sluice {

bool IsChangelogSchema(const Schema& s) {
  return !s.empty() && s.field(0).name == "op" && s.field(0).type == FieldType::kString;
}

Result<TopNSpec> ParseTopN(const OperatorOptions& o, const Schema& input) {
  if (IsChangelogSchema(input)) {
    return Status::InvalidArgument("top-n takes an insert-only input; this one carries 'op' (an updating result)");
  }
  TopNSpec spec;
  for (const auto& name : o.GetList("partition-by")) {
    auto f = input.IndexOf(name);
    if (!f) return Status::InvalidArgument("'partition-by': no field '" + name + "' in " + input.ToString());
    spec.partition_by.push_back(*f);
  }
  for (std::string item : o.GetList("order-by")) {
    TopNSpec::Order order;
    std::string upper = item;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
    auto strip = [&](const std::string& suffix) {
      if (upper.size() > suffix.size() && upper.compare(upper.size() - suffix.size(), suffix.size(), suffix) == 0) {
        item.resize(item.size() - suffix.size());
        upper.resize(upper.size() - suffix.size());
        return true;
      }
      return false;
    };
    if (strip(" DESC")) {
      order.descending = true;
    } else {
      strip(" ASC");
    }
    while (!item.empty() && item.back() == ' ') item.pop_back();
    auto f = input.IndexOf(item);
    if (!f) return Status::InvalidArgument("'order-by': no field '" + item + "' in " + input.ToString());
    order.field = *f;
    spec.order_by.push_back(order);
  }
  if (spec.order_by.empty()) return Status::InvalidArgument("'order-by' needs at least one field");
  SLUICE_ASSIGN_OR_RETURN(spec.n, o.GetInt("n", 1));
  if (spec.n < 1 || spec.n > 1000) return Status::InvalidArgument("'n' must be between 1 and 1000");
  spec.rank_field = o.GetStringOr("rank-field", "");
  spec.output.Add({"op", FieldType::kString, false});
  for (const Field& f : input.fields()) spec.output.Add(f);
  if (!spec.rank_field.empty()) {
    if (spec.output.IndexOf(spec.rank_field)) {
      return Status::InvalidArgument("'rank-field': '" + spec.rank_field + "' is already a field");
    }
    spec.output.Add({spec.rank_field, FieldType::kInt64, false});
  }
  return spec;
}

OperatorSignature TopNSignature() {
  OperatorSignature sig;
  sig.type = "top-n";
  sig.description = "The first n rows per partition key by an order (top-N, and deduplication with n: 1); "
                    "emits a changelog.";
  sig.options = {
      {"partition-by", false, "Key fields (a list); omitted = one ranking over all rows."},
      {"order-by", true, "Fields, each optionally followed by ASC or DESC, e.g. [\"price DESC\", dateTime]."},
      {"n", false, "How many rows per key (default 1)."},
      {"rank-field", false, "Name of an output column holding the row number (1..n); omitted = none."},
  };
  sig.infer_output = OutputOf(&ParseTopN);
  sig.input_keys = [](const OperatorOptions& o) {
    return std::vector<std::vector<std::string>>{o.GetList("partition-by")};
  };
  // The output is `op`, then the input's fields as they were.
  sig.keeps_partitioning = KeepsAll;
  return sig;
}

}  // namespace sluice
