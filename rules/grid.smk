# Baselined SDFITS -> gridded cube and weight map (jinc convolution, 1/RMS^2 weights).


rule grid:
    input:
        base=at_step(layout.BASE_SDFITS, "baseline"),
        params=params_file("grid"),
        auto=auto_flag_input,
    output:
        cube=work(layout.CUBE),
        weight=work(layout.WEIGHT),
    log:
        log_file("grid__{bank}.log"),
    benchmark:
        benchmark_file("grid__{bank}.tsv")
    threads: config["threads"]
    resources:
        mem_mb=sized("grid", "mem_mb"),
        runtime=sized("grid", "runtime"),
    group:
        "obs{obsnum}"
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/grid.py"
