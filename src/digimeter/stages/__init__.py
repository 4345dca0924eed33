"""The stages of a build, one module per verb: screen, impute, treat, normalise, weight, aggregate.

Pure numpy kernels (layer L1); :mod:`digimeter.stages.tree` evaluates a spec's tree with them.
"""
