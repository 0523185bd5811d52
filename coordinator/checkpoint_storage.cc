#include "coordinator/checkpoint_storage.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <boost/crc.hpp>
#include <unistd.h>

namespace sluice {
namespace {

constexpr char kMagic[8] = {'S', 'L', 'C', 'K', 'P', 'T', '0', '1'};

}  // namespace

std::string CheckpointDirectory(const std::string& root, const std::string& job_id, int64_t checkpoint_id) {
  return root + "/" + job_id + "/chk-" + std::to_string(checkpoint_id);
}

Status WriteCheckpointMetadata(const std::string& dir, const proto::CheckpointMetadata& metadata) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("checkpoint " + dir + ": " + ec.message());
  std::string body;
  if (!metadata.SerializeToString(&body)) return Status::Internal("checkpoint " + dir + ": cannot encode metadata");
  boost::crc_32_type crc;
  crc.process_bytes(body.data(), body.size());
  const uint32_t size = static_cast<uint32_t>(body.size());
  const uint32_t checksum = crc.checksum();
  const std::string temp = dir + "/_metadata.tmp";
  std::FILE* f = std::fopen(temp.c_str(), "wb");
  if (f == nullptr) return Status::IoError("checkpoint " + temp + ": " + std::strerror(errno));
  bool ok = std::fwrite(kMagic, 1, 8, f) == 8 && std::fwrite(&size, 1, 4, f) == 4 &&
            std::fwrite(body.data(), 1, body.size(), f) == body.size() && std::fwrite(&checksum, 1, 4, f) == 4 &&
            std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  int saved = errno;
  std::fclose(f);
  if (!ok) {
    std::filesystem::remove(temp, ec);
    if (saved == ENOSPC) return Status::ResourceExhausted("checkpoint " + dir + ": disk full");
    return Status::IoError("checkpoint " + dir + ": writing _metadata: " + std::strerror(saved));
  }
  std::filesystem::rename(temp, dir + "/_metadata", ec);
  if (ec) return Status::IoError("checkpoint " + dir + ": " + ec.message());
  return Status::Ok();
}

Result<proto::CheckpointMetadata> ReadCheckpointMetadata(const std::string& path) {
  std::string file = path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) file = path + "/_metadata";
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::NotFound("checkpoint " + file + " cannot be read (no such checkpoint?)");
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto damaged = [&](const std::string& what) {
    return Status::IoError("checkpoint " + file + " is damaged: " + what);
  };
  if (data.size() < 16 || std::memcmp(data.data(), kMagic, 8) != 0) return damaged("not a checkpoint, or cut short");
  uint32_t size, stored;
  std::memcpy(&size, data.data() + 8, 4);
  if (data.size() != 16 + static_cast<size_t>(size)) {
    return damaged(std::to_string(data.size()) + " bytes, expected " + std::to_string(16 + size));
  }
  std::memcpy(&stored, data.data() + 12 + size, 4);
  boost::crc_32_type crc;
  crc.process_bytes(data.data() + 12, size);
  if (crc.checksum() != stored) return damaged("checksum mismatch");
  proto::CheckpointMetadata metadata;
  if (!metadata.ParseFromArray(data.data() + 12, static_cast<int>(size))) return damaged("cannot decode");
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
