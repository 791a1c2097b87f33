# Cal ObsNum -> Tsys spectra; raw SDFITS + Tsys -> calibrated SDFITS (Ta* of the ON dumps).


rule tsys:
    input:
        at_base(layout.RAW_SDFITS),
    output:
        work(layout.TSYS),
    log:
        log_file("tsys__{bank}.log"),
    benchmark:
        benchmark_file("tsys__{bank}.tsv")
    params:
        values=tsys_params,
    resources:
        mem_mb=sized("tsys", "mem_mb"),
        runtime=sized("tsys", "runtime"),
    group:
        "obs{obsnum}"
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/tsys.py"


rule calibrate:
    input:
        raw=at_base(layout.RAW_SDFITS),
        tsys=tsys_file,
        params=params_file("calibrate"),
        auto=auto_raw_input,
    output:
        work(layout.CAL_SDFITS),
    log:
        log_file("calibrate__{bank}.log"),
    benchmark:
        benchmark_file("calibrate__{bank}.tsv")
    resources:
        mem_mb=sized("calibrate", "mem_mb"),
        runtime=sized("calibrate", "runtime"),
    group:
        "obs{obsnum}"
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/calibrate.py"
