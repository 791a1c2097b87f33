"""Quality assessment: the plots, numbers and summary pages users judge a reduction by.

``beams`` summarises a baselined SDFITS per feed in one blocked pass; ``maps`` makes moment,
peak, rms and radiometer maps of a cube; ``numbers`` turns both into QA numbers (QAC_STATS,
rms/radiometer, spectra used/rejected, bad beams, birdies); ``plots_beams`` / ``plots_map``
draw them; ``registry`` says which plots each product kind has; ``run`` holds the stages the
workflow rules call; ``pages`` writes README.html per ObsNum and the project index;
``combination`` adds the numbers and spectrum stage of combinations of ObsNums.
"""
