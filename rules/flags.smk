# Automatic flags: detectors on the baselined spectra of one ObsNum and bank write a generated
# auto-flag file; grid and spectrum apply its rules of policy apply (lmtflow.flags.auto).


rule autoflag:
    input:
        base=at_step(layout.BASE_SDFITS, "baseline"),
        raw=at_base(layout.RAW_SDFITS),  # birdies stand out in the raw counts
        params=params_file("select"),
        baseline=params_file("baseline"),
    output:
        work(layout.AUTO_FLAGS),
    params:
        auto=auto_policies,
    log:
        log_file("autoflag__{bank}.log"),
    group:
        "obs{obsnum}"
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/autoflag.py"


rule autoflag_raw:
    input:
        raw=at_base(layout.RAW_SDFITS),
    output:
        work(layout.AUTO_RAW_FLAGS),
    params:
        auto=auto_raw_policies,
    log:
        log_file("autoflag_raw__{bank}.log"),
    group:
        "obs{obsnum}"
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/autoflag_raw.py"
