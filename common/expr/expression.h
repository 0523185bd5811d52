// Typed scalar expressions over rows: the language of calc operators
// (projection and filter), and later of SQL.
//
// Grammar (SQL-like, case-insensitive keywords):
//   literals     123  -7  1.5  1e3  'text' ('' escapes a quote)  TRUE FALSE NULL
//                TIMESTAMP '2015-07-15 00:00:00.000'
//   fields       name  or  `any name`
//   arithmetic   + - * / %   unary -
//   comparison   = <> != < <= > >=   IS [NOT] NULL   [NOT] BETWEEN a AND b
//                x [NOT] IN (a, b, ...)   s [NOT] LIKE 'pat%'
//   logic        AND OR NOT (SQL three-valued logic)
//   CASE WHEN c THEN v [WHEN ...] [ELSE v] END
//   CAST(x AS type)
//   functions    f(args...); see CompileExpression for the list
// Precedence, loosest first: OR, AND, NOT, comparison/IS/BETWEEN/IN/LIKE,
// + -, * / %, unary -.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/records/row.h"
#include "common/records/schema.h"
#include "common/status.h"

namespace sluice {

// One evaluated value. For STRING, `str` points into the input row, a
// literal, or the EvalContext's scratch space, valid until the context is
// reset.
struct Value {
  FieldType type = FieldType::kInt64;
  bool is_null = true;
  int32_t scale = 0;  // DECIMAL only
  union {
    bool b;
    int64_t i;  // INT64, DECIMAL (unscaled), TIMESTAMP (ms)
    double d;
  };
  std::string_view str;

  Value() : i(0) {}
};

// Scratch space for string results of functions. Owned by the caller (one
// per operator), reset once per row, so evaluation does not allocate after
// warm-up.
class EvalContext {
 public:
  void Reset() {
    used_ = 0;
    current_block_ = 0;
  }
  // Returns space for n bytes that stays valid until Reset().
  char* Allocate(size_t n);

 private:
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::vector<size_t> block_sizes_;
  size_t current_block_ = 0;
  size_t used_ = 0;
};

// A type-checked expression bound to an input schema.
class CompiledExpression {
 public:
  virtual ~CompiledExpression() = default;
  virtual FieldType type() const = 0;
  virtual int32_t scale() const = 0;     // DECIMAL only
  virtual bool nullable() const = 0;
  virtual Value Evaluate(const RowView& row, EvalContext& ctx) const = 0;
  // The expression as text, normalized (for messages and plans).
  virtual std::string ToString() const = 0;
};

// Parses and type-checks `text` against `input`. Errors are INVALID_ARGUMENT
// with the 1-based column and the problem, e.g.
//   "at column 7: unknown field 'prise' (fields: auction, bidder, price)".
//
// Functions: lower, upper, trim, char_length, concat, substring(s, start[,
// len]), split_index(s, delim, index), regexp_extract(s, pattern[, group]),
// count_char(s, c), abs, mod, floor, ceil, round, coalesce, greatest, least, hour(ts),
// minute(ts), date_format(ts, 'yyyy-MM-dd' | 'HH:mm' | ...), to_timestamp_ms(i).
Result<std::unique_ptr<CompiledExpression>> CompileExpression(
    std::string_view text, const Schema& input);

// A projection item "expr [AS name]". Without AS, the expression must be a
// bare field reference, whose name is kept.
struct SelectItem {
  std::string expression;
  std::string name;
};
Result<SelectItem> ParseSelectItem(std::string_view text);

// Stores a value of the expression's type into field i of the builder.
void StoreValue(const Value& value, size_t i, RowBuilder& builder);

}  // namespace sluice
