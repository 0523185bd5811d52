// Type-checks an Ast against the input schema and builds the node tree.
// Subtrees that read no field are evaluated once here and become literals.
#include "common/expr/lexer.h"
#include "common/expr/node.h"

namespace sluice::expr {
namespace {

template <FieldType kType>
class FieldNode final : public Node {
 public:
  FieldNode(const Field& field, size_t index)
      : Node(kType, field.scale, field.nullable), index_(index), name_(field.name) {}

  Value Evaluate(const RowView& row, EvalContext&) const override {
    Value v;
    v.type = kType;
    v.scale = scale_;
    v.is_null = row.IsNull(index_);
    if (v.is_null) return v;
    if constexpr (kType == FieldType::kBool) {
      v.b = row.GetBool(index_);
    } else if constexpr (kType == FieldType::kDouble) {
      v.d = row.GetDouble(index_);
    } else if constexpr (kType == FieldType::kString) {
      v.str = row.GetString(index_);
    } else {
      v.i = row.GetInt64(index_);
    }
    return v;
  }
  std::string ToString() const override { return FieldText(name_); }

 private:
  size_t index_;
  std::string name_;
};

NodePtr MakeField(const Field& field, size_t index) {
  switch (field.type) {
    case FieldType::kBool: return std::make_unique<FieldNode<FieldType::kBool>>(field, index);
    case FieldType::kInt64: return std::make_unique<FieldNode<FieldType::kInt64>>(field, index);
    case FieldType::kDouble: return std::make_unique<FieldNode<FieldType::kDouble>>(field, index);
    case FieldType::kDecimal: return std::make_unique<FieldNode<FieldType::kDecimal>>(field, index);
    case FieldType::kString: return std::make_unique<FieldNode<FieldType::kString>>(field, index);
    case FieldType::kTimestamp:
      return std::make_unique<FieldNode<FieldType::kTimestamp>>(field, index);
  }
  return nullptr;
}

Result<NodePtr> ExpectBool(NodePtr node, int column, const std::string& what) {
  if (node->IsUntypedNull()) return MakeLiteral(NullValue(FieldType::kBool));
  if (node->type() != FieldType::kBool) {
    return ErrorAt(column, what + " expects BOOL, got " + TypeText(node->type(), node->scale()));
  }
  return node;
}

CmpOp ToCmpOp(const std::string& op) {
  if (op == "=") return CmpOp::kEq;
  if (op == "<>") return CmpOp::kNe;
  if (op == "<") return CmpOp::kLt;
  if (op == "<=") return CmpOp::kLe;
  if (op == ">") return CmpOp::kGt;
  return CmpOp::kGe;
}

class Compiler {
 public:
  explicit Compiler(const Schema& input) : input_(input) {}

  Result<NodePtr> Compile(const Ast& ast) {
    SLUICE_ASSIGN_OR_RETURN(NodePtr node, CompileNode(ast));
    if (node->IsLiteral() || ast.ReadsFields()) return node;
    EvalContext ctx;
    return MakeLiteral(node->Evaluate(RowView(), ctx));
  }

 private:
  Result<std::vector<NodePtr>> CompileArgs(const Ast& ast) {
    std::vector<NodePtr> args;
    for (const auto& arg : ast.args) {
      SLUICE_ASSIGN_OR_RETURN(NodePtr node, Compile(*arg));
      args.push_back(std::move(node));
    }
    return args;
  }

  Result<NodePtr> CompileNode(const Ast& ast) {
    switch (ast.kind) {
      case AstKind::kLiteral: return CompileLiteral(ast);
      case AstKind::kField: return CompileField(ast);
      case AstKind::kCall: {
        SLUICE_ASSIGN_OR_RETURN(std::vector<NodePtr> args, CompileArgs(ast));
        return CompileCall(ast, std::move(args));
      }
      case AstKind::kCast: {
        SLUICE_ASSIGN_OR_RETURN(NodePtr operand, Compile(*ast.args[0]));
        return MakeCast(std::move(operand), {ast.cast_type, ast.cast_scale}, true, ast.column);
      }
      case AstKind::kCase: return CompileCase(ast);
      default: break;
    }
    SLUICE_ASSIGN_OR_RETURN(std::vector<NodePtr> args, CompileArgs(ast));
    switch (ast.kind) {
      case AstKind::kUnary: {
        if (ast.op == "-") return MakeNegate(std::move(args[0]), ast.column);
        SLUICE_ASSIGN_OR_RETURN(args[0], ExpectBool(std::move(args[0]), ast.args[0]->column, "NOT"));
        return MakeNot(std::move(args[0]));
      }
      case AstKind::kBinary: return CompileBinary(ast, std::move(args));
      case AstKind::kIsNull: return MakeIsNull(std::move(args[0]), ast.negated);
      case AstKind::kBetween: {
        SLUICE_ASSIGN_OR_RETURN(CmpKind kind, PrepareComparison(args, ast.column, "BETWEEN"));
        return MakeBetween(std::move(args), kind, ast.negated);
      }
      case AstKind::kIn: {
        SLUICE_ASSIGN_OR_RETURN(CmpKind kind, PrepareComparison(args, ast.column, "IN"));
        return MakeIn(std::move(args), kind, ast.negated);
      }
      case AstKind::kLike: {
        const TypeInfo str{FieldType::kString, 0};
        SLUICE_ASSIGN_OR_RETURN(args[0], Coerce(std::move(args[0]), str, ast.args[0]->column, "LIKE"));
        SLUICE_ASSIGN_OR_RETURN(args[1], Coerce(std::move(args[1]), str, ast.args[1]->column, "LIKE"));
        return MakeLike(std::move(args[0]), std::move(args[1]), ast.negated);
      }
      default: break;
    }
    return ErrorAt(ast.column, "unsupported expression");
  }

