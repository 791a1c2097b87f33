# RAW netCDF (read only) -> raw SDFITS: every kept dump x beam x pol, raw counts, positions.


rule ingest:
    input:
        raw_files,
    output:
        work(layout.RAW_SDFITS),
    log:
        work(layout.OBSDIR + "/logs/ingest__{bank}.log"),
    benchmark:
        work(layout.OBSDIR + "/benchmarks/ingest__{bank}.tsv")
    params:
        data_lmt=DATA,
    resources:
        mem_mb=sized("ingest", "mem_mb"),
        runtime=sized("ingest", "runtime"),
    group:
        "obs{obsnum}"
    script:
        "../scripts/ingest.py"
