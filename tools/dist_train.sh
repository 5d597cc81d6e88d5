#!/usr/bin/env bash
# Multi-process training with torchrun: one process per GPU (or per CPU worker, gloo, where there is no GPU).
#   bash tools/dist_train.sh CONFIG NPROC [train.py options]
# Several nodes: NNODES=2 NODE_RANK=0|1 MASTER_ADDR=host0 bash tools/dist_train.sh CONFIG 8 ...
# The config needs model_wrapper_cfg=dict(type='LocalDistributedDataParallel') for local learning.
CONFIG=$1
NPROC=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}

PYTHONPATH="$(dirname "$0")/..":${PYTHONPATH:-} \
python -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" --master_port="$PORT" \
    "$(dirname "$0")/train.py" "$CONFIG" --launcher pytorch "${@:3}"
