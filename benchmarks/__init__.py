"""Benchmarks of dcgan_lib: ``python benchmarks/run.py`` (throughput, memory, the CPU study)
and ``python benchmarks/dedup_scale.py`` (de-duplication at the paper's scale, section 4.1.1).
One module per part of ``run.py``'s report; see each module's docstring."""
