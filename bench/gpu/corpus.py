#!/usr/bin/env python3
"""An English corpus available offline on any machine with the .NET SDK: the prose of the reference
packs' XML documentation (summaries, remarks, parameters, returns), one document per type or member.
Used for the FP8-vs-BF16 loss runs (natural, varied text instead of the demo's small repetitive corpus).

Usage: bench/gpu/corpus.py OUT_DIR [--max-mb N]   then   orchestrator prepare-data --input OUT_DIR --out DATA
"""
import argparse
import glob
import os
import re
import shutil
import sys
import xml.etree.ElementTree as ET


def text_of(element):
    """The element's text with <see cref="T:System.String"/> and friends turned into their short names."""
    parts = [element.text or ""]
    for child in element:
        ref = child.get("cref") or child.get("langword") or child.get("name") or ""
        if ref:
            parts.append(ref.split(":")[-1].split(".")[-1])
        parts.append(text_of(child))
        parts.append(child.tail or "")
    return "".join(parts)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--max-mb", type=float, default=12.0)
    args = parser.parse_args()
    dotnet = shutil.which("dotnet")
    if dotnet is None:
        sys.exit("corpus.py: the .NET SDK (dotnet) is required")
    root = os.path.dirname(os.path.realpath(dotnet))
    files = sorted(glob.glob(os.path.join(root, "packs", "Microsoft.*.App.Ref", "*", "ref", "net*", "*.xml")))
    if not files:
        sys.exit(f"corpus.py: no reference XML documentation under {root}/packs")
    os.makedirs(args.out, exist_ok=True)
    budget = int(args.max_mb * 1e6)
    written = 0
    documents = 0
    for path in files:
        try:
            tree = ET.parse(path)
        except ET.ParseError:
            continue
        lines = []
        for member in tree.getroot().iter("member"):
            name = member.get("name", "").split(":")[-1].split("(")[0]
            prose = []
            for tag in ("summary", "remarks", "param", "returns", "value", "exception"):
                for element in member.findall(tag):
                    text = re.sub(r"\s+", " ", text_of(element)).strip()
                    if text:
                        prose.append(text)
            if prose:
                lines.append(f"{name}: " + " ".join(prose))
        if not lines:
            continue
        body = "\n".join(lines) + "\n"
        target = os.path.join(args.out, os.path.basename(path)[:-4] + ".txt")
        with open(target, "w", encoding="utf-8") as f:
            f.write(body)
        written += len(body.encode("utf-8"))
        documents += 1
        if written >= budget:
            break
    print(f"corpus.py: {documents} documents, {written / 1e6:.1f} MB of text in {args.out}")


if __name__ == "__main__":
    main()
