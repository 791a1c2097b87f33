# Calibrated SDFITS -> baselined SDFITS: velocity slice, birdies, polynomial baseline, RMS.


rule baseline:
    input:
        cal=at_step(layout.CAL_SDFITS, "calibrate"),
        params=params_file("baseline"),
    output:
        work(layout.BASE_SDFITS),
    log:
        log_file("baseline__{bank}.log"),
    benchmark:
        benchmark_file("baseline__{bank}.tsv")
    resources:
        mem_mb=sized("baseline", "mem_mb"),
        runtime=sized("baseline", "runtime"),
    group:
        "obs{obsnum}"
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/baseline.py"
