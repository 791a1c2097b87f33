# Calibrated SDFITS -> baselined SDFITS: velocity slice, birdies, polynomial baseline, RMS.


rule baseline:
    input:
        cal=work(layout.CAL_SDFITS),
        params=params_file("baseline"),
    output:
        work(layout.BASE_SDFITS),
    log:
        work(layout.OBSDIR + "/logs/baseline__{bank}.log"),
    benchmark:
        work(layout.OBSDIR + "/benchmarks/baseline__{bank}.tsv")
    resources:
        mem_mb=sized("baseline", "mem_mb"),
        runtime=sized("baseline", "runtime"),
    group:
        "obs{obsnum}"
    script:
        "../scripts/baseline.py"
