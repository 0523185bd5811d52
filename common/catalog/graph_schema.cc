#include "common/catalog/graph_schema.h"

namespace sluice {

Schema SchemaFromProto(const proto::Schema& schema) {
  Schema out;
  for (const auto& f : schema.fields()) {
    out.Add({f.name(), static_cast<FieldType>(f.type()), f.nullable(), f.scale()});
  }
  return out;
}

void SchemaToProto(const Schema& schema, proto::Schema* out) {
  out->Clear();
  for (const auto& f : schema.fields()) {
    auto* pf = out->add_fields();
    pf->set_name(f.name);
    pf->set_type(static_cast<proto::FieldType>(f.type));
    pf->set_nullable(f.nullable);
    pf->set_scale(f.scale);
  }
}

OperatorOptions OptionsFromProto(const proto::OperatorSpec& spec) {
  OperatorOptions::Map values;
  for (const auto& [name, value] : spec.options()) {
    values[name] = {value.values().begin(), value.values().end()};
  }
  return OperatorOptions(spec.id(), std::move(values));
}

Result<Schema> ResolveChain(const OperatorCatalog& catalog, const std::vector<Schema>& inputs,
                            proto::Vertex* vertex) {
  std::vector<Schema> current = inputs;
  Schema output;
  for (int i = 0; i < vertex->operators_size(); ++i) {
    proto::OperatorSpec* op = vertex->mutable_operators(i);
    auto schema = catalog.Resolve(op->type(), current, OptionsFromProto(*op));
    if (!schema.ok()) return schema.status().WithPrefix("vertex '" + vertex->id() + "'");
    const OperatorSignature* sig = catalog.Find(op->type());
    if (i > 0 && sig->inputs != 1) {
      return Status::InvalidArgument("vertex '" + vertex->id() + "': '" + op->id() +
                                     "' has two inputs, so it must start its vertex");
    }
    if (sig->role == OperatorRole::kSink && i + 1 != vertex->operators_size()) {
      return Status::InvalidArgument("vertex '" + vertex->id() + "': sink '" + op->id() +
                                     "' must be the last operator of its chain");
    }
    SchemaToProto(*schema, op->mutable_output_schema());
    output = *schema;
    current = {output};
  }
  return output;
}

}  // namespace sluice
