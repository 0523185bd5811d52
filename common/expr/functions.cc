// Built-in functions. To add one, write a builder and list it in kFunctions.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#include <re2/re2.h>

#include "common/expr/date_format.h"
#include "common/expr/lexer.h"
#include "common/expr/node.h"

namespace sluice::expr {
namespace {

size_t CodePointLength(unsigned char lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

int64_t CountCodePoints(std::string_view s) {
  int64_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// Byte offset after skipping `count` code points from `from` (clamped).
size_t SkipCodePoints(std::string_view s, size_t from, int64_t count) {
  while (count > 0 && from < s.size()) {
    from += CodePointLength(static_cast<unsigned char>(s[from]));
    --count;
  }
  return std::min(from, s.size());
}

bool AnyNullable(const std::vector<NodePtr>& args) {
  for (const NodePtr& a : args) {
    if (a->nullable()) return true;
  }
  return false;
}

// A function that is NULL when any argument is NULL; `Fn` computes the
// result from the non-NULL argument values.
constexpr size_t kMaxStrictArgs = 3;

template <typename Fn>
class StrictCall final : public Node {
 public:
  StrictCall(std::string name, TypeInfo type, bool nullable, std::vector<NodePtr> args, Fn fn)
      : Node(type.type, type.scale, nullable), name_(std::move(name)), args_(std::move(args)),
        fn_(std::move(fn)) {}

  Value Evaluate(const RowView& row, EvalContext& ctx) const override {
    Value v[kMaxStrictArgs];
    for (size_t i = 0; i < args_.size(); ++i) {
      v[i] = args_[i]->Evaluate(row, ctx);
      if (v[i].is_null) return Null();
    }
    return fn_(v, ctx);
  }
  std::string ToString() const override { return CallText(name_, args_); }

 private:
  std::string name_;
  std::vector<NodePtr> args_;
  Fn fn_;
};

// `extra_null` marks functions that can return NULL for non-NULL inputs.
template <typename Fn>
NodePtr Strict(const Ast& call, TypeInfo type, std::vector<NodePtr> args, bool extra_null, Fn fn) {
  const bool nullable = extra_null || AnyNullable(args);
  return std::make_unique<StrictCall<Fn>>(call.text, type, nullable, std::move(args), std::move(fn));
}

std::string ArgCountText(size_t min, size_t max) {
  if (min == max) return std::to_string(min) + (min == 1 ? " argument" : " arguments");
  if (max == SIZE_MAX) return "at least " + std::to_string(min) + " argument" + (min == 1 ? "" : "s");
  return std::to_string(min) + " or " + std::to_string(max) + " arguments";
}

Status ExpectArg(const Ast& call, std::vector<NodePtr>& args, size_t i, FieldType type) {
  if (args[i]->IsUntypedNull()) {
    args[i] = MakeLiteral(NullValue(type));
    return Status::Ok();
  }
  if (args[i]->type() != type) {
    return ErrorAt(call.args[i]->column,
                   call.text + " expects " + std::string(FieldTypeName(type)) + " for argument " +
                       std::to_string(i + 1) + ", got " +
                       TypeText(args[i]->type(), args[i]->scale()));
  }
  return Status::Ok();
}

Status ExpectNumeric(const Ast& call, std::vector<NodePtr>& args, size_t i) {
  if (args[i]->IsUntypedNull()) args[i] = MakeLiteral(NullValue(FieldType::kInt64));
  if (!IsNumeric(args[i]->type())) {
    return ErrorAt(call.args[i]->column, call.text + " expects a number for argument " +
                                             std::to_string(i + 1) + ", got " +
                                             TypeText(args[i]->type(), args[i]->scale()));
  }
  return Status::Ok();
}

// The value of a constant argument (after folding), or nullopt.
std::optional<Value> ConstantArg(const NodePtr& arg) {
  if (!arg->IsLiteral()) return std::nullopt;
  EvalContext unused;
  return arg->Evaluate(RowView(), unused);
}

constexpr TypeInfo kString{FieldType::kString, 0};
constexpr TypeInfo kInt64{FieldType::kInt64, 0};

// ---- strings ----

Result<NodePtr> CaseMap(const Ast& call, std::vector<NodePtr> args, bool upper) {
  SLUICE_RETURN_IF_ERROR(ExpectArg(call, args, 0, FieldType::kString));
  // ASCII letters only: full Unicode case mapping needs tables we do not carry.
  return Strict(call, kString, std::move(args), false, [upper](const Value* v, EvalContext& ctx) {
    const std::string_view s = v[0].str;
    auto changes = [upper](char c) { return upper ? (c >= 'a' && c <= 'z') : (c >= 'A' && c <= 'Z'); };
    size_t first = 0;
    while (first < s.size() && !changes(s[first])) ++first;
    if (first == s.size()) return StringValue(s);  // nothing to change, no copy
    char* out = ctx.Allocate(s.size());
    std::memcpy(out, s.data(), s.size());
    for (size_t i = first; i < s.size(); ++i) {
      if (changes(out[i])) out[i] = static_cast<char>(out[i] ^ 0x20);
    }
    return StringValue({out, s.size()});
  });
}

Result<NodePtr> Lower(const Ast& call, std::vector<NodePtr> args) {
  return CaseMap(call, std::move(args), false);
}
Result<NodePtr> Upper(const Ast& call, std::vector<NodePtr> args) {
  return CaseMap(call, std::move(args), true);
}

Result<NodePtr> Trim(const Ast& call, std::vector<NodePtr> args) {
  SLUICE_RETURN_IF_ERROR(ExpectArg(call, args, 0, FieldType::kString));
  return Strict(call, kString, std::move(args), false, [](const Value* v, EvalContext&) {
    std::string_view s = v[0].str;
    const size_t begin = s.find_first_not_of(' ');
    if (begin == std::string_view::npos) return StringValue({});
    return StringValue(s.substr(begin, s.find_last_not_of(' ') + 1 - begin));
  });
}

Result<NodePtr> CharLength(const Ast& call, std::vector<NodePtr> args) {
  SLUICE_RETURN_IF_ERROR(ExpectArg(call, args, 0, FieldType::kString));
  return Strict(call, kInt64, std::move(args), false, [](const Value* v, EvalContext&) {
    return Int64Value(CountCodePoints(v[0].str));
  });
}

// count_char(s, c): how often the character c occurs in s (the UDF of
// Nexmark q14). c must be a one-byte string.
Result<NodePtr> CountChar(const Ast& call, std::vector<NodePtr> args) {
  SLUICE_RETURN_IF_ERROR(ExpectArg(call, args, 0, FieldType::kString));
  SLUICE_RETURN_IF_ERROR(ExpectArg(call, args, 1, FieldType::kString));
  return Strict(call, kInt64, std::move(args), false, [](const Value* v, EvalContext&) {
    if (v[1].str.size() != 1) return Int64Value(0);
    const char c = v[1].str[0];
    int64_t n = 0;
    for (char x : v[0].str) n += x == c;
    return Int64Value(n);
  });
}

class ConcatNode final : public Node {
 public:
  explicit ConcatNode(std::vector<NodePtr> args)
      : Node(FieldType::kString, 0, AnyNullable(args)), args_(std::move(args)) {}

  Value Evaluate(const RowView& row, EvalContext& ctx) const override {
    constexpr size_t kInline = 16;
    std::string_view inline_parts[kInline];
    std::vector<std::string_view> heap_parts;  // only for very long argument lists
    std::string_view* parts = inline_parts;
    if (args_.size() > kInline) {
      heap_parts.resize(args_.size());
      parts = heap_parts.data();
    }
    size_t total = 0;
    for (size_t i = 0; i < args_.size(); ++i) {
      const Value v = args_[i]->Evaluate(row, ctx);
      if (v.is_null) return Null();
      parts[i] = v.str;
      total += v.str.size();
    }
    char* out = ctx.Allocate(total);
    size_t at = 0;
    for (size_t i = 0; i < args_.size(); ++i) {
      std::memcpy(out + at, parts[i].data(), parts[i].size());
      at += parts[i].size();
    }
    return StringValue({out, total});
  }
  std::string ToString() const override { return CallText("concat", args_); }

 private:
  std::vector<NodePtr> args_;
};

Result<NodePtr> Concat(const Ast& call, std::vector<NodePtr> args) {
  std::vector<int> columns;
  for (const auto& a : call.args) columns.push_back(a->column);
  return MakeConcat(std::move(args), columns);
}

// 1-based like SQL; a start of 0 acts as 1 and a negative start counts from
// the end (as Flink and Spark do); a negative length gives ''.
Result<NodePtr> Substring(const Ast& call, std::vector<NodePtr> args) {
  SLUICE_RETURN_IF_ERROR(ExpectArg(call, args, 0, FieldType::kString));
  SLUICE_RETURN_IF_ERROR(ExpectArg(call, args, 1, FieldType::kInt64));
  const bool has_length = args.size() == 3;
  if (has_length) SLUICE_RETURN_IF_ERROR(ExpectArg(call, args, 2, FieldType::kInt64));
  return Strict(call, kString, std::move(args), false, [has_length](const Value* v, EvalContext&) {
    const std::string_view s = v[0].str;
    const int64_t pos = v[1].i;
    const int64_t length = has_length ? v[2].i : INT64_MAX;
    int64_t start = pos > 0 ? pos - 1 : (pos < 0 ? CountCodePoints(s) + pos : 0);
    int64_t end;
    if (__builtin_add_overflow(start, length, &end)) end = length > 0 ? INT64_MAX : INT64_MIN;
    start = std::max<int64_t>(start, 0);
    if (start >= end) return StringValue({});
    const size_t begin = SkipCodePoints(s, 0, start);
    return StringValue(s.substr(begin, SkipCodePoints(s, begin, end - start) - begin));
  });
}

// Flink's SPLIT_INDEX: the index-th (0-based) piece of s split at every
// occurrence of delim, empty pieces included; NULL when out of range.
Result<NodePtr> SplitIndex(const Ast& call, std::vector<NodePtr> args) {
  SLUICE_RETURN_IF_ERROR(ExpectArg(call, args, 0, FieldType::kString));
  SLUICE_RETURN_IF_ERROR(ExpectArg(call, args, 1, FieldType::kString));
  SLUICE_RETURN_IF_ERROR(ExpectArg(call, args, 2, FieldType::kInt64));
  return Strict(call, kString, std::move(args), true, [](const Value* v, EvalContext&) {
    const std::string_view s = v[0].str, delim = v[1].str;
    const int64_t index = v[2].i;
    if (index < 0) return NullValue(FieldType::kString);
    if (delim.empty()) return index == 0 ? StringValue(s) : NullValue(FieldType::kString);
    size_t from = 0;
    for (int64_t piece = 0;; ++piece) {
      const size_t at = s.find(delim, from);
      if (piece == index) return StringValue(s.substr(from, at == std::string_view::npos ? s.npos : at - from));
      if (at == std::string_view::npos) return NullValue(FieldType::kString);
      from = at + delim.size();
    }
  });
}

// The pattern is compiled once (ECMAScript syntax, close to Java's for the
// usual patterns). Like Flink: search anywhere in s; group 0 is the whole
// match and the default; NULL when nothing matches or the group is absent.
// RE2 rather than std::regex: it matches in linear time without allocating
// per call; Nexmark q21 runs 2.8x faster with it.
class RegexpExtractNode final : public Node {
 public:
  RegexpExtractNode(std::vector<NodePtr> args, std::unique_ptr<re2::RE2> regex)
      : Node(FieldType::kString, 0, true), args_(std::move(args)), regex_(std::move(regex)) {}

  Value Evaluate(const RowView& row, EvalContext& ctx) const override {
    const Value s = args_[0]->Evaluate(row, ctx);
    if (s.is_null) return Null();
    int64_t group = 0;
    if (args_.size() == 3) {
      const Value g = args_[2]->Evaluate(row, ctx);
      if (g.is_null) return Null();
      group = g.i;
    }
    if (group < 0 || group > regex_->NumberOfCapturingGroups() || group >= kMaxGroups) return Null();
    re2::StringPiece input(s.str.data(), s.str.size());
    re2::StringPiece groups[kMaxGroups];
    if (!regex_->Match(input, 0, input.size(), re2::RE2::UNANCHORED, groups, static_cast<int>(group) + 1)) {
      return Null();
    }
    const re2::StringPiece& sub = groups[group];
    if (sub.data() == nullptr) return Null();  // that group took no part in the match
    return StringValue({sub.data(), sub.size()});
  }
  std::string ToString() const override { return CallText("regexp_extract", args_); }

 private:
  static constexpr int64_t kMaxGroups = 32;
  std::vector<NodePtr> args_;
  std::unique_ptr<re2::RE2> regex_;
};

Result<NodePtr> RegexpExtract(const Ast& call, std::vector<NodePtr> args) {
  SLUICE_RETURN_IF_ERROR(ExpectArg(call, args, 0, FieldType::kString));
  if (args.size() == 3) SLUICE_RETURN_IF_ERROR(ExpectArg(call, args, 2, FieldType::kInt64));
  const std::optional<Value> pattern = ConstantArg(args[1]);
  if (!pattern.has_value() || pattern->is_null || pattern->type != FieldType::kString) {
    return ErrorAt(call.args[1]->column, "regexp_extract needs a string literal as its pattern");
  }
  auto regex = std::make_unique<re2::RE2>(re2::StringPiece(pattern->str.data(), pattern->str.size()), re2::RE2::Quiet);
  if (!regex->ok()) {
    return ErrorAt(call.args[1]->column, "bad regular expression '" + std::string(pattern->str) +
                                             "': " + regex->error());
  }
  if (args.size() == 3) {
    const std::optional<Value> group = ConstantArg(args[2]);
    if (group.has_value() && !group->is_null && (group->i < 0 || group->i > regex->NumberOfCapturingGroups())) {
      return ErrorAt(call.args[2]->column, "group " + std::to_string(group->i) +
                                               " out of range: the pattern has " +
                                               std::to_string(regex->NumberOfCapturingGroups()) + " groups");
    }
  }
  return NodePtr(std::make_unique<RegexpExtractNode>(std::move(args), std::move(regex)));
}

// ---- numbers ----

Result<NodePtr> Abs(const Ast& call, std::vector<NodePtr> args) {
  SLUICE_RETURN_IF_ERROR(ExpectNumeric(call, args, 0));
  const TypeInfo type{args[0]->type(), args[0]->scale()};
  return Strict(call, type, std::move(args), false, [](const Value* v, EvalContext&) {
    Value r = v[0];
    if (r.type == FieldType::kDouble) {
      r.d = std::fabs(r.d);
    } else if (r.i < 0) {
      r.i = static_cast<int64_t>(0 - static_cast<uint64_t>(r.i));  // wraps at INT64_MIN like Java
    }
    return r;
  });
}

Result<NodePtr> Mod(const Ast& call, std::vector<NodePtr> args) {
  return MakeArithmetic('%', std::move(args[0]), std::move(args[1]), call.column);
}

// floor and ceil keep INT64 and DOUBLE, and turn DECIMAL(s) into DECIMAL(0).
Result<NodePtr> FloorCeil(const Ast& call, std::vector<NodePtr> args, bool ceil) {
  SLUICE_RETURN_IF_ERROR(ExpectNumeric(call, args, 0));
  const FieldType type = args[0]->type();
  return Strict(call, {type, 0}, std::move(args), false, [ceil](const Value* v, EvalContext&) {
    if (v[0].type == FieldType::kDouble) return DoubleValue(ceil ? std::ceil(v[0].d) : std::floor(v[0].d));
    if (v[0].type == FieldType::kInt64) return v[0];
    const int64_t unit = kPow10[v[0].scale];
    int64_t q = v[0].i / unit;
    const int64_t r = v[0].i % unit;
    if (ceil && r > 0) ++q;
    if (!ceil && r < 0) --q;
    return DecimalValue(q, 0);
  });
}
Result<NodePtr> Floor(const Ast& call, std::vector<NodePtr> args) {
  return FloorCeil(call, std::move(args), false);
}
Result<NodePtr> Ceil(const Ast& call, std::vector<NodePtr> args) {
  return FloorCeil(call, std::move(args), true);
}

// round(x[, d]) rounds half away from zero to d digits after the point (d
// may be negative). d must be a literal because it fixes a DECIMAL's scale.
Result<NodePtr> Round(const Ast& call, std::vector<NodePtr> args) {
  SLUICE_RETURN_IF_ERROR(ExpectNumeric(call, args, 0));
  int64_t digits = 0;
  if (args.size() == 2) {
    const std::optional<Value> d = ConstantArg(args[1]);
    if (!d.has_value() || d->is_null || d->type != FieldType::kInt64) {
      return ErrorAt(call.args[1]->column, "round needs an integer literal as its digit count");
    }
    // The digits stay an argument (a cheap literal) so ToString() shows them.
    digits = std::clamp<int64_t>(d->i, -kMaxDecimalScale, kMaxDecimalScale);
  }
  const int32_t d = static_cast<int32_t>(digits);
  const FieldType type = args[0]->type();
  const int32_t in_scale = args[0]->scale();
  if (type == FieldType::kDouble) {
    return Strict(call, {type, 0}, std::move(args), false, [d](const Value* v, EvalContext&) {
      const double factor = std::pow(10.0, std::abs(d));
      const double x = v[0].d;
      const double scaled = d >= 0 ? x * factor : x / factor;
      if (!std::isfinite(scaled)) return v[0];
      const double rounded = std::round(scaled);
      return DoubleValue(d >= 0 ? rounded / factor : rounded * factor);
    });
  }
  // INT64 and DECIMAL: the result keeps min(scale, max(d, 0)) digits.
  const int32_t out_scale = std::min(in_scale, std::max(d, 0));
  const bool overflow_possible = d < 0;
  return Strict(call, {type, out_scale}, std::move(args), overflow_possible,
                [d, in_scale, out_scale, type](const Value* v, EvalContext&) {
                  int128 r = v[0].i;
                  if (out_scale < in_scale) r = DivRoundHalfUp(r, Pow10Wide(in_scale - out_scale));
                  if (d < 0) {
                    const int128 unit = Pow10Wide(-d);
                    r = DivRoundHalfUp(r, unit) * unit;
                  }
                  if (!FitsInt64(r)) return NullValue(type, out_scale);
                  Value out = v[0];
                  out.i = static_cast<int64_t>(r);
                  out.scale = type == FieldType::kDecimal ? out_scale : 0;
                  return out;
                });
}

class CoalesceNode final : public Node {
 public:
  CoalesceNode(std::vector<NodePtr> args, TypeInfo type, bool nullable)
      : Node(type.type, type.scale, nullable), args_(std::move(args)) {}

  Value Evaluate(const RowView& row, EvalContext& ctx) const override {
    for (const NodePtr& arg : args_) {
      Value v = arg->Evaluate(row, ctx);
      if (!v.is_null) return v;
    }
    return Null();
  }
  std::string ToString() const override { return CallText("coalesce", args_); }

 private:
  std::vector<NodePtr> args_;
};

Result<NodePtr> Coalesce(const Ast& call, std::vector<NodePtr> args) {
  SLUICE_ASSIGN_OR_RETURN(TypeInfo type, CommonType(args, call.column, "coalesce"));
  bool nullable = true;
  for (size_t i = 0; i < args.size(); ++i) {
    SLUICE_ASSIGN_OR_RETURN(args[i], Coerce(std::move(args[i]), type, call.args[i]->column, "coalesce"));
    if (!args[i]->nullable()) nullable = false;
  }
  return NodePtr(std::make_unique<CoalesceNode>(std::move(args), type, nullable));
}

// greatest / least: NULL if any argument is NULL (as in Flink).
class ExtremeNode final : public Node {
 public:
  ExtremeNode(std::string name, std::vector<NodePtr> args, TypeInfo type, CmpKind kind, bool greatest)
      : Node(type.type, type.scale, AnyNullable(args)), name_(std::move(name)),
        args_(std::move(args)), kind_(kind), greatest_(greatest) {}

  Value Evaluate(const RowView& row, EvalContext& ctx) const override {
    Value best = args_[0]->Evaluate(row, ctx);
    if (best.is_null) return Null();
    for (size_t i = 1; i < args_.size(); ++i) {
      const Value v = args_[i]->Evaluate(row, ctx);
      if (v.is_null) return Null();
      const int c = Compare3(kind_, v, best);
      if (greatest_ ? c > 0 : c < 0) best = v;
    }
    return best;
  }
  std::string ToString() const override { return CallText(name_, args_); }

 private:
  std::string name_;
  std::vector<NodePtr> args_;
  CmpKind kind_;
  bool greatest_;
};

Result<NodePtr> Extreme(const Ast& call, std::vector<NodePtr> args, bool greatest) {
  SLUICE_ASSIGN_OR_RETURN(TypeInfo type, CommonType(args, call.column, call.text));
  for (size_t i = 0; i < args.size(); ++i) {
    SLUICE_ASSIGN_OR_RETURN(args[i], Coerce(std::move(args[i]), type, call.args[i]->column, call.text));
  }
  // All arguments now share one type (and scale), so any comparison kind
  // for that type works.
  SLUICE_ASSIGN_OR_RETURN(CmpKind kind, PrepareComparison(args, call.column, call.text));
  return NodePtr(std::make_unique<ExtremeNode>(call.text, std::move(args), type, kind, greatest));
}
Result<NodePtr> Greatest(const Ast& call, std::vector<NodePtr> args) {
  return Extreme(call, std::move(args), true);
}
Result<NodePtr> Least(const Ast& call, std::vector<NodePtr> args) {
  return Extreme(call, std::move(args), false);
}

// ---- time ----

Result<NodePtr> Hour(const Ast& call, std::vector<NodePtr> args) {
  SLUICE_RETURN_IF_ERROR(ExpectArg(call, args, 0, FieldType::kTimestamp));
  return Strict(call, kInt64, std::move(args), false, [](const Value* v, EvalContext&) {
    return Int64Value(FloorMod(v[0].i, 86'400'000) / 3'600'000);
  });
}

Result<NodePtr> Minute(const Ast& call, std::vector<NodePtr> args) {
  SLUICE_RETURN_IF_ERROR(ExpectArg(call, args, 0, FieldType::kTimestamp));
  return Strict(call, kInt64, std::move(args), false, [](const Value* v, EvalContext&) {
    return Int64Value(FloorMod(v[0].i, 3'600'000) / 60'000);
  });
}

Result<NodePtr> ToTimestampMs(const Ast& call, std::vector<NodePtr> args) {
  SLUICE_RETURN_IF_ERROR(ExpectArg(call, args, 0, FieldType::kInt64));
  return Strict(call, {FieldType::kTimestamp, 0}, std::move(args), false,
                [](const Value* v, EvalContext&) { return TimestampValue(v[0].i); });
}

// date_format(ts, 'pattern'); a STRING first argument is parsed as a
// timestamp, as Flink allows.
Result<NodePtr> DateFormat(const Ast& call, std::vector<NodePtr> args) {
  if (args[0]->type() == FieldType::kString && !args[0]->IsUntypedNull()) {
    SLUICE_ASSIGN_OR_RETURN(args[0], MakeCast(std::move(args[0]), {FieldType::kTimestamp, 0},
                                              false, call.args[0]->column));
  }
  SLUICE_RETURN_IF_ERROR(ExpectArg(call, args, 0, FieldType::kTimestamp));
  const std::optional<Value> pattern = ConstantArg(args[1]);
  if (!pattern.has_value() || pattern->is_null || pattern->type != FieldType::kString) {
    return ErrorAt(call.args[1]->column, "date_format needs a string literal as its pattern");
  }
  Result<DateFormatter> formatter = DateFormatter::Compile(pattern->str);
  if (!formatter.ok()) return ErrorAt(call.args[1]->column, formatter.status().message());
  return Strict(call, kString, std::move(args), false,
                [f = std::move(formatter).value()](const Value* v, EvalContext& ctx) {
                  char* out = ctx.Allocate(f.max_length());
                  return StringValue({out, f.Format(v[0].i, out)});
                });
}

struct FunctionSpec {
  std::string_view name;
  size_t min_args;
  size_t max_args;
  Result<NodePtr> (*build)(const Ast&, std::vector<NodePtr>);
};

constexpr FunctionSpec kFunctions[] = {
    {"abs", 1, 1, Abs},
    {"ceil", 1, 1, Ceil},
    {"char_length", 1, 1, CharLength},
    {"count_char", 2, 2, CountChar},
    {"coalesce", 1, SIZE_MAX, Coalesce},
    {"concat", 1, SIZE_MAX, Concat},
    {"date_format", 2, 2, DateFormat},
    {"floor", 1, 1, Floor},
    {"greatest", 1, SIZE_MAX, Greatest},
    {"hour", 1, 1, Hour},
    {"least", 1, SIZE_MAX, Least},
    {"lower", 1, 1, Lower},
    {"minute", 1, 1, Minute},
    {"mod", 2, 2, Mod},
    {"regexp_extract", 2, 3, RegexpExtract},
    {"round", 1, 2, Round},
    {"split_index", 3, 3, SplitIndex},
    {"substring", 2, 3, Substring},
    {"to_timestamp_ms", 1, 1, ToTimestampMs},
    {"trim", 1, 1, Trim},
    {"upper", 1, 1, Upper},
};

}  // namespace

Result<NodePtr> MakeConcat(std::vector<NodePtr> args, const std::vector<int>& columns) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i]->IsUntypedNull()) args[i] = MakeLiteral(NullValue(FieldType::kString));
    if (args[i]->type() != FieldType::kString) {
      return ErrorAt(columns[i], "concat expects STRING for argument " + std::to_string(i + 1) +
                                     ", got " + TypeText(args[i]->type(), args[i]->scale()) +
                                     " (use CAST(x AS STRING))");
    }
  }
  return NodePtr(std::make_unique<ConcatNode>(std::move(args)));
}

Result<NodePtr> CompileCall(const Ast& call, std::vector<NodePtr> args) {
  for (const FunctionSpec& spec : kFunctions) {
    if (spec.name != call.text) continue;
    if (args.size() < spec.min_args || args.size() > spec.max_args) {
      return ErrorAt(call.column, call.text + " expects " + ArgCountText(spec.min_args, spec.max_args) +
                                      ", got " + std::to_string(args.size()));
    }
    return spec.build(call, std::move(args));
  }
  std::string names;
  for (const FunctionSpec& spec : kFunctions) {
    if (!names.empty()) names += ", ";
    names += spec.name;
  }
  return ErrorAt(call.column, "unknown function '" + call.text + "' (functions: " + names + ")");
}

}  // namespace sluice::expr
