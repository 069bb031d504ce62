"""Serving: batch scoring with the version that serves (`scoring`)."""

# Models logged before the pyfunc moved to `lstmops.tracking.pyfunc` pickled this class path.
from lstmops.tracking.pyfunc import BundleModel  # noqa: F401
