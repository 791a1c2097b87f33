# Automatic flags: detectors on the baselined spectra of one ObsNum and bank write a generated
# auto-flag file; grid and spectrum apply its rules of policy apply (lmtflow.flags.auto).


rule autoflag:
    input:
        base=at_step(layout.BASE_SDFITS, "baseline"),
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
