# Combinations of ObsNums: maps are gridded jointly from every member's baselined SDFITS
# (never by averaging cubes); spectra are averaged with 1/rms^2 weights. A combination lives in
# <work>/<ProjectId>/<sorted ObsNums>/ and depends only on its members' files, so adding an
# ObsNum re-runs that ObsNum's chain and the combination, nothing else.


rule combo_params:
    output:
        work(layout.COMBO_PARAMS),
    params:
        values=combo_resolved_params,
        text=combo_resolved_params_json,
    log:
        log_file("params_{step}__{bank}.log", layout.COMBO_DIR),
    localrule: True
    conda:
        "../envs/lmtflow.yaml"
    shell:  # as rule step_params: a run: job would start a whole Snakemake process
        "printf '%s' {params.text:q} > {output}.part && mv -f {output}.part {output}"


rule grid_combination:
    input:
        base=combo_inputs(layout.BASE_SDFITS),
        params=work(layout.COMBO_PARAMS, step="grid"),
        auto=combo_auto_flags,
    output:
        cube=reported_srdp(layout.COMBO_CUBE, combo=True),
        weight=reported_srdp(layout.COMBO_WEIGHT, combo=True),
    log:
        log_file("grid_{src}__{bank}.log", layout.COMBO_DIR),
    threads: config["threads"]
    resources:
        mem_mb=sized("grid", "mem_mb", combo_raw_mb),
        runtime=sized("grid", "runtime", combo_raw_mb),
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/grid.py"


rule spectrum_combination:
    input:
        spectra=combo_inputs(layout.SRDP_SPECTRUM),
        params=work(layout.COMBO_PARAMS, step="spectrum"),
    output:
        fits=reported_srdp(layout.COMBO_SPECTRUM, combo=True),
        ascii=reported_srdp(layout.COMBO_SPECTRUM_TXT, combo=True),
    log:
        log_file("spectrum_{src}__{bank}.log", layout.COMBO_DIR),
    resources:
        mem_mb=sized("spectrum", "mem_mb", combo_raw_mb),
        runtime=sized("spectrum", "runtime", combo_raw_mb),
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/combine_spectra.py"
