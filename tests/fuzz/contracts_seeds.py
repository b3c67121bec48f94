#!/usr/bin/env python3
"""Writes the seed scripts of fuzz_contracts (tests/fuzz/corpus/fuzz_contracts/): whole budget
rounds that take effect step by step, which the fuzzer then mutates. Each byte is one choice,
in the order fuzz_contracts.cc reads them (its Script class and MakeBody). Run from anywhere:

    tests/fuzz/contracts_seeds.py
"""
import os

CLERK = 0
RESIDENTS = range(2, 8)  # key indexes 2..7
APPROVAL, KNAPSACK, CUMULATIVE = 0, 1, 2  # Pick(1, 3) - 1
GREEDY, GREEDY_POINTS, MES, MES_ADD1 = 1, 2, 3, 4


class Seed:
    def __init__(self):
        self.out = bytearray()
        self.first = True

    def step(self, kind, fields, signer, advance=0):
        """One transaction; `advance` > 0 starts a new block that many heights later."""
        if not self.first:
            self.out += bytes([1, advance - 1]) if advance else bytes([0])
        self.first = False
        self.out += bytes([50, kind]) + bytes(fields) + bytes([signer])

    def register(self, key, districts_mask, signer=CLERK, advance=0):
        self.step(0, [key, districts_mask, 1], signer, advance)  # flag 1: never expires

    def paper(self, reference, districts_mask, advance=0):
        self.step(2, [reference, districts_mask], CLERK, advance)  # reference 1: "P-1", 0: "P-2"

    def revoke_key(self, key, advance=0):
        self.step(1, [0, key], CLERK, advance)  # flag 0: a key resident

    def open_round(self, round_id, budget, ballot, min_choices, max_choices, rule, district_budget=None,
                   points=(0, 0), review=2, voting=2, end=3, advance=0):
        fields = [round_id, 1, budget // 4]
        fields += [1, district_budget[0], district_budget[1] // 2] if district_budget else [0]
        fields += [0, review, voting, end, ballot, min_choices, max_choices]
        if ballot == CUMULATIVE:
            fields += list(points)
        fields += [rule]
        self.step(3, fields, CLERK, advance)

    def propose(self, round_id, cost, district, signer, advance=0):
        self.step(4, [round_id, cost // 2, district], signer, advance)

    def review(self, round_id, proposal, feasible, advance=0):
        self.step(5, [round_id, proposal, 1 if feasible else 0, 0], CLERK, advance)

    def vote(self, round_id, choices, signer, advance=0):
        """choices: {project (1..7): points}"""
        mask = sum(1 << (p - 1) for p in choices)
        self.step(6, [round_id, mask] + [choices[p] for p in sorted(choices)], signer, advance)

    def assisted(self, round_id, reference, choices, advance=0):
        mask = sum(1 << (p - 1) for p in choices)
        self.step(7, [1, reference, round_id, mask] + [choices[p] for p in sorted(choices)], CLERK, advance)

    def close(self, round_id, advance=0):
        self.step(8, [round_id], CLERK, advance)


def approval_round():
    s = Seed()
    for i, key in enumerate(RESIDENTS):
        s.register(key, 0b0010 if i % 2 else 0b0100)  # districts 1 and 2
    s.open_round(1, 1000, APPROVAL, 1, 4, MES_ADD1, advance=1)
    for i, cost in enumerate([400, 300, 200, 500]):
        s.propose(1, cost, 0, RESIDENTS[i])
    s.review(1, 1, True, advance=3)
    s.review(1, 2, True)
    s.review(1, 3, True)
    s.review(1, 4, False)
    for i, key in enumerate(RESIDENTS):
        s.vote(1, {1 + i % 3: 1, 1 + (i + 1) % 3: 1}, key, advance=2 if i == 0 else 0)
    s.vote(1, {3: 1}, RESIDENTS[0])  # a changed vote
    s.close(1, advance=3)
    return s.out


def cumulative_districts():
    s = Seed()
    home = {}
    for i, key in enumerate(RESIDENTS):
        home[key] = [1, 2] if i == 0 else [1 + i % 3]
        s.register(key, sum(1 << d for d in home[key]))
    s.open_round(2, 800, CUMULATIVE, 1, 3, GREEDY_POINTS, district_budget=(1, 300), points=(6, 4), advance=1)
    s.propose(2, 200, 1, RESIDENTS[0])  # proposal 1, district 1 (the district's own budget)
    s.propose(2, 300, 0, RESIDENTS[1])  # proposal 2, city-wide
    s.propose(2, 100, 2, RESIDENTS[0])  # proposal 3, district 2
    for p in (1, 2, 3):
        s.review(2, p, True, advance=3 if p == 1 else 0)
    for i, key in enumerate(RESIDENTS):
        choices = {2: 1 + i % 4}
        if 1 in home[key]:
            choices[1] = 2
        if 2 in home[key]:
            choices[3] = 1
        s.vote(2, choices, key, advance=2 if i == 0 else 0)
    s.close(2, advance=3)
    return s.out


def knapsack_paper_revoke():
    s = Seed()
    for key in RESIDENTS[:4]:
        s.register(key, 0b0010)
    s.paper(1, 0b0010)
    s.open_round(3, 600, KNAPSACK, 1, 3, MES, advance=1)
    for i, cost in enumerate([300, 200, 100]):
        s.propose(3, cost, 0, RESIDENTS[i])
    for p in (1, 2, 3):
        s.review(3, p, True, advance=3 if p == 1 else 0)
    s.vote(3, {1: 1, 3: 1}, RESIDENTS[0], advance=2)
    s.vote(3, {2: 1, 3: 1}, RESIDENTS[1])
    s.vote(3, {1: 1}, RESIDENTS[2])
    s.assisted(3, 1, {2: 1})
    s.revoke_key(RESIDENTS[2])  # her ballot stays on record, uncounted
    s.close(3, advance=3)
    return s.out


def main():
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_contracts")
    os.makedirs(folder, exist_ok=True)
    for name, data in [("approval-mes-add1", approval_round()), ("cumulative-districts", cumulative_districts()),
                       ("knapsack-paper-revoke", knapsack_paper_revoke())]:
        with open(os.path.join(folder, name + ".bin"), "wb") as f:
            f.write(data)
        print(f"{name}.bin: {len(data)} bytes")


main()
