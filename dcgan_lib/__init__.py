"""dcgan_lib: a small, tested library behind the DCGAN reproduction book.

Radford, Metz & Chintala (2015), "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks", arXiv:1511.06434.

One module per concept, each naming the paper section it implements: ``models`` (section 3),
``train`` (section 4), ``data``, ``prepare`` and ``fetch`` (section 4's data sets), ``dedup``
(4.1.1), ``memorization`` (4.1), ``features`` (5.1) and ``reference`` (5.2), ``knn``
(appendix A.1), ``latent`` (6.1, 6.3.2), ``guided`` (6.2), ``surgery`` (6.3.1); ``metrics``,
``viz``, ``book`` and the rest serve every chapter (docs/layout.md lists them all).
"""

__version__ = "0.1.0"
