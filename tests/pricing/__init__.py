"""pricing: the prices kiosks sell at."""
