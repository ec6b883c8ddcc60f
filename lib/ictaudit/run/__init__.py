"""The audit as a reproducible run: the steps the notebooks call, the notebooks, the manifest.

In: a cycle folder. Out: the scored folder and the output folder of one run, moved into place whole,
with ``manifest.json`` (input hashes taken before reading, versions, parameters, output hashes), and
``verify``, which re-runs a recorded run and compares. Sits on top of every stage.
"""
