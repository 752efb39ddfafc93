"""Preview rendering: fitsmill.imaging against astropy.visualization + Pillow.

Both sides turn the same float32 array (FITS order) into the same picture:
percentile 0.5/99.5 limits, a stretch, 8 bits, flipped, JPEG quality 85.
astropy's side is ``AsymmetricPercentileInterval`` + the stretch object +
``np.flipud`` + Pillow, the usual way to do it.  Also timed: the limits
alone against ``np.percentile``/``np.nanpercentile``, zscale against
``ZScaleInterval``, and Pillow's JPEG encoder alone (the floor).

Data comes from fitsmill.samples (block-mean plates and a float image with
NaNs), generated in the same run.  Prints medians in microseconds and the
ratio astropy/fitsmill (>1 means fitsmill is faster).  The machine may be
shared, so figures are noisy; compare ratios from one run.

Usage: python benchmarks/imaging.py [--quick]
"""

import argparse
import io
import statistics
import time

import numpy as np
from astropy.visualization import (
    AsinhStretch, AsymmetricPercentileInterval, LinearStretch, SqrtStretch, ZScaleInterval,
)
from PIL import Image

from fitsmill import imaging, limits, samples


def timed(fn, repeats, inner):
    """Median time of one call of fn, in microseconds."""
    fn()
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        runs.append((time.perf_counter() - t0) / inner)
    return statistics.median(runs) * 1e6


def astropy_render(image, stretch):
    interval = AsymmetricPercentileInterval(0.5, 99.5)
    vmin, vmax = interval.get_limits(image)
    x = stretch(np.clip((image - vmin) / (vmax - vmin), 0, 1))
    x = np.nan_to_num(x, nan=0.0)
    pixels = np.flipud((x * 255 + 0.5).astype(np.uint8))
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def pillow_floor(pixels):
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def datasets(quick):
    plate = samples.plate_image((1200, 1200), seed=1).astype(np.float32)
    small = imaging.scaleNumpyArray(plate, 200)          # 171 x 171, factor 7
    yield "plate 171x171", small
    yield "float+NaN 200x200", samples.float_image((200, 200), seed=2)
    if not quick:
        yield "plate 1024x1024", plate[:1024, :1024].copy()
        yield "float+NaN 1024x1024", samples.float_image((1024, 1024), seed=3)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    args = parser.parse_args(argv)
    repeats, budget = (3, 0.02) if args.quick else (15, 0.2)

    print("median microseconds per call (astropy/fitsmill ratio; >1: fitsmill faster)")
    print("shared machine: figures are noisy, compare ratios within this run\n")
    header = f"{'data':22} {'task':30} {'fitsmill':>10} {'peer':>10} {'ratio':>7}  peer"
    print(header)
    print("-" * len(header))
    for name, image in datasets(args.quick):
        inner = max(1, int(budget / max(image.size * 2e-8, 1e-6) / repeats))

        def row(task, ours, peer, peer_name):
            t_ours = timed(ours, repeats, inner)
            t_peer = timed(peer, repeats, inner)
            print(f"{name:22} {task:30} {t_ours:10.1f} {t_peer:10.1f} "
                  f"{t_peer / t_ours:7.2f}  {peer_name}")

        finite = image[np.isfinite(image)]
        row("limits percentile 0.5/99.5", lambda: limits.percentile_limits(image),
            lambda: np.nanpercentile(image, [0.5, 99.5]), "np.nanpercentile")
        row("limits (finite values given)", lambda: limits.percentile_limits(finite),
            lambda: np.percentile(finite, [0.5, 99.5]), "np.percentile")
        row("limits zscale", lambda: limits.zscale_limits(image),
            lambda: ZScaleInterval().get_limits(image), "astropy ZScaleInterval")
        for stretch, peer_stretch in (("linear", LinearStretch()), ("sqrt", SqrtStretch()),
                                      ("asinh", AsinhStretch(0.1))):
            row(f"render JPEG85 {stretch}",
                lambda s=stretch: imaging.render(image, stretch=s),
                lambda p=peer_stretch: astropy_render(image, p), "astropy + Pillow")
        # The floor: encoding the very pixels render produces.
        vmin, vmax = imaging.compute_limits(image)
        pixels = np.flipud(imaging.to_uint8(imaging.normalize(image, vmin, vmax)))
        t_floor = timed(lambda: pillow_floor(pixels), repeats, inner)
        t_render = timed(lambda: imaging.render(image), repeats, inner)
        print(f"{name:22} {'Pillow JPEG85 encode alone':30} {t_floor:10.1f} "
              f"{'':10} {'':7}  (floor; render overhead above it: "
              f"{t_render - t_floor:.1f} us)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
