# One small job per step, ObsNum and bank writes that step's resolved parameters to JSON.
# The step reads the file as an input, so editing a parameter re-runs exactly the steps that
# use it, for the ObsNums it applies to; identical bytes (checksum) re-run nothing.


rule step_params:
    output:
        work(layout.PARAMS),
    params:
        values=resolved_params,
    localrule: True
    run:
        from lmtflow.io.atomic import write_json

        write_json(output[0], params.values)
