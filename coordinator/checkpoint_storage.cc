#include "coordinator/checkpoint_storage.h"

#include <filesystem>
#include <map>
#include <set>
#include <string_view>

#include "common/checksummed_file.h"

namespace sluice {
namespace {

// In errors: "checkpoint <dir>/_metadata is damaged: ...".
constexpr std::string_view kKind = "checkpoint";

}  // namespace

std::string CheckpointDirectory(const std::string& root, const std::string& job_id, int64_t checkpoint_id) {
  return root + "/" + job_id + "/chk-" + std::to_string(checkpoint_id);
}

Status WriteCheckpointMetadata(const std::string& dir, const proto::CheckpointMetadata& metadata) {
  std::string body;
  if (!metadata.SerializeToString(&body)) return Status::Internal("checkpoint " + dir + ": cannot encode metadata");
  return WriteChecksummedFile(dir + "/_metadata", kKind, body).status();
}

Result<proto::CheckpointMetadata> ReadCheckpointMetadata(const std::string& path) {
  std::string file = path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) file = path + "/_metadata";
  auto read = ReadChecksummedFile(file, kKind);
  if (!read.ok()) {
    if (read.status().code() == StatusCode::kNotFound) {
      return Status::NotFound(read.status().message() + " (no such checkpoint?)");
    }
    return read.status();
  }
  proto::CheckpointMetadata metadata;
  if (!metadata.ParseFromArray(read->payload().data(), static_cast<int>(read->payload().size()))) {
    return Status::IoError("checkpoint " + file + " is damaged: cannot decode");
  }
  return metadata;
}

Status CheckRestorable(const proto::CheckpointMetadata& metadata, const proto::JobGraph& graph,
                       int default_max_parallelism) {
  auto groups = [&](const proto::JobGraph& g) {
    return g.max_parallelism() > 0 ? g.max_parallelism() : default_max_parallelism;
  };
  if (groups(metadata.graph()) != groups(graph)) {
    return Status::InvalidArgument("it has " + std::to_string(groups(metadata.graph())) +
                                   " key groups (max parallelism) and the job " + std::to_string(groups(graph)));
  }
  std::set<std::string> operators, vertices;
  std::map<std::string, int> parallelism;
  for (const auto& v : graph.vertices()) {
    vertices.insert(v.id());
    parallelism[v.id()] = v.parallelism();
    for (const auto& op : v.operators()) operators.insert(op.id());
  }
  std::map<std::string, std::pair<int, int>> finished;  // vertex -> (finished, all)
  bool rescaled = false;
  for (const auto& v : metadata.graph().vertices()) {
    auto now = parallelism.find(v.id());
    if (now != parallelism.end() && now->second != v.parallelism()) rescaled = true;
  }
  for (const auto& t : metadata.tasks()) {
    auto& f = finished[t.vertex_id()];
    f.first += t.finished() ? 1 : 0;
    ++f.second;
    if (!t.channel_state().empty() && rescaled) {
      return Status::InvalidArgument("it was taken unaligned and holds in-flight data, which only fits the "
                                     "parallelism it was taken at; take a savepoint (always aligned) to rescale");
    }
    for (const auto& o : t.operators()) {
      if (!operators.count(o.operator_id())) {
        return Status::InvalidArgument("it has state of operator '" + o.operator_id() + "', which the job lacks");
      }
    }
    if (!t.source_position().empty() && !vertices.count(t.vertex_id())) {
      return Status::InvalidArgument("it has the position of source '" + t.vertex_id() + "', which the job lacks");
    }
  }
  for (const auto& [vertex, f] : finished) {
    auto now = parallelism.find(vertex);
    if (f.first > 0 && f.first < f.second && now != parallelism.end() && now->second != f.second) {
      return Status::InvalidArgument("some subtasks of '" + vertex + "' had finished and others not; such a "
                                     "checkpoint can only be restored at the parallelism it was taken at");
    }
  }
  return Status::Ok();
}

void RemoveCheckpoint(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace sluice
