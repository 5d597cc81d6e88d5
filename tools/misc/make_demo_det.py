"""Generate the synthetic COCO-format detection demo set (see fba_mm/det/demo_data.py)."""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from fba_mm.det.demo_data import make_demo_det  # noqa: E402

if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('root', nargs='?', default='data/demo_det')
    parser.add_argument('--train', type=int, default=400)
    parser.add_argument('--val', type=int, default=150)
    parser.add_argument('--size', type=int, default=128)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    print(make_demo_det(args.root, args.train, args.val, args.size, args.seed))
