"""Figure builders (matplotlib, headless Agg backend), one module per model kind."""

import matplotlib

matplotlib.use("Agg")
