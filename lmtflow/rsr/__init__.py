"""Redshift Search Receiver (RSR): lags -> spectra, Tsys, Bs Ta*, baselines, badlags, merge.

Modules: ``constants`` (boards, frequencies, corr_cal, diffsat), ``lags`` (lag -> spectrum),
``calibrate`` (Tsys, g_norm, beam-switched Ta*), ``badlags`` (detection and file format),
``blanking`` (rfile / badcb / frequency blanking), ``reduce`` (baseline, averaging with
thresholds), ``merge`` (the 31.25 MHz composite). Raw files: :mod:`lmtflow.io.rsr`.
"""
