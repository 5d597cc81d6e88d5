"""Strip a fba_mm checkpoint to the stock model: auxiliary nets and the ``architecture.`` prefix removed,
optimizer state dropped. The stock config then loads it with strict loading:

    python tools/model_converters/strip_aux.py work_dirs/x/epoch_12.pth faster-rcnn_r50_fpn_stock.pth
    python tools/test.py mmdet_stock_config.py faster-rcnn_r50_fpn_stock.pth   # or mmdet's DetInferencer

(StockCheckpointHook already writes such a ``*_stock.pth`` beside every checkpoint it sees saved.)
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402

from fba_mm.core.checkpoint import load_checkpoint_file, stock_checkpoint  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='checkpoint saved while training with fba_mm')
    parser.add_argument('dst', help='where to write the stock checkpoint')
    args = parser.parse_args()
    checkpoint = load_checkpoint_file(args.src, map_location='cpu')  # weights_only, with mmengine's types allowed
    stock = stock_checkpoint(checkpoint)
    dropped = len(checkpoint['state_dict']) - len(stock['state_dict'])
    torch.save(stock, args.dst)
    print(f'{args.dst}: {len(stock["state_dict"])} tensors of the stock model ({dropped} auxiliary dropped)')


if __name__ == '__main__':
    main()
