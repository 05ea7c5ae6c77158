// Tests for dsp/analysis.h (being written).
