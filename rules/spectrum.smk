# Baselined SDFITS of a Ps or Bs ObsNum -> spectrum FITS (VRAD axis) and ASCII table.


rule spectrum:
    input:
        base=at_step(layout.BASE_SDFITS, "baseline"),
        params=params_file("spectrum"),
        auto=auto_flag_input,
    output:
        fits=reported_srdp(layout.SRDP_SPECTRUM),
        ascii=reported_srdp(layout.SRDP_SPECTRUM_TXT),
    log:
        log_file("spectrum_{src}__{bank}.log", layout.SRDP_DIR),
    benchmark:
        benchmark_file("spectrum_{src}__{bank}.tsv")
    resources:
        mem_mb=sized("spectrum", "mem_mb"),
        runtime=sized("spectrum", "runtime"),
    group:
        "obs{obsnum}"
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/spectrum.py"
