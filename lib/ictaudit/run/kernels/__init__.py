"""Speed tricks for starting notebook kernels, fenced in one place.

In: the notebook about to run. Out: a kernel that is ready sooner and already holds the notebook's
imports. Everything here is optional: the run works the same through plain papermill.
"""
