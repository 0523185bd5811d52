// Job files: YAML that describes a job as a list of operators. The parser
// substitutes parameters, checks the operators against the catalog, chains
// operators joined by FORWARD edges of equal parallelism into vertices, and
// returns the JobGraph the coordinator accepts. docs/job-files.md is the
// user's reference.
#pragma once

#include <map>
#include <string>

#include "common/catalog/operator_catalog.h"
#include "common/status.h"
#include "proto/job.pb.h"

namespace sluice {

struct JobFileOptions {
  std::map<std::string, std::string> parameters;  // -D name=value
  int default_parallelism = 0;                      // -p N; 0 = as in the file
  // The job file's directory (absolute), the value of the built-in parameter
  // ${job-dir}, so files shipped beside a job (q13's side input) are found
  // wherever it is run from. Set by ParseJobFile.
  std::string job_dir;
};

// Job-level config keys (job file 'config:' or -D): pipeline.*; later
// checkpoint.* and restart-strategy.*.
bool IsJobConfigKey(const std::string& key);
// Why `key` cannot be set on a job: unknown (naming the nearest job key),
// or a daemon's key.
std::string UnknownJobConfigKey(const std::string& key);
// -D name=value names a config key rather than a parameter: it is dotted,
// as every config key, or close to a job key.
bool LooksLikeConfigKey(const std::string& name);

// Errors are INVALID_ARGUMENT (NOT_FOUND for a missing file) and start with
// "<path>:<line>: ".
Result<proto::JobGraph> ParseJobFile(const std::string& path, const JobFileOptions& options,
                                     const OperatorCatalog& catalog);
// The same, from YAML text; `origin` names it in messages.
Result<proto::JobGraph> ParseJobYaml(const std::string& yaml, const std::string& origin,
                                     const JobFileOptions& options, const OperatorCatalog& catalog);

}  // namespace sluice
