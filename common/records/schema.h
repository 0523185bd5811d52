// Typed schemas: an ordered list of nullable fields. Shared by the job graph
// (each vertex declares its output schema), the binary row format and the
// expression compiler.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice {

enum class FieldType : uint8_t {
  kBool = 0,
  kInt64 = 1,
  kDouble = 2,
  kDecimal = 3,    // int64 unscaled value with a per-field scale
  kString = 4,
  kTimestamp = 5,  // milliseconds since the Unix epoch, UTC
};

// "BOOL", "INT64", "DOUBLE", "DECIMAL", "STRING", "TIMESTAMP".
std::string_view FieldTypeName(FieldType type);

// Accepts the canonical names above, case-insensitively, and the SQL aliases
// BOOLEAN, BIGINT, INT, INTEGER, FLOAT, VARCHAR, TEXT, TIMESTAMP(3) and
// DECIMAL(p,s) (which sets *scale when given).
Result<FieldType> ParseFieldType(std::string_view text, int32_t* scale = nullptr);

struct Field {
  std::string name;
  FieldType type = FieldType::kInt64;
  bool nullable = true;
  int32_t scale = 0;  // DECIMAL only: digits after the point

  bool operator==(const Field& other) const {
    return name == other.name && type == other.type &&
           nullable == other.nullable && scale == other.scale;
  }
};

class Schema {
 public:
  Schema() = default;
  explicit Schema(std::vector<Field> fields) : fields_(std::move(fields)) {}

  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  const Field& field(size_t i) const { return fields_[i]; }
  const std::vector<Field>& fields() const { return fields_; }
  void Add(Field field) { fields_.push_back(std::move(field)); }

  // Index of the field with that exact name.
  std::optional<size_t> IndexOf(std::string_view name) const;

  // "(id INT64, name STRING NOT NULL, price DECIMAL(2))"
  std::string ToString() const;

  bool operator==(const Schema& other) const { return fields_ == other.fields_; }
  bool operator!=(const Schema& other) const { return !(*this == other); }

 private:
  std::vector<Field> fields_;
};

}  // namespace sluice
