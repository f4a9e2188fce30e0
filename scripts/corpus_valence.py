#!/usr/bin/env python3
"""Do the corpus's stories carry their emotion's valence in their own words? (issue 13)

The model's *sad* mean sits with the milder, more positive half of the emotions on the valence
axis read from all directions (report section 2), in SmolLM2 and Gemma alike. This asks the
stories themselves, with the same outside measures the report uses for replies, nothing from
the model: each story's VADER compound and its share of NRC Emotion Lexicon words
(scripts/validation_data.py sentiment / emotion-words), averaged per emotion and set against the
emotion's Warriner valence norm. It flags the emotions the norms call negative (valence below
4 on the 1-9 scale) whose stories read more positive by VADER than the median emotion's: the
candidates to be written again. Nothing is chosen here and no story is changed.

    python3 scripts/validation_data.py norms --emotions data/emotions.json --out /tmp/limbic-norms.csv
    python3 scripts/corpus_valence.py --norms /tmp/limbic-norms.csv --out docs/validation/corpus-valence.md
"""
import argparse
import csv
import json
import math
import pathlib
import random
import statistics
import subprocess
import sys
import tempfile

NEGATIVE_NORM = 4.0
SHOWN = ["happy", "sad", "calm", "afraid", "angry", "desperate"]


def pearson(xs, ys):
    try:
        return statistics.correlation(xs, ys)
    except statistics.StatisticsError:  # a resample of one repeated emotion
        return float("nan")


def interval(xs, ys, reps=1000, seed=13):
    """Pearson r with a 95 % bootstrap interval over the emotions."""
    rng = random.Random(seed)
    n = len(xs)
    rs = []
    for _ in range(reps):
        idx = [rng.randrange(n) for _ in range(n)]
        rs.append(pearson([xs[i] for i in idx], [ys[i] for i in idx]))
    rs = sorted(r for r in rs if not math.isnan(r))
    return pearson(xs, ys), rs[int(0.025 * len(rs))], rs[int(0.975 * len(rs)) - 1]


def first(text, words=24):
    """A story's opening words."""
    w = text.split()
    return " ".join(w[:words]) + ("…" if len(w) > words else "")


