# Baselined SDFITS of a Ps or Bs ObsNum -> spectrum FITS (VRAD axis) and ASCII table.


rule spectrum:
    input:
        base=work(layout.BASE_SDFITS),
        params=params_file("spectrum"),
    output:
        fits=work(layout.SRDP_SPECTRUM),
        ascii=work(layout.SRDP_SPECTRUM_TXT),
    log:
        work(layout.SRDP_DIR + "/logs/spectrum_{src}__{bank}.log"),
    benchmark:
        work(layout.OBSDIR + "/benchmarks/spectrum_{src}__{bank}.tsv")
    resources:
        mem_mb=sized("spectrum", "mem_mb"),
        runtime=sized("spectrum", "runtime"),
    group:
        "obs{obsnum}"
    script:
        "../scripts/spectrum.py"
