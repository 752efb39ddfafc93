"""Preview rendering: fitsmill.imaging against astropy.visualization + Pillow.

Both sides turn the same float32 array (FITS order) into the same picture:
percentile 0.5/99.5 limits, a stretch, 8 bits, flipped, JPEG quality 85.
astropy's side is ``AsymmetricPercentileInterval`` + the stretch object +
``np.flipud`` + Pillow, the usual way to do it.  Colour: ``render_rgb``
against ``make_lupton_rgb`` + Pillow.  Also timed: the limits
alone against ``np.percentile``/``np.nanpercentile``, zscale against
``ZScaleInterval``, and the JPEG encoding of the finished levels alone:
fitsmill's ``imaging.encode`` against Pillow's ``Image.save`` (the floor of
both sides), so the time render adds for limits and levels shows.

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
    make_lupton_rgb,
)
from PIL import Image

from fitsmill import imaging, limits, samples


def timed(fn, repeats, inner):
    """Median wall and CPU time of one call of fn, in microseconds.

    CPU time (this process) is less disturbed than wall time when the
    machine is shared; both come from the same runs.
    """
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(inner):
            fn()
        wall.append((time.perf_counter() - t0) / inner)
        cpu.append((time.process_time() - c0) / inner)
    return statistics.median(wall) * 1e6, statistics.median(cpu) * 1e6


def fmt(t):
    return f"{t[0]:8.0f} ({t[1]:6.0f})"


def astropy_render(image, stretch):
    interval = AsymmetricPercentileInterval(0.5, 99.5)
    vmin, vmax = interval.get_limits(image)
    x = stretch(np.clip((image - vmin) / (vmax - vmin), 0, 1))
    x = np.nan_to_num(x, nan=0.0)
    pixels = np.flipud((x * 255 + 0.5).astype(np.uint8))
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def astropy_lupton(r, g, b):
    rgb = np.flipud(make_lupton_rgb(r, g, b, Q=8, stretch=5))
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=85)
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

    print("median microseconds per call, wall (cpu); ratio = peer/fitsmill wall, "
          ">1: fitsmill faster")
    print("shared machine: figures are noisy, compare ratios within this run\n")
    header = f"{'data':20} {'task':28} {'fitsmill':>17} {'peer':>17} {'ratio':>6}  peer"
    print(header)
    print("-" * len(header))
    for name, image in datasets(args.quick):
        inner = max(1, int(budget / max(image.size * 2e-8, 1e-6) / repeats))

        def row(task, ours, peer, peer_name):
            t_ours = timed(ours, repeats, inner)
            t_peer = timed(peer, repeats, inner)
            print(f"{name:20} {task:28} {fmt(t_ours)} {fmt(t_peer)} "
                  f"{t_peer[0] / t_ours[0]:6.2f}  {peer_name}")

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
        # The floors: encoding the very pixels render produces, as fitsmill
        # does it (imaging.encode) and as the peers do (Image.save).
        vmin, vmax = imaging.compute_limits(image)
        levels = imaging.to_uint8(imaging.normalize(image, vmin, vmax))
        pixels = np.flipud(levels)
        t_encode = timed(lambda: imaging.encode(levels), repeats, inner)
        t_floor = timed(lambda: pillow_floor(pixels), repeats, inner)
        t_render = timed(lambda: imaging.render(image), repeats, inner)
        print(f"{name:20} {'encode JPEG85 alone':28} {fmt(t_encode)} {fmt(t_floor)} "
              f"{t_floor[0] / t_encode[0]:6.2f}  Image.save (floor); default render adds "
              f"{t_render[0] - t_encode[0]:.0f} ({t_render[1] - t_encode[1]:.0f}) us "
              "to fitsmill's encode")
    r, g, b = samples.colour_bands((256, 256), seed=4)
    t_ours = timed(lambda: imaging.render_rgb(r, g, b), repeats, 5)
    t_peer = timed(lambda: astropy_lupton(r, g, b), repeats, 5)
    print(f"{'rgb 256x256':20} {'render_rgb Lupton JPEG85':28} {fmt(t_ours)} {fmt(t_peer)} "
          f"{t_peer[0] / t_ours[0]:6.2f}  astropy make_lupton_rgb + Pillow")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
