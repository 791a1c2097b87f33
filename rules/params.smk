# One small job per step, ObsNum and bank writes that step's resolved parameters to JSON.
# The step reads the file as an input, so editing a parameter re-runs exactly the steps that
# use it, for the ObsNums it applies to; identical bytes (checksum) re-run nothing.


def resolved_params_json(wildcards):
    """The file's exact bytes (as lmtflow.io.atomic.write_json writes them)."""
    import json

    return json.dumps(resolved_params(wildcards), sort_keys=True, indent=1) + "\n"


# shell, not run: a run: job starts a whole Snakemake process (seconds); printf takes ms.
rule step_params:
    output:
        work(layout.PARAMS),
    params:
        values=resolved_params,
        text=resolved_params_json,
    localrule: True
    shell:
        "printf '%s' {params.text:q} > {output}.part && mv -f {output}.part {output}"
