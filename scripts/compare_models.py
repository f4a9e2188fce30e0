#!/usr/bin/env python3
"""Two models' validation reports side by side (issue 16): the same corpus, method and checks
on SmolLM2-135M-Instruct (docs/validation/report.json) and Gemma 3 270M
(docs/validation/gemma-3-270m/report.json), written to docs/validation/comparison.md.

Every number is read from the two report.json files `limbic validate` wrote; nothing is chosen
here. Intervals are the reports' own (bootstrap / Fisher, as each report says).

    python3 scripts/compare_models.py            # after make validate and make validate-gemma
"""
import argparse
import json
import pathlib

MODELS = [("SmolLM2-135M-Instruct", "docs/validation/report.json"),
          ("Gemma 3 270M (base)", "docs/validation/gemma-3-270m/report.json")]
# What each model's extraction read (its report's story counts), and its vectors file.
EXTRACTS = ["data/vectors/extract_report.json", "data/vectors/gemma-3-270m.extract_report.json"]
VECTORS = ["data/vectors/smollm2-135m-instruct.safetensors", "data/vectors/gemma-3-270m.safetensors"]
# Each model's steering sweep (its grid of layer sets).
SWEEPS = ["docs/validation/steering.json", "docs/validation/gemma-3-270m/steering.json"]
# Which corpus each model's vectors were made from (the extraction reports count stories, and a
# rewrite keeps the count): say it here when a model's vectors are made again.
CORPUS = ["with the *sad* and *jealous* rewrites (7 December 2026)"] * 2


def scored(path):
    """How the file's readout scores: the discriminant's weight and bias (v6), or unit directions."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    if "weight.0" in header:
        return "discriminant score (weight and bias per emotion)"
    return "unit directions, no weight or bias (a file made before 6 December 2026)"


def pct(x):
    return f"{100 * x['mean']:.1f} % [{100 * x['lo']:.1f}, {100 * x['hi']:.1f}]"


def row(name, cells):
    return f"| {name} | " + " | ".join(cells) + " |"


def at_layer(r, key):
    """Valence or arousal |r| at the readout's layer, with its interval."""
    g = r["geometry"]
    by = {c["layer"]: c for c in g["correlations"]["by_layer"]}
    c = by.get(g["layer"])
    if c is None:
        return "–"
    lo, hi = c[f"{key}_ci"]
    return f"{c[key]:.2f} [{lo:.2f}, {hi:.2f}]"


def best_pc(r, key):
    rs = r["geometry"]["correlations"][f"pc_{key}_r"]
    i = max(range(len(rs)), key=lambda k: abs(rs[k]))
    return f"PC{i + 1}, \\|r\\| {abs(rs[i]):.2f}"


def all_directions(r):
    """Valence read from all directions at once (the report's ridge axis, out of fold)."""
    ax = r["geometry"]["correlations"].get("axis")
    if ax is None:
        return "–"
    return "readout {:.2f} [{:.2f}, {:.2f}], means {:.2f} [{:.2f}, {:.2f}]".format(
        *ax["readout"]["valence_r"], *ax["means"]["valence_r"])


def sad_on_axis(r):
    ax = r["geometry"]["correlations"].get("axis")
    sad = next((n for n in ax["means"]["named"] if n["emotion"] == "sad"), None) if ax else None
    if sad is None:
        return "–"
    return f"{sad['predicted']:.1f} (rank {sad['rank']} of {ax['matched']} from the most negative)"


def mostly_repeating(e):
    """Whether half or more of the report's replies steered toward it repeat (its report counts
    them: one word over half the words, or a character ten times running)."""
    return 2 * e["repeating"] >= e["replies"]


def steered(r, emotion):
    """The report's steering entry for one emotion (None if it was not swept)."""
    return next((e for e in r["steering"]["emotions"] if e["emotion"] == emotion), None)


def steer(r, emotion):
    bound = r["steering"]["max_perplexity_ratio"]
    e = steered(r, emotion)
    if e is None:
        return "–"
    said = f"; **{e['repeating']} of {e['replies']} replies repeat a word or character**" if e["repeating"] else ""
    lex = e.get("lexicon")
    words = f", {lex['category']} words ×{lex['ratio']:.1f}" if lex else ""
    ppl = e["perplexity_ratio"]
    over = f" (**over the {bound:g}× bound**)" if ppl > bound else ""
    return (f"VADER {e['vader']:+.2f}, p(feel word) ×{e['p_feel_ratio']:.1f}{words}, "
            f"perplexity ×{ppl:.2f}{over}{said} "
            f"(layers {','.join(map(str, e['layers']))}, strength {e['strength']:.2f})")


