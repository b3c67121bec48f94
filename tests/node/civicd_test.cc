// civicd as a real process on loopback with a real RocksDB in a temporary directory: every
// kind of transaction commits and proves itself with a receipt; bad requests get their
// documented error and change nothing; the command line explains itself.
#include <gtest/gtest.h>

#include <functional>

#include "civic/proto/block.h"
#include "civic/wallet/keystore.h"
#include "civic/wallet/receipt.h"
#include "civic/proto/merkle.h"
#include "civic/proto/vote.h"
#include "node_fixture.h"

namespace civic::node {
namespace {

using nlohmann::json;
using testing::CivicdProcess;
using testing::Http;
using testing::HttpReply;
using testing::NodeFiles;
using testing::SubmitTx;
using testing::TempDir;
using testing::TestNetwork;
using testing::TxHex;
using testing::TxIdHex;
using testing::WaitForPort;
using testing::WaitForTx;

class Civicd : public ::testing::Test {
 protected:
  // Starts civicd on a free port with the test network's genesis (adjusted by `tweak`).
  void Start(const std::string& extra_toml = "") {
    files_ = testing::WriteNodeFiles(dir_.path(), network_.genesis, 0, extra_toml);
    process_ = std::make_unique<CivicdProcess>(std::vector<std::string>{"run", "--config", files_.config.string()},
                                               files_.log);
    port_ = WaitForPort(files_.log);
    ASSERT_NE(port_, 0);
  }

  json Status() { return Http(port_, "GET", "/v1/status").Json(); }

  // Submits and waits until committed; returns the status.
  json Commit(const proto::Tx& tx) {
    const HttpReply reply = SubmitTx(port_, tx);
    EXPECT_EQ(reply.status, 202) << reply.body;
    const json status = WaitForTx(port_, TxIdHex(tx));
    EXPECT_EQ(status.value("status", ""), "committed") << status.dump();
    return status;
  }

  std::string Log() const { return testing::ReadFile(files_.log); }

