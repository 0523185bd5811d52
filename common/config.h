// Configuration: a YAML file of `key: value` pairs (nested maps flatten to
// dotted keys) plus `-D key=value` overrides. Every key Sluice knows is listed,
// with its default and meaning, in config_keys.cc (and docs/configuration.md);
// an unknown key is an error, so a typo never goes unnoticed.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice {

struct ConfigKey {
  const char* name;
  const char* default_value;
  const char* description;
  // Set per job (job file 'config:', sluice run -D) rather than per daemon.
  bool per_job = false;
};

// Every key Sluice knows, in one table.
const std::vector<ConfigKey>& AllConfigKeys();
const ConfigKey* FindConfigKey(std::string_view name);
// The known key closest to `name` by edit distance (among the per-job keys
// only, with `per_job_only`), to suggest for a misspelt one; never null.
const ConfigKey* NearestConfigKey(std::string_view name, bool per_job_only = false);
// Levenshtein distance: insertions, deletions and substitutions of one byte.
size_t EditDistance(std::string_view a, std::string_view b);

class Config {
 public:
  Config() = default;

  // Loads `yaml_path` (if not empty), then applies "key=value" overrides.
  // Errors name the file, line and key.
  static Result<Config> Load(const std::string& yaml_path,
                             const std::vector<std::string>& overrides);

  // Sets a known key; INVALID_ARGUMENT for an unknown one.
  Status Set(const std::string& key, const std::string& value);
  // Parses "key=value" and sets it.
  Status SetOverride(const std::string& assignment);

  // The configured value or the key's default. Unknown keys are a
  // programming error and return "".
  std::string GetString(std::string_view key) const;
  Result<int64_t> GetInt(std::string_view key) const;
  Result<bool> GetBool(std::string_view key) const;
  // "500ms", "5s", "5 s", "2min", "1h"; a bare number means milliseconds.
  Result<int64_t> GetDurationMs(std::string_view key) const;
  // "64mb", "32 KiB", "1g"; a bare number means bytes.
  Result<int64_t> GetBytes(std::string_view key) const;

  const std::map<std::string, std::string>& explicit_values() const { return values_; }

 private:
  std::map<std::string, std::string> values_;
};

Result<int64_t> ParseDurationMs(std::string_view text);
Result<int64_t> ParseBytes(std::string_view text);
Result<int64_t> ParseInt(std::string_view text);

}  // namespace sluice
