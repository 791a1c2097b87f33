# Gridded cube -> SRDP: the cube and weight map under srdp/ with the parameters beside them.


rule srdp:
    input:
        cube=work(layout.CUBE),
        weight=work(layout.WEIGHT),
        params=expand(work(layout.PARAMS, step="{step}"), step=["calibrate", "baseline", "grid"],
                      allow_missing=True),
    output:
        cube=work(layout.SRDP_CUBE),
        weight=work(layout.SRDP_WEIGHT),
        params=work(layout.SRDP_PARAMS),
    log:
        work(layout.SRDP_DIR + "/logs/srdp_{src}__{bank}.log"),
    script:
        "../scripts/srdp.py"
