#include "common/config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>

namespace sluice {
namespace {

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Splits "12.5 ms" into 12.5 and "ms".
Status SplitNumberUnit(std::string_view text, double* number, std::string* unit) {
  std::string t = Trim(text);
  size_t i = 0;
  while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) ++i;
  if (i == 0) return Status::InvalidArgument("'" + std::string(text) + "' is not a number with a unit");
  try {
    *number = std::stod(t.substr(0, i));
  } catch (...) {
    return Status::InvalidArgument("'" + std::string(text) + "' is not a number");
  }
  *unit = Lower(Trim(t.substr(i)));
  return Status::Ok();
}

void Flatten(const YAML::Node& node, const std::string& prefix,
             std::vector<std::pair<std::string, YAML::Node>>* out) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      std::string key = kv.first.as<std::string>();
      Flatten(kv.second, prefix.empty() ? key : prefix + "." + key, out);
    }
  } else {
    out->emplace_back(prefix, node);
  }
}

}  // namespace

Result<int64_t> ParseInt(std::string_view text) {
  std::string t = Trim(text);
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || ptr != t.data() + t.size() || t.empty()) {
    return Status::InvalidArgument("'" + std::string(text) + "' is not an integer");
  }
  return v;
}

Result<int64_t> ParseDurationMs(std::string_view text) {
  double n = 0;
  std::string unit;
  SLUICE_RETURN_IF_ERROR(SplitNumberUnit(text, &n, &unit));
  double factor = 0;
  if (unit.empty() || unit == "ms" || unit == "milli" || unit == "millis") factor = 1;
  else if (unit == "s" || unit == "sec" || unit == "secs" || unit == "second" || unit == "seconds") factor = 1000;
  else if (unit == "min" || unit == "m" || unit == "minute" || unit == "minutes") factor = 60000;
  else if (unit == "h" || unit == "hour" || unit == "hours") factor = 3600000;
  else return Status::InvalidArgument("'" + std::string(text) + "': unknown duration unit '" + unit + "' (use ms, s, min or h)");
  return static_cast<int64_t>(std::llround(n * factor));
}

Result<int64_t> ParseBytes(std::string_view text) {
  double n = 0;
  std::string unit;
  SLUICE_RETURN_IF_ERROR(SplitNumberUnit(text, &n, &unit));
  double factor = 0;
  if (unit.empty() || unit == "b" || unit == "bytes") factor = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib") factor = 1024.0;
  else if (unit == "m" || unit == "mb" || unit == "mib") factor = 1024.0 * 1024;
  else if (unit == "g" || unit == "gb" || unit == "gib") factor = 1024.0 * 1024 * 1024;
  else return Status::InvalidArgument("'" + std::string(text) + "': unknown size unit '" + unit + "' (use b, kb, mb or gb)");
  return static_cast<int64_t>(std::llround(n * factor));
}

Result<Config> Config::Load(const std::string& yaml_path,
                            const std::vector<std::string>& overrides) {
  Config config;
  if (!yaml_path.empty()) {
    std::ifstream in(yaml_path);
    if (!in) return Status::NotFound("cannot read config file '" + yaml_path + "'");
    YAML::Node root;
    try {
      root = YAML::Load(in);
    } catch (const YAML::Exception& e) {
      return Status::InvalidArgument("config file '" + yaml_path + "' line " +
                                     std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    if (root && !root.IsNull()) {
      if (!root.IsMap()) {
        return Status::InvalidArgument("config file '" + yaml_path + "' must be a map of key: value");
      }
      std::vector<std::pair<std::string, YAML::Node>> entries;
      Flatten(root, "", &entries);
      for (const auto& [key, node] : entries) {
        if (!node.IsScalar()) {
          return Status::InvalidArgument("config file '" + yaml_path + "' line " +
                                         std::to_string(node.Mark().line + 1) + ": key '" + key +
                                         "' must have a scalar value");
        }
        Status s = config.Set(key, node.as<std::string>());
        if (!s.ok()) {
          return Status::InvalidArgument("config file '" + yaml_path + "' line " +
                                         std::to_string(node.Mark().line + 1) + ": " + s.message());
        }
      }
    }
  }
  for (const auto& o : overrides) SLUICE_RETURN_IF_ERROR(config.SetOverride(o));
  return config;
}

Status Config::Set(const std::string& key, const std::string& value) {
  if (FindConfigKey(key) == nullptr) {
    return Status::InvalidArgument("unknown config key '" + key + "' (did you mean '" + NearestConfigKey(key)->name +
                                   "'? see docs/configuration.md)");
  }
  values_[key] = value;
  return Status::Ok();
}

Status Config::SetOverride(const std::string& assignment) {
  size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Status::InvalidArgument("'-D " + assignment + "' must have the form key=value");
  }
  return Set(Trim(assignment.substr(0, eq)), Trim(assignment.substr(eq + 1)));
}

std::string Config::GetString(std::string_view key) const {
  auto it = values_.find(std::string(key));
  if (it != values_.end()) return it->second;
  const ConfigKey* k = FindConfigKey(key);
  return k ? k->default_value : "";
}

Result<int64_t> Config::GetInt(std::string_view key) const {
  auto v = ParseInt(GetString(key));
  if (!v.ok()) return v.status().WithPrefix("config key '" + std::string(key) + "'");
  return v;
}

Result<bool> Config::GetBool(std::string_view key) const {
  std::string v = Lower(GetString(key));
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  return Status::InvalidArgument("config key '" + std::string(key) + "': '" + v + "' is not a boolean");
}

Result<int64_t> Config::GetDurationMs(std::string_view key) const {
  auto v = ParseDurationMs(GetString(key));
  if (!v.ok()) return v.status().WithPrefix("config key '" + std::string(key) + "'");
  return v;
}

Result<int64_t> Config::GetBytes(std::string_view key) const {
  auto v = ParseBytes(GetString(key));
  if (!v.ok()) return v.status().WithPrefix("config key '" + std::string(key) + "'");
  return v;
}

}  // namespace sluice
