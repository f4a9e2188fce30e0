#!/usr/bin/env python3
"""Checks the emotion story corpus, the neutral dialogues and the neutral scenes (issues 3, 13).

Usage: python3 scripts/check_corpus.py [--data data] [--emotion NAME ...]

Each check prints one line; the last line is "corpus: N passed, M failed" and
the exit status is non-zero when any check failed. With --emotion, only the
per-emotion checks of those emotions run (handy while writing stories); the
cross-story checks still see the whole corpus.
"""
import argparse
import glob
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus_grid import FORMS_FIRST, FORMS_THIRD, plan  # noqa: E402

MIN_STORIES, MIN_TRAIN, MIN_TEST = 56, 20, 3
MIN_WORDS, MAX_WORDS = 60, 250
SLACK_BELOW, SLACK_ABOVE = 10, 20  # words a grid story may fall outside its slot's target
MIN_SCENES_PER_TOPIC = 5
SHARED_RUN = 8
MIN_EXCHANGES, MAX_EXCHANGES = 2, 6
MIN_NEUTRAL = 200
STORY_KEYS = {"id", "emotion", "topic", "person", "form", "text", "split"}
FORMS = set(FORMS_FIRST) | set(FORMS_THIRD)


def slug(name):
    return name.replace(" ", "_")


def words(text):
    return re.findall(r"[a-z0-9']+", text.lower())


def forbidden_pattern(terms):
    """One regex matching any term as a whole word (or whole phrase), case-insensitively."""
    parts = [r"\s+".join(re.escape(w) for w in t.split()) for t in sorted(terms, key=len, reverse=True)]
    return re.compile(r"(?<![A-Za-z])(?:" + "|".join(parts) + r")(?![A-Za-z])", re.IGNORECASE)


def load_jsonl(path, problems):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                problems.append(f"{path}:{n}: not JSON ({e})")
    return rows


def load_emotions(data):
    """The catalogue data/emotions.json, as a list and by name."""
    emotions = json.load(open(os.path.join(data, "emotions.json"), encoding="utf-8"))
    return emotions, {e["name"]: e for e in emotions}