def outside(command, texts, tmp):
    """Runs scripts/validation_data.py `command` on a list of texts."""
    inp, out = pathlib.Path(tmp) / f"{command}-in.json", pathlib.Path(tmp) / f"{command}-out.json"
    inp.write_text(json.dumps(texts))
    script = pathlib.Path(__file__).with_name("validation_data.py")
    subprocess.run([sys.executable, str(script), command, "--in", str(inp), "--out", str(out)],
                   check=True)
    return json.loads(out.read_text())


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", default="data/corpus")
    p.add_argument("--norms", required=True, help="from scripts/validation_data.py norms")
    p.add_argument("--out", help="write the table here (else print it)")
    args = p.parse_args()
    corpus = pathlib.Path(args.corpus)
    norms = {r["emotion"]: float(r["valence"]) for r in csv.DictReader(open(args.norms))}
    stories = {}
    for f in sorted((corpus / "stories").glob("*.jsonl")):
        rows = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
        stories[f.stem] = rows
    neutral = [json.loads(line)["text"] for line in
               (corpus / "neutral_scenes.jsonl").read_text().splitlines() if line.strip()]
    texts = [r["text"] for rows in stories.values() for r in rows] + neutral
    with tempfile.TemporaryDirectory() as tmp:
        vader = outside("sentiment", texts, tmp)
        words = outside("emotion-words", texts, tmp)
    per, at, sad_scores = {}, 0, []
    for e, rows in stories.items():
        n = len(rows)
        if e == "sad":
            sad_scores = sorted(zip(vader[at:at + n], rows), key=lambda x: -x[0])
        mean = lambda xs: sum(xs) / len(xs)
        per[e] = {"n": n, "vader": mean(vader[at:at + n]),
                  **{c: mean([w[c] for w in words[at:at + n]]) for c in
                     ("negative", "positive", "sadness", "joy")}}
        at += n
    neutral_vader = sum(vader[at:]) / max(1, len(vader) - at)
    matched = sorted(e for e in per if e in norms)
    by_vader = sorted(per, key=lambda e: per[e]["vader"])
    by_negative = sorted(per, key=lambda e: -per[e]["negative"])
    r, lo, hi = interval([per[e]["vader"] for e in matched], [norms[e] for e in matched])
    rn, nlo, nhi = interval([per[e]["negative"] for e in matched], [norms[e] for e in matched])
    median = sorted(per[e]["vader"] for e in matched)[len(matched) // 2]
    flagged = [e for e in matched if norms[e] < NEGATIVE_NORM and per[e]["vader"] > median]
    negative = [e for e in matched if norms[e] < NEGATIVE_NORM]
    pct = lambda x: f"{100 * x:.2f} %"
    row = lambda e: (f"| {e} | {norms[e]:.2f} | {per[e]['n']} | {per[e]['vader']:+.2f} | "
                     f"{by_vader.index(e) + 1} | {pct(per[e]['negative'])} | "
                     f"{by_negative.index(e) + 1} | {pct(per[e]['sadness'])} | "
                     f"{pct(per[e]['joy'])} |")
    header = ["| emotion | valence norm | stories | VADER, mean | rank from the most negative "
              f"(of {len(per)}) | negative words | rank from the most | sadness words | joy words |",
              "|---|---|---|---|---|---|---|---|---|"]
    s, h = per["sad"], per["happy"]
    # Sad's stories among the more positive half of the emotions' (the corpus until its rewrite
    # of 7 December 2026), or not: the prose says which.
    sad_positive = by_vader.index("sad") >= len(per) // 2
    lines = [
        "# Do the stories carry their emotion's valence?",
        "",
        "Made by `scripts/corpus_valence.py` from the committed corpus (no model): each story's "
        "VADER compound and its share of NRC Emotion Lexicon words (the measures the report uses "
        f"for steered replies), averaged over each emotion's stories ({len(texts) - len(neutral)} "
        f"stories of {len(per)} emotions; the {len(neutral)} neutral scenes read VADER "
        f"{neutral_vader:+.2f}), against the Warriner valence norm of the {len(matched)} "
        "emotions it has.",
        "",
        f"Over the emotions, the stories' mean VADER follows the norm with r = {r:+.2f} "
        f"[{lo:+.2f}, {hi:+.2f}] and their share of negative words with r = {rn:+.2f} "
        f"[{nlo:+.2f}, {nhi:+.2f}] (bootstrap over the emotions). *sad*'s stories read VADER "
        f"{s['vader']:+.2f} ({by_vader.index('sad') + 1} of {len(per)} from the most negative; "
        f"*happy*'s {h['vader']:+.2f}), and {pct(s['negative'])} of their words are negative ones "
        f"against {pct(h['negative'])} of *happy*'s: by these measures the corpus's sad stories "
        + ("are written about as positively as its average story, which fits where the model's "
           "*sad* mean sits on the valence axis (report section 2)." if sad_positive else
           "read more negatively than most emotions' (report section 2: where the model's *sad* "
           "mean sits on the valence axis).")
        + " The whole corpus leans "
        f"positive: the median emotion's stories read {median:+.2f}, above the neutral scenes' "
        f"{neutral_vader:+.2f}, and {sum(per[e]['vader'] > 0 for e in negative)} of the "
        f"{len(negative)} emotions the norms call negative have stories that read positive on "
        "average.",
        "",
        *header,
        *[row(e) for e in SHOWN if e in norms],
        "",
        f"Negative by the norm (valence below {NEGATIVE_NORM:g}) but written more positively "
        f"than the median emotion's stories (VADER above {median:+.2f}): {len(flagged)} of "
        f"{len(negative)}. The candidates to be written again, most positive first (a screen, "
        "not a verdict: [corpus-reading.md](corpus-reading.md) reads them story by story):",
        "",
        *header,
        *[row(e) for e in sorted(flagged, key=lambda e: -per[e]["vader"])],
        "",
        "VADER weighs a text's positive words against its negative ones, and the stories were "
        "written to show the emotion without naming it; *sad*'s most positive stories by VADER "
        "are sad to a reader" + (", told in a cheerful scene" if sad_positive else "") + ": "
        + "; ".join(f"{r['id']} ({r['topic']}, {v:+.2f}): “{first(r['text'])}”"
                    for v, r in sad_scores[:3])
        + ". So a positive score is no proof that a story shows another emotion; it says the "
        "story's words are a cheerful scene's, and the model's mean is read from those words. The NRC lexicon as "
        "packaged has no \"sad\", \"scared\" or \"tears\" (see scripts/validation_data.py).",
    ]
    text = "\n".join(lines) + "\n"
    if args.out:
        pathlib.Path(args.out).write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
