"""torch.nn.Sequential of an xgrad --arch text, for the oracles that compare with PyTorch.

The grammar is layers/architecture.hpp's: comma-separated tokens convN[kK][sS][pP],
maxpoolK[sS], avgpoolK[sS], bn, flatten, fcN, fc (the outputs), relu, tanh, sigmoid,
leaky_relu; "cnn" stands for the default convolutional network.
"""
import re

import numpy as np
import torch

DEFAULT_CNN = "conv16k3p1,relu,maxpool2,conv32k3p1,relu,maxpool2,flatten,fc128,relu,fc"
ACTIVATIONS = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid, "leaky_relu": torch.nn.LeakyReLU}


def torch_network(arch, input_chw, outputs):
    """The network for inputs of shape input_chw (C, H, W) and `outputs` classes."""
    shape, modules = list(input_chw), []
    for token in (DEFAULT_CNN if arch == "cnn" else arch).split(","):
        if token in ACTIVATIONS:
            modules.append(ACTIVATIONS[token]())
        elif token == "bn":
            modules.append(torch.nn.BatchNorm2d(shape[0]))
        elif token == "flatten":
            modules.append(torch.nn.Flatten())
            shape = [int(np.prod(shape))]
        elif token.startswith("conv"):
            m = re.fullmatch(r"conv(\d+)(?:k(\d+))?(?:s(\d+))?(?:p(\d+))?", token)
            out, k, st, p = int(m[1]), int(m[2] or 3), int(m[3] or 1), int(m[4] or 0)
            modules.append(torch.nn.Conv2d(shape[0], out, k, stride=st, padding=p))
            shape = [out, (shape[1] + 2 * p - k) // st + 1, (shape[2] + 2 * p - k) // st + 1]
        elif token.startswith(("maxpool", "avgpool")):
            m = re.fullmatch(r"(?:max|avg)pool(\d+)(?:s(\d+))?", token)
            k = int(m[1])
            st = int(m[2] or k)
            modules.append((torch.nn.MaxPool2d if token.startswith("max") else torch.nn.AvgPool2d)(k, stride=st))
            shape = [shape[0], (shape[1] - k) // st + 1, (shape[2] - k) // st + 1]
        else:
            size = outputs if token == "fc" else int(token[2:])
            modules.append(torch.nn.Linear(shape[0], size))
            shape = [size]
    return torch.nn.Sequential(*modules)
