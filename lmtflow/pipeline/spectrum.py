"""Spectrum: baselined SDFITS of a Ps or Bs ObsNum -> spectrum FITS and ASCII table.

The FITS primary HDU is the final spectrum with a VRAD axis; extension BEAMS holds each
selected beam and polarisation (spectrum, Tsys, RMS), extension BLOCKS the spectrum of every
ON block (LMTOY's per-block spectra, without its ``--block -1`` crash).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..baseline import window_mask
from ..errors import ProductError
from ..flags.apply import blank_flagged, fill_mode, flag_keywords, input_flags, select_flags
from ..io.sdfits_reader import SDFITSReader
from ..io.spectrum_fits import spectrum_header, write_spectrum_ascii, write_spectrum_fits
from ..spectra import beam_spectra, combine_beams, on_blocks, window_rms


def _bs_beams(text: str) -> tuple[int, int] | None:
    parts = [int(x) for x in str(text).split(",") if x.strip()]
    return (parts[0], parts[1]) if len(parts) == 2 and min(parts) >= 0 else None


def used_exposure(cols: dict, per: int, chosen: list[int], flagged: np.ndarray | None) -> float:
    """Summed EXPOSURE of the spectra a Ps/Bs spectrum uses (not wholly flagged), averaged
    over its beams and polarisations: a flagged dump lowers it by exactly its exposure."""
    use = np.isin(cols["FDNUM"], chosen)
    if flagged is not None:
        use &= ~flagged
    per_feed = np.where(use, cols["EXPOSURE"], 0.0).reshape(-1, per).sum(axis=0)
    feeds = np.isin(cols["FDNUM"][:per], chosen)
    return float(per_feed[feeds].mean())


def make_spectrum(
    base_sdfits: str | Path, fits_out: str | Path, ascii_out: str | Path, params: dict,
    auto_flags: list[str | Path] | tuple = (),
) -> tuple[Path, Path]:
    """Average the baselined spectra of one Ps/Bs ObsNum and bank into its spectrum products."""
    with SDFITSReader(base_sdfits) as r:
        hdr = r.header
        per = r.rows_per_dump
        cols = r.columns(["FDNUM", "PLNUM", "RMS", "TSYS", "INTNUM", "EXPOSURE"])
        flagged, flags = select_flags(r, params, auto_flags[0] if auto_flags else None)
        bits = input_flags(r, 0, r.nrows)
        if flags is not None:  # channels this step flags (birdies, spikes)
            own = flags.rows(0, r.nrows)
            bits = own if bits is None else bits | own
        data = blank_flagged(r.data().astype(np.float64), bits, fill_mode(params))
        flag_cards = flag_keywords(hdr, flags, "spectrum")
    if flagged is not None:
        cols["RMS"] = np.where(flagged, np.nan, cols["RMS"])  # no weight
    obspgm = str(hdr["OBSPGM"]).strip()
    beams, pols = cols["FDNUM"][:per], cols["PLNUM"][:per]
    chosen = [b for b in params["pix_list"] if b in beams]
    if not chosen:
        raise ProductError(
            f"{base_sdfits}: none of the beams {params['pix_list']} is in the data "
            f"(beams {sorted(set(beams.tolist()))})"
        )
    if flagged is not None or bits is not None:  # with flags: the integration actually used
        flag_cards["EXPOSURE"] = (used_exposure(cols, per, chosen, flagged),
                                  "[s] unflagged exposure per beam")  # fmt: skip
    block = on_blocks(cols["INTNUM"][::per])
    bs = beam_spectra(data, cols["RMS"], beams, pols, block, chosen)
    final, per_block = combine_beams(bs, obspgm, _bs_beams(hdr.get("BSBEAMS", "")))
    nchan = final.size
    velocity = float(hdr["VELO0"]) + np.arange(nchan) * float(hdr["DVDC"])
    window = window_mask(velocity, params["b_regions"])
    tsys_rows = cols["TSYS"].reshape(-1, per)
    tsys_beam = {
        (b, p): float(np.mean(tsys_rows[:, i]))
        for i, (b, p) in enumerate(zip(beams, pols, strict=True))
    }  # noqa: E501
    tsys = float(np.mean([tsys_beam[(b, p)] for b, p in zip(bs.beams, bs.pols, strict=True)]))
    rms = window_rms(final, window)
    specsys = "LSRK" if int(hdr["VELSYS"]) == 0 else "BARYCENT"
    header = spectrum_header(
        float(hdr["VELO0"]), float(hdr["DVDC"]), float(hdr["RESTFRQ"]), specsys,
        {
            "OBJECT": str(hdr["SRCNAME"]), "INSTRUME": str(hdr["INSTRUME"]),
            "OBSNUMS": str(int(hdr["OBSNUM"])), "OBSPGM": obspgm, "BANK": int(hdr["BANK"]),
            "DATE-OBS": str(hdr["OBSSTART"]), "VLSR": (float(hdr["VSOURCE"]), "km/s"),
            "TSYS": (tsys, "[K] mean Tsys of the beams used"),
            "RMS": (rms, "[K] rms in the baseline windows"),
            "NBLOCK": (per_block.shape[0], "ON blocks"),
            "BEAMS": ",".join(str(b) for b in chosen),
            **flag_cards,
        },
    )  # fmt: skip
    beam_names = [f"b{b}p{p}" for b, p in zip(bs.beams, bs.pols, strict=True)]
    write_spectrum_fits(
        fits_out, final, header,
        {
            "BEAMS": {
                "BEAM": bs.beams.astype(np.int32), "POL": bs.pols.astype(np.int32),
                "TSYS": np.array([tsys_beam[(b, p)] for b, p in zip(bs.beams, bs.pols, strict=True)]),  # noqa: E501
                "RMS": np.array([window_rms(s, window) for s in bs.spectra]),
                "SPECTRUM": bs.spectra,
            },
            "BLOCKS": {
                "BLOCK": np.arange(per_block.shape[0], dtype=np.int32),
                "RMS": np.array([window_rms(s, window) for s in per_block]),
                "SPECTRUM": per_block,
            },
        },
        params,
    )  # fmt: skip
    comments = [
        f"{hdr['SRCNAME']} ObsNum {int(hdr['OBSNUM'])} bank {int(hdr['BANK'])} {obspgm}",
        f"beams {chosen}; Ta* in K; rms {rms:.4f} K; rest frequency {float(hdr['RESTFRQ']):.0f} Hz",
    ]
    write_spectrum_ascii(ascii_out, velocity, final, tsys,
                         dict(zip(beam_names, bs.spectra, strict=True)), comments)  # fmt: skip
    return Path(fits_out), Path(ascii_out)
