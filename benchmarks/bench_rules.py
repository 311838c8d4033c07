"""How long rules take at scoring time: 200 rules of mixed kinds over 1,000,000 synthetic items.

The rule engine (``classifier.rules.RuleSet``) is run over the items in chunks of the
rescore's size (``RESCORE_CHUNK_SIZE``, 5,000), as the rescore calls it, and timed; the
synthetic data is made before the clock starts. The figure to compare is the rescore of 1M
items on the same 2 cores (``bench_scale``: 533 s, README "Import and export"): rules must
stay within 10% of it.

The catalog: titles of 6-10 words and descriptions of 20-30 words drawn from a Zipf-like
vocabulary of 5,000 words, a third with a size such as "250 ml", attributes (brand, colour,
size, material), and a prediction per item (a leaf of a 5,940-node tree, 4,800 leaves, and its
probability). The rules (default 200, ``MIX``): a fifth words, a tenth words plus a
prediction condition, a tenth phrases, a fifth patterns (half alone, half after a words
condition, a few anchored, which run item by item), a fifth attribute conditions, a tenth
prediction conditions, a tenth attributes plus a prediction condition; 40% assign, 25% forbid
(the narrow text rules), 35% review.

    .venv/bin/python benchmarks/bench_rules.py                 # 1M items, 200 rules
    .venv/bin/python benchmarks/bench_rules.py --items 100000  # quicker
    .venv/bin/python benchmarks/bench_rules.py --items 0 --rescore 50000

``--rescore N`` also times a real rescore of N such items on PostgreSQL through the product's
code path, without and with the same 200 rules (``_rules_rescore.py``): the overhead as the
product pays it, reading the items' text and rescoring forbid rows included.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classifier.rules import (  # noqa: E402
    ASSIGN,
    ATTRIBUTE_EQUALS,
    ATTRIBUTE_IN,
    ATTRIBUTE_RANGE,
    CONFIDENCE_BELOW,
    FORBID,
    PHRASE,
    PREDICTED_UNDER,
    REGEX,
    REVIEW,
    WORDS,
    Condition,
    ItemBatch,
    Rule,
    RuleSet,
)
from classifier.tree import Tree  # noqa: E402

RESCORE_1M_SECONDS = 533.0  # bench_scale at 1M items on 2 cores (README)
VOCABULARY = 5000
BRANCHING = (20, 8, 6, 5)
UNITS = ("ml", "l", "g", "kg", "cm", "pcs")
BRANDS = [f"brand{i}" for i in range(300)]
COLOURS = ["red", "blue", "green", "black", "white", "grey", "pink", "yellow", "brown", "navy"]
MATERIALS = ["cotton", "wool", "steel", "plastic", "glass", "leather", "wood", "paper"]


def synthetic_tree() -> Tree:
    parents: list[int] = []
    level = [-1]
    for width in BRANCHING:
        nxt = []
        for parent in level:
            for _ in range(width):
                parents.append(parent)
                nxt.append(len(parents) - 1)
        level = nxt
    return Tree(keys=tuple(f"n{i}" for i in range(len(parents))), parents=np.array(parents))


def words_by_rank(rng: np.random.Generator) -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    out: set[str] = set()
    while len(out) < VOCABULARY:
        out.add("".join(rng.choice(letters, size=int(rng.integers(3, 9)))))
    return sorted(out)


def catalog(n: int, tree: Tree, rng: np.random.Generator, vocab: list[str]) -> ItemBatch:
    weights = 1.0 / np.arange(1, VOCABULARY + 1)
    weights /= weights.sum()
    words = np.array(vocab)
    title_len = rng.integers(6, 11, size=n)
    desc_len = rng.integers(20, 31, size=n)
    title_words = words[rng.choice(VOCABULARY, size=int(title_len.sum()), p=weights)]
    desc_words = words[rng.choice(VOCABULARY, size=int(desc_len.sum()), p=weights)]
    sizes = rng.integers(1, 1000, size=n)
    units = rng.choice(UNITS, size=n)
    has_size = rng.random(n) < 0.33
    titles, descriptions = [], []
    t = d = 0
    for i in range(n):
        title = " ".join(title_words[t : t + title_len[i]])
        t += title_len[i]
        titles.append(f"{title} {sizes[i]} {units[i]}" if has_size[i] else title)
        descriptions.append(" ".join(desc_words[d : d + desc_len[i]]))
        d += desc_len[i]
    attributes = [
        {
            "brand": BRANDS[b],
            "color": COLOURS[c],
            "size": int(s),
            "material": MATERIALS[m],
        }
        for b, c, s, m in zip(
            rng.integers(0, len(BRANDS), n),
            rng.integers(0, len(COLOURS), n),
            rng.integers(1, 60, n),
            rng.integers(0, len(MATERIALS), n),
            strict=True,
        )
    ]
    predicted = tree.leaves[rng.integers(0, tree.n_leaves, size=n)]
    confidence = rng.beta(5, 2, size=n).astype(np.float32)
    return ItemBatch(titles, descriptions, attributes, predicted, confidence)


# Per 100 rules: (kind, action, how many). Forbid rules are the narrow text ones ("the title
# says 'case': not a phone"); review takes the broad patterns and attribute checks.
MIX = [
    ("words", ASSIGN, 10),
    ("words", FORBID, 10),
    ("words+pred", FORBID, 10),
    ("phrase", FORBID, 5),
    ("phrase", REVIEW, 5),
    ("regex", REVIEW, 10),
    ("words+regex", ASSIGN, 10),
    ("attribute", ASSIGN, 10),
    ("attribute", REVIEW, 10),
    ("prediction", REVIEW, 10),
    ("attr+pred", ASSIGN, 10),
]


def rule_set(count: int, tree: Tree, rng: np.random.Generator, vocab: list[str]) -> list[Rule]:
    """``count`` rules in the mix of ``MIX`` (40% assign, 25% forbid, 35% review)."""
    plan = [(kind, action) for kind, action, n in MIX for _ in range(n)]
    rules = []
    for i in range(count):
        kind, action = plan[i % len(plan)]
        conditions = _conditions(kind, i, tree, rng, vocab)
        node = int(rng.choice(tree.leaves)) if action == ASSIGN else int(rng.integers(0, 180))
        rules.append(Rule(action, conditions, node=node, reason=f"rule {i}", key=i))
    return rules


def _word(rng: np.random.Generator, vocab: list[str], low: int = 30, high: int = 3000) -> str:
    return vocab[int(rng.integers(low, high))]


def _conditions(
    kind: str, i: int, tree: Tree, rng: np.random.Generator, vocab: list[str]
) -> tuple[Condition, ...]:
    field = ("title", "text", "description")[i % 3]
    inner = int(rng.integers(20, 180))  # a depth-2 node
    if kind == "words":
        return (Condition(WORDS, field, tuple(_word(rng, vocab, 100) for _ in range(2))),)
    if kind == "words+pred":
        return (
            Condition(WORDS, field, (_word(rng, vocab, 10, 300),)),
            Condition(PREDICTED_UNDER, node=inner),
        )
    if kind == "phrase":
        return (Condition(PHRASE, field, f"{_word(rng, vocab, 5, 50)} {_word(rng, vocab, 5, 50)}"),)
    if kind == "regex":
        return (Condition(REGEX, field, _pattern(i, rng, vocab)),)
    if kind == "words+regex":
        return (
            Condition(WORDS, field, (_word(rng, vocab, 10, 200),)),
            Condition(REGEX, field, _pattern(i, rng, vocab)),
        )
    if kind == "attribute":
        return _attribute(i, rng)
    if kind == "attr+pred":
        return (*_attribute(i, rng), Condition(CONFIDENCE_BELOW, value=0.5))
    return (Condition(PREDICTED_UNDER, node=inner), Condition(CONFIDENCE_BELOW, value=0.6))


def _pattern(i: int, rng: np.random.Generator, vocab: list[str]) -> str:
    unit = UNITS[i % len(UNITS)]
    word = _word(rng, vocab, 10, 500)
    return [
        rf"\b\d+\s*{unit}\b",
        rf"\b{word[:3]}\w*\s+{_word(rng, vocab, 10, 500)}\b",
        rf"\b(pack|set) of \d+\b|\b{word}s?\b",
        rf"^{word}\b",  # anchored: item by item
        rf"\b{word}\b.*\b\d{{3}}\s*{unit}\b",
    ][i % 5]


def _attribute(i: int, rng: np.random.Generator) -> tuple[Condition, ...]:
    if i % 3 == 0:
        return (Condition(ATTRIBUTE_EQUALS, "brand", BRANDS[int(rng.integers(0, len(BRANDS)))]),)
    if i % 3 == 1:
        return (
            Condition(ATTRIBUTE_IN, "color", tuple(rng.choice(COLOURS, 2, replace=False))),
            Condition(ATTRIBUTE_EQUALS, "material", MATERIALS[int(rng.integers(0, 8))]),
        )
    low = int(rng.integers(1, 55))
    return (Condition(ATTRIBUTE_RANGE, "size", (low, low + 2)),)


def chunked(batch: ItemBatch, start: int, stop: int) -> ItemBatch:
    assert batch.descriptions is not None and batch.attributes is not None
    assert batch.predicted is not None and batch.confidence is not None
    return ItemBatch(
        batch.titles[start:stop],
        batch.descriptions[start:stop],
        batch.attributes[start:stop],
        batch.predicted[start:stop],
        batch.confidence[start:stop],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--chunk", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rescore", type=int, default=0, help="items of a real rescore")
    parser.add_argument("--labels", type=int, default=5000, help="labels for its model")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    tree = synthetic_tree()
    vocab = words_by_rank(rng)
    if args.items:
        engine_bench(args, tree, rng, vocab)
    if args.rescore:
        from benchmarks import _rules_rescore

        rules = rule_set(args.rules, tree, rng, vocab)
        batch = catalog(args.rescore, tree, rng, vocab)
        return _rules_rescore.run(args.rescore, args.labels, rules, batch, tree)
    return 0


def engine_bench(
    args: argparse.Namespace, tree: Tree, rng: np.random.Generator, vocab: list[str]
) -> None:
    started = time.perf_counter()
    batch = catalog(args.items, tree, rng, vocab)
    print(f"catalog: {args.items:,} items made in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    ruleset = RuleSet(rule_set(args.rules, tree, rng, vocab), tree)
    compile_s = time.perf_counter() - started
    hits = np.zeros(args.rules, dtype=np.int64)
    counts = dict.fromkeys(("any", "assigned", "forbid", "review"), 0)
    seconds = masks = 0.0
    cpu_started = time.process_time()
    for start in range(0, args.items, args.chunk):
        chunk = chunked(batch, start, start + args.chunk)
        started = time.perf_counter()
        result = ruleset.apply(chunk)
        seconds += time.perf_counter() - started
        started = time.perf_counter()
        _ = result.forbid_leaves  # what the rescore reads for the rows it renormalises
        masks += time.perf_counter() - started
        hits += result.hits
        counts["any"] += len(np.unique(result.hit_rows))
        counts["assigned"] += int((result.assigned >= 0).sum())
        counts["forbid"] += len(result.forbid_rows)
        counts["review"] += int((result.review_rule >= 0).sum())
    # CPU seconds too (the chunks' slicing included): on a shared machine the wall clock
    # counts other people's work; the engine runs on one core.
    cpu = (time.process_time() - cpu_started) * 1_000_000 / args.items
    per_million = (seconds + masks) * 1_000_000 / args.items
    share_hit = hits / args.items
    print(f"rules: {args.rules}, compiled in {compile_s * 1000:.0f} ms")
    print(
        f"evaluated in {seconds:.1f} s + forbidden-leaf masks {masks:.1f} s: "
        f"{per_million:.1f} s per 1M items ({cpu:.1f} CPU s; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    print(
        "items hit by any rule {any:,}; assigned {assigned:,}, forbid {forbid:,}, "
        "review {review:,}".format(**counts)
    )
    print(
        f"per rule: median {np.median(share_hit):.2%} of items, max {share_hit.max():.2%}; "
        f"hitting nothing: {int((hits == 0).sum())}; timeouts: {ruleset.timeouts_.sum()}"
    )
    share = per_million / RESCORE_1M_SECONDS
    print(f"share of a 1M rescore ({RESCORE_1M_SECONDS:.0f} s): {share:.1%} (target <= 10%)")


if __name__ == "__main__":
    raise SystemExit(main())
