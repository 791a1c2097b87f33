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
        auto=work(layout.RSR_AUTO_FLAGS),  # every found bad lag/board, id and policy
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
        work(layout.RSR_BLANKING, attempt=""),  # the user's to edit: one for every attempt
    log:
        log_file("rsr_blanking.log", attempt=""),
    localrule: True
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/rsr_blanking.py"


rule rsr_baseline:
    input:
        cal=at_step(layout.RSR_CAL_SDFITS, "rsr_badlags"),
        badlags=at_step(layout.RSR_BADLAGS, "rsr_badlags"),
        blanking=at_base(layout.RSR_BLANKING),
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
        base=at_step(layout.RSR_BASE_SDFITS, "rsr_baseline"),
        params=params_file("rsr_spectrum"),
    output:
        fits=reported_srdp(layout.RSR_SPECTRUM),
        ascii=reported_srdp(layout.RSR_SPECTRUM_TXT),
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


# RSR quality assessment (lmtflow.qa.rsr): plots and the QA numbers file of every RSR ObsNum
# (Tsys and badlags plots from its raw files) and combination, written directly (the stage has
# no parts to merge: the rules are preferred to qa_numbers / combo_qa_numbers, and only match
# RSR ObsNums and combinations). qa_page and combo_qa_page write the README.html
# (rules/qa.smk; their RSR sections: lmtflow.page_inputs.PageInputs.rsr_sections).


ruleorder: rsr_qa > qa_numbers
ruleorder: rsr_qa_combination > combo_qa_numbers


rule rsr_qa:
    input:
        base=at_step(layout.RSR_BASE_SDFITS, "rsr_baseline"),
        badlags=at_step(layout.RSR_BADLAGS, "rsr_badlags"),
        auto=at_step(layout.RSR_AUTO_FLAGS, "rsr_badlags"),
        blanking=at_base(layout.RSR_BLANKING),
        member_params=at_step(layout.PARAMS, "rsr_baseline", step="rsr_baseline"),
        spectrum=rsr_spectrum_file,
        params=srdp_param_files,
        raw=rsr_calibration_inputs,
    output:
        numbers=work(layout.QA_NUMBERS),
        **reported_plots(plots_for("rsr")),
    wildcard_constraints:
        obsnum=rsr_obsnum_regex(),
    params:
        kind="rsr",
        data_lmt=DATA,
    log:
        log_file("qa_rsr__{bank}.log"),
    benchmark:
        benchmark_file("qa_rsr__{bank}.tsv")
    group:
        "obs{obsnum}"
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/qa_rsr.py"


rule rsr_qa_combination:
    input:
        base=combo_inputs(layout.RSR_BASE_SDFITS),
        badlags=combo_inputs(layout.RSR_BADLAGS, "rsr_badlags"),
        blanking=combo_inputs(layout.RSR_BLANKING, "base"),
        member_params=rsr_member_params,
        spectrum=combo_product(layout.RSR_COMBO_SPECTRUM),
        params=combo_qa_params,
    output:
        numbers=work(layout.COMBO_QA_NUMBERS),
        **reported_plots(plots_for("rsr_combination"), combo=True),
    wildcard_constraints:
        combo=rsr_combo_regex(),
    params:
        kind="rsr_combination",
    log:
        log_file("qa_rsr__{bank}.log", layout.COMBO_DIR),
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/qa_rsr.py"