class Report:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, problems, limit=15):
        if problems:
            self.failed += 1
            print(f"FAIL {name}: {len(problems)} problem(s)")
            for p in problems[:limit]:
                print(f"    {p}")
        else:
            self.passed += 1
            print(f"ok   {name}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data")
    ap.add_argument("--emotion", action="append", default=[])
    args = ap.parse_args()
    r = Report()

    emotions, by_name = load_emotions(args.data)
    topics = json.load(open(os.path.join(args.data, "corpus", "topics.json"), encoding="utf-8"))
    grid = json.load(open(os.path.join(args.data, "corpus", "grid.json"), encoding="utf-8"))
    names = [e["name"] for e in emotions]
    only = set(args.emotion) or set(names)

    cat = []
    if len(emotions) != 171:
        cat.append(f"data/emotions.json has {len(emotions)} entries, want 171")
    for name in names:
        e = by_name.get(name, {})
        forb = e.get("forbidden")
        if not forb or not isinstance(forb, list):
            cat.append(f"{name}: no forbidden list")
        elif name.lower() not in [w.lower() for w in forb]:
            cat.append(f"{name}: forbidden list lacks the name itself")
    r.check("emotion catalogue (171 names, each with a forbidden list naming itself)", cat)
    r.check(f"at least 60 distinct topics ({len(set(topics))})",
            [] if len(set(topics)) >= 60 else [f"{len(set(topics))} topics"])

    problems, stories = [], []
    for path in sorted(glob.glob(os.path.join(args.data, "corpus", "stories", "*.jsonl"))):
        for s in load_jsonl(path, problems):
            s["_file"] = os.path.basename(path)
            stories.append(s)
    ids = set()
    for s in stories:
        sid = s.get("id")
        if set(s) - {"_file"} != STORY_KEYS:
            problems.append(f"{sid}: keys {sorted(set(s) - {'_file'})}")
        if sid in ids:
            problems.append(f"{sid}: duplicate id")
        ids.add(sid)
        if s.get("emotion") not in by_name:
            problems.append(f"{sid}: unknown emotion {s.get('emotion')!r}")
        elif not re.fullmatch(re.escape(slug(s["emotion"])) + r"-\d{2,}", str(sid)):
            problems.append(f"{sid}: id should be {slug(s['emotion'])}-NN")
        elif s["_file"] != slug(s["emotion"]) + ".jsonl":
            problems.append(f"{sid}: emotion {s['emotion']!r} stored in {s['_file']}")
        if s.get("topic") not in topics:
            problems.append(f"{sid}: topic {s.get('topic')!r} not in topics.json")
        if s.get("person") not in ("first", "third"):
            problems.append(f"{sid}: person {s.get('person')!r}")
        if s.get("form") not in FORMS:
            problems.append(f"{sid}: form {s.get('form')!r}")
        if s.get("split") not in ("train", "dev", "test"):
            problems.append(f"{sid}: split {s.get('split')!r}")
        if not isinstance(s.get("text"), str):
            problems.append(f"{sid}: text is not a string")
            s["text"] = ""
    r.check(f"story schema ({len(stories)} stories)", problems)

    mine = [s for s in stories if s.get("emotion") in only]
    per = {}
    for s in mine:
        per.setdefault(s["emotion"], []).append(s)
    counts, cells = [], []
    for name in sorted(only):
        ss = per.get(name, [])
        train = sum(s["split"] in ("train", "dev") for s in ss)
        test = sum(s["split"] == "test" for s in ss)
        first = sum(s["person"] == "first" for s in ss)
        if len(ss) < MIN_STORIES or train < MIN_TRAIN or test < MIN_TEST:
            counts.append(f"{name}: {len(ss)} stories ({train} train or dev, {test} test)")
        if ss and not (0.4 <= first / len(ss) <= 0.6):
            counts.append(f"{name}: {first}/{len(ss)} first person")
        if len({s["topic"] for s in ss}) != len(ss):
            counts.append(f"{name}: topics repeat")
        by_id = {s["id"]: s for s in ss}
        for slot in plan(name):
            s = by_id.get(slot["id"])
            if s is None:
                cells.append(f"{slot['id']}: missing ({slot['topic']})")
                continue
            for k in ("topic", "person", "form", "split"):
                if s.get(k) != slot[k]:
                    cells.append(f"{slot['id']}: {k} {s.get(k)!r}, the grid says {slot[k]!r}")
            n = len(s["text"].split())
            lo, hi = slot["words"]
            if not lo - SLACK_BELOW <= n <= hi + SLACK_ABOVE:
                cells.append(f"{slot['id']}: {n} words, its slot asks {lo}-{hi}")
        extra = [s["id"] for s in ss if s["split"] == "test" and s["id"] not in {p["id"] for p in plan(name)}]
        cells += [f"{i}: only grid stories may be test" for i in extra]
    r.check(f"counts per emotion and split ({len(only)} emotions)", counts)
    r.check(f"grid: every emotion x {len(grid)} topics, person/form/length/test split as planned", cells)

    bad_words = []
    for s in mine:
        forb = by_name.get(s["emotion"], {}).get("forbidden") or [s["emotion"]]
        for m in forbidden_pattern(forb).finditer(s["text"]):
            bad_words.append(f"{s['id']}: names its emotion with {m.group(0)!r}")
    r.check("no story uses a word from its emotion's forbidden list", bad_words)

    lengths = []
    for s in mine:
        n = len(s["text"].split())
        if not MIN_WORDS <= n <= MAX_WORDS:
            lengths.append(f"{s['id']}: {n} words")
    r.check(f"story length {MIN_WORDS}-{MAX_WORDS} words", lengths)

    seen, shared = {}, []
    for s in stories:
        w = words(s["text"])
        for i in range(len(w) - SHARED_RUN + 1):
            gram = tuple(w[i:i + SHARED_RUN])
            other = seen.setdefault(gram, s["id"])
            if other != s["id"] and (s.get("emotion") in only or other.rsplit("-", 1)[0] in {slug(n) for n in only}):
                shared.append(f"{other} and {s['id']} share '{' '.join(gram)}'")
                seen[gram] = s["id"]
    r.check(f"no two stories share a {SHARED_RUN}-word run", sorted(set(shared)))

    if args.emotion:
        print(f"corpus: {r.passed} passed, {r.failed} failed")
        return 1 if r.failed else 0

    nproblems, dialogues = [], []
    for path in sorted(glob.glob(os.path.join(args.data, "corpus", "neutral", "*.jsonl"))):
        dialogues += load_jsonl(path, nproblems)
    dids = set()
    for d in dialogues:
        did = d.get("id")
        if did in dids:
            nproblems.append(f"{did}: duplicate id")
        dids.add(did)
        turns = d.get("turns")
        if set(d) != {"id", "turns"} or not isinstance(turns, list):
            nproblems.append(f"{did}: keys {sorted(d)}")
            continue
        roles = [t.get("role") for t in turns]
        want = ["human", "assistant"] * (len(turns) // 2)
        if roles != want or not MIN_EXCHANGES <= len(turns) // 2 <= MAX_EXCHANGES:
            nproblems.append(f"{did}: turns must alternate human/assistant, {MIN_EXCHANGES}-{MAX_EXCHANGES} exchanges")
        if any(not isinstance(t.get("text"), str) or not t["text"].strip() for t in turns):
            nproblems.append(f"{did}: empty turn")
    if len(dialogues) < MIN_NEUTRAL:
        nproblems.append(f"{len(dialogues)} dialogues, want at least {MIN_NEUTRAL}")
    r.check(f"neutral dialogue schema ({len(dialogues)} dialogues)", nproblems)

    every = forbidden_pattern({w for e in by_name.values() for w in e.get("forbidden", [])})
    leaks = []
    for d in dialogues:
        for t in d.get("turns") or []:
            for m in every.finditer(t.get("text", "")):
                leaks.append(f"{d.get('id')}: emotion word {m.group(0)!r}")
    r.check("neutral dialogues use no emotion's forbidden word", leaks)

    scenes, sproblems = [], []
    spath = os.path.join(args.data, "corpus", "neutral_scenes.jsonl")
    if os.path.exists(spath):
        scenes = load_jsonl(spath, sproblems)
    per_topic = {t: 0 for t in grid}
    for sc in scenes:
        if set(sc) != {"id", "topic", "text"} or sc.get("topic") not in per_topic:
            sproblems.append(f"{sc.get('id')}: keys {sorted(sc)} / topic {sc.get('topic')!r}")
            continue
        per_topic[sc["topic"]] += 1
        n = len(str(sc["text"]).split())
        if not MIN_WORDS <= n <= MAX_WORDS:
            sproblems.append(f"{sc['id']}: {n} words")
        for m in every.finditer(str(sc["text"])):
            sproblems.append(f"{sc['id']}: emotion word {m.group(0)!r}")
    sproblems += [f"{t}: {n} neutral scenes, want {MIN_SCENES_PER_TOPIC}" for t, n in per_topic.items()
                  if n < MIN_SCENES_PER_TOPIC]
    r.check(f"neutral scenes: >= {MIN_SCENES_PER_TOPIC} per grid topic, flat, no emotion word ({len(scenes)})",
            sproblems)

    print(f"corpus: {r.passed} passed, {r.failed} failed")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
