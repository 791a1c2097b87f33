# Quality assessment and summary pages (lmtflow.qa): per-beam plots from the baselined SDFITS,
# moment/peak/rms/radiometer maps and map plots from the cube, one QA numbers file per product,
# README.html per ObsNum and index.html per project. Plot names come from lmtflow.qa.registry.

from lmtflow.qa.registry import BEAM_PLOTS, plots_for

QA_PLANES = ("mom0", "mom1", "peak", "rms", "radiometer")


def qa_plot_paths(plots, **fields):
    """Plot name -> PNG path (wildcards not in ``fields`` stay open)."""
    return {p.name: work(layout.QA_PLOT, plot=p.name, **fields) for p in plots}


def qa_plane_paths(pattern, **fields):
    return {f"plane_{n}": work(pattern, plane=n, **fields) for n in QA_PLANES}


QA_PARAMS = expand(work(layout.PARAMS, step="{step}"), step=["baseline", "grid"],
                   allow_missing=True)


rule qa_beams:
    input:
        base=work(layout.BASE_SDFITS),
        tsys=tsys_file,
        params=QA_PARAMS,
    output:
        numbers=work(layout.QA_PART, stage="beams"),
        **qa_plot_paths(BEAM_PLOTS),
    log:
        work(layout.OBSDIR + "/logs/qa_beams__{bank}.log"),
    benchmark:
        work(layout.OBSDIR + "/benchmarks/qa_beams__{bank}.tsv")
    script:
        "../scripts/qa_beams.py"


rule qa_maps:
    input:
        cube=work(layout.CUBE),
        weight=work(layout.WEIGHT),
        base=work(layout.BASE_SDFITS),
        params=QA_PARAMS,
    output:
        numbers=work(layout.QA_PART, stage="cube"),
        **qa_plane_paths(layout.PLANE),
        **qa_plot_paths(plots_for("map", "cube")),
    log:
        work(layout.OBSDIR + "/logs/qa_maps__{bank}.log"),
    benchmark:
        work(layout.OBSDIR + "/benchmarks/qa_maps__{bank}.tsv")
    script:
        "../scripts/qa_maps.py"


rule qa_numbers:
    input:
        parts=[work(layout.QA_PART, stage="beams"), work(layout.QA_PART, stage="cube")],
        params=srdp_param_files,
    output:
        work(layout.QA_NUMBERS),
    localrule: True
    run:
        from lmtflow.qa.run import merge_numbers

        merge_numbers(input.parts, input.params, output[0], kind="map")


rule srdp_planes:
    input:
        **qa_plane_paths(layout.PLANE),
    output:
        **qa_plane_paths(layout.SRDP_PLANE),
    localrule: True
    run:
        from lmtflow.pipeline.srdp import copy_product

        for name, path in output.items():
            copy_product(input[name], path)


def qa_sections(info):
    """Per bank of a map ObsNum: its QA file, plots (name -> path) and product files."""
    sections = []
    for bank in info.banks:
        f = dict(pid=info.pid, obsnum=info.obsnum, bank=bank, src=info.src)
        files = [work(p, **f) for p in (layout.RAW_SDFITS, layout.CAL_SDFITS, layout.BASE_SDFITS,
                                         layout.CUBE, layout.WEIGHT, layout.SRDP_CUBE,
                                         layout.SRDP_WEIGHT, layout.SRDP_PARAMS)]
        files.insert(2, work(layout.TSYS, pid=info.cal_pid, obsnum=info.cal.obsnum, bank=bank))
        files += list(qa_plane_paths(layout.SRDP_PLANE, **f).values())
        files += [work(layout.PARAMS, step=s, **f) for s in layout.MAP_STEPS]
        sections.append({"qa": work(layout.QA_NUMBERS, **f),
                         "plots": qa_plot_paths(plots_for("map"), **f), "files": files})
    return sections


def _flat(sections):
    return [p for s in sections for p in (s["qa"], *s["plots"].values(), *s["files"])]


def qa_map_infos(pid=None):
    return [i for i in OBS.values() if i.is_map and (pid is None or i.pid == pid)]


rule qa_page:
    input:
        lambda w: _flat(qa_sections(OBS[int(w.obsnum)])),
    output:
        work(layout.README),
    params:
        sections=lambda w: qa_sections(OBS[int(w.obsnum)]),
        title=lambda w: f"{OBS[int(w.obsnum)].header.source}  ObsNum {w.obsnum}",
        index=lambda w: work(layout.PROJECT_INDEX, pid=w.pid),
    localrule: True
    script:
        "../scripts/qa_page.py"


rule qa_index:
    input:
        lambda w: [work(layout.README, pid=i.pid, obsnum=i.obsnum) for i in qa_map_infos(w.pid)]
                  + [p for i in qa_map_infos(w.pid) for p in _flat(qa_sections(i))],
    output:
        work(layout.PROJECT_INDEX),
    params:
        entries=lambda w: [{"page": work(layout.README, pid=i.pid, obsnum=i.obsnum),
                            "sections": qa_sections(i)} for i in qa_map_infos(w.pid)],
    localrule: True
    script:
        "../scripts/qa_index.py"


def all_reports():
    """QA numbers of every map product, its README.html and the index of every project."""
    infos = qa_map_infos()
    out = [work(layout.README, pid=i.pid, obsnum=i.obsnum) for i in infos]
    out += [work(layout.PROJECT_INDEX, pid=pid) for pid in sorted({i.pid for i in infos})]
    return out
