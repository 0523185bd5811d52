// Partitioning by key (docs/architecture.md, "Keyed state").
//
// A HASH edge routes every record by its key fields: the key is hashed, the
// hash picks one of max_parallelism key groups, and the key group picks the
// consuming subtask. Keyed state is stored per key group, so when the
// parallelism changes whole key groups move between subtasks and no key is
// ever split.
//
// The hash must give the same value in every process on every machine, now
// and after a restart from a checkpoint (state is prefixed with key groups
// computed from it), so it is defined here on field values, never with
// std::hash or on host-dependent byte layouts. Changing it invalidates every
// existing checkpoint; the tests pin fixed values so a change is noticed.
#pragma once

#include <cstdint>
#include <vector>

#include "common/records/row.h"
#include "common/records/schema.h"

namespace sluice {

// Hashes the key fields (indexes into schema/row, in key order) by value:
// INT64, TIMESTAMP and DECIMAL by their int64 (so equal numbers hash equally
// whatever the declared type), DOUBLE by bit pattern with -0.0 folded into
// 0.0 and every NaN into one NaN (values that compare equal, or are all
// "not a number", must land in the same group), BOOL as 0/1, STRING by its
// bytes, NULL as a fixed marker. Field order matters: (a, b) and (b, a) hash
// differently. Allocation-free; the fields must exist in the row.
uint64_t HashKeyFields(const RowView& row, const std::vector<size_t>& fields,
                       const Schema& schema);

// The key group of a hash: an extra mix of the hash (so that key groups also
// come out uniform for hashes whose low bits are weak), modulo
// max_parallelism. max_parallelism > 0. Result in [0, max_parallelism).
int KeyGroupOf(uint64_t hash, int max_parallelism);

// The subtask that owns key_group when the operator runs with `parallelism`
// subtasks: key_group * parallelism / max_parallelism (rounded down).
// Requires 0 <= key_group < max_parallelism and 0 < parallelism <= max_parallelism.
int OperatorIndexForKeyGroup(int key_group, int max_parallelism, int parallelism);

// A contiguous range of key groups [start, end).
struct KeyGroupRange {
  int start = 0;
  int end = 0;  // exclusive

  int size() const { return end - start; }
  bool empty() const { return end <= start; }
  bool Contains(int key_group) const { return key_group >= start && key_group < end; }
  bool operator==(const KeyGroupRange&) const = default;
};

// The key groups owned by subtask `index` of `parallelism`: exactly those
// for which OperatorIndexForKeyGroup returns index, i.e.
// [ceil(index * maxp / p), ceil((index + 1) * maxp / p)). The ranges of all
// subtasks are contiguous and cover [0, max_parallelism); with
// parallelism <= max_parallelism none is empty.
KeyGroupRange KeyGroupRangeForOperator(int index, int max_parallelism, int parallelism);

}  // namespace sluice
