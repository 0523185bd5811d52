#include "tests/support/sqlite_reference.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/support/nexmark_time.h"
#include "tests/support/process.h"

namespace sluice::testing {

std::vector<nlohmann::json> ReadJsonRows(const std::string& dir) {
  std::vector<nlohmann::json> rows;
  if (!std::filesystem::exists(dir)) return rows;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    // Hidden files are a sink's staged, unpublished output.
    if (!entry.is_regular_file() || entry.path().filename().string()[0] == '.') continue;
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
  }
  return rows;
}

std::string SqlQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::vector<nlohmann::json> Materialize(const std::vector<nlohmann::json>& changelog) {
  std::map<std::string, std::pair<nlohmann::json, int>> table;  // row without op -> count
  for (nlohmann::json row : changelog) {
    std::string op = row.contains("op") ? row["op"].get<std::string>() : "+I";
    row.erase("op");
    auto& [value, count] = table[row.dump()];
    value = row;
    if (op == "+I" || op == "+U") {
      ++count;
    } else {
      EXPECT_GT(count, 0) << op << " of a row not in the result: " << row.dump();
      --count;
    }
  }
  std::vector<nlohmann::json> rows;
  for (const auto& [_, entry] : table) {
    for (int i = 0; i < entry.second; ++i) rows.push_back(entry.first);
  }
  return rows;
}

std::multiset<std::string> Project(const std::vector<nlohmann::json>& rows, const std::vector<std::string>& fields,
                                   const std::set<std::string>& times) {
  std::multiset<std::string> out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < fields.size(); ++i) {
      const auto& v = r[fields[i]];
      if (i > 0) line += "|";
      line += times.count(fields[i]) ? std::to_string(TimeOfDayMs(v.get<std::string>()))
                                     : (v.is_string() ? v.get<std::string>() : v.dump());
    }
    out.insert(line);
  }
  return out;
}

void AppendInserts(const std::string& table, const std::vector<nlohmann::json>& rows,
                   const std::vector<std::string>& columns, const std::set<std::string>& times, std::string* sql) {
  for (const auto& r : rows) {
    *sql += "INSERT INTO " + table + " VALUES(";
    for (size_t i = 0; i < columns.size(); ++i) {
      const auto& v = r[columns[i]];
      if (i > 0) *sql += ",";
      if (times.count(columns[i])) {
        *sql += std::to_string(TimeOfDayMs(v.get<std::string>()));
      } else if (v.is_string()) {
        *sql += SqlQuote(v.get<std::string>());
      } else {
        *sql += v.dump();
      }
    }
    *sql += ");\n";
  }
}

std::multiset<std::string> SqliteQuery(const std::string& db, const std::string& sql) {
  CommandResult r = RunCommand({"/usr/bin/sqlite3", "-batch", "-list", db, sql});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::multiset<std::string> rows;
  size_t start = 0;
  while (start < r.out.size()) {
    size_t end = r.out.find('\n', start);
    if (end == std::string::npos) end = r.out.size();
    rows.insert(r.out.substr(start, end - start));
    start = end + 1;
  }
  return rows;
}

}  // namespace sluice::testing
