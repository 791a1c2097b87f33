# Quality assessment and summary pages (lmtflow.qa): per-beam plots from the baselined SDFITS,
# moment/peak/rms/radiometer maps and map plots from the cube, one QA numbers file per product,
# README.html per ObsNum and index.html per project. Plot names come from lmtflow.qa.registry.


rule qa_beams:
    input:
        base=work(layout.BASE_SDFITS),
        tsys=tsys_file,
        params=qa_params,
    output:
        numbers=work(layout.QA_PART, stage="beams"),
        **qa_plot_paths(BEAM_PLOTS),
    log:
        log_file("qa_beams__{bank}.log"),
    benchmark:
        benchmark_file("qa_beams__{bank}.tsv")
    resources:
        mem_mb=sized("qa_beams", "mem_mb"),
        runtime=sized("qa_beams", "runtime"),
    group:
        "obs{obsnum}"
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/qa_beams.py"


rule qa_maps:
    input:
        cube=work(layout.CUBE),
        weight=work(layout.WEIGHT),
        base=work(layout.BASE_SDFITS),
        params=qa_params,
    output:
        numbers=work(layout.QA_PART, stage="cube"),
        **qa_plane_paths(layout.PLANE),
        **qa_plot_paths(plots_for("map", "cube")),
    log:
        log_file("qa_maps__{bank}.log"),
    benchmark:
        benchmark_file("qa_maps__{bank}.tsv")
    resources:
        mem_mb=sized("qa_maps", "mem_mb"),
        runtime=sized("qa_maps", "runtime"),
    group:
        "obs{obsnum}"
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/qa_maps.py"


rule qa_spectrum:
    input:
        spectrum=lambda w: work(layout.SRDP_SPECTRUM, pid=w.pid, obsnum=w.obsnum, bank=w.bank,
                                src=OBS[int(w.obsnum)].src),
        tsys=tsys_file,
        raw=work(layout.RAW_SDFITS),
        params=qa_params,
    output:
        numbers=work(layout.QA_PART, stage="spectrum"),
        **qa_plot_paths(plots_for("spectrum", "spectrum")),
    log:
        log_file("qa_spectrum__{bank}.log"),
    benchmark:
        benchmark_file("qa_spectrum__{bank}.tsv")
    group:
        "obs{obsnum}"
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/qa_spectrum.py"


rule qa_numbers:
    input:
        parts=qa_parts,
        params=srdp_param_files,
    output:
        work(layout.QA_NUMBERS),
    params:
        kind=lambda w: qa_kind(OBS[int(w.obsnum)]),
    log:
        log_file("qa_numbers__{bank}.log"),
    localrule: True
    run:
        from lmtflow.qa.run import merge_numbers

        merge_numbers(input.parts, input.params, output[0], kind=params.kind)


rule srdp_planes:
    input:
        **qa_plane_paths(layout.PLANE),
    output:
        **qa_plane_paths(layout.SRDP_PLANE),
    log:
        log_file("srdp_planes_{src}__{bank}.log", layout.SRDP_DIR),
    localrule: True
    run:
        from lmtflow.pipeline.srdp import copy_product

        for name, path in output.items():
            copy_product(input[name], path)


rule qa_page:
    input:
        lambda w: _flat(qa_sections(OBS[int(w.obsnum)])),
    output:
        work(layout.README),
    params:
        sections=lambda w: qa_sections(OBS[int(w.obsnum)]),
        title=lambda w: f"{OBS[int(w.obsnum)].header.source}  ObsNum {w.obsnum}",
        index=lambda w: work(layout.PROJECT_INDEX, pid=w.pid),
    log:
        log_file("qa_page.log"),
    localrule: True
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/qa_page.py"


rule qa_index:
    input:
        lambda w: [work(layout.README, pid=i.pid, obsnum=i.obsnum) for i in qa_infos(w.pid)]
                  + [p for i in qa_infos(w.pid) for p in _flat(qa_sections(i))],
    output:
        work(layout.PROJECT_INDEX),
    params:
        entries=lambda w: [{"page": work(layout.README, pid=i.pid, obsnum=i.obsnum),
                            "sections": qa_sections(i)} for i in qa_infos(w.pid)],
    log:
        log_file("qa_index.log", "{pid}"),
    localrule: True
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/qa_index.py"


