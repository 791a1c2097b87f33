"""Combine the spectra of several Ps/Bs ObsNums: 1/rms^2-weighted mean on a common axis."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from astropy.io import fits

from ..baseline import window_mask
from ..errors import ProductError
from ..io.spectrum_fits import (
    spectrum_header,
    velocity_axis,
    write_spectrum_ascii,
    write_spectrum_fits,
)
from ..spectra import weighted_mean, window_rms


def combine_spectra(
    spectra: Sequence[str | Path], fits_out: str | Path, ascii_out: str | Path, params: dict
) -> tuple[Path, Path]:
    """Average spectrum FITS files (same velocity axis) with weights 1/rms^2."""
    items = []
    for path in spectra:
        with fits.open(path) as hdul:
            items.append((Path(path), hdul[0].header.copy(), hdul[0].data.astype(np.float64)))
    items.sort(key=lambda item: int(item[1]["OBSNUMS"]))  # order-independent result
    first = items[0][1]
    for path, h, data in items[1:]:
        same = data.size == items[0][2].size and all(
            np.isclose(h[k], first[k], rtol=1e-9) for k in ("CRVAL1", "CDELT1", "RESTFRQ")
        )
        if not same:
            raise ProductError(f"{path}: its velocity axis differs from {items[0][0]}")
    stack = np.stack([data for _, _, data in items])
    rms = np.array([float(h["RMS"]) for _, h, _ in items])
    final, _ = weighted_mean(stack, rms)
    velocity = velocity_axis(first, final.size)
    window = window_mask(velocity, params["b_regions"])
    measured = window_rms(final, window)
    obsnums = [int(h["OBSNUMS"]) for _, h, _ in items]
    tsys = float(np.average([float(h["TSYS"]) for _, h, _ in items], weights=1 / rms**2))
    header = spectrum_header(
        first["CRVAL1"] / 1e3, first["CDELT1"] / 1e3, first["RESTFRQ"], first["SPECSYS"],
        {
            "OBJECT": first["OBJECT"], "INSTRUME": first["INSTRUME"],
            "OBSNUMS": ",".join(map(str, obsnums)), "OBSPGM": first["OBSPGM"],
            "BANK": first["BANK"], "VLSR": (first["VLSR"], "km/s"),
            "TSYS": (tsys, "[K] 1/rms^2-weighted mean Tsys"),
            "RMS": (measured, "[K] rms in the baseline windows"),
        },
    )  # fmt: skip
    write_spectrum_fits(
        fits_out, final, header,
        {"OBSNUMS": {"OBSNUM": np.array(obsnums, np.int32), "RMS": rms, "SPECTRUM": stack}},
        params,
    )  # fmt: skip
    comments = [f"{first['OBJECT']} ObsNums {obsnums} bank {first['BANK']}, 1/rms^2 weights",
                f"Ta* in K; rms {measured:.4f} K"]  # fmt: skip
    columns = {f"o{o}": s for o, s in zip(obsnums, stack, strict=True)}
    write_spectrum_ascii(ascii_out, velocity, final, tsys, columns, comments)
    return Path(fits_out), Path(ascii_out)
