#include "worker/operators/file_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "worker/operators/csv_row.h"
#include "worker/operators/testing/json_collector.h"

namespace sluice {
namespace {

using ::testing::HasSubstr;

class FileSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/sluice-file-source-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    // 6 files of 50 lines: "<file>,<line>,2015-07-15 00:00:<line>.000".
    for (int f = 0; f < 6; ++f) {
      std::ofstream out(dir_ + "/part-" + std::to_string(f) + ".csv");
      for (int i = 0; i < 50; ++i) {
        out << f << "," << i << ",2015-07-15 00:00:" << (i < 10 ? "0" : "") << i << ".000\n";
      }
    }
    std::ofstream(dir_ + "/.hidden") << "not,a,row\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  OperatorSetup Setup(int subtask, int parallelism, const std::string& path = "") {
    OperatorSetup s;
    s.id = "files";
    s.type = "file-source";
    s.options = OperatorOptions("files", {{"path", {path.empty() ? dir_ : path}},
                                          {"columns", {"file BIGINT", "line BIGINT", "ts TIMESTAMP(3)"}},
                                          {"time", {"ts"}},
                                          {"watermark-delay", {"1s"}}});
    s.subtask = subtask;
    s.parallelism = parallelism;
    return s;
  }

  static Schema RowSchema() {
    Schema s;
    s.Add({"file", FieldType::kInt64, true, 0});
    s.Add({"line", FieldType::kInt64, true, 0});
    s.Add({"ts", FieldType::kTimestamp, true, 0});
    return s;
  }

  // Emits up to `rows` rows (all with -1) into `out`.
  static bool Read(SourceOperator& source, JsonCollector& out, int rows) {
    bool done = false;
    while (!done && (rows < 0 || static_cast<int>(out.rows.size()) < rows)) {
      EXPECT_TRUE(source.Emit(out, 7, &done).ok());
    }
    return done;
  }

  std::string dir_;
};

TEST_F(FileSourceTest, EverySubtaskReadsItsOwnFilesOnce) {
  std::multiset<std::string> all;
  for (int i = 0; i < 3; ++i) {
    auto source = FileSource::Create(Setup(i, 3));
    ASSERT_TRUE(source.ok()) << source.status().ToString();
    ASSERT_TRUE((*source)->Open().ok());
    JsonCollector out(RowSchema());
    EXPECT_TRUE(Read(**source, out, -1));
    all.insert(out.rows.begin(), out.rows.end());
  }
  EXPECT_EQ(all.size(), 300u);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 300u);
}

// Stopped anywhere and restored from its position, at the same or another
// parallelism, the sources together read every line exactly once.
TEST_F(FileSourceTest, RestoresAtAnyParallelismWithoutLossOrRepeats) {
  for (int stop_after : {0, 1, 37, 60, 120}) {
    std::multiset<std::string> rows;
    std::vector<std::string> positions;
    for (int i = 0; i < 2; ++i) {
      auto source = FileSource::Create(Setup(i, 2));
      ASSERT_TRUE(source.ok());
      ASSERT_TRUE((*source)->Open().ok());
      JsonCollector out(RowSchema());
      Read(**source, out, stop_after);
      rows.insert(out.rows.begin(), out.rows.end());
      positions.push_back((*source)->SnapshotPosition());
    }
    for (int parallelism : {2, 3, 1}) {
      std::multiset<std::string> all = rows;
      for (int i = 0; i < parallelism; ++i) {
        auto source = FileSource::Create(Setup(i, parallelism));
        ASSERT_TRUE(source.ok());
        Status restored = parallelism == 2 ? (*source)->RestorePosition(positions[i])
                                           : (*source)->RestoreRescaled(positions);
        ASSERT_TRUE(restored.ok()) << restored.ToString();
        ASSERT_TRUE((*source)->Open().ok());
        JsonCollector out(RowSchema());
        EXPECT_TRUE(Read(**source, out, -1));
        all.insert(out.rows.begin(), out.rows.end());
      }
      EXPECT_EQ(all.size(), 300u) << "stopped after " << stop_after << ", restored at " << parallelism;
      EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 300u);
    }
  }
}

