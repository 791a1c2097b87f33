# Products -> SRDP: the science-ready files under srdp/ with every parameter used beside them.


rule srdp:
    input:
        cube=work(layout.CUBE),
        weight=work(layout.WEIGHT),
    output:
        cube=work(layout.SRDP_CUBE),
        weight=work(layout.SRDP_WEIGHT),
    log:
        log_file("srdp_{src}__{bank}.log", layout.SRDP_DIR),
    resources:
        mem_mb=sized("srdp", "mem_mb"),
        runtime=sized("srdp", "runtime"),
    group:
        "obs{obsnum}"
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/srdp.py"


rule srdp_params:
    input:
        srdp_param_files,
    output:
        work(layout.SRDP_PARAMS),
    localrule: True
    log:
        log_file("srdp_params_{src}__{bank}.log", layout.SRDP_DIR),
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/srdp_params.py"
