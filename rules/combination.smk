# Combinations of ObsNums: maps are gridded jointly from every member's baselined SDFITS
# (never by averaging cubes); spectra are averaged with 1/rms^2 weights. A combination lives in
# <work>/<ProjectId>/<sorted ObsNums>/ and depends only on its members' files, so adding an
# ObsNum re-runs that ObsNum's chain and the combination, nothing else.

from lmtflow.combination import check_members
from lmtflow.params import combination_params


def combo_inputs(pattern):
    """Input function: one file per member ObsNum of the combination."""

    def _inputs(wildcards):
        return [work(pattern, pid=info.pid, obsnum=info.obsnum, bank=wildcards.bank, src=info.src)
                for info in sorted(COMBOS[wildcards.combo], key=lambda i: i.obsnum)]

    return _inputs


def combo_resolved_params(wildcards):
    infos = COMBOS[wildcards.combo]
    return combination_params(config, [i.header for i in infos], int(wildcards.bank),
                              wildcards.step)


def all_combinations():
    """Every product of the configured combinations."""
    out = []
    for name, infos in COMBOS.items():
        first = min(infos, key=lambda i: i.obsnum)
        products = ((layout.COMBO_CUBE, layout.COMBO_WEIGHT) if first.is_map
                    else (layout.COMBO_SPECTRUM, layout.COMBO_SPECTRUM_TXT))
        for bank in check_members(name, infos):
            out += [work(p, pid=first.pid, combo=name, bank=bank, src=first.src)
                    for p in products]
    return out


rule combo_params:
    output:
        work(layout.COMBO_PARAMS),
    params:
        values=combo_resolved_params,
    localrule: True
    run:
        from lmtflow.io.atomic import write_json

        write_json(output[0], params.values)


rule grid_combination:
    input:
        base=combo_inputs(layout.BASE_SDFITS),
        params=work(layout.COMBO_PARAMS, step="grid"),
    output:
        cube=work(layout.COMBO_CUBE),
        weight=work(layout.COMBO_WEIGHT),
    log:
        work(layout.COMBO_DIR + "/logs/grid_{src}__{bank}.log"),
    threads: config["threads"]
    script:
        "../scripts/grid.py"


rule spectrum_combination:
    input:
        spectra=combo_inputs(layout.SRDP_SPECTRUM),
        params=work(layout.COMBO_PARAMS, step="spectrum"),
    output:
        fits=work(layout.COMBO_SPECTRUM),
        ascii=work(layout.COMBO_SPECTRUM_TXT),
    log:
        work(layout.COMBO_DIR + "/logs/spectrum_{src}__{bank}.log"),
    script:
        "../scripts/combine_spectra.py"
