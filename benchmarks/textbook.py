"""The textbook DCGAN training step that the benchmarks measure the library against: the
PyTorch examples' ``dcgan/main.py`` (paper section 3's DCGAN, trained as in section 4: Adam,
lr 2e-4, beta1 0.5), on the library's networks.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from dcgan_lib.models import sample_z


class PlainLoop:
    """The textbook DCGAN step of the PyTorch examples (``pytorch/examples`` ``dcgan/main.py``),
    on the same networks and with the same hyperparameters as the library's trainer.

    D ends in ``nn.Sigmoid`` and the loss is ``nn.BCELoss``, as in the example; D is updated on
    the real batch (label 1) and on ``G(z).detach()`` (label 0), two ``backward`` calls, then G
    on ``D(G(z))`` with label 1 (which also computes D's weight gradients, discarded at the next
    ``netD.zero_grad()``). The only departure: noise comes from a generator owned by the loop
    (the example uses the global one), so that every loop here sees the same z.
    """

    def __init__(self, G: nn.Module, D: nn.Module, nz: int, z_dist: str, lr: float,
                 betas: tuple[float, float], device: torch.device, seed: int = 0):
        self.device, self.nz, self.z_dist = device, nz, z_dist
        self.netG = copy.deepcopy(G).to(device)
        self.netD = nn.Sequential(copy.deepcopy(D), nn.Sigmoid()).to(device)
        self.criterion = nn.BCELoss()
        self.optimizerD = torch.optim.Adam(self.netD.parameters(), lr=lr, betas=betas)
        self.optimizerG = torch.optim.Adam(self.netG.parameters(), lr=lr, betas=betas)
        self.gen = torch.Generator().manual_seed(seed)
        self.real_label, self.fake_label = 1.0, 0.0

    def __call__(self, data: torch.Tensor) -> dict:
        """One step on a batch ``data`` (B, C, H, W) in [-1, 1] (the paper's objective,
        Goodfellow et al.'s eq. 1 with G's non-saturating loss); returns the losses and the
        mean D outputs (probabilities): ``loss_d``, ``loss_g``, ``d_x``, ``d_g_z1``,
        ``d_g_z2``."""
        device, netD, netG, criterion = self.device, self.netD, self.netG, self.criterion
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        real_cpu = data.to(device)
        batch_size = real_cpu.size(0)
        label = torch.full((batch_size,), self.real_label, dtype=real_cpu.dtype, device=device)
        output = netD(real_cpu)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()
        noise = sample_z(batch_size, self.nz, self.z_dist, self.gen, device)
        fake = netG(noise)
        label.fill_(self.fake_label)
        output = netD(fake.detach())
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        self.optimizerD.step()
        # (2) Update G network: maximize log(D(G(z)))
        netG.zero_grad()
        label.fill_(self.real_label)
        output = netD(fake)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        self.optimizerG.step()
        return dict(loss_d=errD.item(), loss_g=errG.item(), d_x=D_x, d_g_z1=D_G_z1,
                    d_g_z2=D_G_z2)

    @property
    def G(self) -> nn.Module:
        """The generator this loop trains (a copy of the one it was given)."""
        return self.netG
