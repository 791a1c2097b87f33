"""Rest frequencies (GHz) of the lines the simulator's presets observe."""

CO10 = 115.271204
CO13_10 = 110.201354
CO21 = 230.538000
CO13_21 = 220.398684
