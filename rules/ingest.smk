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
    script:
        "../scripts/ingest.py"