  Result<NodePtr> CompileLiteral(const Ast& ast) {
    switch (ast.literal_type) {
      case LiteralType::kNull: return MakeUntypedNull();
      case LiteralType::kBool: return MakeLiteral(BoolValue(ast.bool_value));
      case LiteralType::kInt64: return MakeLiteral(Int64Value(ast.int_value));
      case LiteralType::kDouble: return MakeLiteral(DoubleValue(ast.double_value));
      case LiteralType::kDecimal: return MakeLiteral(DecimalValue(ast.int_value, ast.cast_scale));
      case LiteralType::kString: return MakeLiteral(StringValue(ast.text));
      case LiteralType::kTimestamp: return MakeLiteral(TimestampValue(ast.int_value));
    }
    return ErrorAt(ast.column, "bad literal");
  }

  Result<NodePtr> CompileField(const Ast& ast) {
    std::optional<size_t> index = input_.IndexOf(ast.text);
    if (!index.has_value()) {
      std::string fields;
      for (const Field& f : input_.fields()) {
        if (!fields.empty()) fields += ", ";
        fields += f.name;
      }
      return ErrorAt(ast.column, "unknown field '" + ast.text + "' (fields: " + fields + ")");
    }
    return MakeField(input_.field(*index), *index);
  }

  Result<NodePtr> CompileBinary(const Ast& ast, std::vector<NodePtr> args) {
    const std::string& op = ast.op;
    if (op == "AND" || op == "OR") {
      SLUICE_ASSIGN_OR_RETURN(args[0], ExpectBool(std::move(args[0]), ast.args[0]->column, op));
      SLUICE_ASSIGN_OR_RETURN(args[1], ExpectBool(std::move(args[1]), ast.args[1]->column, op));
      return op == "AND" ? MakeAnd(std::move(args[0]), std::move(args[1]))
                         : MakeOr(std::move(args[0]), std::move(args[1]));
    }
    if (op == "||") {
      return MakeConcat(std::move(args), {ast.args[0]->column, ast.args[1]->column});
    }
    if (op.size() == 1 && std::string_view("+-*/%").find(op[0]) != std::string_view::npos) {
      return MakeArithmetic(op[0], std::move(args[0]), std::move(args[1]), ast.column);
    }
    SLUICE_ASSIGN_OR_RETURN(CmpKind kind, PrepareComparison(args, ast.column, "'" + op + "'"));
    return MakeCompare(ToCmpOp(op), kind, std::move(args[0]), std::move(args[1]));
  }

  Result<NodePtr> CompileCase(const Ast& ast) {
    std::vector<NodePtr> conditions, values;
    std::vector<int> value_columns;
    const size_t pairs = (ast.args.size() - (ast.has_else ? 1 : 0)) / 2;
    for (size_t i = 0; i < pairs; ++i) {
      const Ast& cond_ast = *ast.args[2 * i];
      SLUICE_ASSIGN_OR_RETURN(NodePtr cond, Compile(cond_ast));
      SLUICE_ASSIGN_OR_RETURN(cond, ExpectBool(std::move(cond), cond_ast.column, "WHEN"));
      conditions.push_back(std::move(cond));
      SLUICE_ASSIGN_OR_RETURN(NodePtr value, Compile(*ast.args[2 * i + 1]));
      values.push_back(std::move(value));
      value_columns.push_back(ast.args[2 * i + 1]->column);
    }
    if (ast.has_else) {
      SLUICE_ASSIGN_OR_RETURN(NodePtr value, Compile(*ast.args.back()));
      values.push_back(std::move(value));
      value_columns.push_back(ast.args.back()->column);
    }
    SLUICE_ASSIGN_OR_RETURN(TypeInfo type, CommonType(values, ast.column, "CASE"));
    for (size_t i = 0; i < values.size(); ++i) {
      SLUICE_ASSIGN_OR_RETURN(values[i], Coerce(std::move(values[i]), type, value_columns[i], "CASE"));
    }
    NodePtr otherwise;
    if (ast.has_else) {
      otherwise = std::move(values.back());
      values.pop_back();
    }
    return MakeCase(std::move(conditions), std::move(values), std::move(otherwise), type);
  }

  const Schema& input_;
};

}  // namespace

Result<NodePtr> CompileAst(const Ast& ast, const Schema& input) {
  return Compiler(input).Compile(ast);
}

}  // namespace sluice::expr
