# Quality assessment and summary pages (lmtflow.qa): per-beam plots from the baselined SDFITS,
# moment/peak/rms/radiometer maps and map plots from the cube, one QA numbers file per product,
# README.html per ObsNum and index.html per project. Plot names come from lmtflow.qa.registry.


rule qa_beams:
    input:
        base=at_step(layout.BASE_SDFITS, "baseline"),
        tsys=tsys_file,
        params=qa_beam_params,
    output:
        numbers=work(layout.QA_PART, stage="beams"),
        **reported_plots(BEAM_PLOTS),
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
        base=at_step(layout.BASE_SDFITS, "baseline"),
        params=qa_params,
    output:
        numbers=work(layout.QA_PART, stage="cube"),
        **qa_plane_paths(layout.PLANE),
        **reported_plots(plots_for("map", "cube")),
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
        spectrum=obs_product(layout.SRDP_SPECTRUM),
        tsys=tsys_file,
        raw=at_base(layout.RAW_SDFITS),
        params=qa_params,
    output:
        numbers=work(layout.QA_PART, stage="spectrum"),
        **reported_plots(plots_for("spectrum", "spectrum")),
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
        flags=qa_flag_inputs,
    output:
        work(layout.QA_NUMBERS),
    params:
        kind=lambda w: kind_of(OBS[int(w.obsnum)]),
    log:
        log_file("qa_numbers__{bank}.log"),
    localrule: True
    conda:
        "../envs/lmtflow.yaml"
    script:  # not run: (a run: job starts a whole Snakemake process, seconds)
        "../scripts/qa_numbers.py"


rule srdp_planes:
    input:
        **qa_plane_paths(layout.PLANE),
    output:
        **qa_plane_paths(layout.SRDP_PLANE),
    log:
        log_file("srdp_planes_{src}__{bank}.log", layout.SRDP_DIR),
    localrule: True
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/srdp_planes.py"


rule qa_page:
    input:
        lambda w: PAGES.obs_page_inputs(w.obsnum, w.attempt),
    output:
        work(layout.README),
    params:
        sections=lambda w: PAGES.obs_sections(OBS[int(w.obsnum)], w.attempt),
        title=lambda w: PAGES.obs_title(w.obsnum, w.attempt),
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
        lambda w: PAGES.index_inputs(w.pid),
    output:
        work(layout.PROJECT_INDEX),
    params:
        entries=lambda w: PAGES.index_entries(w.pid),
    log:
        log_file("qa_index.log", "{pid}"),
    localrule: True
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/qa_index.py"


# --- Combination quality assessment: the cube QA of a jointly gridded map (its radiometer map
# from every member's baselined spectra, gridded as the combination was), the combined spectrum
# against the radiometer expectation of its weights, one QA numbers file (header values from
# the members' QA numbers) and README.html per combination (lmtflow.page_inputs).


rule combo_qa_maps:
    input:
        cube=combo_product(layout.COMBO_CUBE),
        weight=combo_product(layout.COMBO_WEIGHT),
        base=combo_inputs(layout.BASE_SDFITS),
        params=combo_qa_params,
    output:
        numbers=work(layout.COMBO_QA_PART, stage="cube"),
        **qa_plane_paths(layout.COMBO_PLANE),
        **reported_plots(plots_for("map_combination", "cube"), combo=True),
    log:
        log_file("qa_maps__{bank}.log", layout.COMBO_DIR),
    resources:
        mem_mb=sized("qa_maps", "mem_mb", combo_raw_mb),
        runtime=sized("qa_maps", "runtime", combo_raw_mb),
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/qa_combo_maps.py"


rule combo_qa_spectrum:
    input:
        spectrum=combo_product(layout.COMBO_SPECTRUM),
        members=combo_inputs(layout.QA_NUMBERS, "final"),
        params=combo_qa_params,
    output:
        numbers=work(layout.COMBO_QA_PART, stage="spectrum"),
        **reported_plots(plots_for("spectrum_combination", "spectrum"), combo=True),
    log:
        log_file("qa_spectrum__{bank}.log", layout.COMBO_DIR),
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/qa_combo_spectrum.py"


rule combo_qa_numbers:
    input:
        parts=combo_qa_parts,
        members=combo_inputs(layout.QA_NUMBERS, "final"),
        params=combo_qa_params,
    output:
        work(layout.COMBO_QA_NUMBERS),
    params:
        kind=lambda w: PAGES.combo_kind(w.combo),
    log:
        log_file("qa_numbers__{bank}.log", layout.COMBO_DIR),
    localrule: True
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/qa_combo_numbers.py"


rule combo_qa_page:
    input:
        lambda w: PAGES.combo_page_inputs(w.combo, w.attempt),
    output:
        work(layout.COMBO_README),
    params:
        sections=lambda w: PAGES.combo_sections(w.combo, w.attempt),
        title=lambda w: PAGES.combo_title(w.combo, w.attempt),
        index=lambda w: work(layout.PROJECT_INDEX, pid=w.pid),
    log:
        log_file("qa_page.log", layout.COMBO_DIR),
    localrule: True
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/qa_combo_page.py"


# --- Attempts (lmtflow.attempts): one zip per ObsNum or combination and attempt (its SRDP
# files, QA numbers and plots, parameters), and a page with every attempt side by side.


rule archive:
    input:
        lambda w: sorted(PAGES.archive_members(w.obsnum, w.attempt).values()),
    output:
        work(layout.ARCHIVE),
    params:
        members=lambda w: PAGES.archive_members(w.obsnum, w.attempt),
    log:
        log_file("archive.log"),
    localrule: True
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/archive.py"


rule combo_archive:
    input:
        lambda w: sorted(PAGES.archive_members(w.combo, w.attempt).values()),
    output:
        work(layout.COMBO_ARCHIVE),
    params:
        members=lambda w: PAGES.archive_members(w.combo, w.attempt),
    log:
        log_file("archive.log", layout.COMBO_DIR),
    localrule: True
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/archive.py"


rule attempts_page:
    input:
        lambda w: PAGES.compare_inputs(w.obsnum),
    output:
        work(layout.COMPARE),
    params:
        banks=lambda w: PAGES.compare_columns(w.obsnum),
        title=lambda w: f"{PAGES.obs_title(w.obsnum)}: attempts",
        index=lambda w: work(layout.PROJECT_INDEX, pid=w.pid),
    log:
        log_file("attempts_page.log", attempt=""),
    localrule: True
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/attempts_page.py"


rule combo_attempts_page:
    input:
        lambda w: PAGES.compare_inputs(w.combo),
    output:
        work(layout.COMBO_COMPARE),
    params:
        banks=lambda w: PAGES.compare_columns(w.combo),
        title=lambda w: f"{PAGES.combo_title(w.combo)}: attempts",
        index=lambda w: work(layout.PROJECT_INDEX, pid=w.pid),
    log:
        log_file("attempts_page.log", layout.COMBO_DIR, attempt=""),
    localrule: True
    conda:
        "../envs/lmtflow.yaml"
    script:
        "../scripts/attempts_page.py"
