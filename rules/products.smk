# Products -> SRDP: the science-ready files under srdp/ with every parameter used beside them.


rule srdp:
    input:
        cube=work(layout.CUBE),
        weight=work(layout.WEIGHT),
    output:
        cube=work(layout.SRDP_CUBE),
        weight=work(layout.SRDP_WEIGHT),
    log:
        work(layout.SRDP_DIR + "/logs/srdp_{src}__{bank}.log"),
    resources:
        mem_mb=sized("srdp", "mem_mb"),
        runtime=sized("srdp", "runtime"),
    group:
        "obs{obsnum}"
    script:
        "../scripts/srdp.py"


rule srdp_params:
    input:
        srdp_param_files,
    output:
        work(layout.SRDP_PARAMS),
    log:
        work(layout.SRDP_DIR + "/logs/srdp_params_{src}__{bank}.log"),
    script:
        "../scripts/srdp_params.py"
