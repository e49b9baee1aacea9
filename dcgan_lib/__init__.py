"""dcgan_lib: a small, tested library behind the DCGAN reproduction book.

Radford, Metz & Chintala (2015), "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks", arXiv:1511.06434.
"""

__version__ = "0.1.0"
