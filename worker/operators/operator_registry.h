// Creates runtime operators by catalog type.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "worker/operators/operator.h"

namespace sluice {

class OperatorRegistry {
 public:
  using SourceFactory = std::function<Result<std::unique_ptr<SourceOperator>>(const OperatorSetup&)>;
  using OperatorFactory = std::function<Result<std::unique_ptr<Operator>>(const OperatorSetup&)>;

  // The runtime of every built-in catalog type.
  static OperatorRegistry Builtin();

  void AddSource(const std::string& type, SourceFactory factory);
  void AddOperator(const std::string& type, OperatorFactory factory);
  bool Has(const std::string& type) const;
  bool IsSource(const std::string& type) const { return sources_.count(type) > 0; }

  Result<std::unique_ptr<SourceOperator>> CreateSource(const OperatorSetup& setup) const;
  Result<std::unique_ptr<Operator>> CreateOperator(const OperatorSetup& setup) const;

 private:
  std::map<std::string, SourceFactory> sources_;
  std::map<std::string, OperatorFactory> operators_;
};

}  // namespace sluice
