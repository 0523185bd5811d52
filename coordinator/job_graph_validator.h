// Validation of a submitted job graph, before anything is created for it.
#pragma once

#include "common/catalog/operator_catalog.h"
#include "common/status.h"
#include "proto/job.pb.h"

namespace sluice {

// Checks the graph and fills in what follows from it (max parallelism,
// operator output schemas). Every error is INVALID_ARGUMENT and names the
// vertex or edge and the problem: empty graph, duplicate or empty ids,
// parallelism outside 1..max parallelism, dangling edges, cycles, unknown
// operators or options, a source that is not the head of an input-less
// vertex, inputs of one vertex with different schemas, and declared output
// schemas that differ from the inferred ones, and keyed operators above
// parallelism 1 whose rows are not hashed by exactly their key (their
// subtasks would each emit a partial result per key).
Status ValidateJobGraph(const OperatorCatalog& catalog, int default_max_parallelism,
                        proto::JobGraph* graph);

// Refuses (FAILED_PRECONDITION) a file sink whose directory holds visible
// files, unless it has `overwrite: true`: a new job's output would mix with
// an earlier run's. Called on submission, not when the job restores from a
// checkpoint or savepoint (the directory then holds its own earlier output).
// The directory is looked at on the coordinator's filesystem.
Status CheckSinkDirectories(const proto::JobGraph& graph);

}  // namespace sluice
