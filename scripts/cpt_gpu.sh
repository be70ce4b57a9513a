#!/usr/bin/env bash
# Continued pretraining of an extended LLaMA on a GPU box: stage 1 (embeddings + LM head), then
# stage 2 (LoRA on attention/MLP + embeddings + LM head), data-parallel over every visible GPU.
#
#   MODEL=models/llama-7b-zh SHARDS=shards/zh OUT=runs/cpt bash scripts/cpt_gpu.sh
#
# MODEL: a `tokkit resize-embeddings` output (config.json, weights, tokenizer files).
# SHARDS: a `tokkit shard` output made with that tokenizer (cpt refuses any other).
# Re-running the script resumes each stage from its latest checkpoint.
set -euo pipefail

MODEL=${MODEL:?set MODEL to the resized model dir}
SHARDS=${SHARDS:?set SHARDS to the shard dir}
OUT=${OUT:-runs/cpt}
NGPU=${NGPU:-$(nvidia-smi --list-gpus 2>/dev/null | wc -l)}
SEQ_LEN=$(python -c "import json,sys; print(json.load(open(sys.argv[1]))['seq_len'])" "$SHARDS/manifest.json")
# Global batch: 512 sequences (1M tokens at seq_len 2048) over all GPUs; micro-batch per GPU.
BATCH_TOKENS=${BATCH_TOKENS:-$((512 * SEQ_LEN))}
MICRO_BATCH=${MICRO_BATCH:-4}
STAGE1_STEPS=${STAGE1_STEPS:-2000}
STAGE2_STEPS=${STAGE2_STEPS:-6000}
LORA_R=${LORA_R:-64}

if [ "$NGPU" -lt 1 ]; then
  echo "error: no GPU visible (nvidia-smi); run 'tokkit cpt' directly on CPU instead" >&2
  exit 1
fi
if [ "$NGPU" -gt 1 ]; then
  LAUNCH=(torchrun --standalone --nproc-per-node "$NGPU" -m tokkit)
else
  LAUNCH=(tokkit)
fi
resume() { [ -d "$1/checkpoints" ] && echo --resume || true; }

echo "stage 1: embeddings + LM head, $STAGE1_STEPS steps on $NGPU GPU(s)"
"${LAUNCH[@]}" cpt --model "$MODEL" --shards "$SHARDS" -o "$OUT/stage1" --train embeddings \
  --steps "$STAGE1_STEPS" --batch-tokens "$BATCH_TOKENS" --micro-batch "$MICRO_BATCH" \
  --lr 2e-4 --warmup-steps 100 --eval-every 200 --save-every 500 --precision bf16 \
  $(resume "$OUT/stage1")

echo "stage 2: LoRA r=$LORA_R + embeddings + LM head, $STAGE2_STEPS steps"
"${LAUNCH[@]}" cpt --model "$OUT/stage1/final" --shards "$SHARDS" -o "$OUT/stage2" --train all \
  --lora-r "$LORA_R" --steps "$STAGE2_STEPS" --batch-tokens "$BATCH_TOKENS" \
  --micro-batch "$MICRO_BATCH" --lr 1e-4 --warmup-steps 200 --eval-every 500 --save-every 1000 \
  --precision bf16 $(resume "$OUT/stage2")

echo "done: $OUT/stage2/final"
