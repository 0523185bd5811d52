// Conversions between the protobuf job graph and Sluice's own types, and the
// schema inference of a whole vertex chain. Include only in .cc files: it
// pulls in protobuf headers.
#pragma once

#include "common/catalog/operator_catalog.h"
#include "proto/job.pb.h"

namespace sluice {

Schema SchemaFromProto(const proto::Schema& schema);
void SchemaToProto(const Schema& schema, proto::Schema* out);
OperatorOptions OptionsFromProto(const proto::OperatorSpec& spec);

// Resolves every operator of the chain in order, starting from the vertex's
// input schemas, fills each operator's output_schema and returns the chain's
// output. Errors name the vertex and the operator.
Result<Schema> ResolveChain(const OperatorCatalog& catalog, const std::vector<Schema>& inputs,
                            proto::Vertex* vertex);

}  // namespace sluice
