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


def combo_auto_flags(wildcards):
    """The generated auto-flag file of every member of a map combination whose detectors are
    on (the joint grid applies each member's own automatic flags; [] with none)."""
    members = sorted(COMBOS[wildcards.combo], key=lambda i: i.obsnum)
    files = member_files(layout.AUTO_FLAGS, wildcards.combo, wildcards.bank, wildcards.attempt,
                         "select")  # fmt: skip
    on = [(PLAN.params(wildcards.attempt, i.obsnum, wildcards.bank, "select").get("flags") or {})
          .get("auto") for i in members]  # fmt: skip
    return [f for f, auto in zip(files, on) if auto]
