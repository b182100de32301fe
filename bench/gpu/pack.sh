#!/usr/bin/env bash
# Prepares what the GPU run needs in an ignored folder that the device tool carries:
#   $DEST/repo            the sources (tracked and untracked files of this worktree, no build outputs)
#   $DEST/repo/.device/gpu/publish.tar.xz   self-contained publishes of `orchestrator` and the GPU bench,
#                         without the bundled libtorch (the node's PyTorch provides it)
# Usage: bench/gpu/pack.sh DEST   (e.g. the session checkout's .device/gpu)
set -euo pipefail
dest=${1:?destination folder}
root=$(cd "$(dirname "$0")/../.." && pwd)
pub=/tmp/gpu-publish
rm -rf "$pub"
dotnet publish "$root/Silo/Silo.csproj" -c Release -r linux-x64 --self-contained -p:BundledLibTorch=false -o "$pub" > /tmp/gpu-publish-silo.log
dotnet publish "$root/bench/GpuBench/GpuBench.csproj" -c Release -r linux-x64 --self-contained -p:BundledLibTorch=false -o "$pub" > /tmp/gpu-publish-bench.log
rm -rf "$dest/repo"
mkdir -p "$dest/repo/.device/gpu"
(cd "$root" && git ls-files -co --exclude-standard -z | xargs -0 tar -cf -) | tar -C "$dest/repo" -xf -
tar -C "$pub" -cf - . | xz -T2 -6 > "$dest/repo/.device/gpu/publish.tar.xz"
# The loss runs' corpus: the .NET reference packs' documentation prose, tokenised here (no network there).
python3 "$root/bench/gpu/corpus.py" /tmp/gpu-corpus-text > /dev/null
"$pub/orchestrator" prepare-data --input /tmp/gpu-corpus-text --tokenizer gpt2 --out "$dest/repo/.device/gpu/corpus" --overwrite > /tmp/gpu-corpus.log
du -sh "$dest"