TEST_F(FileSourceTest, WatermarkTrailsTheNewestEventTimeByTheDelay) {
  auto source = FileSource::Create(Setup(0, 1, dir_ + "/part-0.csv"));
  ASSERT_TRUE(source.ok());
  ASSERT_TRUE((*source)->Open().ok());
  EXPECT_EQ((*source)->CurrentWatermark(), INT64_MIN);
  JsonCollector out(RowSchema());
  Read(**source, out, 21);
  // Line 20 is at 00:00:20 of 2015-07-15 (1436918400000 ms).
  EXPECT_EQ((*source)->CurrentWatermark(), 1436918400000 + 20000 - 1000);
}

TEST_F(FileSourceTest, BadInputIsNamedWithFileAndByte) {
  std::ofstream(dir_ + "/part-0.csv", std::ios::app) << "0,not-a-number,2015-07-15 00:00:00\n";
  auto source = FileSource::Create(Setup(0, 1, dir_ + "/part-0.csv"));
  ASSERT_TRUE(source.ok());
  ASSERT_TRUE((*source)->Open().ok());
  JsonCollector out(RowSchema());
  bool done = false;
  Status s;
  while (!done && s.ok()) s = (*source)->Emit(out, 100, &done);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(dir_ + "/part-0.csv at byte "));
  EXPECT_THAT(s.message(), HasSubstr("column 'line': 'not-a-number' is not a BIGINT"));

  auto missing = FileSource::Create(Setup(0, 1, dir_ + "/nothing"));
  ASSERT_TRUE(missing.ok());
  EXPECT_THAT((*missing)->Open().message(), HasSubstr(dir_ + "/nothing is neither a file nor a directory"));
  // A file read halfway at a checkpoint must still be there on restore.
  auto gone = FileSource::Create(Setup(0, 1));
  ASSERT_TRUE(gone.ok());
  ASSERT_TRUE((*gone)->RestorePosition("12\tpart-9.csv").ok());
  EXPECT_THAT((*gone)->Open().message(), HasSubstr("part-9.csv, partly read at the checkpoint, is gone"));
  // One cut shorter than the offset read is refused, not taken as read.
  auto cut = FileSource::Create(Setup(0, 1, dir_ + "/part-1.csv"));
  ASSERT_TRUE(cut.ok());
  ASSERT_TRUE((*cut)->RestorePosition("100000\tpart-1.csv").ok());
  ASSERT_TRUE((*cut)->Open().ok());
  JsonCollector rows(RowSchema());
  bool finished = false;
  EXPECT_THAT((*cut)->Emit(rows, 10, &finished).message(), HasSubstr("shorter than the 100000 already read"));
}

// Reads the whole of `path` with the given extra options; rows as JSON.
Result<std::vector<std::string>> ReadAll(const std::string& path, const Schema& schema,
                                         OperatorOptions::Map options) {
  std::vector<std::string> columns;
  for (const auto& f : schema.fields()) {
    columns.push_back(f.name + " " + (f.type == FieldType::kInt64 ? "BIGINT"
                                      : f.type == FieldType::kString ? "STRING"
                                      : f.type == FieldType::kDecimal ? "DECIMAL(10, 2)"
                                                                      : "TIMESTAMP(3)"));
  }
  options["path"] = {path};
  options["columns"] = columns;
  OperatorSetup s;
  s.id = "files";
  s.type = "file-source";
  s.options = OperatorOptions("files", std::move(options));
  s.subtask = 0;
  s.parallelism = 1;
  SLUICE_ASSIGN_OR_RETURN(auto source, FileSource::Create(s));
  SLUICE_RETURN_IF_ERROR(source->Open());
  JsonCollector out(schema);
  bool done = false;
  while (!done) SLUICE_RETURN_IF_ERROR(source->Emit(out, 100, &done));
  return out.rows;
}

TEST_F(FileSourceTest, AHeaderLineIsSkippedInEveryFile) {
  std::filesystem::create_directories(dir_ + "/with-header");
  std::ofstream(dir_ + "/with-header/a.csv") << "id,ts\n1,2015-07-15 00:00:01\n";
  std::ofstream(dir_ + "/with-header/b.csv") << "id,ts\r\n2,2015-07-15 00:00:02\r\n";
  Schema schema;
  schema.Add({"id", FieldType::kInt64, true, 0});
  schema.Add({"ts", FieldType::kTimestamp, true, 0});
  auto without = ReadAll(dir_ + "/with-header", schema, {});
  EXPECT_THAT(without.status().message(), HasSubstr("column 'id': 'id' is not a BIGINT"));
  auto rows = ReadAll(dir_ + "/with-header", schema, {{"header", {"true"}}});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(std::multiset<std::string>(rows->begin(), rows->end()),
            (std::multiset<std::string>{R"({"id":1,"ts":"2015-07-15 00:00:01.000"})",
                                        R"({"id":2,"ts":"2015-07-15 00:00:02.000"})"}));
}

