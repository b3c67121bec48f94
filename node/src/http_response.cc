// JsonError, apart from the server (src/http_server.cc) so that what builds answers needs no
// Beast: the API and its fuzz target (tests/fuzz/fuzz_http.cc) use it too.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "civic/node/http_server.h"

namespace civic::node {

HttpResponse JsonError(unsigned status, std::string_view code, std::string_view message) {
  const nlohmann::json body = {{"error", {{"code", std::string(code)}, {"message", std::string(message)}}}};
  HttpResponse response;
  response.status = status;
  // `replace`: a message may quote input that is not UTF-8, and dump() would throw on it.
  response.body = body.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
  return response;
}

}  // namespace civic::node
