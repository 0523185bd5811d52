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

// Bounds on what a client may submit. The coordinator keeps every job's
// graph (up to jobs.retained of them) and sends names back in every list and
// status reply, so nothing a client sends may grow without limit. Each bound
// is far above what a real job needs: the largest Nexmark job serializes to
// a few KiB.
struct JobLimits {
  size_t max_graph_bytes = 1 << 20;          // the whole serialized graph: 1 MiB
  size_t max_name_bytes = 1024;              // the job's name, a line of `sluice list`
  size_t max_id_bytes = 256;                 // vertex and operator ids, edge ends, key and field names
  size_t max_options = 256;                  // options of one operator (the catalog's largest has ~15)
  size_t max_option_key_bytes = 256;
  size_t max_option_value_bytes = 64 << 10;  // an expression or a path: 64 KiB
  size_t max_config_keys = 128;              // job config keys (about 30 exist)
  size_t max_config_key_bytes = 256;
  size_t max_config_value_bytes = 4096;      // a duration, a number, a directory
};

// Checks the limits above before anything else looks at the graph: every
// error is INVALID_ARGUMENT, names the field (and where it is) and the limit,
// and quotes at most the start of an oversized value.
Status CheckJobLimits(const proto::JobGraph& graph, const JobLimits& limits = {});

// Every key of the job's config must be a job key of the config table: an
// unknown one (a typo, say) is INVALID_ARGUMENT naming it and the nearest
// job key; a daemon's key is refused as one a job cannot set.
Status ValidateJobConfig(const proto::JobGraph& graph);

// Refuses (FAILED_PRECONDITION) a file sink whose directory holds visible
// files, unless it has `sink.overwrite: true`: a new job's output would mix with
// an earlier run's. Called on submission, not when the job restores from a
// checkpoint or savepoint (the directory then holds its own earlier output).
// The directory is looked at on the coordinator's filesystem.
Status CheckSinkDirectories(const proto::JobGraph& graph);

}  // namespace sluice
