// The public tally page every node serves (observers included), for residents who never open
// a terminal: plain semantic HTML that reads without JavaScript, with a screen reader and at
// 200% zoom; high contrast; no external resources.
//
//   GET /              the network, its tip, and every round with its phase and budget
//   GET /rounds/{id}   one round: budget, phases, proposals with their reviews and reasons;
//                      during voting, turnout per district (never running counts); once
//                      closed, the funded projects with a budget bar, votes per project,
//                      results per district next to each district's share of the roll, the
//                      outcome under the round's rule and under the other family of rules,
//                      the block the result is anchored to, and downloads (Pabulib, JSON)
//
// Everything shown is read from the node's own ledger state; `civic-wallet audit` is how a
// reader checks that state against the genesis.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "civic/contracts/state.h"
#include "civic/node/genesis.h"
#include "civic/node/http_server.h"
#include "civic/node/ledger.h"
#include "civic/node/once_cache.h"

namespace civic::node {

class TallyPage {
 public:
  TallyPage(const Genesis& genesis, const Ledger& ledger, const contracts::BudgetContracts& contracts)
      : genesis_(genesis), ledger_(ledger), contracts_(contracts) {}

  // The page for `path`, or nullopt if `path` is not one of the page's.
  std::optional<HttpResponse> Handle(std::string_view path);

 private:
  HttpResponse Index();
  HttpResponse Round(std::uint64_t round_id);
  // The results section of a closed round (nullptr if the state does not read back).
  std::shared_ptr<const std::string> ClosedResults(std::uint64_t round_id, const contracts::KvView& state);
  // The turnout section of a round in voting (nullptr if the state does not read back).
  std::shared_ptr<const std::string> Turnout(std::uint64_t round_id, const contracts::KvView& state);

  const Genesis& genesis_;
  const Ledger& ledger_;
  const contracts::BudgetContracts& contracts_;
  // Anyone may ask for a page, so what takes work is computed once: a closed round's results
  // never change; turnout is computed once per round and block height.
  OnceCache<std::uint64_t, std::string> closed_results_{256};
  OnceCache<std::pair<std::uint64_t, std::uint64_t>, std::string> turnout_{64};  // (round, height)
};

}  // namespace civic::node