TEST_F(FileSourceTest, ARestoreAfterTheHeaderDoesNotSkipAnotherLine) {
  std::ofstream(dir_ + "/header.csv") << "file,line,ts\n7,1,2015-07-15 00:00:01\n7,2,2015-07-15 00:00:02\n";
  auto setup = Setup(0, 1, dir_ + "/header.csv");
  auto options = setup.options.values();
  options["header"] = {"true"};
  setup.options = OperatorOptions("files", options);
  auto first = FileSource::Create(setup);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE((*first)->Open().ok());
  JsonCollector out(RowSchema());
  bool done = false;
  ASSERT_TRUE((*first)->Emit(out, 1, &done).ok());
  ASSERT_EQ(out.rows.size(), 1u);
  auto again = FileSource::Create(setup);
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE((*again)->RestorePosition((*first)->SnapshotPosition()).ok());
  ASSERT_TRUE((*again)->Open().ok());
  JsonCollector rest(RowSchema());
  EXPECT_TRUE(Read(**again, rest, -1));
  EXPECT_EQ(rest.rows, (std::vector<std::string>{R"({"file":7,"line":2,"ts":"2015-07-15 00:00:02.000"})"}));
}

Schema TextSchema() {
  Schema s;
  s.Add({"id", FieldType::kInt64, true, 0});
  s.Add({"name", FieldType::kString, true, 0});
  s.Add({"price", FieldType::kDecimal, true, 2});
  return s;
}

std::string ParseJson(std::string_view line, const CsvFormat& format = CsvFormat()) {
  RowBuilder b(3);
  Status s = ParseCsvRow(line, TextSchema(), b, format);
  if (!s.ok()) return "error: " + s.message();
  std::string json;
  AppendRowJson(b.Finish(), TextSchema(), &json);
  return json;
}

TEST(CsvRowTest, QuotedFieldsHoldDelimitersAndDoubledQuotes) {
  EXPECT_EQ(ParseJson(R"(1,"Smith, John",10.50)"), R"({"id":1,"name":"Smith, John","price":10.50})");
  EXPECT_EQ(ParseJson(R"(2,"say ""hi""",1)"), R"({"id":2,"name":"say \"hi\"","price":1.00})");
  EXPECT_EQ(ParseJson(R"("3","",)"), R"({"id":3,"name":"","price":null})");
  EXPECT_EQ(ParseJson(R"(4,a"b,2)"), R"({"id":4,"name":"a\"b","price":2.00})") << "a quote inside a field is text";
  EXPECT_EQ(ParseJson(R"(5,"open,1)"), "error: field 2: the quote opened at character 3 is not closed on this line");
  EXPECT_EQ(ParseJson(R"(6,"x"y,1)"), "error: field 2: text after the quoted field ending at character 5");
  EXPECT_THAT(ParseJson("7,a,b,1"), HasSubstr("error: 4 fields, expected 3")) << "the message counts every field";
}

TEST(CsvRowTest, TheDelimiterAndQuoteCanBeChosen) {
  CsvFormat format;
  format.delimiter = ';';
  format.quote = '\'';
  EXPECT_EQ(ParseJson("1;'a;b, c';3.25", format), R"({"id":1,"name":"a;b, c","price":3.25})");
  format.quote = '\0';
  EXPECT_EQ(ParseJson("2;\"x\";1", format), R"({"id":2,"name":"\"x\"","price":1.00})") << "no quoting";
}

TEST(CsvRowTest, TheNullLiteralIsNullInEveryColumnUnlessQuoted) {
  CsvFormat format;
  format.null_literal = "\\N";
  EXPECT_EQ(ParseJson(R"(\N,\N,\N)", format), R"({"id":null,"name":null,"price":null})");
  EXPECT_EQ(ParseJson(R"(1,"\N",)", format), R"({"id":1,"name":"\\N","price":null})");
  EXPECT_EQ(ParseJson(R"(1,\N,2)"), R"({"id":1,"name":"\\N","price":2.00})") << "without it, text";
}

}  // namespace
}  // namespace sluice
