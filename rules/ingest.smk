# RAW netCDF (read only) -> raw SDFITS: every kept dump x beam x pol, raw counts, positions.


rule ingest:
    input:
        raw_files,
    output:
        work(layout.RAW_SDFITS, attempt=""),  # shared by every attempt
    log:
        log_file("ingest__{bank}.log", attempt=""),
    benchmark:
        benchmark_file("ingest__{bank}.tsv", attempt="")
    params:
        data_lmt=DATA,
    resources:
        mem_mb=sized("ingest", "mem_mb"),
        runtime=sized("ingest", "runtime"),
    group:
        "obs{obsnum}"
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/ingest.py"
