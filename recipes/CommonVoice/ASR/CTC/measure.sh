#!/bin/bash
# The measurements of recipes/CommonVoice/ASR/CTC/README.md, one at a time.
set -u
cd "$(dirname "$0")/../../../.."
export OMP_NUM_THREADS=1
R=recipes/CommonVoice/ASR/CTC
OUT=results/cv_recipe
mkdir -p $OUT/logs
RUNS="conformer_ctc conformer_summarymixing_ctc branchformer_summarymixing_ctc conformer_early_exit_ctc summarymixing_early_exit_ctc conformer_blankskip_ctc summarymixing_blankskip_ctc summarymixing_ee_blankskip_ctc"
ood() {  # name, run, extra arguments...
  local name=$1 run=$2; shift 2
  [ -f $OUT/$name/results.json ] && return
  echo "[$(date +%H:%M:%S)] $name"
  nice -n 19 .venv/bin/python $R/train.py $R/hparams/ood_eval.yaml --device cpu \
    --model results/leaderboard/runs/$run --output_folder $OUT/$name "$@" \
    > $OUT/logs/$name.log 2>&1 || echo "FAILED $name"
}
full() { case $1 in *early_exit*|*ee_*) echo --exit_strategy=full;; esac; }
# 1. built-in cv-test, every run at the setting of its in-domain WER (full model)
for run in $RUNS; do ood ood/$run $run $(full $run); done
# 2. adaptation of the baseline: all of the built-in train.tsv (100 clips)
if [ ! -f $OUT/finetune/conformer_ctc/results.json ]; then
  echo "[$(date +%H:%M:%S)] finetune"
  nice -n 19 .venv/bin/python $R/train.py $R/hparams/finetune_ctc.yaml --device cpu \
    --model results/leaderboard/runs/conformer_ctc --hours 0.1 \
    --output_folder $OUT/finetune/conformer_ctc > $OUT/logs/finetune.log 2>&1 || echo "FAILED finetune"
fi
# 2b. the same adaptation by S3-Router (frozen weights, a mask over the feed-forward
#     layers and the head), and the head alone (sparsity 0: no weight dropped)
adapt() {  # name, extra arguments...
  local name=$1; shift
  [ -f $OUT/finetune_s3router/$name/results.json ] && return
  echo "[$(date +%H:%M:%S)] s3router $name"
  nice -n 19 .venv/bin/python $R/train.py $R/hparams/finetune_s3router.yaml --device cpu \
    --model results/leaderboard/runs/conformer_ctc --hours 0.1 \
    --output_folder $OUT/finetune_s3router/$name "$@" > $OUT/logs/s3router_$name.log 2>&1 \
    || echo "FAILED s3router $name"
}
adapt conformer_ctc
adapt conformer_ctc_heads_only --routing_sparsity 0.0
# 3. the real recordings of /work/shared/data/real/other (Common Voice layout)
if [ -f ../shared/data/real/other/test.tsv ]; then
  for run in $RUNS; do
    ood real/$run $run $(full $run) --data_folder ../shared/data/real/other --test_name real
  done
fi
# 4. the dynamic models at their own inference setting (their YAML's)
for run in conformer_early_exit_ctc summarymixing_early_exit_ctc summarymixing_ee_blankskip_ctc; do
  ood own/$run $run
done
# 5. the leaderboard's inference settings (chosen on dev in-domain)
ood own/summarymixing_early_exit_ctc_fixed4 summarymixing_early_exit_ctc --exit_strategy=fixed --exit_threshold=4
ood own/summarymixing_ee_blankskip_ctc_margin0.6_skip0.7 summarymixing_ee_blankskip_ctc \
  --exit_strategy=confidence --exit_threshold=0.6 "--exit_options={measure: margin}" --skip_threshold=0.7
echo "[$(date +%H:%M:%S)] done"
