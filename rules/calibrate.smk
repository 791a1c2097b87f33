# Cal ObsNum -> Tsys spectra; raw SDFITS + Tsys -> calibrated SDFITS (Ta* of the ON dumps).


rule tsys:
    input:
        work(layout.RAW_SDFITS),
    output:
        work(layout.TSYS),
    log:
        work(layout.OBSDIR + "/logs/tsys__{bank}.log"),
    benchmark:
        work(layout.OBSDIR + "/benchmarks/tsys__{bank}.tsv")
    params:
        values=tsys_params,
    resources:
        mem_mb=sized("tsys", "mem_mb"),
        runtime=sized("tsys", "runtime"),
    group:
        "obs{obsnum}"
    script:
        "../scripts/tsys.py"


rule calibrate:
    input:
        raw=work(layout.RAW_SDFITS),
        tsys=tsys_file,
        params=params_file("calibrate"),
    output:
        work(layout.CAL_SDFITS),
    log:
        work(layout.OBSDIR + "/logs/calibrate__{bank}.log"),
    benchmark:
        work(layout.OBSDIR + "/benchmarks/calibrate__{bank}.tsv")
    resources:
        mem_mb=sized("calibrate", "mem_mb"),
        runtime=sized("calibrate", "runtime"),
    group:
        "obs{obsnum}"
    script:
        "../scripts/calibrate.py"
