// Tests for the alsa backend (being written).
