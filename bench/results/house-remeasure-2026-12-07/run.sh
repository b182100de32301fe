#!/usr/bin/env bash
set -x
for w in main base; do
  d=/work/main; [ $w = base ] && d=/work/wt-base
  (cd $d && bench/cluster/ep-vs-single.sh 20 /tmp/h12/ep-$w.json > /tmp/h12/ep-$w.log 2>&1)
done
for w in main base; do
  d=/work/main; [ $w = base ] && d=/work/wt-base
  (cd $d && python3 bench/cluster/recovery-time.py 4 /tmp/h12/rec-$w.json > /tmp/h12/rec-$w.log 2>&1)
done
for w in main base main base; do
  d=/work/main; [ $w = base ] && d=/work/wt-base
  (cd $d && dotnet run -c Release --no-build --project bench/Benchmarks -- checkpoint-stall --steps 40 --every 5 --write-mb 256 --rounds 5 >> /tmp/h12/ck-$w.log 2>&1)
done
echo done > /tmp/h12/DONE
