# One small job per step, ObsNum and bank writes that step's resolved parameters to JSON.
# The step reads the file as an input, so editing a parameter re-runs exactly the steps that
# use it, for the ObsNums it applies to; identical bytes (checksum) re-run nothing.


# shell, not run: a run: job starts a whole Snakemake process (seconds); printf takes ms.
# (rules/combination.smk combo_params does the same for combinations)
rule step_params:
    output:
        work(layout.PARAMS),
    params:
        values=resolved_params,
        text=resolved_params_json,
    log:
        log_file("params_{step}__{bank}.log"),
    localrule: True
    conda:
        "../envs/lmtflow.yaml"
    shell:
        "printf '%s' {params.text:q} > {output}.part && mv -f {output}.part {output}"
