// file_io: bounded reads of small regular files and creation of private
// files that never replace an existing one.
#include "server/common/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace token {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class FileIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "file-io-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  // Entries returns the names in dir_ (a leaked temporary file shows here).
  std::vector<std::string> Entries() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  }

  std::string dir_;
};

TEST_F(FileIoTest, ReadsWholeFileUpToTheLimit) {
  const std::string content(5000, 'x');
  const std::string path = Write("exact", content);
  absl::StatusOr<std::string> read = ReadSmallFile(path, content.size());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, content);

  absl::StatusOr<std::string> empty = ReadSmallFile(Write("empty", ""), 10);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_THAT(*empty, IsEmpty());
}

TEST_F(FileIoTest, FileOverTheLimitIsRefusedWithoutItsContents) {
  // Larger than one read buffer, so the limit is checked across reads.
  const std::string content = "SECRET" + std::string(40000, 'k');
  const std::string path = Write("big", content);
  FileReadError error;
  absl::StatusOr<std::string> read = ReadSmallFile(path, content.size() - 1, &error);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(error.kind, FileReadError::Kind::kTooLarge);
  EXPECT_THAT(read.status().message(), HasSubstr(path));
  EXPECT_THAT(read.status().message(), HasSubstr("is larger than"));
  EXPECT_THAT(read.status().message(), Not(HasSubstr("SECRET")));
}

TEST_F(FileIoTest, MissingFileIsNotFound) {
  const std::string path = dir_ + "/missing";
  FileReadError error;
  absl::StatusOr<std::string> read = ReadSmallFile(path, 100, &error);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(read.status().message(), HasSubstr("cannot open " + path));
  EXPECT_EQ(error.kind, FileReadError::Kind::kOpen);
  EXPECT_EQ(error.err, ENOENT);
}

TEST_F(FileIoTest, DirectoryIsNotARegularFile) {
  FileReadError error;
  absl::StatusOr<std::string> read = ReadSmallFile(dir_, 100, &error);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(read.status().message(), HasSubstr("is not a regular file"));
  EXPECT_EQ(error.kind, FileReadError::Kind::kNotRegular);
}

TEST_F(FileIoTest, SymlinkToRegularFileIsFollowed) {
  const std::string target = Write("target", "linked");
  const std::string link = dir_ + "/link";
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  absl::StatusOr<std::string> read = ReadSmallFile(link, 100);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, "linked");
}

TEST_F(FileIoTest, CreatePrivateFileWritesMode0600WhateverTheUmask) {
  const mode_t old_umask = umask(0);
  const absl::Status created = CreatePrivateFile(dir_, "secret", "content\n");
  umask(old_umask);
  ASSERT_TRUE(created.ok()) << created;
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  absl::StatusOr<std::string> read = ReadSmallFile(dir_ + "/secret", 100);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, "content\n");
  EXPECT_EQ(Entries(), std::vector<std::string>{"secret"});  // No temporary left.
}

TEST_F(FileIoTest, CreatePrivateFileNeverReplacesAnExistingFile) {
  const std::string path = Write("taken", "original");
  const absl::Status created = CreatePrivateFile(dir_, "taken", "replacement");
  EXPECT_EQ(created.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(created.message(), Not(HasSubstr("replacement")));
  absl::StatusOr<std::string> read = ReadSmallFile(path, 100);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, "original");
  EXPECT_EQ(Entries(), std::vector<std::string>{"taken"});
}

TEST_F(FileIoTest, CreatePrivateFileInMissingDirectoryFails) {
  const absl::Status created = CreatePrivateFile(dir_ + "/nope", "secret", "content");
  EXPECT_EQ(created.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(created.message(), HasSubstr(dir_ + "/nope"));
  EXPECT_THAT(created.message(), Not(HasSubstr("content")));
}

TEST_F(FileIoTest, FdClosesOnceAndReportsClose) {
  Fd fd(open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  const int raw = fd.get();
  Fd moved(std::move(fd));
  EXPECT_FALSE(fd.valid());  // NOLINT(bugprone-use-after-move): moved-from state is specified.
  EXPECT_EQ(moved.get(), raw);
  EXPECT_EQ(moved.Close(), 0);
  EXPECT_FALSE(moved.valid());
  EXPECT_EQ(fcntl(raw, F_GETFD), -1);  // Really closed.
  EXPECT_EQ(moved.Close(), 0);         // Nothing left to close.
}

TEST(JoinPathTest, DoesNotDoubleTheSeparator) {
  EXPECT_EQ(JoinPath("/a", "b"), "/a/b");
  EXPECT_EQ(JoinPath("/a/", "b"), "/a/b");
}

}  // namespace
}  // namespace token
