# RSR (Redshift Search Receiver) Bs ObsNums, LMTOY's rsr_pipeline order (lmtflow.rsr.steps):
# badlags (raw -> <obsdir>/O.badlags, then the user's to edit) -> ingest (chassis files +
# corr_cal, bad lags masked -> calibrated SDFITS) -> baseline (BADCB/badcb blanking, xlines,
# blo) -> spectrum (FREQ axis FITS + ASCII). Combinations average the members' baselined
# repeats jointly. Every file carries the pseudo-bank 0.


rule rsr_badlags:
    input:
        raw=rsr_chassis_files,
        params=work(layout.PARAMS, step="rsr_badlags", bank=0),
    output:
        work(layout.RSR_BADLAGS),
    params:
        data_lmt=DATA,
    log:
        log_file("rsr_badlags.log"),
    group:
        "obs{obsnum}"
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/rsr_badlags.py"


rule rsr_ingest:
    input:
        raw=rsr_calibration_inputs,
        badlags=work(layout.RSR_BADLAGS),
    output:
        work(layout.RSR_CAL_SDFITS),
    params:
        data_lmt=DATA,
    log:
        log_file("rsr_ingest__{bank}.log"),
    group:
        "obs{obsnum}"
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/rsr_ingest.py"


rule rsr_blanking:
    output:
        work(layout.RSR_BLANKING),
    log:
        log_file("rsr_blanking.log"),
    localrule: True
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/rsr_blanking.py"


rule rsr_baseline:
    input:
        cal=work(layout.RSR_CAL_SDFITS),
        badlags=work(layout.RSR_BADLAGS),
        blanking=work(layout.RSR_BLANKING),
        params=params_file("rsr_baseline"),
    output:
        work(layout.RSR_BASE_SDFITS),
    log:
        log_file("rsr_baseline__{bank}.log"),
    group:
        "obs{obsnum}"
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/rsr_baseline.py"


rule rsr_spectrum:
    input:
        base=work(layout.RSR_BASE_SDFITS),
        params=params_file("rsr_spectrum"),
    output:
        fits=work(layout.RSR_SPECTRUM),
        ascii=work(layout.RSR_SPECTRUM_TXT),
    log:
        log_file("rsr_spectrum_{src}__{bank}.log", layout.SRDP_DIR),
    group:
        "obs{obsnum}"
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/rsr_spectrum.py"


rule rsr_spectrum_combination:
    input:
        base=combo_inputs(layout.RSR_BASE_SDFITS),
        params=work(layout.COMBO_PARAMS, step="rsr_spectrum"),
    output:
        fits=work(layout.RSR_COMBO_SPECTRUM),
        ascii=work(layout.RSR_COMBO_SPECTRUM_TXT),
    log:
        log_file("rsr_spectrum_{src}__{bank}.log", layout.COMBO_DIR),
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/rsr_spectrum.py"
