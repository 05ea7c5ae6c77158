// Tests for the wav backend (being written).
