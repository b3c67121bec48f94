// libFuzzer target for the HTTP API (node/src/api.cc): what anyone on the internet can send a
// node, after the server's parser (Beast, within the configured limits) has made it a method,
// a target, a content type and a body. The API runs on a real ledger (RocksDB in a temporary
// folder) holding the genesis and two blocks of registrations, with a real mempool.
//
// Input: one byte picks the method, then the target up to the first newline, the content
// type up to the next, and the rest is the body. Whatever it is, the answer has a status
// between 200 and 599; a JSON answer parses, and an error is {"error": {"code", "message"}}
// with both non-empty; the ledger is never written (its tip and app hash stay); the mempool
// stays within its limits.
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "civic/node/api.h"
#include "civic/node/executor.h"
#include "civic/node/genesis.h"
#include "civic/node/ledger.h"
#include "civic/node/mempool.h"
#include "civic/node/tx_tracker.h"
#include "civic/proto/assert.h"
#include "civic/proto/codec.h"
#include "civic/proto/ed25519.h"
#include "civic/proto/payloads.h"
#include "civic/proto/schnorr.h"
#include "civic/proto/tx.h"

namespace {

namespace node = civic::node;
namespace proto = civic::proto;

std::array<std::uint8_t, 32> Filled(std::uint8_t byte) {
  std::array<std::uint8_t, 32> out{};
  out.fill(byte);
  return out;
}

// One node's worth of API, built once per process.
struct World {
  std::filesystem::path dir;
  node::Genesis genesis;
  std::unique_ptr<node::Ledger> ledger;
  std::unique_ptr<node::Executor> executor;
  std::unique_ptr<node::Mempool> mempool;
  node::TxTracker tracker;
  std::unique_ptr<node::Api> api;
  node::Tip tip;
  proto::Hash32 app_hash;

  World() {
    spdlog::set_level(spdlog::level::off);  // storage errors would be logged on every input
    std::string pattern = (std::filesystem::temp_directory_path() / "civic-fuzz-http-XXXXXX").string();
    CIVIC_ASSERT(::mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
    const proto::Ed25519KeyPair validator = proto::Ed25519KeyPair::FromSeed(Filled(0x51));
    const proto::SchnorrKeyPair clerk = proto::SchnorrKeyPair::FromSecret(Filled(0xC1)).value();
    genesis.chain_id = proto::ChainId::Parse("civic-fuzz-http").value();
    genesis.genesis_time_unix_ms = 1'790'000'000'000;
    genesis.validators.push_back(node::GenesisValidator{"fuzz-validator", validator.public_key(), 10});
    genesis.contracts.clerks.push_back(clerk.public_key());
    genesis.contracts.districts = {{1, "North"}, {2, "South"}};
    genesis.contracts.clerk_threshold = 1;
    ledger = node::Ledger::Open(dir / "data", genesis, node::OpenMode::kReadWrite).value();
    executor = std::make_unique<node::Executor>(*ledger);
    mempool = std::make_unique<node::Mempool>(executor->contracts(), [this] { return ledger->StateSnapshot(); },
                                              node::MempoolLimits{64, 1024 * 1024});
    const civic::consensus::ValidatorSchedule schedule(1, genesis.ValidatorSet());
    std::uint64_t nonce = 1;
    for (std::uint64_t height = 1; height <= 2; ++height) {
      std::vector<proto::VerifiedTx> txs;
      for (int i = 0; i < 3; ++i) {
        const proto::SchnorrKeyPair resident =
            proto::SchnorrKeyPair::FromSecret(Filled(static_cast<std::uint8_t>(0x10 + nonce))).value();
        proto::TxBody body;
        body.kind = proto::TxKind::kRegisterResident;
        body.chain_id = genesis.chain_id;
        body.signer = clerk.public_key();
        body.nonce = nonce++;
        body.valid_until_height = 1000;
        body.payload = proto::Encode(proto::RegisterResident{resident.public_key(), {1}, 0}).value();
        txs.push_back(proto::VerifyTx(proto::SignTx(std::move(body), clerk, Filled(0)).value()).value());
      }
      const node::ExecutedBlock block =
          executor->Build(txs, {}, genesis.genesis_time_unix_ms + height * 1000, validator.public_key(), schedule,
                          node::BlockLimits{100, 1024 * 1024}, nullptr);
      proto::VoteBody vote;
      vote.type = proto::VoteType::kPrecommit;
      vote.height = height;
      vote.block_hash = block.hash;
      vote.validator = validator.public_key();
      proto::CommitCertificate certificate;
      certificate.height = height;
      certificate.block_hash = block.hash;
      certificate.signatures.push_back(
          proto::CommitSignature{0, proto::SignVote(genesis.chain_id, vote, validator).value().signature});
      CIVIC_ASSERT(executor->Commit(block, certificate).has_value());
    }
    node::ApiContext context;
    context.genesis = &genesis;
    context.ledger = ledger.get();
    context.mempool = mempool.get();
    context.contracts = &executor->contracts();
    context.tracker = &tracker;
    context.validator = true;
    context.node_key_hex = proto::ToHex(validator.public_key());
    context.on_admitted = [](std::vector<proto::Bytes>) {};
    api = std::make_unique<node::Api>(std::move(context));
    tip = ledger->tip();
    app_hash = ledger->app_hash();
  }
  ~World() {
    api.reset();
    mempool.reset();
    executor.reset();
    ledger.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

World& TheWorld() {
  static World world;
  return world;
}

constexpr std::array<const char*, 7> kMethods = {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > 1024 * 1024 + 1024) return 0;  // the body limit and a header's worth
  World& world = TheWorld();
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  node::HttpRequest request;
  request.method = kMethods[data[0] % kMethods.size()];
  const std::size_t target_end = rest.find('\n');
  request.target = std::string(rest.substr(0, target_end));
  rest = target_end == std::string_view::npos ? std::string_view() : rest.substr(target_end + 1);
  const std::size_t type_end = rest.find('\n');
  request.content_type = std::string(rest.substr(0, type_end));
  request.body = type_end == std::string_view::npos ? std::string() : std::string(rest.substr(type_end + 1));
  request.remote = "127.0.0.1:40000";

  const node::HttpResponse response = world.api->Handle(request);
  CIVIC_ASSERT(response.status >= 200 && response.status <= 599);
  if (response.content_type.rfind("application/json", 0) == 0) {
    const nlohmann::json body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    CIVIC_ASSERT(!body.is_discarded());
    if (response.status >= 400) {
      CIVIC_ASSERT(body.contains("error") && body["error"].is_object());
      const nlohmann::json& error = body["error"];
      CIVIC_ASSERT(error.contains("code") && error["code"].is_string() && !error["code"].get<std::string>().empty());
      CIVIC_ASSERT(error.contains("message") && error["message"].is_string() &&
                   !error["message"].get<std::string>().empty());
    }
  }
  // The API never writes the ledger; the mempool stays within its bounds.
  const node::Tip tip = world.ledger->tip();
  CIVIC_ASSERT(tip.height == world.tip.height && tip.block_hash == world.tip.block_hash);
  CIVIC_ASSERT(world.ledger->app_hash() == world.app_hash);
  CIVIC_ASSERT(world.mempool->size() <= world.mempool->limits().txs_max);
  CIVIC_ASSERT(world.mempool->bytes() <= world.mempool->limits().bytes_max);
  return 0;
}
