"""Generate the SR demo set from scikit-image's photographs (see fba_mm/sr/demo_data.py)."""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from fba_mm.sr.demo_data import make_demo_sr  # noqa: E402

if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('root', nargs='?', default='data/demo_sr')
    parser.add_argument('--scales', type=int, nargs='+', default=[2, 3, 4])
    args = parser.parse_args()
    print(make_demo_sr(args.root, args.scales))
