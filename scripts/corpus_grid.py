#!/usr/bin/env python3
"""The v2 corpus grid: every emotion × every topic of data/corpus/grid.json (issue 13).

Usage:
  python3 scripts/corpus_grid.py plan EMOTION          # the 24 slots to write
  python3 scripts/corpus_grid.py fill EMOTION FILE     # put FILE's stories into stories/<emotion>.jsonl

Each emotion gets one story per grid topic, ids <slug>-13 … <slug>-36. Person (12 first,
12 third), form and target length are assigned per slot by a generator seeded with the
emotion's name, so no two of them line up with a topic across emotions. The test split is
fixed by a hash of the id (the TEST_PER_EMOTION grid stories with the lowest
sha256("limbic-v2-test:" + id)), never by a person.

FILE holds blocks, each opened by a line "=== N" (N the slot number, 1–36) and followed by
the story's text. Slots 1–12 are the v1 stories; a block for one of them replaces its text
and, when the header says "=== N | topic", its topic (person, form and split are kept).
"""
import hashlib
import json
import os
import random
import re
import subprocess
import sys

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
FIRST_ID, TEST_PER_EMOTION, ROUND1, ROUND2 = 13, 3, 24, 12
FORMS_FIRST = ["narration", "diary", "letter", "inner monologue", "dialogue"]
FORMS_THIRD = ["narration", "dialogue", "close third"]
LENGTHS = {"short": (60, 100), "medium": (100, 160), "long": (160, 240)}


def slug(name):
    return name.replace(" ", "_")


def grid_topics():
    with open(os.path.join(DATA, "corpus", "grid.json"), encoding="utf-8") as f:
        return json.load(f)


def test_ids(name, n_topics):
    """The ids of an emotion's grid stories that form the test split."""
    ids = [f"{slug(name)}-{FIRST_ID + i:02d}" for i in range(n_topics)]
    return set(sorted(ids, key=lambda i: hashlib.sha256(f"limbic-v2-test:{i}".encode()).hexdigest())[:TEST_PER_EMOTION])


def _round(name, topics, first, seed, with_test):
    """One round of grid slots: ids from `first`, person/form/length drawn by `seed`."""
    rng = random.Random(seed)
    n = len(topics)
    persons = ["first"] * (n // 2) + ["third"] * (n - n // 2)
    rng.shuffle(persons)
    lengths = [k for k in LENGTHS for _ in range(n // len(LENGTHS) + 1)][:n]
    rng.shuffle(lengths)
    forms = {p: [] for p in ("first", "third")}
    for p, pool in (("first", FORMS_FIRST), ("third", FORMS_THIRD)):
        k = persons.count(p)
        forms[p] = [pool[i % len(pool)] for i in range(k)]
        rng.shuffle(forms[p])
    test = test_ids(name, n) if with_test else set()
    slots = []
    for i, topic in enumerate(topics):
        sid = f"{slug(name)}-{first + i:02d}"
        p = persons[i]
        slots.append({"id": sid, "topic": topic, "person": p, "form": forms[p].pop(),
                      "words": LENGTHS[lengths[i]], "split": "test" if sid in test else "train"})
    return slots


def plan(name):
    """[{id, topic, person, form, words: (lo, hi), split}] for one emotion's grid slots.

    Round 1 is the first ROUND1 topics of grid.json (slots 13-36; the test split is drawn from
    it and from it alone, so it never moves); round 2 the next ROUND2 (slots 37-48) and round 3
    the rest (slots 49-), all train, each drawn by its own seed so the earlier rounds' slots stay
    as they were written."""
    topics = grid_topics()
    r2 = ROUND1 + ROUND2
    return (_round(name, topics[:ROUND1], FIRST_ID, f"limbic-grid:{name}", True)
            + _round(name, topics[ROUND1:r2], FIRST_ID + ROUND1, f"limbic-grid-2:{name}", False)
            + _round(name, topics[r2:], FIRST_ID + r2, f"limbic-grid-3:{name}", False))


def stories_path(name):
    return os.path.join(DATA, "corpus", "stories", slug(name) + ".jsonl")


def read_stories(name):
    with open(stories_path(name), encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def parse_blocks(text):
    """{slot: (topic or None, text)} from '=== N [| topic]' blocks."""
    blocks, cur = {}, None
    for line in text.splitlines():
        m = re.fullmatch(r"===\s*(\d+)\s*(?:\|\s*(.+?))?\s*", line)
        if m:
            cur = int(m.group(1))
            blocks[cur] = [m.group(2), []]
        elif cur is not None:
            blocks[cur][1].append(line)
    return {k: (t, " ".join(" ".join(l.split()) for l in lines if l.strip())) for k, (t, lines) in blocks.items()}


def fill(name, path):
    with open(path, encoding="utf-8") as f:
        blocks = parse_blocks(f.read())
    rows = {s["id"]: s for s in read_stories(name)}
    slots = {int(s["id"].rsplit("-", 1)[1]): s for s in plan(name)}
    for k, (topic, text) in sorted(blocks.items()):
        sid = f"{slug(name)}-{k:02d}"
        if k in slots:
            s = slots[k]
            rows[sid] = {"id": sid, "emotion": name, "topic": s["topic"], "person": s["person"],
                         "form": s["form"], "text": text, "split": s["split"]}
        elif sid in rows:
            rows[sid]["text"] = text
            if topic:
                rows[sid]["topic"] = topic
        else:
            sys.exit(f"slot {k} is neither a v1 story nor a grid slot of {name}")
    ordered = sorted(rows.values(), key=lambda s: int(s["id"].rsplit("-", 1)[1]))
    tmp = stories_path(name) + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for s in ordered:
            f.write(json.dumps(s, ensure_ascii=False) + "\n")
    os.replace(tmp, stories_path(name))
    print(f"{name}: {len(blocks)} stories written, {len(ordered)} in the file")
    check = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_corpus.py")
    return subprocess.call([sys.executable, check, "--emotion", name])


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "plan":
        for s in plan(sys.argv[2]):
            n = int(s["id"].rsplit("-", 1)[1])
            print(f"=== {n}  topic: {s['topic']}; person: {s['person']}; form: {s['form']}; "
                  f"{s['words'][0]}-{s['words'][1]} words")
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "fill":
        return fill(sys.argv[2], sys.argv[3])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