  TempDir dir_;
  TestNetwork network_;
  NodeFiles files_;
  std::unique_ptr<CivicdProcess> process_;
  std::uint16_t port_ = 0;
};

// A round on the wall clock: proposals now, review from +3 s, voting from +6 s to +9 s
// (windows wide enough for a few commits each on a busy machine).
proto::Constitution TimedRound(std::uint64_t start_ms) {
  proto::Constitution c;
  c.round_id = 1;
  c.title = "Parks and streets";
  c.total_budget = 100'000;
  c.phase_basis = proto::PhaseBasis::kTimeUnixMs;
  c.proposals_start = start_ms - 1000;
  c.review_start = start_ms + 3000;
  c.voting_start = start_ms + 6000;
  c.voting_end = start_ms + 9000;
  c.ballot_type = proto::BallotType::kApproval;
  c.min_choices = 1;
  c.max_choices = 2;
  c.outcome_rule = 1;
  return c;
}

void SleepUntil(std::uint64_t unix_ms) {
  const std::uint64_t now = testing::NowUnixMs();
  if (unix_ms > now) std::this_thread::sleep_for(std::chrono::milliseconds(unix_ms - now));
}

TEST_F(Civicd, EveryKindOfTransactionCommitsAndItsReceiptVerifiesOffline) {
  Start();
  const std::uint64_t t0 = testing::NowUnixMs();
  Commit(network_.Register(1, {1}));
  Commit(network_.Register(2, {1, 2}));
  Commit(network_.Sign(network_.clerk(), proto::TxKind::kRegisterPaperResident,
                       proto::RegisterPaperResident{"office-7/2027", {1}, 0}));
  Commit(network_.Register(3, {2}));
  Commit(network_.Sign(network_.clerk(), proto::TxKind::kRevokeResident,
                       proto::RevokeResident{proto::ResidentIdOfKey(network_.resident(3).public_key()), "moved away"}));
  Commit(network_.Sign(network_.clerk(), proto::TxKind::kOpenRound, proto::OpenRound{TimedRound(t0)}));
  for (int i = 1; i <= 2; ++i) {
    Commit(network_.Sign(network_.resident(1), proto::TxKind::kSubmitProposal,
                         proto::SubmitProposal{1, "Project " + std::to_string(i), proto::Sha256(proto::AsBytes("d")),
                                               30'000, 1}));
  }
  SleepUntil(t0 + 3200);
  Commit(network_.Sign(network_.clerk(), proto::TxKind::kReviewProposal,
                       proto::ReviewProposal{1, 1, true, "checked by public works", std::nullopt}));
  Commit(network_.Sign(network_.clerk(), proto::TxKind::kReviewProposal,
                       proto::ReviewProposal{1, 2, false, "land not owned by the city", std::nullopt}));
  SleepUntil(t0 + 6200);
  const proto::Tx ballot = network_.Sign(network_.resident(1), proto::TxKind::kCastBallot, proto::Ballot{1, {{1, 1}}});
  const json ballot_status = Commit(ballot);
  Commit(network_.Sign(network_.resident(2), proto::TxKind::kCastBallot, proto::Ballot{1, {{1, 1}}}));
  // A resident changes her vote: a later ballot with a higher nonce replaces the first.
  Commit(network_.Sign(network_.resident(2), proto::TxKind::kCastBallot, proto::Ballot{1, {{1, 1}}}));
  Commit(network_.Sign(network_.clerk(), proto::TxKind::kAssistedBallot,
                       proto::AssistedBallot{proto::PaperResidentId(network_.chain, "office-7/2027"), "box 3, sheet 14",
                                             proto::Ballot{1, {{1, 1}}}}));
  SleepUntil(t0 + 9200);
  Commit(network_.Sign(network_.clerk(), proto::TxKind::kCloseRound, proto::CloseRound{1}));

  const json round = Http(port_, "GET", "/v1/rounds/1").Json();
  EXPECT_EQ(round.value("phase", ""), "closed") << round.dump();
  ASSERT_TRUE(round.contains("tally")) << round.dump();
  EXPECT_EQ(round["tally"]["ballots"], 3) << "three residents' ballots count, the replaced one does not";
  EXPECT_EQ(round["tally"]["units"][0]["funded_in_order"], json::array({1}));
  EXPECT_EQ(round["proposals"][1]["review_reason"], "land not owned by the city");

  // The receipt proves the ballot with the genesis alone: inclusion under the header's
  // tx_root, and a certificate of the genesis validators for that header.
  const HttpReply receipt_reply = Http(port_, "GET", "/v1/txs/" + TxIdHex(ballot) + "/receipt");
  ASSERT_EQ(receipt_reply.status, 200) << receipt_reply.body;
  const json receipt = receipt_reply.Json();
  EXPECT_EQ(receipt["height"], ballot_status["height"]);
  const proto::BlockHeader header =
      proto::Decode<proto::BlockHeader>(proto::FromHex(receipt["header"].get<std::string>()).value()).value();
  const proto::CommitCertificate certificate =
      proto::Decode<proto::CommitCertificate>(proto::FromHex(receipt["certificate"].get<std::string>()).value()).value();
  const proto::Tx tx = proto::Decode<proto::Tx>(proto::FromHex(receipt["tx"].get<std::string>()).value()).value();
  EXPECT_EQ(tx, ballot);
  std::vector<proto::Hash32> proof;
  for (const json& step : receipt["inclusion_proof"]) proof.push_back(proto::FixedFromHex<proto::Hash32>(step.get<std::string>()).value());
  EXPECT_TRUE(proto::VerifyMerkleInclusion(proto::MerkleLeafHash(proto::TxId(tx).value().view()),
                                           receipt["index"].get<std::uint64_t>(), receipt["tx_count"].get<std::uint64_t>(),
                                           proof, header.tx_root)
                  .has_value());
  EXPECT_EQ(certificate.block_hash, proto::BlockHash(header).value());
  EXPECT_TRUE(proto::VerifyCommitCertificate(network_.chain, network_.genesis.ValidatorSet(), certificate).has_value());

  // The wallet says the same, offline, from the saved receipt and the genesis file; a
  // receipt with a forged certificate or another transaction is refused.
  testing::WriteFile(dir_.path() / "receipt.json", receipt_reply.body);
  const auto wallet = [&](const std::string& receipt_file) {
    CivicdProcess run({"verify-receipt", receipt_file, "--genesis", (dir_.path() / "genesis.json").string()},
                      dir_.path() / "wallet.log", CIVIC_WALLET_BINARY);
    return run.Wait().value_or(-1);
  };
  EXPECT_EQ(wallet((dir_.path() / "receipt.json").string()), 0) << testing::ReadFile(dir_.path() / "wallet.log");
  json forged = receipt;
  forged["tx"] = TxHex(network_.Sign(network_.resident(1), proto::TxKind::kCastBallot, proto::Ballot{1, {{1, 1}}}));
  forged["tx_id"] = proto::ToHex(proto::TxId(proto::Decode<proto::Tx>(proto::FromHex(forged["tx"].get<std::string>()).value()).value()).value());
  testing::WriteFile(dir_.path() / "forged.json", forged.dump());
  EXPECT_EQ(wallet((dir_.path() / "forged.json").string()), 3) << "a transaction that is not in the block";
  json unsigned_block = receipt;
  proto::CommitCertificate stripped = certificate;
  stripped.signatures[0].signature.bytes[0] ^= 1;
  unsigned_block["certificate"] = proto::ToHex(proto::Encode(stripped).value());
  testing::WriteFile(dir_.path() / "forged-cert.json", unsigned_block.dump());
  EXPECT_EQ(wallet((dir_.path() / "forged-cert.json").string()), 3) << "a certificate that does not verify";
  EXPECT_NE(testing::ReadFile(dir_.path() / "wallet.log").find("VALID: transaction " + TxIdHex(ballot)), std::string::npos);

  // Any byte of what the receipt proves with (the transaction, its id, the header, the
  // certificate, the proof, the genesis hash), changed, and any number off by one: refused,
  // with a reason. (header_fields is a readable copy the check ignores; the wallet prints the
  // header it verified.)
  ASSERT_TRUE(wallet::VerifyReceipt(receipt_reply.body, network_.genesis).has_value());
  std::size_t tampered = 0;
  const auto expect_refused = [&](const json& changed, const std::string& what) {
    ++tampered;
    const proto::Result<wallet::VerifiedReceipt> verdict = wallet::VerifyReceipt(changed.dump(), network_.genesis);
    EXPECT_FALSE(verdict.has_value()) << what;
    if (!verdict) {
      EXPECT_FALSE(verdict.error().message.empty()) << what;
    }
  };
  const auto flip_each_byte = [&](const std::function<std::string&(json&)>& field, const std::string& name) {
    json copy = receipt;
    const proto::Bytes bytes = proto::FromHex(field(copy)).value();
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      proto::Bytes changed = bytes;
      changed[i] ^= 0x01;
      field(copy) = proto::ToHex(changed);
      expect_refused(copy, name + " byte " + std::to_string(i));
    }
  };
  for (const char* name : {"tx", "tx_id", "header", "certificate", "genesis_hash"}) {
    flip_each_byte([name](json& r) -> std::string& { return r[name].get_ref<std::string&>(); }, name);
  }
  for (std::size_t step = 0; step < receipt["inclusion_proof"].size(); ++step) {
    flip_each_byte([step](json& r) -> std::string& { return r["inclusion_proof"][step].get_ref<std::string&>(); },
                   "inclusion_proof[" + std::to_string(step) + "]");
  }
  for (const char* name : {"height", "index", "tx_count"}) {
    json copy = receipt;
    copy[name] = copy[name].get<std::uint64_t>() + 1;
    expect_refused(copy, std::string(name) + " + 1");
  }
  EXPECT_GT(tampered, 300u);

  // A clean stop, then the ledger replays from genesis to the same app hash.
  const std::string app_hash = Status()["app_hash"];
  process_->Signal(SIGTERM);
  EXPECT_EQ(process_->Wait(), 0) << Log();
  CivicdProcess replay({"replay", "--config", files_.config.string()}, dir_.path() / "replay.log");
  EXPECT_EQ(replay.Wait(), 0) << testing::ReadFile(dir_.path() / "replay.log");
  EXPECT_NE(testing::ReadFile(dir_.path() / "replay.log").find(app_hash), std::string::npos);
}

struct BadCase {
  std::string name;
  int status;
  std::string code;  // the error code in the body ("" for a server-level answer without one)
  std::function<HttpReply(std::uint16_t)> send;
};

TEST_F(Civicd, BadRequestsGetTheirDocumentedErrorAndChangeNothing) {
  Start();
  // Some state to be wrong about: a registered resident, an open round in its proposals phase.
  const std::uint64_t t0 = testing::NowUnixMs();
  Commit(network_.Register(1, {1}));
  proto::Constitution round = TimedRound(t0);
  round.review_start = t0 + 600'000;
  round.voting_start = t0 + 700'000;
  round.voting_end = t0 + 800'000;
  Commit(network_.Sign(network_.clerk(), proto::TxKind::kOpenRound, proto::OpenRound{round}));
  const proto::Tx committed = network_.Register(2, {2});
  Commit(committed);

  const json before = Status();
  TestNetwork& net = network_;
  const auto post = [](std::string body) {
    return [body](std::uint16_t port) { return Http(port, "POST", "/v1/txs", body); };
  };
  const auto tx_body = [](const std::string& hex) { return json{{"tx", hex}}.dump(); };
  const auto submit = [&](proto::Tx tx) { return post(tx_body(TxHex(tx))); };
  const auto encoded = [](const proto::Tx& tx) { return proto::Encode(tx).value(); };
  const std::string valid_hex = TxHex(net.Register(50));

  proto::Tx unsigned_tx = net.Register(51);
  unsigned_tx.signature = proto::SchnorrSignature{};
  proto::Tx other_signer = net.Register(52);
  other_signer.signature = net.Register(53).signature;
  proto::Tx tampered = net.Register(54);
  tampered.body.nonce += 1000;
  proto::Bytes version_two = encoded(net.Register(55));
  version_two[0] = 2;
  proto::Bytes unknown_kind = encoded(net.Register(56));
  unknown_kind[1] = 99;
  proto::Bytes trailing = encoded(net.Register(57));
  trailing.push_back(0);
  proto::Bytes truncated = encoded(net.Register(58));
  truncated.resize(truncated.size() / 2);
  TestNetwork elsewhere;
  elsewhere.chain = proto::ChainId::Parse("another-city").value();
  const proto::Tx replayed = net.Sign(net.clerk(), proto::TxKind::kRegisterResident,
                                      proto::RegisterResident{net.resident(59).public_key(), {1}, 0},
                                      committed.body.nonce);

  std::vector<BadCase> cases = {
      {"malformed JSON", 400, "malformed_json", post("{\"tx\": ")},
      {"a JSON array", 400, "bad_request", post("[1,2]")},
      {"an unknown field", 400, "unknown_field", post(json{{"tx", valid_hex}, {"fee", 1}}.dump())},
      {"no tx field", 400, "missing_field", post("{}")},
      {"tx is a number", 400, "bad_field", post("{\"tx\": 12}")},
      {"tx is not hex", 400, "malformed", post(tx_body("zz"))},
      {"tx has odd hex", 400, "malformed", post(tx_body("abc"))},
      {"tx is empty", 400, "malformed", post(tx_body(""))},
      {"tx is truncated", 400, "malformed", post(tx_body(proto::ToHex(truncated)))},
      {"tx has trailing bytes", 400, "malformed", post(tx_body(proto::ToHex(trailing)))},
      {"tx is over 64 KiB", 413, "too_large", post(tx_body(std::string(2 * 65 * 1024, 'a')))},
      {"body over the HTTP limit", 413, "", post(tx_body(std::string(2 * 1024 * 1024, 'a')))},
      {"unsigned", 400, "bad_signature", submit(unsigned_tx)},
      {"signed by another key", 400, "bad_signature", submit(other_signer)},
      {"changed after signing", 400, "bad_signature", submit(tampered)},
      {"an unknown version", 400, "unknown_version", post(tx_body(proto::ToHex(version_two)))},
      {"an unknown kind", 400, "unknown_kind", post(tx_body(proto::ToHex(unknown_kind)))},
      {"another chain", 400, "wrong_chain", submit(elsewhere.Register(1))},
      {"already committed", 409, "already_committed", submit(committed)},
      {"a replayed nonce", 422, "replayed", submit(replayed)},
      {"an unregistered signer", 422, "not_registered",
       submit(net.Sign(net.resident(60), proto::TxKind::kSubmitProposal,
                       proto::SubmitProposal{1, "Bench", proto::Sha256(proto::AsBytes("d")), 100, 1}))},
      {"a resident registering residents", 422, "not_clerk",
       submit(net.Sign(net.resident(1), proto::TxKind::kRegisterResident,
                       proto::RegisterResident{net.resident(61).public_key(), {1}, 0}))},
      {"a ballot in the proposals phase", 422, "wrong_phase",
       submit(net.Sign(net.resident(1), proto::TxKind::kCastBallot, proto::Ballot{1, {{1, 1}}}))},
      {"a proposal over the budget", 422, "proposal_over_budget",
       submit(net.Sign(net.resident(1), proto::TxKind::kSubmitProposal,
                       proto::SubmitProposal{1, "Stadium", proto::Sha256(proto::AsBytes("d")), 1'000'000, 1}))},
      {"an unknown round", 422, "unknown_round",
       submit(net.Sign(net.resident(1), proto::TxKind::kSubmitProposal,
                       proto::SubmitProposal{9, "Bench", proto::Sha256(proto::AsBytes("d")), 100, 1}))},
      {"an unknown district", 422, "unknown_district", submit(net.Register(62, {9}))},
      {"a resident registered twice", 422, "already_registered", submit(net.Register(1, {1}))},
      {"an expired transaction", 422, "tx_expired",
       submit(net.Sign(net.clerk(), proto::TxKind::kRegisterResident,
                       proto::RegisterResident{net.resident(63).public_key(), {1}, 0}, std::nullopt, 1))},
      {"a validity window too long", 422, "tx_window_too_long",
       submit(net.Sign(net.clerk(), proto::TxKind::kRegisterResident,
                       proto::RegisterResident{net.resident(64).public_key(), {1}, 0}, std::nullopt, 900'000'000))},
      {"a payload that does not decode", 422, "malformed_payload",
       submit(net.Sign(net.clerk(), proto::TxKind::kRegisterResident, proto::Bytes{1, 2, 3}))},
      {"a validator change by someone who is no clerk", 422, "not_clerk",
       submit(net.Sign(net.resident(65), proto::TxKind::kChangeValidators,
                       proto::ChangeValidators{proto::ValidatorChange{1, net.genesis.ValidatorSet(), "more validators", 100},
                                               {}}))},
      {"a batch of too many", 413, "too_large",
       [&](std::uint16_t port) {
         return Http(port, "POST", "/v1/txs/batch", json{{"txs", std::vector<std::string>(1001, valid_hex)}}.dump());
       }},
      {"a batch that is not an array", 400, "bad_field",
       [](std::uint16_t port) { return Http(port, "POST", "/v1/txs/batch", "{\"txs\": \"ab\"}"); }},
      {"a transaction id that is not hex", 400, "bad_id",
       [](std::uint16_t port) { return Http(port, "GET", "/v1/txs/xyz"); }},
      {"an unknown transaction", 404, "not_found",
       [](std::uint16_t port) { return Http(port, "GET", "/v1/txs/" + std::string(64, '0')); }},
      {"block 0", 400, "bad_height", [](std::uint16_t port) { return Http(port, "GET", "/v1/blocks/0"); }},
      {"a block height that is not a number", 400, "bad_height",
       [](std::uint16_t port) { return Http(port, "GET", "/v1/blocks/-1"); }},
      {"a block above the tip", 404, "not_found", [](std::uint16_t port) { return Http(port, "GET", "/v1/blocks/99999"); }},
      {"GET on the submit endpoint", 405, "method_not_allowed", [](std::uint16_t port) { return Http(port, "GET", "/v1/txs"); }},
      {"DELETE on status", 405, "method_not_allowed", [](std::uint16_t port) { return Http(port, "DELETE", "/v1/status"); }},
      {"an unknown endpoint", 404, "not_found", [](std::uint16_t port) { return Http(port, "GET", "/v2/anything"); }},
      {"a request line that is not HTTP", 400, "",
       [](std::uint16_t port) { return testing::RawHttp(port, "HELLO\r\n\r\n"); }},
  };
  ASSERT_GE(cases.size(), 30u);
  for (const BadCase& bad : cases) {
    SCOPED_TRACE(bad.name);
    const HttpReply reply = bad.send(port_);
    EXPECT_EQ(reply.status, bad.status) << reply.body;
    const json body = reply.Json();
    if (!bad.code.empty()) {
      ASSERT_TRUE(body.is_object() && body.contains("error")) << reply.body;
      EXPECT_EQ(body["error"]["code"], bad.code) << reply.body;
      EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
    }
  }
  // Nothing changed: same height, same state, nothing pending.
  const json after = Status();
  EXPECT_EQ(after["height"], before["height"]);
  EXPECT_EQ(after["app_hash"], before["app_hash"]);
  EXPECT_EQ(after["mempool"]["txs"], 0);
}

// A resident's whole path with the wallet: a clerk registers her, she votes (a ballot that
// breaks the round's rules is refused before it is signed), fetches her receipt and checks it
// offline.
TEST_F(Civicd, AResidentVotesWithTheWalletAndChecksHerReceipt) {
  Start();
  const std::uint64_t t0 = testing::NowUnixMs();
  const std::filesystem::path clerk_key = dir_.path() / "clerk.key";
  const std::filesystem::path ana_key = dir_.path() / "ana.key";
  ASSERT_TRUE(wallet::Create(clerk_key, testing::Filled(0xC1), "clerk passphrase", wallet::kKdfMinimum).has_value());
  const proto::SchnorrPublicKey ana =
      wallet::Create(ana_key, testing::Filled(0x0A), "ana's passphrase", wallet::kKdfMinimum).value();
  ::setenv("CIVIC_TEST_CLERK_PASSPHRASE", "clerk passphrase", 1);
  ::setenv("CIVIC_TEST_ANA_PASSPHRASE", "ana's passphrase", 1);
  const std::string node = "http://127.0.0.1:" + std::to_string(port_);
  const auto wallet_run = [&](std::vector<std::string> args) {
    const std::filesystem::path log = dir_.path() / "wallet.log";
    std::filesystem::remove(log);
    CivicdProcess run(args, log, CIVIC_WALLET_BINARY);
    const int code = run.Wait().value_or(-1);
    return std::make_pair(code, testing::ReadFile(log));
  };

  auto [registered, register_out] = wallet_run({"register", "--key", clerk_key.string(), "--passphrase-env",
                                                "CIVIC_TEST_CLERK_PASSPHRASE", "--node", node, "--resident",
                                                proto::ToHex(ana), "--district", "1"});
  ASSERT_EQ(registered, 0) << register_out;
  EXPECT_NE(register_out.find("committed in block"), std::string::npos) << register_out;

  Commit(network_.Sign(network_.clerk(), proto::TxKind::kOpenRound, proto::OpenRound{TimedRound(t0)}));
  Commit(network_.Register(2, {1}));
  for (int i = 1; i <= 3; ++i) {
    Commit(network_.Sign(network_.resident(2), proto::TxKind::kSubmitProposal,
                         proto::SubmitProposal{1, "Project " + std::to_string(i), proto::Sha256(proto::AsBytes("d")),
                                               20'000, 1}));
  }
  SleepUntil(t0 + 3200);
  for (std::uint32_t id = 1; id <= 3; ++id) {
    Commit(network_.Sign(network_.clerk(), proto::TxKind::kReviewProposal,
                         proto::ReviewProposal{1, id, id != 3, id != 3 ? "fine" : "not city land", std::nullopt}));
  }
  SleepUntil(t0 + 6200);
  const std::vector<std::string> vote = {"vote", "--key", ana_key.string(), "--passphrase-env",
                                         "CIVIC_TEST_ANA_PASSPHRASE", "--node", node, "--round", "1", "--json"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = vote;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  auto [infeasible, infeasible_out] = wallet_run(with({"--approve", "3"}));
  EXPECT_EQ(infeasible, 3);
  EXPECT_NE(infeasible_out.find("not on the ballot"), std::string::npos) << infeasible_out;
  auto [too_many, too_many_out] = wallet_run(with({"--approve", "1,2,9"}));
  EXPECT_EQ(too_many, 3) << too_many_out;
  EXPECT_NE(too_many_out.find("no project 9"), std::string::npos) << too_many_out;
  auto [wrong_pass, wrong_pass_out] = wallet_run({"vote", "--key", ana_key.string(), "--passphrase-env",
                                                  "CIVIC_TEST_CLERK_PASSPHRASE", "--node", node, "--round", "1",
                                                  "--approve", "1"});
  EXPECT_EQ(wrong_pass, 1);
  EXPECT_NE(wrong_pass_out.find("passphrase"), std::string::npos) << wrong_pass_out;

  auto [voted, vote_out] = wallet_run(with({"--approve", "1,2"}));
  ASSERT_EQ(voted, 0) << vote_out;
  const json cast = json::parse(vote_out.substr(vote_out.find('{')), nullptr, false);
  ASSERT_TRUE(cast.is_object()) << vote_out;
  EXPECT_EQ(cast["status"], "committed");
  const std::string ballot_id = cast["id"];

  auto [fetched, fetch_out] =
      wallet_run({"receipt", "--node", node, "--tx", ballot_id, "--out", (dir_.path() / "ana-receipt.json").string()});
  ASSERT_EQ(fetched, 0) << fetch_out;
  auto [checked, check_out] = wallet_run({"verify-receipt", (dir_.path() / "ana-receipt.json").string(), "--genesis",
                                          (dir_.path() / "genesis.json").string()});
  EXPECT_EQ(checked, 0) << check_out;
  EXPECT_NE(check_out.find("VALID: transaction " + ballot_id + " (cast-ballot, signed by " + proto::ToHex(ana)),
            std::string::npos)
      << check_out;
}

TEST_F(Civicd, AFullMempoolAnswers503WithRetryAfter) {
  // A long commit wait: after the first (empty) block the next height waits a minute, so
  // what is submitted meanwhile stays pending.
  network_.genesis.consensus.commit_wait_ms = 60'000;
  Start("[mempool]\ntxs_max = 2\n");
  for (int i = 0; i < 3000 && Status().value("height", 0) < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(Status().value("height", 0), 1) << "the first (empty) block was not made; log:\n" << Log();
  EXPECT_EQ(SubmitTx(port_, network_.Register(1)).status, 202);
  const proto::Tx second = network_.Register(2);
  EXPECT_EQ(SubmitTx(port_, second).status, 202);
  const HttpReply duplicate = SubmitTx(port_, second);
  EXPECT_EQ(duplicate.status, 409);
  EXPECT_EQ(duplicate.Json()["error"]["code"], "already_pending");
  const HttpReply full = SubmitTx(port_, network_.Register(3));
  EXPECT_EQ(full.status, 503) << full.body;
  EXPECT_EQ(full.Json()["error"]["code"], "mempool_full");
  EXPECT_NE(full.headers.find("Retry-After: 1"), std::string::npos) << full.headers;
  EXPECT_EQ(Http(port_, "GET", "/v1/txs/" + TxIdHex(second)).Json()["status"], "pending");
  const HttpReply metrics = Http(port_, "GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("civic_mempool_txs 2"), std::string::npos) << metrics.body;
}

TEST_F(Civicd, AnObserverServesReadsButTakesNoTransactions) {
  testing::WriteNodeFiles(dir_.path(), network_.genesis, 0);
  testing::WriteFile(dir_.path() / "observer.toml",
                     "[node]\ndata_dir = \"observer-data\"\ngenesis = \"genesis.json\"\n[http]\nlisten = \"127.0.0.1:0\"\n");
  files_.log = dir_.path() / "observer.log";
  process_ = std::make_unique<CivicdProcess>(
      std::vector<std::string>{"run", "--config", (dir_.path() / "observer.toml").string()}, files_.log);
  port_ = WaitForPort(files_.log);
  ASSERT_NE(port_, 0);
  EXPECT_EQ(Status()["role"], "observer");
  const HttpReply refused = SubmitTx(port_, network_.Register(1));
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.Json()["error"]["code"], "not_a_validator");
  EXPECT_EQ(Status()["mempool"]["txs"], 0);
  EXPECT_EQ(Status()["height"], 0) << "an observer never makes blocks";
}

TEST_F(Civicd, TheCommandLineExplainsItself) {
  TempDir scratch;
  const auto run = [&](std::vector<std::string> args) {
    CivicdProcess process(args, scratch.path() / "out.log");
    const std::optional<int> code = process.Wait();
    std::string output = testing::ReadFile(scratch.path() / "out.log");
    std::filesystem::remove(scratch.path() / "out.log");
    return std::make_pair(code.value_or(-1), output);
  };
  auto [help_code, help] = run({"--help"});
  EXPECT_EQ(help_code, 0);
  EXPECT_NE(help.find("run"), std::string::npos);
  EXPECT_NE(help.find("replay"), std::string::npos);
  auto [missing_code, missing] = run({"run", "--config", (scratch.path() / "nope.toml").string()});
  EXPECT_EQ(missing_code, 2);
  EXPECT_NE(missing.find("nope.toml"), std::string::npos) << missing;
  auto [none_code, none] = run({});
  EXPECT_EQ(none_code, 2) << none;
  // (A validator key that is not in the genesis starts and follows the chain: the clerks may
  // be about to add it. Network.ClerksAddAndRemoveAValidatorWhileBallotsFlow runs one.)
  testing::WriteNodeFiles(scratch.path(), network_.genesis, 0);
  // keygen refuses to overwrite a key.
  auto [keygen_code, keygen] = run({"keygen", "--out", (scratch.path() / "validator.key").string()});
  EXPECT_EQ(keygen_code, 2);
  EXPECT_NE(keygen.find("exists already"), std::string::npos) << keygen;
}

}  // namespace
}  // namespace civic::node
