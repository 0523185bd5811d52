// Checking Nexmark results against SQLite (Debian's sqlite3): helpers to
// load JSON-lines output into tables, run reference SQL, and read Sluice's
// output back, materializing changelogs.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::testing {

// Every JSON line of every file under `dir`.
std::vector<nlohmann::json> ReadJsonRows(const std::string& dir);

// A SQL string literal.
std::string SqlQuote(const std::string& s);

// The materialized table of a changelog: +I and +U rows add a row, -U and -D
// remove an equal row (they carry the exact row they retract). Rows without
// `op` are inserts. Fails the test when a retraction finds nothing.
std::vector<nlohmann::json> Materialize(const std::vector<nlohmann::json>& changelog);

// Fields of rows joined by '|'; TIMESTAMP fields (named in `times`) become
// milliseconds since midnight, strings are written bare.
std::multiset<std::string> Project(const std::vector<nlohmann::json>& rows, const std::vector<std::string>& fields,
                                   const std::set<std::string>& times = {});

// Appends INSERTs of `rows` into `table` to `sql`: `columns` in order, those in
// `times` as milliseconds since midnight, strings quoted.
void AppendInserts(const std::string& table, const std::vector<nlohmann::json>& rows,
                   const std::vector<std::string>& columns, const std::set<std::string>& times, std::string* sql);

// Runs `sql` against the database file; rows as "a|b|c".
std::multiset<std::string> SqliteQuery(const std::string& db, const std::string& sql);

}  // namespace sluice::testing