def layer_sets(sweep):
    """The layer sets a steering sweep tried, as `10; 13; 10–15`."""
    sets = sweep["choice"]["layer_sets"]
    return "; ".join(f"{s[0]}–{s[-1]}" if len(s) > 1 else str(s[0]) for s in sets)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/validation/comparison.md")
    a = ap.parse_args()
    reports = [json.loads(pathlib.Path(p).read_text()) for _, p in MODELS]
    sweeps = [json.loads(pathlib.Path(p).read_text()) for p in SWEEPS]
    extracts = [json.loads(pathlib.Path(p).read_text()) for p in EXTRACTS]
    same_corpus = len({(x["stories"], x["neutral_scenes"], c) for x, c in zip(extracts, CORPUS)}) == 1
    scoring = [scored(p) for p in VECTORS]
    same_scoring = len(set(scoring)) == 1
    names = [n for n, _ in MODELS]
    acc = [r["accuracy"] for r in reports]
    lines = [
        "# Two models, one method",
        "",
        "The same " + ", ".join(["story corpus"] * same_corpus + ["extraction"] + ["readout"] * same_scoring)
        + " and checks (`limbic extract`, `limbic steer-sweep`,",
        "`limbic validate`) on two models" + ("" if same_corpus else
        " (not the same corpus: each read the corpus as it was when its vectors were made, see the"
        " corpus row; the test split is the same 513 stories)") + ("" if same_scoring else
        ", nor the same readout score (see its row)") + "; each column is read from that model's own report",
        "([SmolLM2](report.md), [Gemma 3 270M](gemma-3-270m/report.md)), written by",
        "`scripts/compare_models.py`. Each model's layer, offset and shrinkage were chosen by its own",
        "cross-validation on the pool split; the test split is reported, never chosen on. Gemma 3",
        "270M is a base model with no chat format: its dialogues and prompts are written as a plain",
        "\"User: … Assistant:\" transcript, and its steered replies continue that transcript.",
        "",
        row("", names),
        "|---|" + "---|" * len(names),
        row("layers, chosen readout layer", [
            f"{len(a['cv_top1'])}, layer {r['default_layer']} "
            f"({100 * r['default_layer'] / len(a['cv_top1']):.0f} % of depth)"
            for r, a in zip(reports, acc)]),
        row("corpus read: stories (per emotion), neutral scenes",
            [f"{x['stories']:,} ({x['stories'] // 171}), {x['neutral_scenes']}; {c}"
             for x, c in zip(extracts, CORPUS)]),
        row("readout score", scoring),
        row("token offset (cross-validated)", [str(r["token_offset"]) for r in reports]),
        row("test top-1, 171 emotions (chance 0.6 %)", [pct(a["test"]["fit"]["top1"]) for a in acc]),
        row("test top-5 (chance 2.9 %)", [pct(a["test"]["fit"]["top5"]) for a in acc]),
        row("test top-1 with the paper's means", [pct(a["test"]["means"]["top1"]) for a in acc]),
        row("valence \\|r\\| at that layer", [at_layer(r, "valence") for r in reports]),
        row("arousal \\|r\\| at that layer", [at_layer(r, "arousal") for r in reports]),
        row("valence's best of PC1–3", [best_pc(r, "valence") for r in reports]),
        row("arousal's best of PC1–3", [best_pc(r, "arousal") for r in reports]),
        row("valence from all directions (ridge, out of fold r)", [all_directions(r) for r in reports]),
        row("*sad*'s mean on that axis (its norm 2.10)", [sad_on_axis(r) for r in reports]),
        row("emotional vs neutral tokens (intensity AUC)",
            [f"{r['per_token']['auc_intensity']:.3f}" for r in reports]),
        row("neutral tokens coloured", [f"{100 * r['per_token']['neutral_tokens_lit']:.1f} %" for r in reports]),
        row("Tylenol dose: Spearman ρ of afraid / calm",
            [f"{r['dose'][0]['spearman_afraid']:+.2f} / {r['dose'][0]['spearman_calm']:+.2f}" for r in reports]),
        # Reports from before the generation-based direction (5 December 2026) say "contrastive".
        row("steering directions swept", ["mean, contrastive, generation-based" if "direction" in r["steering"] else "mean, contrastive (made before the generation-based direction)" for r in reports]),
        row("steering layer sets swept", [layer_sets(s) for s in sweeps]),
        row("steering: happy − sad (VADER)", [f"{r['steering']['happy_minus_sad_vader']:+.2f}" for r in reports]),
    ]
    for e in ("happy", "sad", "calm", "afraid", "angry", "desperate"):
        lines.append(row(f"steer *{e}*", [steer(r, e) for r in reports]))
    lines += [
        "",
        "What the table does not say: both models are small (135M and 270M parameters, far below",
        "the ~1.5B where published replications find a shared, mature emotion geometry), the corpus",
        "was written once for this project and not tuned to either model, and one",
        "run of each report is shown (no seeds varied for the extraction).",
        "",
    ]
    # Same corpus and method: how far steering *sad* moves each model's replies by VADER, over all
    # of them and over those that do not repeat a word (a repeated "sad" scores very negative).
    if same_corpus:
        said = []
        for n, r in zip(names, reports):
            sad = steered(r, "sad")
            said.append(f"{n}'s from {r['steering']['unsteered_vader']:+.2f} unsteered to {sad['vader']:+.2f}, "
                        f"{sad['vader_not_repeating']:+.2f} over the {sad['replies'] - sad['repeating']} of "
                        f"{sad['replies']} replies that do not repeat a word or character")
        lines += ["With the same corpus, extraction and sweep, steering *sad* takes " + "; and ".join(said) + ".", ""]
    repeating = [(n, [e["emotion"] for e in r["steering"]["emotions"] if mostly_repeating(e)])
                  for n, r in zip(names, reports)]
    for n, es in repeating:
        if es:
            lines += [
                f"**{n}'s steering of {', '.join(es)} is not a success:** at the settings its sweep",
                "chose, half or more of the steered replies repeat a word or character (the report's",
                "section 5 counts them), so their VADER and p(feel word) numbers, and happy − sad above,",
                "measure repetition. A word said over and over is easy to predict, so perplexity does not",
                "catch it, and the sweep's mean share of distinct words let these through; the sweep's",
                "bound on repeating replies (8 December 2026) applies only to tables measured since.",
                "",
            ]
    pathlib.Path(a.out).write_text("\n".join(lines))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
