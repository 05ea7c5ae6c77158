// Tests for the sim backend (being written).
