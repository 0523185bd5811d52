// Status <-> grpc::Status, the one mapping every service and client uses.
#pragma once

#include <grpcpp/support/status.h>

#include <string>

#include "common/status.h"

namespace sluice {

grpc::Status ToGrpcStatus(const Status& status);
// Keeps the code; the message becomes "<what>: <grpc message>".
Status FromGrpcStatus(const grpc::Status& status, const std::string& what);

}  // namespace sluice
