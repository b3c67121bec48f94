#include "civic/node/read_file.h"

#include <cerrno>
#include <cstdio>
#include <memory>
#include <system_error>

namespace civic::node {

using proto::ErrorCode;
using proto::Fail;

proto::Result<std::string> ReadFileBounded(const std::filesystem::path& path, std::size_t bytes_max,
                                           std::string_view what) {
  const std::string name = std::string(what) + " " + path.string();
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found) {
    return Fail(ErrorCode::kIo, name + ": does not exist");
  }
  if (ec) return Fail(ErrorCode::kIo, name + ": " + ec.message());
  if (!std::filesystem::is_regular_file(status)) return Fail(ErrorCode::kIo, name + ": is not a regular file");
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return Fail(ErrorCode::kIo, name + ": cannot open: " + std::generic_category().message(errno));
  std::string text(bytes_max + 1, '\0');
  std::size_t size = 0;
  while (size < text.size()) {
    const std::size_t read = std::fread(text.data() + size, 1, text.size() - size, file.get());
    size += read;
    if (read == 0) break;
  }
  if (std::ferror(file.get()) != 0) return Fail(ErrorCode::kIo, name + ": cannot read");
  if (size > bytes_max) {
    return Fail(ErrorCode::kTooLarge, name + ": larger than " + std::to_string(bytes_max) + " bytes");
  }
  text.resize(size);
  return text;
}

}  // namespace civic::node
