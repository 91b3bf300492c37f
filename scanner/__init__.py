"""The scanner: discover models, benchmark their baseline and optimized variants, record it all.

Heavy imports (torch, transformers) stay inside the submodules that need them, so that
`import scanner` is cheap and the CLI starts fast.
"""
