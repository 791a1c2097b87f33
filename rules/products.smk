# Products -> SRDP: the science-ready files under srdp/ with every parameter used beside them.


rule srdp:
    input:
        cube=work(layout.CUBE),
        weight=work(layout.WEIGHT),
    output:
        cube=reported_srdp(layout.SRDP_CUBE),
        weight=reported_srdp(layout.SRDP_WEIGHT),
    log:
        log_file("srdp_{src}__{bank}.log", layout.SRDP_DIR),
    resources:
        mem_mb=sized("srdp", "mem_mb"),
        runtime=sized("srdp", "runtime"),
    group:
        "obs{obsnum}"
    conda:
        "../envs/lmtflow.yaml"
    # A copy renamed into place (not a hard link: it would share the cube's modification
    # time, older than the weight's, and Snakemake would take it for outdated). shell, not a
    # Python script: this job sits on the path of every re-run after a grid edit.
    shell:
        "for f in cube weight; do"
        " case $f in cube) src={input.cube:q} dst={output.cube:q};;"
        " *) src={input.weight:q} dst={output.weight:q};; esac;"
        ' cp "$src" "$dst.part" && mv -f "$dst.part" "$dst" || exit 1; done > {log:q} 2>&1'


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
